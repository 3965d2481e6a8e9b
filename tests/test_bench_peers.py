"""The peer bench's own logic: the edits it makes to what `fujin init --profile django`
writes (and its refusal of a file it does not know), the sample's packaging for fujin, and
the table's ratios."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
spec = importlib.util.spec_from_file_location("bench_peers", ROOT / "tools/bench_peers.py")
peers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peers)

# What fujin-cli 0.27.1's `fujin init --profile django` wrote for the sample (its pyproject
# naming the project and its version, no .python-version).
FUJIN_TOML = """app = "myproject"
build_command = "uv build && uv pip compile pyproject.toml -o requirements.txt > /dev/null"
distfile = "dist/myproject-{version}-py3-none-any.whl"
requirements = "requirements.txt"
installation_mode = "python-package"
hosts = [
    { user = "deploy", address = "myproject.com", envfile = ".env.prod" },
]
python_version = "3.12"
"""
CADDYFILE = """# Caddyfile for myproject
# Learn more: https://caddyserver.com/docs/caddyfile

myproject.com {
    handle_path /static/* {
        root * {app_dir}/staticfiles/
        file_server
    }

    handle {
        reverse_proxy localhost:8000
    }
}
"""


def test_fujin_toml_gets_the_fresh_server_and_the_systems_python_only() -> None:
    edited = tomllib.loads(peers.edit_fujin_toml(FUJIN_TOML, 2222, "/keys/id"))
    original = tomllib.loads(FUJIN_TOML)
    assert edited["hosts"] == [
        {
            "user": "admin",
            "address": "127.0.0.1",
            "port": 2222,
            "key_filename": "/keys/id",
            "envfile": ".env.prod",
        }
    ]
    assert edited["python_version"] == "/usr/bin/python3"
    unchanged = {k: v for k, v in original.items() if k not in ("hosts", "python_version")}
    assert {k: edited[k] for k in unchanged} == unchanged


def test_a_fujin_toml_or_caddyfile_of_another_shape_stops_the_bench() -> None:
    with pytest.raises(SystemExit, match="does not know"):
        peers.edit_fujin_toml(FUJIN_TOML.replace("python_version", "python"), 22, "k")
    with pytest.raises(SystemExit, match="does not know"):
        peers.edit_caddyfile(CADDYFILE.replace("myproject.com", "example.com"))


def test_caddyfile_keeps_all_but_its_site_address() -> None:
    edited = peers.edit_caddyfile(CADDYFILE)
    assert "localhost, 127.0.0.1 {\n" in edited
    assert edited.replace("localhost, 127.0.0.1 {", "myproject.com {") == CADDYFILE


def test_the_sample_is_packaged_with_its_own_requirements_and_manage_py() -> None:
    requirements = (ROOT / "app/requirements.txt").read_text()
    project = tomllib.loads(peers.peer_pyproject(requirements))
    pinned = [line.strip() for line in requirements.splitlines() if line.strip() and line[0] != "#"]
    assert project["project"]["dependencies"] == pinned
    assert project["project"]["scripts"] == {"myproject": "manage:main"}
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    for package in wheel["packages"]:
        assert (ROOT / "app" / package / "__init__.py").is_file(), package
    assert wheel["force-include"] == {"manage.py": "manage.py"}
    assert "def main()" in (ROOT / "app/manage.py").read_text()


def loaded(failed: int, requests: int, exit_code: int) -> dict[str, object]:
    return {"failed": failed, "requests": requests, "seconds": 5.7, "exit_code": exit_code}


def test_table_gives_kit_over_fujin_for_each_row() -> None:
    serve = {"rps": 200.0, "p50_ms": 1.0, "p99_ms": 2.0}
    results = {
        "first_deploy": {
            "fujin_s": 60.0, "kit_s": 54.0, "fujin_runs_s": [61.0, 59.0], "kit_runs_s": [55, 53],
        },
        "redeploy": {
            "fujin_s": 5.0, "kit_s": 10.0, "fujin_runs_s": [5.0], "kit_runs_s": [10.0],
            "kit_slowest_tasks": [
                {"task": "django : boot | Apply migrations", "s": 0.9},
                {"task": "Gather the facts the roles read", "s": 0.8},
            ] + [{"task": f"django : t{n}", "s": 0.1} for n in range(10)],
        },
        "serving": {
            "fujin": {"home": serve, "static": {**serve, "rps": 1000.0}},
            "kit": {"home": {**serve, "rps": 220.0}, "static": {**serve, "rps": 3000.0}},
        },
        "under_load": {
            "redeploy": {"fujin": loaded(0, 300, 0), "kit": loaded(0, 400, 0)},
            "broken": {"fujin": loaded(481, 924, 0), "kit": loaded(0, 500, 2)},
        },
    }  # fmt: skip
    text = peers.table(results)
    # Where the kit's redeploy time goes: its slowest steps, the role's prefix left out.
    assert text.splitlines()[-1] == (
        "The kit's median code-only redeploy, its slowest steps (profile_tasks): boot | Apply"
        " migrations 0.9 s; Gather the facts the roles read 0.8 s; t0 0.1 s; t1 0.1 s;"
        " t2 0.1 s; t3 0.1 s; t4 0.1 s; t5 0.1 s."
    )
    rows = [line.split(" | ") for line in text.split("\n\n")[0].splitlines()[2:]]
    # The kit in fujin's scope, when measured, is a row of its own, after the goal's.
    scoped = {**results, "first_deploy": {**results["first_deploy"], "kit_scoped_s": 42.0}}
    scoped_rows = [line.split(" | ") for line in peers.table(scoped).splitlines()[2:9]]
    assert scoped_rows[0] == rows[0]
    assert scoped_rows[2][0].startswith("| first deploy, the kit in fujin's scope (one run: ")
    assert scoped_rows[2][1:5] == ["60.0 s", "42.0 s", "0.7", "(reported) |"]
    assert scoped_rows[3:] == rows[2:6]
    assert [row[3] for row in rows] == ["0.9", "2.0", "1.1", "3.0", "-", "-"]
    assert rows[5][1:3] == ["481 of 924 over 5.7 s, exit 0", "0 of 500 over 5.7 s, exit 2"]
    assert rows[0][1] == "60.0 s (61.0, 59.0)"
    assert rows[1][0] == "| code-only redeploy, median of 1"


def test_idle_share_counts_idle_and_iowait_of_the_time_between_two_reads() -> None:
    # /proc/stat's cpu line: user nice system idle iowait irq softirq steal
    before = [100, 0, 50, 1000, 10, 0, 0, 0]
    after = [110, 0, 60, 1070, 20, 0, 0, 0]
    assert peers.idle_share(before, after) == pytest.approx(80 / 100)
    assert peers.idle_share(before, before) == 0


def test_quiet_gives_up_saying_which_figure_is_taken_on_a_busy_machine(monkeypatch) -> None:
    clock = iter(range(1000))
    monkeypatch.setattr(peers.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(peers.time, "sleep", lambda seconds: None)
    # Always busy: no idle time between two reads.
    reads = iter(range(1000))
    monkeypatch.setattr(peers, "cpu_times", lambda: [next(reads) * 100, 0, 0, 0, 0, 0, 0, 0])
    busy: list[str] = []
    peers.quiet("fujin's redeploy 1", busy, limit=5)
    assert busy == ["fujin's redeploy 1"]
    # Always idle: two calm seconds end the wait, nothing recorded.
    monkeypatch.setattr(peers, "cpu_times", lambda: [0, 0, 0, next(reads) * 100, 0, 0, 0, 0])
    peers.quiet("the kit's redeploy 1", busy, limit=5)
    assert busy == ["fujin's redeploy 1"]


def test_table_names_the_figures_taken_on_a_busy_machine() -> None:
    serve = {"rps": 1.0}
    run = loaded(0, 1, 0)
    results = {
        "first_deploy": {"fujin_s": 1, "kit_s": 1, "fujin_runs_s": [1], "kit_runs_s": [1]},
        "redeploy": {"fujin_s": 1, "kit_s": 1, "fujin_runs_s": [1], "kit_runs_s": [1]},
        "serving": {tool: {"home": serve, "static": serve} for tool in ("fujin", "kit")},
        "under_load": {k: {"fujin": run, "kit": run} for k in ("redeploy", "broken")},
    }
    assert "did not quiet down" not in peers.table(results)
    results["taken_busy"] = ["the kit's redeploy 2"]
    assert peers.table(results).endswith("did not quiet down: the kit's redeploy 2.")
