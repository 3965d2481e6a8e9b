# Run in a release, started as the project's own entry point starts it (files/djkit_entry.py:
# not through its `shell`, which an application may replace, as pretalx does), one boot of
# the project for all of this: with DJKIT_MIGRATE=1 it applies the migrations first (system
# checks included, as `manage.py migrate` does); then it prints, as one JSON line, what
# migrate said, the static and media roots and URLs the project really uses, and a digest of
# everything collectstatic's output depends on: every file the static finders list (path
# and content), the static storage settings, the static root and URL, and the virtualenv
# (its name carries the requirements' hash and the Python version). Two releases with the
# same digest collect the same files, so the second need not collect them again. With the
# digest, the one the kit recorded after the last collect (DJKIT_STATIC_INPUTS_FILE). And
# how the directories the roots may be stand (the project's roots, and the shared ones
# named in DJKIT_ROOT_DIRS, one a line): "MODE OWNER GROUP", or "missing" for what is not
# a directory or cannot be read, so that release.yml sets up only a root not in place.
#
# With DJKIT_CANARY=1 (a release about to go live) the same boot is the release's canary: it
# imports the servers the release will run on (Gunicorn, and Uvicorn with the ASGI application
# when it serves one) and the WSGI application Gunicorn will load; then, unless static files
# are to be collected after this boot, it hands that application one GET of the health path
# as nginx sends it (Host, X-Forwarded-Proto: https) and reports the status. With a collect to
# come, go_live.yml asks a canary Gunicorn after it instead (a health page may render the new
# static files).
import contextlib
import grp
import hashlib
import importlib
import io
import json
import os
import pwd
import stat
import sys
import traceback

# Django is set up already (files/djkit_entry.py runs this where the project's entry point
# hands Django its command).
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

# Settings the kit cannot serve refuse the release before migrate changes anything.
_module = os.environ.get("DJKIT_PROJECT_SETTINGS") or os.environ.get("DJANGO_SETTINGS_MODULE")
if os.environ.get("DJKIT_STATIC_REQUIRED") == "1" and not settings.STATIC_ROOT:
    sys.exit(
        f"STATIC_ROOT is not set in {_module}: collectstatic has nowhere to put the files nginx"
        " serves. Set it in the project's settings (e.g. STATIC_ROOT ="
        ' os.environ.get("DJANGO_STATIC_ROOT"), which the kit sets), or turn on'
        " django_settings_overlay (the kit's overlay sets it), or set django_collectstatic: false"
        " if the project serves no static files. Nothing was migrated; the live release, if any,"
        " keeps serving."
    )
if str(settings.STATIC_URL or "") in ("", "/"):
    sys.exit(
        f"STATIC_URL is {str(settings.STATIC_URL or '')!r} in {_module}: nginx would serve static"
        " files at the site's root, in front of the app. Set STATIC_URL to a prefix such as"
        ' "/static/" (or turn on django_settings_overlay). Nothing was migrated; the live'
        " release, if any, keeps serving."
    )
# A root inside the virtualenv (an application from PyPI that keeps it beside its package, as
# pretalx does by default) would be shared by every release built from the same requirements
# and closed to the web server.
_venv = os.path.realpath(sys.prefix) + os.sep
for _setting in ("STATIC_ROOT", "MEDIA_ROOT"):
    _root = str(getattr(settings, _setting, "") or "")
    if _root and os.path.realpath(_root).startswith(_venv):
        sys.exit(
            f"{_setting} is {_root} in {_module}, inside the release's virtualenv: its files"
            " would be shared by every release built from the same requirements and closed to"
            f" the web server. Point {_setting} at {os.environ.get('DJANGO_' + _setting, '')}"
            f" (the kit sets DJANGO_{_setting} to it) in the project's settings, or with the"
            " application's own setting in django_environment (pretalx:"
            f" PRETALX_FILESYSTEM_{_setting.split('_')[0]}). Nothing was migrated; the live"
            " release, if any, keeps serving."
        )


def unsafe_operations(loader, plan) -> list[str]:
    """What in the migrations to apply would make the live release fail on the new schema: a
    column or table it reads removed or renamed, a column it does not write (added, or made
    NOT NULL) required with no default in the database. Django's own operation types; what
    RunSQL and RunPython do is not read."""
    from django.db import migrations as operations
    from django.db.models import NOT_PROVIDED

    def required(field) -> bool:
        default = getattr(field, "db_default", NOT_PROVIDED)  # Django 5.0 and later
        return not field.null and not field.many_to_many and default is NOT_PROVIDED

    found = []
    for migration, backwards in plan:
        where = f"{migration.app_label}.{migration.name}"
        for operation in [] if backwards else migration.operations:
            if isinstance(operation, operations.RemoveField):
                found.append(f"{where}: RemoveField {operation.model_name}.{operation.name}")
            elif isinstance(operation, operations.DeleteModel):
                found.append(f"{where}: DeleteModel {operation.name}")
            elif isinstance(operation, operations.RenameField):
                found.append(
                    f"{where}: RenameField {operation.model_name}.{operation.old_name}"
                    f" to {operation.new_name}"
                )
            elif isinstance(operation, operations.RenameModel):
                found.append(f"{where}: RenameModel {operation.old_name} to {operation.new_name}")
            elif isinstance(operation, operations.AddField) and required(operation.field):
                found.append(
                    f"{where}: AddField {operation.model_name}.{operation.name} NOT NULL without"
                    " a database default"
                )
            elif isinstance(operation, operations.AlterField) and required(operation.field):
                before = loader.project_state((migration.app_label, migration.name), at_end=False)
                model = before.models.get((migration.app_label, operation.model_name_lower))
                old = model.fields.get(operation.name) if model else None
                if old is not None and old.null:
                    found.append(
                        f"{where}: AlterField {operation.model_name}.{operation.name} to NOT NULL"
                        " without a database default"
                    )
    return found


migrated = ""
unsafe = []
if os.environ.get("DJKIT_MIGRATE") == "1":
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    # A database in use (some migrations applied): a live release may be reading it.
    if plan and executor.loader.applied_migrations:
        unsafe = unsafe_operations(executor.loader, plan)
        if unsafe and os.environ.get("DJKIT_UNSAFE_MIGRATIONS") == "refuse":
            sys.exit(
                "The migrations to apply would break the live release, which reads the schema"
                f" as it is: {'; '.join(unsafe)}. Ship the code that stops using those columns"
                " or tables first, and the migration in a later release (or give the column a"
                " db_default); or set django_unsafe_migrations: warn. Nothing was migrated; the"
                " live release keeps serving."
            )
        # With DJKIT_PLAN_FIRST=1 the boot stops here, naming them, so that the kit dumps the
        # database first and boots again (a code-only release, or a first deploy onto an
        # empty database, goes on).
        if os.environ.get("DJKIT_PLAN_FIRST") == "1":
            pending = [[m.app_label, m.name] for m, _ in plan]
            print(json.dumps({"pending": pending, "unsafe": unsafe}))
            sys.exit(0)
    said = io.StringIO()
    call_command("migrate", interactive=False, skip_checks=False, stdout=said)
    migrated = said.getvalue()

static_root = str(settings.STATIC_ROOT or "")
found = {
    "migrate": migrated,
    "unsafe": unsafe,
    "static_root": static_root,
    "media_root": str(settings.MEDIA_ROOT or ""),
    "static_url": settings.STATIC_URL,
    "media_url": settings.MEDIA_URL,
    "static_inputs": "",
    "last_static_inputs": "",
}
if os.environ.get("DJKIT_STATIC_DIGEST") == "1" and static_root:
    digest = hashlib.sha256()
    storages = getattr(settings, "STORAGES", {}) or {}
    for part in (
        repr(storages.get("staticfiles")),
        repr(getattr(settings, "STATICFILES_STORAGE", None)),
        static_root,
        str(settings.STATIC_URL),
        os.path.realpath(sys.prefix),
    ):
        digest.update(part.encode() + b"\0")
    files = []
    for finder in finders.get_finders():
        # No ignore patterns: more files than collectstatic copies, never fewer.
        for path, storage in finder.list([]):
            prefix = getattr(storage, "prefix", None) or ""
            files.append((os.path.join(prefix, path), storage, path))
    for name, storage, path in sorted(files, key=lambda item: item[0]):
        content = hashlib.sha256()
        with storage.open(path) as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                content.update(chunk)
        digest.update(name.encode() + b"\0" + content.digest())
    found["static_inputs"] = digest.hexdigest()
    # What the kit recorded after the last collect into this static root (none: collect).
    recorded_file = os.environ.get("DJKIT_STATIC_INPUTS_FILE", "")
    with contextlib.suppress(OSError), open(recorded_file) as recorded:
        found["last_static_inputs"] = recorded.read().strip()


def standing(path: str) -> str:
    """How the directory at PATH stands: "MODE OWNER GROUP" (mode in octal, with the
    set-group-id bit), or "missing" for anything else, a link included."""
    try:
        info = os.lstat(path)
        owner, group = pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name
    except (OSError, KeyError):
        return "missing"
    if not stat.S_ISDIR(info.st_mode):
        return "missing"
    return f"{stat.S_IMODE(info.st_mode):o} {owner} {group}"


roots = [found["static_root"], found["media_root"]]
roots += os.environ.get("DJKIT_ROOT_DIRS", "").splitlines()
found["dirs"] = {path: standing(path) for path in roots if path}


def load(spec: str):
    """The object a `module:attribute` spec (Gunicorn's and Uvicorn's syntax) names."""
    module, _, attribute = spec.partition(":")
    found = importlib.import_module(module)
    for part in (attribute or "application").split("."):
        found = getattr(found, part)
    return found


def health(application, path: str, query: str) -> tuple[str, bytes]:
    """One GET of the health path handed to a WSGI application as nginx sends it."""
    host = os.environ.get("DJKIT_CANARY_HOST", "localhost")
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": host,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": host,
        "HTTP_X_FORWARDED_PROTO": "https",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    status = []

    def start_response(line, headers, exc_info=None):
        status[:] = [line]
        return lambda data: None

    chunks = application(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return (status[0] if status else "no status"), body


def canary(ask: bool) -> dict:
    """The release's servers and applications loaded here, and with `ask` its answer to its
    health path (status, or the error that refuses it)."""
    result = {
        "release": os.environ.get("DJKIT_RELEASE_DIR", ""),
        "asked": ask,
        "status": 0,
        "error": "",
    }
    doing = "load"
    try:
        importlib.import_module("gunicorn.app.wsgiapp")
        if os.environ.get("DJKIT_CANARY_ASGI"):
            importlib.import_module("uvicorn")
            load(os.environ["DJKIT_CANARY_ASGI"])
        application = load(os.environ["DJKIT_CANARY_WSGI"])
        if ask:
            doing = "answer its health check"
            path, _, query = os.environ.get("DJKIT_CANARY_PATH", "/healthz").partition("?")
            line, body = health(application, path, query)
            result["status"] = int(line.split()[0]) if line[:1].isdigit() else 0
            passing = os.environ.get("DJKIT_CANARY_STATUSES", "200").split(",")
            if str(result["status"]) not in passing:
                said = body[:300].decode("utf-8", "replace").strip()
                result["error"] = f"the release answered {path} with {line}: {said}"
    except Exception as exc:  # whatever keeps the release from loading or answering refuses it
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        result["error"] = f"the release could not {doing}: {last}"
    return result


# Static files to collect after this boot: the health request waits for the canary Gunicorn
# after the collect (a health page may render them); the loading is checked here either way.
collect_to_come = os.environ.get("DJKIT_COLLECT") == "1" and (
    not found["static_inputs"] or found["static_inputs"] != found["last_static_inputs"]
)
# Release commands after this boot (django_release_commands, e.g. offline compression): the
# same, the health request waits for the canary Gunicorn after them.
commands_to_come = os.environ.get("DJKIT_RELEASE_COMMANDS") == "1"
ask = not (collect_to_come or commands_to_come)
found["canary"] = canary(ask) if os.environ.get("DJKIT_CANARY") == "1" else {}
print(json.dumps(found))
