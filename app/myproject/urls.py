from django.contrib import admin
from django.urls import path

from myapp import views

urlpatterns = [
    path("", views.home, name="home"),
    path("notes/", views.create_note, name="create-note"),
    path("uploads/", views.upload, name="upload"),
    path("healthz", views.healthz, name="healthz"),
    path("whoami", views.whoami, name="whoami"),
    path("admin/", admin.site.urls),
]
