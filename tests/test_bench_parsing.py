"""The benchmark's own arithmetic: reading wrk's report and judging the targets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench", ROOT / "tools/bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

WRK = """Running 10s test @ https://127.0.0.1/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms    2.10ms  40.01ms   93.12%
    Req/Sec     6.01k   512.33     7.10k    70.00%
  Latency Distribution
     50%  850.00us
     75%    1.40ms
     90%    2.90ms
     99%    1.20s
  119842 requests in 10.00s, 41.20MB read
Requests/sec:  11983.72
Transfer/sec:      4.12MB
"""


def test_wrk_report_is_read_in_milliseconds() -> None:
    assert bench.parse_wrk(WRK) == {"rps": 11983.7, "p50_ms": 0.85, "p99_ms": 1200.0}


def test_table_marks_missed_targets() -> None:
    serve = {"rps": 100.0, "p50_ms": 1.0, "p99_ms": 2.0}
    default = {
        "cold_s": 200.0, "rerun_s": 10.0, "rerun_changed": 0, "rerun_runs_s": [10.0],
        "redeploy_s": 20.0, "redeploy_runs_s": [25.0, 19.0, 20.0],
    }  # fmt: skip
    mitogen = {**default, "cold_s": 150.0, "rerun_runs_s": [14.0, 10.0, 9.5]}
    results = {
        "machine": {"cores": 2, "memory_mb": 1024, "suite": "bookworm", "wrk": "x"},
        "floor_s": 100.0, "strategies": {"default": default, "mitogen": mitogen},
        "static_nginx": serve, "static_django": serve,
        "dynamic_nginx": serve, "dynamic_gunicorn": serve,
        "ratios": {
            "default": {
                "cold_over_floor": bench.judge(2.0, ("<=", 1.8)),
                "rerun_over_cold": bench.judge(0.05, ("<=", 0.4)),
                "redeploy_over_cold": bench.judge(0.1, ("<=", 0.2)),
            },
            "mitogen": {
                "cold_over_floor": bench.judge(1.5, None),
                "rerun_over_cold": bench.judge(0.3, ("<=", 0.25)),
                "redeploy_over_cold": bench.judge(0.13, None),
            },
            "serving": {
                "static_nginx_over_django": bench.judge(1.0, (">=", 10.0)),
                "dynamic_nginx_over_gunicorn": bench.judge(1.0, (">=", 0.9)),
            },
        },
    }  # fmt: skip
    table = bench.table(results)
    assert (
        "| cold site.yml | default | 200.0 s | floor script 100.0 s | 2.0 | <= 1.8 | NO |" in table
    )
    assert (
        "| cold site.yml | mitogen | 150.0 s | floor script 100.0 s | 1.5 | (reported) |  |"
        in table
    )
    assert table.count("| NO |") == 3
    assert "| re-run | default | 10.0 s, changed=0 | cold 200.0 s | 0.05 | <= 0.4 | yes |" in table
    # Several re-runs: the median, each one shown (the first, the immediate one, first).
    assert (
        "| re-run, median of 3 | mitogen | 10.0 s (14.0 s, 10.0 s, 9.5 s), changed=0 "
        "| cold 150.0 s | 0.3 | <= 0.25 | NO |" in table
    )
    assert (
        "| code-only redeploy, median of 3 | default | 20.0 s (25.0 s, 19.0 s, 20.0 s) |" in table
    )


def test_judge_reads_both_directions_and_reports_without_a_target() -> None:
    assert bench.judge(0.4, ("<=", 0.4))["met"] is True
    assert bench.judge(0.41, ("<=", 0.4))["met"] is False
    assert bench.judge(9.9, (">=", 10.0)) == {"value": 9.9, "target": ">= 10.0", "met": False}
    assert bench.judge(1.23456, None) == {"value": 1.235, "target": "(reported)", "met": None}


APT_TASK = "common : install | Ensure the packages of this host are present, in one apt call"
LONG_TASK = "postgresql : a task whose name runs past the summary's width and then some more"
PROFILE = """PLAY RECAP *********************************************************************
djkit-local                : ok=160  changed=0    unreachable=0    failed=0    skipped=60

Tuesday 24 November 2026  18:01:02 +0000 (0:00:00.210)       0:00:41.800 ******
===============================================================================
common : install | Ensure the packages of this host are present, in one apt call -- 21.44s
postgresql : a task whose name runs past the summary's width and then some more - 100.25s
django : release | Apply migrations before the release goes live ------- 2.31s
Gathering Facts --------------------------------------------------------- 1.05s
nginx : configure | Template the site ----------------------------------- 0.42s
"""


def test_slowest_tasks_come_from_the_profile_summary_only() -> None:
    # Long names leave fewer dashes before the time (two, or one from 100 s on).
    assert bench.slowest_tasks(PROFILE) == [
        {"task": APT_TASK, "s": 21.44},
        {"task": LONG_TASK, "s": 100.25},
        {"task": "django : release | Apply migrations before the release goes live", "s": 2.31},
        {"task": "Gathering Facts", "s": 1.05},
        {"task": "nginx : configure | Template the site", "s": 0.42},
    ]
    assert bench.slowest_tasks("no summary here") == []


def test_median_run_keeps_that_runs_latencies_and_every_run() -> None:
    runs = [
        {"rps": 300.0, "p50_ms": 50.0, "p99_ms": 90.0},
        {"rps": 250.0, "p50_ms": 60.0, "p99_ms": 140.0},
        {"rps": 330.0, "p50_ms": 45.0, "p99_ms": 70.0},
    ]
    assert bench.median_run(runs) == {"rps": 300.0, "p50_ms": 50.0, "p99_ms": 90.0, "runs": runs}
    assert bench.median_run(runs[:2])["rps"] == 250.0


def test_recap_sums_every_host() -> None:
    out = PROFILE + "web : ok=10 changed=2 unreachable=0 failed=0 skipped=5\n"
    assert bench.recap(out) == {"ok": 170, "changed": 2, "skipped": 65}


def test_rerun_floor_counts_each_task_at_the_cheapest_cost() -> None:
    floor = {"facts_s": 1.0, "set_fact_ms": 20.0, "skipped_ms": 10.0}
    # 101 ok (facts among them) at 20 ms and 50 skipped at 10 ms, after 1 s of facts.
    assert bench.rerun_floor(floor, {"ok": 101, "changed": 0, "skipped": 50}) == 3.5


def test_floor_playbook_repeats_one_task() -> None:
    text = bench.floor_playbook(bench.FLOOR_TASKS["stat"], 3)
    assert text.count("ansible.builtin.stat:") == 3
    assert "gather_facts: false" in text
    assert "tasks:\n    []" in bench.floor_playbook("", 0, gather=True)


def test_median_timed_keeps_the_median_runs_slowest_tasks_only(monkeypatch) -> None:
    monkeypatch.setattr(bench, "SLOWEST", {"a": ["slow a"], "b": ["slow b"], "c": ["slow c"]})
    took, runs = bench.median_timed([(5.04, "a"), (7.0, "b"), (6.06, "c")], "redeploy")
    assert took == 6.06
    assert runs == [5.0, 7.0, 6.1]
    assert bench.SLOWEST == {"redeploy": ["slow c"]}


def test_mitogen_env_selects_the_pinned_mitogen_strategy() -> None:
    """What the full bench sets for its Mitogen runs (the smoke measures the default strategy
    only): Mitogen's own strategy directory, from the venv, and its linear strategy."""
    env = bench.mitogen_env()
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert (Path(env["ANSIBLE_STRATEGY_PLUGINS"]) / "mitogen_linear.py").is_file()
