"""The manage wrapper (/usr/local/bin/<app>-manage), rendered from the django role's template
and run against a release of stand-ins: it runs django_manage_command with the release's
Python, in the project directory, with the app's environment and the caller's arguments."""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path

import pytest
from role_templates import ROLES, role_variables
from role_templates import render as render_template


def wrapper(tmp_path: Path, **overrides: object) -> tuple[Path, Path]:
    release = tmp_path / "release"
    (release / ".venv" / "bin").mkdir(parents=True)
    (release / "src").mkdir()
    python = release / ".venv" / "bin" / "python"
    # The release's Python, replaced by what shows how it was called.
    python.write_text(
        '#!/bin/sh\necho "cwd=$(pwd)"\necho "env=$APP_NAME"\nfor a; do echo "arg=$a"; done\n'
    )
    python.chmod(0o755)
    environment = tmp_path / "environment"
    environment.write_text("APP_NAME='shop'\n")
    variables = role_variables("django") | {
        "django_app_name": "shop",
        "django_user": getpass.getuser(),
        "django_project_dir": "src",
        "__django_env_file": str(environment),
        "ansible_managed": "managed",
        **overrides,
    }
    template = (ROLES / "django" / "templates" / "usr" / "local" / "bin" / "manage.j2").read_text()
    script = tmp_path / "shop-manage"
    script.write_text(render_template(template, variables))
    script.chmod(0o755)
    return script, release


def run(script: Path, release: Path, *args: str) -> list[str]:
    out = subprocess.run(
        [str(script), *args],
        env={**os.environ, "DJKIT_RELEASE_DIR": str(release)},
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.splitlines()


def test_runs_the_projects_manage_py_by_default(tmp_path) -> None:
    script, release = wrapper(tmp_path)
    said = run(script, release, "migrate", "--plan")
    assert said == [f"cwd={release}/src", "env=shop", "arg=manage.py", "arg=migrate", "arg=--plan"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["-m", "pretalx"], ["arg=-m", "arg=pretalx"]),
        (["bin/manage it.py"], ["arg=bin/manage it.py"]),
    ],
)
def test_runs_an_applications_own_entry_point(tmp_path, command, expected) -> None:
    script, release = wrapper(tmp_path, django_manage_command=command)
    said = run(script, release, "shell", "-c", "print('a b')")
    assert said[2:] == [*expected, "arg=shell", "arg=-c", "arg=print('a b')"]
