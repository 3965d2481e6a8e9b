"""The packer that names releases: same tree, same id; any change, a new id; modes normalised."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "roles/django/files/source_archive.py"


def run(src: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(src), *args], capture_output=True, text=True, check=False
    )


def make_tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "manage.py").write_text("print('manage')\n")
    (root / "manage.py").chmod(0o755)
    (root / "pkg/settings.py").write_text("DEBUG = False\n")
    (root / "pkg/__pycache__").mkdir()
    (root / "pkg/__pycache__/settings.cpython-311.pyc").write_bytes(b"\0")
    (root / ".git").mkdir()
    (root / ".git/HEAD").write_text("ref: refs/heads/main\n")
    return root


def digest(src: Path) -> str:
    result = run(src, "--exclude=.git", "--exclude=__pycache__")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_same_tree_same_id_and_excluded_files_do_not_count(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "a")
    first = digest(tree)
    (tree / ".git/HEAD").write_text("ref: refs/heads/other\n")
    (tree / "pkg/__pycache__/other.pyc").write_bytes(b"\1")
    assert digest(tree) == first
    assert len(first) == 12


def test_content_name_and_mode_changes_give_a_new_id(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "a")
    ids = {digest(tree)}
    (tree / "pkg/settings.py").write_text("DEBUG = True\n")
    ids.add(digest(tree))
    (tree / "pkg/settings.py").rename(tree / "pkg/config.py")
    ids.add(digest(tree))
    (tree / "pkg/config.py").chmod(0o755)
    ids.add(digest(tree))
    assert len(ids) == 4


def test_archive_is_reproducible_with_normalised_modes(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "a")
    one, two = tmp_path / "one.tar.gz", tmp_path / "two.tar.gz"
    assert run(tree, "--exclude=.git", "--exclude=__pycache__", f"--output={one}").returncode == 0
    assert run(tree, "--exclude=.git", "--exclude=__pycache__", f"--output={two}").returncode == 0
    assert one.read_bytes() == two.read_bytes()
    with tarfile.open(one) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {"manage.py", "pkg", "pkg/settings.py"}
    assert members["manage.py"].mode == 0o750
    assert members["pkg/settings.py"].mode == 0o640
    assert members["pkg"].mode == 0o750
    assert {m.uid for m in members.values()} == {0}


def test_bad_source_is_a_clear_error(tmp_path: Path) -> None:
    missing = run(tmp_path / "nope")
    assert missing.returncode == 2
    assert "is not a directory" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = run(tmp_path / "empty")
    assert empty.returncode == 2
    assert "holds no files" in empty.stderr


def test_a_rooted_pattern_leaves_nested_directories_of_that_name(tmp_path: Path) -> None:
    """The default /media keeps the uploads of a local run out of the release, never a
    project's own fixtures/media (Wagtail's demo data lives there)."""
    tree = make_tree(tmp_path / "a")
    for rel in ("media/upload.jpg", "pkg/fixtures/media/original.jpg", "staticfiles/app.css"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(b"x")
    archive = tmp_path / "out.tar.gz"
    excludes = ["--exclude=/media", "--exclude=/staticfiles", "--exclude=__pycache__"]
    result = run(tree, *excludes, "--exclude=.git", f"--output={archive}")
    assert result.returncode == 0, result.stderr
    with tarfile.open(archive) as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
    assert names == {"manage.py", "pkg/settings.py", "pkg/fixtures/media/original.jpg"}
