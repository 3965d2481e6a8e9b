"""The kit's batched state module (plugins/modules/djkit_state.py), run as Ansible runs a
module (its arguments in a file), on a scratch directory. Its systemd half is proven by the
Molecule scenarios, where every role uses it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parent.parent / "plugins" / "modules" / "djkit_state.py"


def run(tmp_path: Path, check: bool = False, diff: bool = False, **args) -> dict:
    args_file = tmp_path / "args.json"
    args_file.write_text(
        json.dumps(
            {
                "ANSIBLE_MODULE_ARGS": {
                    **args,
                    "_ansible_check_mode": check,
                    "_ansible_diff": diff,
                }
            }
        )
    )
    out = subprocess.run(
        [sys.executable, str(MODULE), str(args_file)], capture_output=True, text=True, check=False
    )
    return json.loads(out.stdout)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_files_are_written_once_with_their_modes(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "app"
    files = [
        {"path": str(target), "state": "directory", "mode": "0750"},
        {"path": str(target / "app.conf"), "content": "a = 1\n", "mode": "0640"},
        {"path": str(target / "current"), "state": "link", "src": "/srv/app/releases/1"},
    ]
    first = run(tmp_path, files=files)
    assert first["changed"] is True
    assert first["changed_paths"] == [
        str(target),
        str(target / "app.conf"),
        str(target / "current"),
    ]
    assert (target / "app.conf").read_text() == "a = 1\n"
    assert mode(target) == 0o750
    assert mode(target / "app.conf") == 0o640
    assert os.readlink(target / "current") == "/srv/app/releases/1"

    second = run(tmp_path, files=files)
    assert second["changed"] is False
    assert second["changed_paths"] == []


def test_a_mode_or_a_content_drift_is_put_right(tmp_path: Path) -> None:
    conf = tmp_path / "app.conf"
    files = [{"path": str(conf), "content": "a = 1\n", "mode": "0640"}]
    run(tmp_path, files=files)
    conf.chmod(0o666)
    assert run(tmp_path, files=files)["changed_paths"] == [str(conf)]
    assert mode(conf) == 0o640
    conf.write_text("a = 2\n")
    assert run(tmp_path, files=files)["changed_paths"] == [str(conf)]
    assert conf.read_text() == "a = 1\n"


def test_a_file_that_fails_validation_never_lands(tmp_path: Path) -> None:
    conf = tmp_path / "app.conf"
    conf.write_text("good\n")
    result = run(
        tmp_path,
        files=[{"path": str(conf), "content": "bad\n", "validate": "grep -q good %s"}],
    )
    assert result.get("failed") is True
    assert str(conf) in result["msg"]
    assert "validation" in result["msg"]
    assert conf.read_text() == "good\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".djkit-")] == []


def test_validation_sees_the_candidate(tmp_path: Path) -> None:
    conf = tmp_path / "app.conf"
    result = run(
        tmp_path, files=[{"path": str(conf), "content": "good\n", "validate": "grep -q good %s"}]
    )
    assert result["changed"] is True
    assert conf.read_text() == "good\n"


def test_lines_replace_the_last_match_or_are_added(tmp_path: Path) -> None:
    conf = tmp_path / "redis.conf"
    conf.write_text("bind 0.0.0.0\n# requirepass foobared\nport 6379\n")
    files = [
        {
            "path": str(conf),
            "state": "lines",
            "lines": [
                {"regexp": r"^bind\s", "line": "bind 127.0.0.1"},
                {"regexp": r"^#?\s*requirepass\s", "line": "requirepass s3cret"},
                {"regexp": r"^protected-mode\s", "line": "protected-mode yes"},
            ],
        }
    ]
    assert run(tmp_path, files=files)["changed"] is True
    assert conf.read_text() == (
        "bind 127.0.0.1\nrequirepass s3cret\nport 6379\nprotected-mode yes\n"
    )
    assert run(tmp_path, files=files)["changed"] is False


def test_absent_removes_files_and_links(tmp_path: Path) -> None:
    link = tmp_path / "default"
    link.symlink_to("/nonexistent")
    result = run(tmp_path, files=[{"path": str(link), "state": "absent"}])
    assert result["changed_paths"] == [str(link)]
    assert not os.path.lexists(link)
    assert run(tmp_path, files=[{"path": str(link), "state": "absent"}])["changed"] is False


def test_check_mode_reports_and_changes_nothing(tmp_path: Path) -> None:
    conf = tmp_path / "app.conf"
    conf.write_text("old\n")
    result = run(
        tmp_path,
        check=True,
        diff=True,
        files=[
            {"path": str(conf), "content": "new\n"},
            {"path": str(tmp_path / "new.d"), "state": "directory"},
        ],
    )
    assert result["changed"] is True
    assert conf.read_text() == "old\n"
    assert not (tmp_path / "new.d").exists()
    assert result["diff"][0] == {
        "before_header": str(conf),
        "after_header": str(conf),
        "before": "old\n",
        "after": "new\n",
    }


def test_a_secret_file_is_never_shown_in_a_diff(tmp_path: Path) -> None:
    env = tmp_path / "environment"
    env.write_text("SECRET='old-value'\n")
    result = run(
        tmp_path,
        diff=True,
        files=[{"path": str(env), "content": "SECRET='new-value'\n", "secret": True}],
    )
    shown = json.dumps(result["diff"])
    assert "old-value" not in shown
    assert "new-value" not in shown
    assert env.read_text() == "SECRET='new-value'\n"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"state": "file"}, "needs content"),
        ({"state": "link"}, "needs src"),
        ({"content": "x", "mode": "rw-r--r--"}, "mode must be octal"),
        ({"content": "x", "owner": "no-such-user-here"}, "no such user or group"),
    ],
)
def test_bad_entries_fail_naming_the_path(tmp_path: Path, entry: dict, message: str) -> None:
    path = str(tmp_path / "thing")
    result = run(tmp_path, files=[{"path": path, **entry}])
    assert result.get("failed") is True
    assert path in result["msg"]
    assert message in result["msg"]
    assert not os.path.lexists(path)


def test_a_linked_file_gets_the_content_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "locale.conf"
    real.write_text("LANG=C\n")
    link = tmp_path / "locale"
    link.symlink_to("locale.conf")
    files = [{"path": str(link), "content": "LANG=C.UTF-8\n", "mode": "0644"}]
    assert run(tmp_path, files=files)["changed"] is True
    assert link.is_symlink()
    assert real.read_text() == "LANG=C.UTF-8\n"
    assert run(tmp_path, files=files)["changed"] is False
