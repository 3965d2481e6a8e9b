import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from myproject.env import database, env_bool, env_int, env_list, secret_key

APP_DIR = Path(__file__).resolve().parent.parent


def import_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the real settings module in a clean interpreter with exactly this environment."""
    clean = {"PATH": os.environ["PATH"], **env}
    return subprocess.run(
        [sys.executable, "-c", "import myproject.settings as s; print(s.ALLOWED_HOSTS)"],
        cwd=APP_DIR,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_missing_secret_key_with_debug_off_is_a_clear_error() -> None:
    result = import_settings({})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_secret_key_is_optional_only_in_debug() -> None:
    assert secret_key(debug=True, environ={})
    assert secret_key(debug=False, environ={"DJANGO_SECRET_KEY": "k" * 50}) == "k" * 50
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        secret_key(debug=False, environ={})


def test_allowed_hosts_are_read_from_the_environment() -> None:
    result = import_settings(
        {"DJANGO_SECRET_KEY": "x", "DJANGO_ALLOWED_HOSTS": " example.org, www.example.org ,"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['example.org', 'www.example.org']"


def test_debug_off_by_default_and_no_hosts_allowed() -> None:
    assert env_bool("DJANGO_DEBUG", False, environ={}) is False
    assert env_list("DJANGO_ALLOWED_HOSTS", [], environ={}) == []


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled"])
def test_bad_boolean_names_the_variable(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG"):
        env_bool("DJANGO_DEBUG", False, environ={"DJANGO_DEBUG": raw})


def test_bad_integer_names_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match="DJANGO_CONN_MAX_AGE"):
        env_int("DJANGO_CONN_MAX_AGE", 60, environ={"DJANGO_CONN_MAX_AGE": "soon"})
    with pytest.raises(ImproperlyConfigured, match="zero or more"):
        env_int("DJANGO_CONN_MAX_AGE", 60, environ={"DJANGO_CONN_MAX_AGE": "-1"})


def test_database_url_over_tcp() -> None:
    config = database({"DATABASE_URL": "postgres://app:s3cret@db.internal:6432/appdb"})
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 6432, "appdb")
    assert (config["USER"], config["PASSWORD"]) == ("app", "s3cret")


def test_database_url_over_a_unix_socket_for_peer_auth() -> None:
    config = database({"DATABASE_URL": "postgres://%2Frun%2Fpostgresql/appdb"})
    assert config["HOST"] == "/run/postgresql"
    assert config["NAME"] == "appdb"
    assert not config.get("PASSWORD")


def test_database_from_libpq_variables() -> None:
    config = database({"PGHOST": "/run/postgresql", "PGDATABASE": "appdb", "PGUSER": "app"})
    assert (config["HOST"], config["NAME"], config["USER"]) == ("/run/postgresql", "appdb", "app")


def test_database_defaults_to_peer_auth_on_the_local_socket() -> None:
    config = database({"USER": "myapp"})
    assert config["HOST"] == ""
    assert config["NAME"] == "myapp"
    assert config["PASSWORD"] == ""


def test_only_postgresql_is_accepted() -> None:
    with pytest.raises(ImproperlyConfigured, match="PostgreSQL only"):
        database({"DATABASE_URL": "sqlite:///db.sqlite3"})
