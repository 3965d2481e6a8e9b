import os
import socket
from uuid import UUID

from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from myapp.forms import DigestForm, NoteForm, UploadForm
from myapp.models import Digest, Note, Upload
from myapp.tasks import TaskResultDoesNotExist, digest_notes


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


@require_POST
def create_digest(request: HttpRequest) -> JsonResponse:
    """Queues the digest job for a worker; answers at once with the task's id."""
    form = DigestForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    result = digest_notes.enqueue(pause=form.cleaned_data["pause"] or 0.0)
    return JsonResponse({"id": str(result.id), "status": str(result.status)}, status=202)


@never_cache
@require_GET
def digest(request: HttpRequest, task_id: UUID) -> JsonResponse:
    """Where the job is (the queue's status) and, once it ran, what it wrote."""
    try:
        result = digest_notes.get_result(str(task_id))
    except TaskResultDoesNotExist:
        return JsonResponse({"error": "no such job"}, status=404)
    found = Digest.objects.filter(task_id=str(task_id)).first()
    return JsonResponse(
        {
            "id": str(task_id),
            "status": str(result.status),
            "notes": found.notes if found else None,
            "release": found.release if found else None,
            "started_at": found.started_at.isoformat() if found else None,
            "finished_at": found.finished_at.isoformat() if found else None,
        }
    )


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
