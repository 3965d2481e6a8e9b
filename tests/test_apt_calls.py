"""Every apt call of the roles waits, bounded, for other apt users (a fresh VM's cloud-init
or unattended-upgrades hold the locks in its first minutes), and keeps needrestart (Ubuntu
24.04 restarts services by itself after an upgrade) from restarting services mid-run."""

from __future__ import annotations

from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parent.parent / "roles"


def tasks(items: list[dict]):
    """Every task of a task list, those inside blocks included."""
    for task in items:
        if "block" in task:
            yield from tasks(task["block"] + task.get("rescue", []) + task.get("always", []))
        else:
            yield task


def apt_tasks() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(ROLES.glob("*/tasks/*.yml")):
        for task in tasks(yaml.safe_load(path.read_text()) or []):
            text = yaml.safe_dump(task)
            if "ansible.builtin.apt" in task or "apt-get" in text:
                found.append((f"{path.relative_to(ROLES)}: {task['name']}", task))
    return found


def test_there_are_apt_calls_to_check() -> None:
    # The bootstrap of python3-apt and one apt call per role that installs packages.
    assert len(apt_tasks()) >= 6, apt_tasks()


def test_every_apt_call_waits_for_the_locks_and_suspends_needrestart() -> None:
    for where, task in apt_tasks():
        assert task.get("environment", {}).get("NEEDRESTART_SUSPEND") == "1", where
        if "ansible.builtin.apt" in task:
            assert "common_apt_lock_timeout" in task["ansible.builtin.apt"]["lock_timeout"], where
        else:
            assert task["ansible.builtin.shell"]["cmd"].count("DPkg::Lock::Timeout") == 2, where
