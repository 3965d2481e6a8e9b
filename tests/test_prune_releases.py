"""The release pruner the django role runs on app servers (roles/django/files/prune_releases.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "roles/django/files/prune_releases.py"


def deployment(root: Path, releases: dict[str, dict]) -> None:
    """releases: name -> {"age": seconds old, "live_age": seconds since it went live (or
    absent), "venv": name of its virtualenv}; `current` points at the one with "current"."""
    now = 2_000_000_000
    for name, spec in releases.items():
        release = root / "releases" / name
        release.mkdir(parents=True)
        venv = root / "venvs" / spec["venv"]
        venv.mkdir(parents=True, exist_ok=True)
        (release / ".venv").symlink_to(venv)
        if "live_age" in spec:
            marker = release / ".djkit-live"
            marker.touch()
            os.utime(marker, (now - spec["live_age"],) * 2)
        os.utime(release, (now - spec["age"],) * 2)
        if spec.get("current"):
            (root / "current").symlink_to(release)
    (root / "venvs" / "orphan").mkdir()


def prune(root: Path, new: str, kept: int) -> dict:
    args = [str(root), str(root / "releases" / new), str(kept)]
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.read_text(), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def left(root: Path, folder: str) -> list[str]:
    return sorted(p.name for p in (root / folder).iterdir())


def test_keeps_the_live_the_new_and_the_most_recently_live(tmp_path) -> None:
    deployment(
        tmp_path,
        {
            "a": {"age": 60, "live_age": 50, "venv": "v1"},
            "b": {"age": 50, "live_age": 10, "venv": "v1"},  # live before c: the rollback target
            "c": {"age": 40, "live_age": 5, "venv": "v2", "current": True},
            "d": {"age": 30, "venv": "v3"},  # refused: never live
            "e": {"age": 20, "venv": "v3"},  # refused: never live, newer
            "f": {"age": 10, "venv": "v4"},  # the new one, not live yet
        },
    )
    removed = prune(tmp_path, "f", 3)
    # Live c and new f always stay; of the others the kept count leaves two: most recently
    # live first (b, then a), never-live ones after them.
    assert left(tmp_path, "releases") == ["a", "b", "c", "f"]
    assert removed["releases"] == ["d", "e"]
    assert left(tmp_path, "venvs") == ["v1", "v2", "v4"]
    assert sorted(Path(v).name for v in removed["venvs"]) == ["orphan", "v3"]


def test_keeping_one_leaves_only_the_live_release(tmp_path) -> None:
    deployment(
        tmp_path,
        {
            "a": {"age": 30, "live_age": 30, "venv": "v1"},
            "b": {"age": 20, "live_age": 2, "venv": "v2", "current": True},
        },
    )
    assert prune(tmp_path, "b", 1) == {
        "releases": ["a"],
        "venvs": [str(tmp_path / "venvs/orphan"), str(tmp_path / "venvs/v1")],
    }
    assert left(tmp_path, "releases") == ["b"]
    assert left(tmp_path, "venvs") == ["v2"]


def test_nothing_to_prune_changes_nothing(tmp_path) -> None:
    deployment(tmp_path, {"a": {"age": 5, "live_age": 5, "venv": "v1", "current": True}})
    (tmp_path / "venvs" / "orphan").rmdir()
    assert prune(tmp_path, "a", 5) == {"releases": [], "venvs": []}
    assert left(tmp_path, "releases") == ["a"]
