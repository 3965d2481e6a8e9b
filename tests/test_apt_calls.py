"""Every apt call of the roles waits, bounded and reported, for other apt users (a fresh VM's
cloud-init or unattended-upgrades hold the locks in its first minutes), and keeps needrestart
(Ubuntu 24.04 restarts services by itself after an upgrade) from restarting services mid-run.
One definition holds it: the common role's apt.yml, which every role's install goes through."""

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


def role_tasks():
    for path in sorted(ROLES.glob("*/tasks/*.yml")):
        for task in tasks(yaml.safe_load(path.read_text()) or []):
            yield f"{path.relative_to(ROLES)}: {task['name']}", task


def test_the_apt_module_is_called_in_one_place_with_the_waits_and_needrestart_off() -> None:
    calls = [(where, task) for where, task in role_tasks() if "ansible.builtin.apt" in task]
    assert [where.split(":")[0] for where, _ in calls] == ["common/tasks/apt.yml"] * 2
    first, then = (task for _, task in calls)
    # First without waiting: a run whose packages are in place takes no lock, and a held
    # lock fails at once, as a result the block goes on from.
    assert first["ansible.builtin.apt"]["lock_timeout"] == "{{ __common_apt_wait }}"
    assert first["vars"]["__common_apt_wait"] == 0
    assert first["failed_when"][1] == "not __common_apt_found_busy | bool"
    # (What the first call said: the apt module's words for a lock another apt user holds.)
    found_busy = yaml.safe_load((ROLES / "common/vars/main.yml").read_text())[
        "__common_apt_found_busy"
    ]
    assert "__common_apt_now.msg" in found_busy
    assert "__common_apt_lock_busy" in found_busy
    # Then, only where apt was in use, the same call waiting for it, its holders named first.
    assert then["ansible.builtin.apt"] == first["ansible.builtin.apt"]
    assert then["vars"]["__common_apt_wait"] == "{{ common_apt_lock_timeout }}"
    apt = yaml.safe_load((ROLES / "common/tasks/apt.yml").read_text())
    report = apt[0]["block"][1]
    assert report["ansible.builtin.include_tasks"] == "apt_locks.yml"
    assert report["when"] == then["when"]
    assert then["when"] == "__common_apt_found_busy | bool"
    for task in (first, then):
        assert task["environment"]["NEEDRESTART_SUSPEND"] == "1"
    # A failure of either explained.
    assert "universe" in yaml.safe_dump(apt[0]["rescue"])


def test_the_bootstrap_of_apts_bindings_waits_for_the_locks_too() -> None:
    shells = [
        (where, task)
        for where, task in role_tasks()
        if "apt-get" in yaml.safe_dump(task.get("ansible.builtin.shell", ""))
    ]
    assert len(shells) == 1, shells
    where, task = shells[0]
    assert task["environment"]["NEEDRESTART_SUSPEND"] == "1", where
    assert task["ansible.builtin.shell"]["cmd"].count("DPkg::Lock::Timeout") == 2, where


def test_every_role_that_installs_packages_goes_through_the_common_apt_tasks() -> None:
    importers = {
        where.split("/")[0]
        for where, task in role_tasks()
        if (task.get("ansible.builtin.import_role") or {}).get("tasks_from") == "apt"
        or task.get("ansible.builtin.import_tasks") == "apt.yml"
    }
    assert importers == {"common", "django", "nginx", "postgresql", "redis", "system"}
