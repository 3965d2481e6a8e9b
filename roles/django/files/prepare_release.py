# Run by `manage.py shell -c` in a release (django role, release.yml), one boot of the
# project for all of this: with DJKIT_MIGRATE=1 it applies the migrations first (system
# checks included, as `manage.py migrate` does); then it prints, as one JSON line, what
# migrate said, the static and media roots and URLs the project really uses, and a digest of
# everything collectstatic's output depends on: every file the static finders list (path
# and content), the static storage settings, the static root and URL, and the virtualenv
# (its name carries the requirements' hash and the Python version). Two releases with the
# same digest collect the same files, so the second need not collect them again. With the
# digest, the one the kit recorded after the last collect (DJKIT_STATIC_INPUTS_FILE).
import contextlib
import hashlib
import io
import json
import os
import sys

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

migrated = ""
if os.environ.get("DJKIT_MIGRATE") == "1":
    said = io.StringIO()
    call_command("migrate", interactive=False, skip_checks=False, stdout=said)
    migrated = said.getvalue()

static_root = str(settings.STATIC_ROOT or "")
found = {
    "migrate": migrated,
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
print(json.dumps(found))
