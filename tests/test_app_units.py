"""The app's workers (django_workers) and timers (django_timers): their units as the roles
render them, checked by systemd's own tool, and the expressions that name the instances, the
units no longer asked for and those a changed unit restarts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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
        "inventory_hostname": "app1",
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


# Timers (django_timers): a oneshot service and its timer, on one app server.
TIMERS = [
    {"name": "prune", "command": "python manage.py prune_db_task_results", "on_calendar": "daily",
     "randomized_delay": 600},
    {"name": "report", "command": "python manage.py send_report", "on_calendar": "Mon 08:00",
     "host": "app2", "on_failure": "", "timeout": 120},
]  # fmt: skip


def timer_values(**more: object) -> dict:
    return variables(django_timers=TIMERS, djkit_app_hosts=["app1", "app2"], **more)


def timer_units(tmp_path: Path, name: str) -> tuple[str, str]:
    root = tmp_path / "srv"
    (root / "current/.venv/bin").mkdir(parents=True, exist_ok=True)
    if not (root / "current/.venv/bin/python").exists():
        (root / "current/.venv/bin/python").symlink_to(sys.executable)
    values = timer_values(django_root=str(root), inventory_hostname="app1")
    item = next(each for each in render("{{ __django_timers }}", values) if each["name"] == name)
    return tuple(
        render(
            (TEMPLATE.parent / f"app-timer.{kind}.j2").read_text(), values | {"item": [item, kind]}
        )
        for kind in ("service", "timer")
    )


def test_a_timer_runs_its_command_once_at_a_time_and_reports_a_failure(tmp_path) -> None:
    service, timer = (settings(text) for text in timer_units(tmp_path, "prune"))
    assert "Type=oneshot" in service
    assert f"ExecStart={tmp_path}/srv/current/.venv/bin/python manage.py prune_db_task_results" in (
        service
    )
    assert {"User=shop", "TimeoutStartSec=3600", "NoNewPrivileges=true"} <= set(service)
    assert "OnFailure=shop-timer-failed@%n.service" in service
    assert {"OnCalendar=daily", "RandomizedDelaySec=600", "Persistent=true"} <= set(timer)
    assert "WantedBy=timers.target" in timer


def test_a_timer_without_a_failure_unit(tmp_path) -> None:
    service, _ = (settings(text) for text in timer_units(tmp_path, "report"))
    assert not [line for line in service if line.startswith("OnFailure=")]
    assert "TimeoutStartSec=120" in service


def test_systemd_accepts_the_timer_its_service_and_the_failure_report(tmp_path) -> None:
    service, timer = timer_units(tmp_path, "prune")
    units = tmp_path / "units"
    units.mkdir()
    (units / "shop-timer-prune.service").write_text(service)
    (units / "shop-timer-prune.timer").write_text(timer)
    (units / "shop-timer-failed@.service").write_text(
        render((TEMPLATE.parent / "app-timer-failed@.service.j2").read_text(), variables())
    )
    result = subprocess.run(
        [ANALYZE, "verify", "--man=no", *(str(path) for path in sorted(units.iterdir()))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if "shop" not in line.split(": ")[-1]]
    assert said == [], result.stderr


def test_each_timer_runs_on_its_host_only() -> None:
    here = render("{{ __django_timers_here | map(attribute='name') | list }}",
                  timer_values(inventory_hostname="app1"))  # fmt: skip
    there = render("{{ __django_timers_here | map(attribute='name') | list }}",
                   timer_values(inventory_hostname="app2"))  # fmt: skip
    assert (here, there) == (["prune"], ["report"])


def test_timer_units_not_asked_for_here_are_found() -> None:
    here = render("{{ __django_timers_here }}", timer_values(inventory_hostname="app1"))
    values = timer_values(
        inventory_hostname="app1",
        common_app_timers=here,
        __common_app_timer_found={"files": [
            {"path": "/etc/systemd/system/shop-timer-prune.service"},
            {"path": "/etc/systemd/system/shop-timer-prune.timer"},
            {"path": "/etc/systemd/system/shop-timer-report.service"},
            {"path": "/etc/systemd/system/shop-timer-report.timer"},
        ]},
    )  # fmt: skip
    assert render("{{ __common_app_timer_files_unwanted }}", values) == [
        "shop-timer-report.service",
        "shop-timer-report.timer",
    ]


def test_a_worker_with_a_host_runs_there_only() -> None:
    workers = [*WORKERS, {"name": "beat", "command": "celery -A proj beat", "host": "app2"}]
    units = "{{ __django_worker_units }}"
    here = render(units, variables(django_workers=workers))
    there = render(units, variables(django_workers=workers, inventory_hostname="app2"))
    assert "shop-worker-beat@1.service" not in here
    assert there[-1] == "shop-worker-beat@1.service"
    assert len(there) == len(here) + 1


def test_worker_servers_take_the_workers_and_run_no_web_service() -> None:
    """With worker servers (djkit_worker_hosts), the workers run there and not on the app
    servers, a worker's `host` may name either kind, and a worker server has no service of
    Gunicorn's or Uvicorn's for a deploy to restart."""
    workers = [*WORKERS, {"name": "beat", "command": "celery -A proj beat", "host": "app1"}]
    topology = {"djkit_app_hosts": ["app1", "app2"], "djkit_worker_hosts": ["jobs1"],
                "django_workers": workers, "uvicorn_enabled": True}  # fmt: skip
    units = "{{ __django_worker_units }}"
    on_app1 = render(units, variables(**topology))
    on_app2 = render(units, variables(**topology, inventory_hostname="app2"))
    on_jobs1 = render(units, variables(**topology, inventory_hostname="jobs1"))
    assert on_app1 == ["shop-worker-beat@1.service"]
    assert on_app2 == []
    assert on_jobs1 == [
        "shop-worker-tasks@1.service",
        "shop-worker-tasks@2.service",
        "shop-worker-mail@1.service",
    ]
    services = "{{ django_services }}"
    assert render(services, variables(**topology, inventory_hostname="jobs1")) == []
    assert render(services, variables(**topology)) == [
        "shop-gunicorn.service",
        "shop-uvicorn.service",
    ]
    # A worker server is never taken out of (or put back into) the web servers' upstreams.
    rolling = "{{ __django_rolling | bool }}"
    assert render(rolling, variables(**topology, django_web_hosts=["web1"])) is True
    assert (
        render(
            rolling, variables(**topology, django_web_hosts=["web1"], inventory_hostname="jobs1")
        )
        is False
    )
