"""The app's workers (django_workers): their units as the roles render them, checked by
systemd's own tool, and the expressions that name the instances, those no longer asked for
and those a changed unit restarts."""

from __future__ import annotations

import shutil
import subprocess
import sys

from role_templates import ROLES, render, role_variables

TEMPLATE = ROLES / "common/templates/etc/systemd/system/app-worker@.service.j2"
ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
WORKERS = [
    {"name": "tasks", "command": "python manage.py db_worker --queue-name '*'", "instances": 2},
    {"name": "mail", "command": "celery -A proj worker", "stop_timeout": 300,
     "environment": {"C_FORCE_ROOT": "false"}},
]  # fmt: skip


def variables(**more: object) -> dict:
    found = role_variables("common") | role_variables("django")
    return found | {
        "ansible_managed": "Ansible managed",
        "django_app_name": "shop",
        "django_secret_key": "x",
        "django_workers": WORKERS,
        "common_private_users_supported": True,
        **more,
    }


def unit(worker: dict) -> str:
    values = variables()
    normalized = render("{{ __django_workers }}", values)
    item = next(each for each in normalized if each["name"] == worker["name"])
    return render(TEMPLATE.read_text(), values | {"item": item})


def settings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_a_worker_runs_its_command_in_the_live_release_as_the_app() -> None:
    lines = settings(unit(WORKERS[0]))
    assert "ExecStart=/srv/shop/current/.venv/bin/python manage.py db_worker --queue-name '*'" in (
        lines
    )
    assert "WorkingDirectory=/srv/shop/current/." in lines
    assert {"User=shop", "Group=shop", "EnvironmentFile=/etc/shop/environment"} <= set(lines)
    # Stopped by SIGTERM to the worker, which finishes its job; killed after the default 60 s.
    assert {"KillMode=mixed", "KillSignal=SIGTERM", "TimeoutStopSec=60"} <= set(lines)
    assert "RuntimeDirectory=%N" in lines
    # The app's sandbox, as its web servers.
    assert {"NoNewPrivileges=true", "ProtectSystem=strict", "PrivateUsers=true"} <= set(lines)
    assert "ReadWritePaths=/srv/shop/shared/media" in lines


def test_its_own_stop_timeout_and_environment() -> None:
    lines = settings(unit(WORKERS[1]))
    assert "TimeoutStopSec=300" in lines
    assert 'Environment="C_FORCE_ROOT=false"' in lines


def test_systemd_accepts_the_template_unit(tmp_path) -> None:
    # A live release whose virtualenv has the command (systemd checks it is executable).
    root = tmp_path / "srv"
    (root / "current/.venv/bin").mkdir(parents=True)
    (root / "current/.venv/bin/python").symlink_to(sys.executable)
    values = variables(django_root=str(root))
    item = render("{{ __django_workers }}", values)[0]
    path = tmp_path / "shop-worker-tasks@.service"
    path.write_text(render(TEMPLATE.read_text(), values | {"item": item}))
    result = subprocess.run(
        [ANALYZE, "verify", "--man=no", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    # The app's user does not exist here: anything else systemd says is a fault of the unit.
    said = [line for line in result.stderr.splitlines() if "shop" not in line.split(": ")[-1]]
    assert said == [], result.stderr


def test_the_instances_asked_for() -> None:
    assert render("{{ __django_worker_units }}", variables()) == [
        "shop-worker-tasks@1.service",
        "shop-worker-tasks@2.service",
        "shop-worker-mail@1.service",
    ]
    assert render("{{ __django_worker_units }}", variables(django_workers=[])) == []


def test_what_is_no_longer_asked_for_is_found_and_what_changed_restarts() -> None:
    wants = "/etc/systemd/system/multi-user.target.wants"
    values = variables(
        common_app_workers=render("{{ __django_workers }}", variables()),
        common_app_worker_units=render("{{ __django_worker_units }}", variables()),
        __common_app_worker_found={"files": [
            {"path": "/etc/systemd/system/shop-worker-tasks@.service"},
            {"path": "/etc/systemd/system/shop-worker-old@.service"},
            {"path": f"{wants}/shop-worker-tasks@1.service"},
            {"path": f"{wants}/shop-worker-tasks@3.service"},
            {"path": f"{wants}/shop-worker-old@1.service"},
        ]},
        __common_app_worker_units={"results": [
            {"item": {"name": "tasks"}, "changed": True},
            {"item": {"name": "mail"}, "changed": False},
        ]},
        __common_app_workers_started={"results": [
            {"item": "shop-worker-tasks@1.service", "status": {"ActiveState": "active"}},
            {"item": "shop-worker-tasks@2.service", "status": {"ActiveState": "inactive"}},
            {"item": "shop-worker-mail@1.service", "status": {"ActiveState": "active"}},
        ]},
    )  # fmt: skip
    assert render("{{ __common_app_worker_templates_unwanted }}", values) == [
        "shop-worker-old@.service"
    ]
    assert render("{{ __common_app_worker_instances_unwanted }}", values) == [
        "shop-worker-tasks@3.service",
        "shop-worker-old@1.service",
    ]
    # Only the running instance of the changed unit; the one started now is new already.
    assert render("{{ __common_app_workers_to_restart }}", values) == ["shop-worker-tasks@1"]
