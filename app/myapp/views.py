import os
import socket

from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from myapp.forms import NoteForm, UploadForm
from myapp.models import Note, Upload


def _page(
    request: HttpRequest, visits: int, note_form: NoteForm, status: int = 200
) -> HttpResponse:
    context = {
        "visits": visits,
        "note_form": note_form,
        "upload_form": UploadForm(),
        "notes": Note.objects.all()[:20],
        "uploads": Upload.objects.all()[:5],
        # Which app server answered: with several behind nginx, the session must follow.
        "served_by": socket.gethostname(),
    }
    return render(request, "myapp/home.html", context, status=status)


def home(request: HttpRequest) -> HttpResponse:
    visits = request.session.get("visits", 0) + 1
    request.session["visits"] = visits
    return _page(request, visits, NoteForm())


@require_POST
def create_note(request: HttpRequest) -> HttpResponse:
    form = NoteForm(request.POST)
    if form.is_valid():
        form.save()
        return redirect("home")
    return _page(request, request.session.get("visits", 0), form, status=400)


@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    item = form.save()
    return JsonResponse({"name": item.file.name, "url": item.file.url}, status=201)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Database reachable? Touches neither the session nor the CSRF cookie. GET or HEAD
    (monitors and load balancers often ask with HEAD)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@never_cache
@require_GET
def whoami(request: HttpRequest) -> JsonResponse:
    """Which host and process served this request, for load-balancing checks."""
    return JsonResponse(
        {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "server": "asgi" if isinstance(request, ASGIRequest) else "wsgi",
        }
    )
