"""Reading settings from the environment, with errors that name the variable at fault."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of: 1, 0, true, false, yes, no, on, off"
    )


def env_int(name: str, default: int, environ: Mapping[str, str] = os.environ) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if value < 0:
        raise ImproperlyConfigured(f"{name}={raw!r} must be zero or more")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    """A comma-separated list; blanks around items and empty items are dropped."""
    raw = environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def secret_key(debug: bool, environ: Mapping[str, str] = os.environ) -> str:
    key = environ.get("DJANGO_SECRET_KEY", "")
    if key:
        return key
    if debug:
        # Only for local development: never used when DEBUG is off.
        return "insecure-development-key-do-not-use-in-production"
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set; it is required when DJANGO_DEBUG is off"
    )


def database(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The default database, from DATABASE_URL or libpq's PG* variables.

    With neither, PostgreSQL is reached on its default unix socket as the current OS user
    (peer authentication), the database named like that user: the single-host deployment.
    """
    url = environ.get("DATABASE_URL", "").strip()
    if url:
        try:
            config = dj_database_url.parse(url)
        except ValueError as error:
            raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {error}") from None
        if config.get("ENGINE") != "django.db.backends.postgresql":
            raise ImproperlyConfigured(
                "DATABASE_URL must use the postgres:// (or postgresql://) scheme; "
                "this project supports PostgreSQL only"
            )
        return config
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": environ.get("PGDATABASE") or environ.get("USER") or "postgres",
        "USER": environ.get("PGUSER", ""),
        "PASSWORD": environ.get("PGPASSWORD", ""),
        "HOST": environ.get("PGHOST", ""),
        "PORT": environ.get("PGPORT", ""),
    }
