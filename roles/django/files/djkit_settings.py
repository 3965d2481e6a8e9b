"""The django role's settings overlay (django_settings_overlay: true).

Installed as /etc/<app>/python/djkit_settings.py and named by DJANGO_SETTINGS_MODULE (the
app's environment puts its directory on PYTHONPATH): it loads the project's own settings
module (DJKIT_PROJECT_SETTINGS, the role's django_settings_module) and then sets, from the
environment the kit gives every process of the app, what a production server behind the
kit's nginx needs where the project leaves it unset or at its development value:

- DEBUG off, always;
- SECRET_KEY from DJANGO_SECRET_KEY when the project has none or startproject's insecure one;
- ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS: the project's, plus the kit's
  (DJANGO_ALLOWED_HOSTS, DJANGO_CSRF_TRUSTED_ORIGINS);
- DATABASES["default"] from DATABASE_URL when the project's is SQLite or missing (the kit's
  PostgreSQL), with django.contrib.postgres added to INSTALLED_APPS (PostgreSQL's fields and
  indexes need it); a project reading its own database settings keeps them;
- STATIC_ROOT, MEDIA_ROOT (DJANGO_STATIC_ROOT, DJANGO_MEDIA_ROOT) when unset; STATIC_URL and
  MEDIA_URL "/static/" and "/media/" when empty or the site's root;
- SECURE_PROXY_SSL_HEADER (nginx sets X-Forwarded-Proto), SECURE_SSL_REDIRECT and secure
  session and CSRF cookies (nginx serves HTTPS only);
- the HSTS settings matching the header nginx sends (DJKIT_HSTS, the nginx role's
  nginx_hsts; nginx hides the app's own header): the system checks for the parts it leaves
  out (includeSubDomains, preload) are silenced, as that choice is the web server's.
"""

import importlib
import os
import urllib.parse

_project = importlib.import_module(os.environ["DJKIT_PROJECT_SETTINGS"])
_found = {name: value for name, value in vars(_project).items() if name.isupper()}


def _listed(name: str) -> list[str]:
    return [item for item in os.environ.get(name, "").split(",") if item]


def _merged(setting: str, variable: str) -> list[str]:
    return list(dict.fromkeys([*_found.get(setting, []), *_listed(variable)]))


def _database(url: str) -> dict:
    """Django's database settings for a postgres:// URL (the form the kit writes: a socket
    directory percent-encoded as the host, or host, port, user, password and options)."""
    parts = urllib.parse.urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": urllib.parse.unquote(parts.path.lstrip("/")),
        "USER": urllib.parse.unquote(parts.username or ""),
        "PASSWORD": urllib.parse.unquote(parts.password or ""),
        "HOST": urllib.parse.unquote(parts.hostname or ""),
        "PORT": str(parts.port or ""),
        "OPTIONS": dict(urllib.parse.parse_qsl(parts.query)),
    }


def _hsts(header: str) -> dict:
    directives = [part.strip().lower() for part in header.split(";") if part.strip()]
    seconds = next(
        (int(part.split("=", 1)[1]) for part in directives if part.startswith("max-age=")), 0
    )
    subdomains = "includesubdomains" in directives
    preload = "preload" in directives
    silenced = list(_found.get("SILENCED_SYSTEM_CHECKS", []))
    if seconds:
        silenced += [] if subdomains else ["security.W005"]
        silenced += [] if preload else ["security.W021"]
    return {
        "SECURE_HSTS_SECONDS": seconds,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": subdomains,
        "SECURE_HSTS_PRELOAD": preload,
        "SILENCED_SYSTEM_CHECKS": list(dict.fromkeys(silenced)),
    }


_set: dict = {
    "DEBUG": False,
    "ALLOWED_HOSTS": _merged("ALLOWED_HOSTS", "DJANGO_ALLOWED_HOSTS"),
    "CSRF_TRUSTED_ORIGINS": _merged("CSRF_TRUSTED_ORIGINS", "DJANGO_CSRF_TRUSTED_ORIGINS"),
    "SECURE_SSL_REDIRECT": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    **_hsts(os.environ.get("DJKIT_HSTS", "")),
}
_secret = str(_found.get("SECRET_KEY") or "")
if not _secret or _secret.startswith("django-insecure-"):
    _set["SECRET_KEY"] = os.environ["DJANGO_SECRET_KEY"]
_databases = dict(_found.get("DATABASES") or {})
_engine = _databases.get("default", {}).get("ENGINE", "")
if os.environ.get("DATABASE_URL") and _engine in ("", "django.db.backends.sqlite3"):
    _set["DATABASES"] = {**_databases, "default": _database(os.environ["DATABASE_URL"])}
    # What a project written for SQLite leaves out for PostgreSQL: its fields and indexes
    # (Wagtail's search index: SearchVectorField, GinIndex) need django.contrib.postgres.
    _apps = list(_found.get("INSTALLED_APPS", []))
    if "django.contrib.postgres" not in _apps:
        _set["INSTALLED_APPS"] = [*_apps, "django.contrib.postgres"]
for _setting, _variable in (
    ("STATIC_ROOT", "DJANGO_STATIC_ROOT"),
    ("MEDIA_ROOT", "DJANGO_MEDIA_ROOT"),
):
    if not _found.get(_setting) and os.environ.get(_variable):
        _set[_setting] = os.environ[_variable]
for _setting, _default in (("STATIC_URL", "/static/"), ("MEDIA_URL", "/media/")):
    if str(_found.get(_setting) or "").strip("/") == "":
        _set[_setting] = _default
if not _found.get("SECURE_PROXY_SSL_HEADER"):
    _set["SECURE_PROXY_SSL_HEADER"] = ("HTTP_X_FORWARDED_PROTO", "https")

globals().update(_found)
globals().update(_set)
