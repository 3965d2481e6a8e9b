"""files/djkit_entry.py: the kit's release script run where the project's own entry point
hands Django its command, so that whatever that entry point sets up (paths, settings
defaults) holds, and not through a `shell` an application may replace. Real Django (the
controller's), stand-in projects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ENTRY = (Path(__file__).resolve().parent.parent / "roles/django/files/djkit_entry.py").read_text()
SCRIPT = "from django.apps import apps; print('installed', apps.is_installed('shopapp'))"
SETTINGS = 'SECRET_KEY = "x"\nINSTALLED_APPS = ["shopapp"]\n'
# As cookiecutter-django's manage.py: the apps live in a directory it adds to the path.
MANAGE = """import os, sys
from pathlib import Path
if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conf.settings")
    sys.path.append(str(Path(__file__).parent / "apps"))
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"""


def project(root: Path) -> Path:
    (root / "conf").mkdir(parents=True)
    (root / "conf" / "__init__.py").write_text("")
    (root / "conf" / "settings.py").write_text(SETTINGS)
    (root / "apps" / "shopapp").mkdir(parents=True)
    (root / "apps" / "shopapp" / "__init__.py").write_text("")
    (root / "manage.py").write_text(MANAGE)
    return root


def run(cwd: Path, script: str, *entry: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-c", ENTRY, script, *entry],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_runs_the_script_after_the_projects_manage_py_set_up_its_paths(tmp_path) -> None:
    said = run(project(tmp_path), SCRIPT, "manage.py")
    assert said.returncode == 0, said.stderr
    assert said.stdout.strip() == "installed True"


def test_runs_the_script_through_an_applications_module(tmp_path) -> None:
    root = project(tmp_path)
    (root / "manage.py").unlink()
    (root / "tool").mkdir()
    (root / "tool" / "__init__.py").write_text("")
    (root / "tool" / "__main__.py").write_text(
        MANAGE.replace("Path(__file__).parent", "Path.cwd()")
    )
    said = run(root, SCRIPT, "-m", "tool")
    assert said.returncode == 0, said.stderr
    assert said.stdout.strip() == "installed True"


def test_a_script_that_exits_fails_with_its_message(tmp_path) -> None:
    said = run(project(tmp_path), "import sys; sys.exit('STATIC_ROOT is not set')", "manage.py")
    assert said.returncode == 1
    assert "STATIC_ROOT is not set" in said.stderr


def test_an_entry_point_that_never_hands_django_a_command_is_named(tmp_path) -> None:
    root = project(tmp_path)
    (root / "manage.py").write_text("print('hello')\n")
    said = run(root, SCRIPT, "manage.py")
    assert said.returncode == 1
    assert "manage.py (django_manage_command) did not hand a command" in said.stderr
