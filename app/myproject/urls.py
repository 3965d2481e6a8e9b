from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path
from django.views.static import serve

from myapp import views

urlpatterns = [
    path("", views.home, name="home"),
    path("notes/", views.create_note, name="create-note"),
    path("uploads/", views.upload, name="upload"),
    path("digests/", views.create_digest, name="create-digest"),
    path("digests/<uuid:task_id>", views.digest, name="digest"),
    path("healthz", views.healthz, name="healthz"),
    path("whoami", views.whoami, name="whoami"),
    path("admin/", admin.site.urls),
]

if settings.SERVE_STATIC:
    urlpatterns.append(
        re_path(
            rf"^{settings.STATIC_URL.lstrip('/')}(?P<path>.*)$",
            serve,
            {"document_root": settings.STATIC_ROOT},
        )
    )
