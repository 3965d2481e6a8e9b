"""tools/find-python, which `make venv` asks for the controller's Python, against stand-in
interpreters: the real one made to report another version, or to lack its venv module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIND = Path(__file__).resolve().parent.parent / "tools" / "find-python"


def interpreter(directory: Path, name: str, version: tuple[int, int], venv: bool = True) -> Path:
    """`name` in `directory`: this Python, reporting `version`, without ensurepip unless `venv`."""
    setup = f"import sys; sys.version_info = {(*version, 0)!r}; " + (
        "" if venv else "sys.modules['ensurepip'] = None; "
    )
    path = directory / name
    path.write_text(f'#!/bin/sh\nexec {sys.executable} -c "{setup}exec(sys.argv[1])" "$2"\n')
    path.chmod(0o755)
    return path


def find(directory: Path, python: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FIND)],
        env={"PATH": str(directory), "PYTHON": python},
        capture_output=True,
        text=True,
        check=False,
    )


def test_takes_the_newest_python_that_is_recent_enough(tmp_path) -> None:
    interpreter(tmp_path, "python3", (3, 10))
    interpreter(tmp_path, "python3.11", (3, 11))
    newest = interpreter(tmp_path, "python3.12", (3, 12))
    found = find(tmp_path)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(newest)


def test_skips_a_python_without_its_venv_module(tmp_path) -> None:
    interpreter(tmp_path, "python3.13", (3, 13), venv=False)
    usable = interpreter(tmp_path, "python3", (3, 11))
    found = find(tmp_path)
    assert found.stdout.strip() == str(usable)


def test_refuses_naming_what_it_found_and_how_to_get_one(tmp_path) -> None:
    interpreter(tmp_path, "python3", (3, 10))
    interpreter(tmp_path, "python3.13", (3, 13), venv=False)
    found = find(tmp_path)
    assert found.returncode == 1
    assert found.stdout == ""
    assert "python3 (3.10, too old)" in found.stderr
    assert "python3.13 (3.13, without its venv module: apt install python3.13-venv)" in found.stderr
    assert "apt install python3.11 python3.11-venv" in found.stderr
    assert "PYTHON=" in found.stderr


def test_python_names_the_one_to_use(tmp_path) -> None:
    chosen = interpreter(tmp_path, "python-custom", (3, 12))
    interpreter(tmp_path, "python3.13", (3, 13))
    assert find(tmp_path, python=str(chosen)).stdout.strip() == str(chosen)
    missing = find(tmp_path, python=str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert f"none of {tmp_path / 'nowhere'} on PATH" in missing.stderr
