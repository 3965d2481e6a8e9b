"""The django role's settings overlay (files/djkit_settings.py) over a project fresh from
`django-admin startproject` (the controller's Django), as the app's environment loads it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FILES = Path(__file__).resolve().parents[1] / "roles/django/files"
SECRET = "k" * 20 + "-_+=.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij"


@pytest.fixture
def project(tmp_path) -> Path:
    """A project as startproject makes it: DEBUG on, SQLite, no STATIC_ROOT."""
    made = subprocess.run(
        [sys.executable, "-m", "django", "startproject", "proj", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return tmp_path


def environment(project: Path, overlay: bool = True, **extra: str) -> dict[str, str]:
    """The environment the kit's units give the app (the role's __django_environment)."""
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "example.org,www.example.org",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://example.org",
        "DATABASE_URL": "postgres://%2Fvar%2Frun%2Fpostgresql:5432/myapp",
        "DJANGO_STATIC_ROOT": "/srv/myapp/shared/static",
        "DJANGO_MEDIA_ROOT": "/srv/myapp/shared/media",
        "DJKIT_HSTS": "max-age=63072000",
    }
    if overlay:
        env |= {
            "DJANGO_SETTINGS_MODULE": "djkit_settings",
            "DJKIT_PROJECT_SETTINGS": "proj.settings",
            "PYTHONPATH": f"{FILES}:{project}",
        }
    else:
        env |= {"DJANGO_SETTINGS_MODULE": "proj.settings", "PYTHONPATH": str(project)}
    return env | extra


def settings(env: dict[str, str], *names: str) -> dict:
    shown = subprocess.run(
        [sys.executable, "-c",
         "import json, sys\nfrom django.conf import settings\n"
         "print(json.dumps({n: getattr(settings, n) for n in sys.argv[1:]}, default=list))",
         *names],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip


def test_startproject_passes_the_deploy_check_only_with_the_overlay(project) -> None:
    bare = deploy_check(environment(project, overlay=False))
    assert bare.returncode != 0
    assert "security.W018" in bare.stderr  # DEBUG on
    checked = deploy_check(environment(project))
    assert checked.returncode == 0, checked.stderr
    assert "no issues" in checked.stdout


def test_the_overlay_fills_in_what_startproject_leaves_for_development(project) -> None:
    found = settings(
        environment(project), "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS",
        "DATABASES", "STATIC_ROOT", "MEDIA_ROOT", "STATIC_URL", "MEDIA_URL",
        "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SILENCED_SYSTEM_CHECKS", "INSTALLED_APPS",
    )  # fmt: skip
    assert found["DEBUG"] is False
    assert found["SECRET_KEY"] == SECRET
    assert found["ALLOWED_HOSTS"] == ["example.org", "www.example.org"]
    assert found["CSRF_TRUSTED_ORIGINS"] == ["https://example.org"]
    default = found["DATABASES"]["default"]
    assert default["ENGINE"] == "django.db.backends.postgresql"
    assert (default["NAME"], default["HOST"], default["PORT"], default["USER"]) == (
        "myapp", "/var/run/postgresql", "5432", ""
    )  # fmt: skip
    assert found["STATIC_ROOT"] == "/srv/myapp/shared/static"
    assert found["MEDIA_ROOT"] == "/srv/myapp/shared/media"
    assert (found["STATIC_URL"], found["MEDIA_URL"]) == ("/static/", "/media/")
    assert found["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert found["SECURE_HSTS_SECONDS"] == 63072000
    assert found["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    # nginx sends the header, without includeSubDomains and preload: those checks are the
    # web server's choice, silenced; the project's own settings are all still there.
    assert found["SILENCED_SYSTEM_CHECKS"] == ["security.W005", "security.W021"]
    assert "django.contrib.admin" in found["INSTALLED_APPS"]
    # SQLite replaced by PostgreSQL: PostgreSQL's fields and indexes need its app.
    assert found["INSTALLED_APPS"][-1] == "django.contrib.postgres"


def test_what_the_project_sets_for_production_stays(project) -> None:
    settings_file = project / "proj/settings.py"
    settings_file.write_text(
        settings_file.read_text() + "\nimport os\nSECRET_KEY = os.environ['PROJ_SECRET']\n"
        "ALLOWED_HOSTS = ['proj.example']\nSTATIC_ROOT = '/var/www/proj'\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'proj'}}\n"
        "SILENCED_SYSTEM_CHECKS = ['admin.W411']\n"
    )
    env = environment(
        project,
        PROJ_SECRET="p" * 60,
        DJKIT_HSTS="max-age=600; includeSubDomains; preload",
        DATABASE_URL="postgres://app:s%40cret@10.0.0.5:5433/other?sslmode=verify-ca",
    )
    found = settings(
        env, "SECRET_KEY", "ALLOWED_HOSTS", "STATIC_ROOT", "DATABASES", "SECURE_HSTS_SECONDS",
        "INSTALLED_APPS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SILENCED_SYSTEM_CHECKS",
    )  # fmt: skip
    assert found["SECRET_KEY"] == "p" * 60
    assert found["ALLOWED_HOSTS"] == ["proj.example", "example.org", "www.example.org"]
    assert found["STATIC_ROOT"] == "/var/www/proj"
    assert found["DATABASES"]["default"]["NAME"] == "proj"
    assert "django.contrib.postgres" not in found["INSTALLED_APPS"]
    assert (found["SECURE_HSTS_SECONDS"], found["SECURE_HSTS_INCLUDE_SUBDOMAINS"]) == (600, True)
    assert found["SECURE_HSTS_PRELOAD"] is True
    assert found["SILENCED_SYSTEM_CHECKS"] == ["admin.W411"]


def test_a_remote_database_url_becomes_djangos_settings(project) -> None:
    url = "postgres://app:s%40cret@10.0.0.5:5433/other?sslmode=verify-ca&sslrootcert=/etc/ca.crt"
    default = settings(environment(project, DATABASE_URL=url), "DATABASES")["DATABASES"]["default"]
    assert {key: default[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")} == {
        "NAME": "other", "USER": "app", "PASSWORD": "s@cret", "HOST": "10.0.0.5", "PORT": "5433"
    }  # fmt: skip
    assert default["OPTIONS"] == {"sslmode": "verify-ca", "sslrootcert": "/etc/ca.crt"}
