# Run on an app server by the django role (prune.yml) as `python3 -c`, with arguments
# ROOT NEW KEPT: keeps KEPT releases under ROOT/releases (the live one and NEW always among
# them), the most recently live first (rollback targets), then the most recent others;
# removes the rest, then every virtualenv under ROOT/venvs no kept release links to.
# Prints what it removed as JSON.
import json
import os
import shutil
import sys

root, new, kept = sys.argv[1], os.path.realpath(sys.argv[2]), int(sys.argv[3])
releases_dir, venvs_dir = os.path.join(root, "releases"), os.path.join(root, "venvs")
current = os.path.join(root, "current")
live = os.path.realpath(current) if os.path.islink(current) else ""


def mtime(path: str) -> float:
    return os.lstat(path).st_mtime


releases = [
    os.path.realpath(entry.path)
    for entry in os.scandir(releases_dir)
    if entry.is_dir(follow_symlinks=False)
]
been_live = sorted(
    (r for r in releases if os.path.exists(os.path.join(r, ".djkit-live"))),
    key=lambda r: mtime(os.path.join(r, ".djkit-live")),
    reverse=True,
)
others = sorted((r for r in releases if r not in been_live), key=mtime, reverse=True)
candidates = [r for r in been_live + others if r not in (new, live)]
removed = candidates[max(kept - 1, 0) :]
for release in removed:
    shutil.rmtree(release)

linked = set()
for release in set(releases) - set(removed):
    link = os.path.join(release, ".venv")
    if os.path.islink(link):
        linked.add(os.path.realpath(link))
unused = sorted(
    entry.path
    for entry in os.scandir(venvs_dir)
    if entry.is_dir(follow_symlinks=False) and os.path.realpath(entry.path) not in linked
)
for venv in unused:
    shutil.rmtree(venv)

print(json.dumps({"releases": sorted(map(os.path.basename, removed)), "venvs": unused}))
