import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings

from myapp.models import Note, Upload

pytestmark = pytest.mark.django_db


def test_visit_counter_persists_in_the_database_session(client: Client) -> None:
    first = client.get("/")
    assert first.status_code == 200
    assert first.context["visits"] == 1
    assert "sessionid" in first.cookies
    second = client.get("/")
    assert second.context["visits"] == 2
    from django.contrib.sessions.models import Session

    assert Session.objects.count() == 1


def test_note_form_needs_the_csrf_token() -> None:
    strict = Client(enforce_csrf_checks=True)
    refused = strict.post("/notes/", {"text": "no token"})
    assert refused.status_code == 403
    assert not Note.objects.exists()

    page = strict.get("/")
    token = page.cookies["csrftoken"].value
    created = strict.post("/notes/", {"text": "hello", "csrfmiddlewaretoken": token})
    assert created.status_code == 302
    assert list(Note.objects.values_list("text", flat=True)) == ["hello"]
    assert "hello" in strict.get("/").content.decode()


def test_invalid_note_is_refused(client: Client) -> None:
    response = client.post("/notes/", {"text": ""})
    assert response.status_code == 400
    assert not Note.objects.exists()


def test_healthz_reports_the_database_and_sets_no_cookie(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "database": "ok"}
    assert not response.cookies
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_head_too_and_refuses_writes(client: Client) -> None:
    head = client.head("/healthz")
    assert head.status_code == 200
    assert head.content == b""
    assert client.post("/healthz").status_code == 405


def test_healthz_fails_when_the_database_is_down(client: Client) -> None:
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    assert response.status_code == 503
    assert json.loads(response.content)["database"] == "unavailable"


def test_whoami_names_host_process_and_server(client: Client) -> None:
    body = json.loads(client.get("/whoami").content)
    assert set(body) == {"host", "pid", "server"}
    assert body["server"] == "wsgi"


def test_upload_lands_in_media_root(client: Client, settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    response = client.post(
        "/uploads/", {"file": SimpleUploadedFile("hello.txt", b"hello media", "text/plain")}
    )
    assert response.status_code == 201
    stored = tmp_path / Upload.objects.get().file.name
    assert stored.read_bytes() == b"hello media"
    assert json.loads(response.content)["url"].startswith("/media/uploads/")


def test_plain_http_is_redirected_to_https_except_healthz(client: Client) -> None:
    with override_settings(SECURE_SSL_REDIRECT=True):
        home = client.get("/")
        assert home.status_code == 301
        assert home["Location"] == "https://testserver/"
        assert client.get("/healthz").status_code == 200
        assert client.get("/", secure=True).status_code == 200


def test_unknown_host_is_refused(client: Client) -> None:
    assert client.get("/", HTTP_HOST="evil.example").status_code == 400


def test_home_page_names_the_server_that_answered(client: Client) -> None:
    import socket

    page = client.get("/").content.decode()
    assert f'id="served-by">Served by <code>{socket.gethostname()}</code>' in page


def test_static_files_are_left_to_nginx_unless_asked(client: Client, settings, tmp_path) -> None:
    from importlib import reload

    from django.urls import clear_url_caches

    import myproject.urls

    (tmp_path / "probe.txt").write_text("static")
    settings.STATIC_ROOT = tmp_path
    assert client.get("/static/probe.txt").status_code == 404
    settings.SERVE_STATIC = True
    try:
        reload(myproject.urls)
        clear_url_caches()
        response = client.get("/static/probe.txt")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"static"
    finally:
        settings.SERVE_STATIC = False
        reload(myproject.urls)
        clear_url_caches()
