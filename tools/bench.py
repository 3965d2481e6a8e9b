#!/usr/bin/env python3
"""The kit's benchmark (`make bench`): provisioning and serving, measured in one run on fresh
containers of the same image, against floors that cannot be beaten, for the default strategy
(Ansible's linear) and for the Mitogen opt-in (tools/mitogen-env), each on a server of its own:

1. cold `site.yml` on a fresh server, against a bare script that installs the same apt
   packages (those the kit left marked as installed by hand) and the same pip requirements
   on an identical fresh server, over the same SSH;
2. immediate re-runs: their time and changed count (every role's own checks run);
3. code-only redeploys (requirements unchanged);
4. wrk inside the default strategy's server, fixed duration and connections: a hashed
   static file through nginx vs the same file from Django through Gunicorn, and the home page
   through nginx vs Gunicorn asked directly (a bench-only loopback listener,
   gunicorn_extra_listen).

Prints a table, writes artifacts/bench.json. Not a test: the targets are reported, not
enforced. DJKIT_BENCH_SECONDS (wrk duration, default 10), DJKIT_BENCH_REPEATS (re-runs and
redeploys per strategy, default 3), DJKIT_BENCH_SUITE (bookworm), DJKIT_BENCH_KEEP=1 keeps
the containers, DJKIT_BENCH_OUT names the JSON file (under the project),
DJKIT_BENCH_STRATEGIES the strategies measured ("mitogen default", the default server always:
it serves). `make bench-smoke`, part of `make test`, runs it with 2 s wrk runs, one repeat and
the default strategy only (the lifecycle, cluster and acme scenarios run under Mitogen).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"
SUITE = os.environ.get("DJKIT_BENCH_SUITE", "bookworm")
SECONDS = int(os.environ.get("DJKIT_BENCH_SECONDS", "10"))
CONNECTIONS, THREADS = 16, 2
ROUNDS = 3  # alternating rounds where two figures are close
# Code-only redeploys and immediate re-runs one after the other, the median reported.
REPEATS = int(os.environ.get("DJKIT_BENCH_REPEATS", "3"))
STRATEGIES = os.environ.get("DJKIT_BENCH_STRATEGIES", "mitogen default").split()
KIT, FLOOR, APT = "djkit-bench-kit", "djkit-bench-floor", "djkit-bench-apt"
MITOGEN = "djkit-bench-mitogen"
DIRECT = "127.0.0.1:18000"  # gunicorn_extra_listen in tools/bench-vars.yml
# Per strategy (None: reported, no target), then the serving ratios.
TARGETS = {
    "default": {
        "cold_over_floor": ("<=", 1.8),
        "rerun_over_cold": ("<=", 0.40),
        "redeploy_over_cold": ("<=", 0.20),
    },
    "mitogen": {
        "cold_over_floor": None,
        "rerun_over_cold": ("<=", 0.25),
        "redeploy_over_cold": None,
    },
    "serving": {
        "static_nginx_over_django": (">=", 10.0),
        "dynamic_nginx_over_gunicorn": (">=", 0.9),
    },
}


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def fresh_server(name: str) -> int:
    run([str(TOOLS / "fresh-server"), "down", name])
    run([str(TOOLS / "fresh-server"), "up", name, SUITE])
    return int(run([str(TOOLS / "fresh-server"), "port", name, "22"]).stdout)


@functools.cache
def server_key() -> str:
    """The private key of the fresh servers (tools/fresh-server key)."""
    return run([str(TOOLS / "fresh-server"), "key"]).stdout.strip()


def ssh(port: int, command: str, stdin: str | bytes | None = None) -> subprocess.CompletedProcess:
    """A command on a fresh server as its admin user; stdin as text, or bytes sent as they are."""
    return subprocess.run(
        [
            "ssh", "-i", server_key(), "-p", str(port), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "admin@127.0.0.1", command,
        ],
        input=stdin, check=True, capture_output=True, text=not isinstance(stdin, bytes),
    )  # fmt: skip


def manual_packages(container: str) -> set[str]:
    return set(run(["docker", "exec", container, "apt-mark", "showmanual"]).stdout.split())


SLOWEST: dict[str, list[dict[str, object]]] = {}
RECAPS: dict[str, dict[str, int]] = {}
OUTPUTS: dict[str, str] = {}


def mitogen_env() -> dict[str, str]:
    """The variables tools/mitogen-env sets: Mitogen's stock strategy, from the venv."""
    out = run(["sh", str(TOOLS / "mitogen-env")], env={**os.environ, "PYTHON": sys.executable})
    return dict(re.findall(r"(?m)^export (\w+)=(.*)$", out.stdout))


def run_playbook(
    port: int, name: str, *extra: str, env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Runs a playbook of the kit against the container, whatever its outcome; its time and
    result."""
    env = {
        **os.environ,
        "DJKIT_SSH_PORT": str(port),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "10",
        **(env or {}),
    }
    binary = Path(sys.executable).parent / "ansible-playbook"
    started = time.monotonic()
    result = subprocess.run(
        [str(binary), "-i", str(ROOT / "inventories/local"), str(ROOT / name),
         "-e", f"@{TOOLS / 'bench-vars.yml'}", *extra],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    return time.monotonic() - started, result


def playbook(
    port: int, name: str, *extra: str, env: dict[str, str] | None = None, label: str = ""
) -> tuple[float, int]:
    """Runs a playbook of the kit against the container (a failure stops the bench); its time
    and changed count. With a label, its slowest tasks (profile_tasks' summary) are kept under
    that label."""
    took, result = run_playbook(port, name, *extra, env=env)
    if result.returncode != 0:
        sys.exit(f"bench: {name} failed:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", result.stdout))
    if label:
        SLOWEST[label] = slowest_tasks(result.stdout)
        RECAPS[label] = recap(result.stdout)
        OUTPUTS[label] = result.stdout
    return took, changed


def recap(out: str) -> dict[str, int]:
    """Task results of a run, summed over its hosts (PLAY RECAP)."""
    counts = {"ok": 0, "changed": 0, "skipped": 0}
    for key in counts:
        counts[key] = sum(int(n) for n in re.findall(rf"\b{key}=(\d+)", out))
    return counts


def floor_playbook(tasks: str, count: int, gather: bool = False) -> str:
    """A bare play of `count` copies of one task against the kit's server."""
    body = "".join(f"    - name: t{i}\n{tasks}" for i in range(count)) or "    []\n"
    return f"- hosts: all\n  gather_facts: {str(gather).lower()}\n  become: true\n  tasks:\n{body}"


FLOOR_TASKS = {
    # Done on the controller alone: what any task costs at the least.
    "set_fact": "      ansible.builtin.set_fact:\n        x: 1\n",
    "skipped": "      ansible.builtin.stat:\n        path: /\n      when: false\n",
    # One module run on the server, with become, as most of the kit's checks are.
    "stat": "      ansible.builtin.stat:\n        path: /etc/hostname\n",
}


def task_floor(port: int, count: int = 60) -> dict[str, float]:
    """Ansible's own cost on this machine, against the kit's server with the kit's settings:
    a run that does nothing, one that only gathers facts, and per task (ms) of each kind."""
    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:

        def timed(name: str, text: str) -> float:
            path = Path(tmp) / f"{name}.yml"
            path.write_text(text)
            return playbook(port, str(path))[0]

        found["empty_s"] = round(timed("empty", floor_playbook("", 0)), 2)
        found["facts_s"] = round(timed("facts", floor_playbook("", 0, gather=True)), 2)
        for kind, task in FLOOR_TASKS.items():
            took = timed(kind, floor_playbook(task, count))
            found[f"{kind}_ms"] = round((took - found["empty_s"]) / count * 1000, 1)
    return found


def rerun_floor(floor: dict[str, float], counts: dict[str, int]) -> float:
    """The least a run of these task results can take: facts, and every task at the cost
    of a controller-only set_fact (skipped ones at a skip's), whatever it really does."""
    return (
        floor["facts_s"]
        + (counts["ok"] - 1) * floor["set_fact_ms"] / 1000  # the facts are one of the ok
        + counts["skipped"] * floor["skipped_ms"] / 1000
    )


def slowest_tasks(out: str) -> list[dict[str, object]]:
    """The task summary profile_tasks prints last: `role : task ---- 1.23s` lines."""
    summary = out.rsplit("=" * 20, 1)[-1]
    return [
        {"task": task.strip(), "s": float(seconds)}
        for task, seconds in re.findall(r"(?m)^(.+?) -+ ([0-9.]+)s$", summary)
    ]


def redeploy(port: int, marker: str, **kwargs) -> float:
    """deploy.yml with the sample app changed in one template only (requirements unchanged)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "app"
        shutil.copytree(ROOT / "app", source, ignore=shutil.ignore_patterns("__pycache__"))
        home = source / "myapp/templates/myapp/home.html"
        home.write_text(home.read_text() + f"\n<!-- {marker} -->\n")
        took, _ = playbook(
            port, "playbooks/deploy.yml", "-e", f"django_source_path={source}", **kwargs
        )
    return took


def median_timed(runs: list[tuple[float, str]], key: str) -> tuple[float, list[float]]:
    """Of timed runs (seconds, label), the median run's seconds, and every run's rounded; the
    median run's slowest tasks are kept under `key`, the others' dropped."""
    took, middle = sorted(runs)[(len(runs) - 1) // 2]
    SLOWEST[key] = SLOWEST[middle]
    for _, label in runs:
        del SLOWEST[label]
    return took, [round(seconds, 1) for seconds, _ in runs]


def median_run(runs: list[dict[str, float]]) -> dict[str, object]:
    """The run with the median requests per second (with its own latencies), and all runs."""
    ordered = sorted(runs, key=lambda run: run["rps"])
    return {**ordered[(len(ordered) - 1) // 2], "runs": runs}


def wrk(url: str, *headers: str) -> dict[str, float]:
    args = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{SECONDS}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for header in headers:
        args += ["-H", header]
    out = run(["docker", "exec", KIT, *args, url]).stdout
    if "Non-2xx or 3xx responses" in out:
        sys.exit(f"bench: {url} answered errors:\n{out}")
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, float]:
    """Requests per second, and the 50th and 99th latency percentiles in ms, from wrk --latency."""

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([0-9.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"^Requests/sec:\s+([0-9.]+)", out, re.M).group(1))
    return {"rps": round(rps, 1), "p50_ms": round(ms("50%"), 2), "p99_ms": round(ms("99%"), 2)}


def floor_script(packages: list[str]) -> str:
    return (
        apt_script(packages)
        + """python3 -m venv /tmp/floor-venv
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
/tmp/floor-venv/bin/pip install -q -r /tmp/requirements.txt
"""
    )


SITE = "/etc/nginx/sites-available/myapp.conf"
SIZE = ("curl", "-sk", "-o", "/dev/null", "-w", "%{size_download}")


def in_kit(*args: str, stdin: str | None = None) -> str:
    return run(["docker", "exec", "-i", KIT, *args], input=stdin).stdout


@contextlib.contextmanager
def nginx_variant(edit: Callable[[str], str]) -> Iterator[None]:
    """The deployed site with one change (tested by nginx -t, reloaded), restored after."""
    original = in_kit("cat", SITE)
    changed = edit(original)
    if changed == original:
        sys.exit("bench: the nginx variant changes nothing; the site template moved on")
    try:
        in_kit("sh", "-c", f"cat > {SITE}", stdin=changed)
        in_kit("sh", "-c", "nginx -t -q && systemctl reload nginx")
        time.sleep(2)
        yield
    finally:
        in_kit("sh", "-c", f"cat > {SITE}", stdin=original)
        in_kit("sh", "-c", "nginx -t -q && systemctl reload nginx")
        time.sleep(2)


def without(*patterns: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        for pattern in patterns:
            text = re.sub(rf"(?m)^\s*{pattern}.*\n", "", text)
        return text

    return edit


@contextlib.contextmanager
def service_variant(unit: str, dropin: str, restart: str) -> Iterator[None]:
    """A unit with an extra drop-in (until the next boot: /run), restarted, then without."""
    path = f"/run/systemd/system/{unit}.d/djkit-bench.conf"
    try:
        in_kit("sh", "-c", f"mkdir -p {path.rsplit('/', 1)[0]} && cat > {path}", stdin=dropin)
        in_kit("sh", "-c", f"systemctl daemon-reload && systemctl restart {restart}")
        time.sleep(3)
        yield
    finally:
        in_kit(
            "sh", "-c", f"rm -f {path} && systemctl daemon-reload && systemctl restart {restart}"
        )
        time.sleep(3)


def pair(
    label: str, measure: Callable[[], object], variant: contextlib.AbstractContextManager
) -> dict:
    """The default and one variant, measured back to back."""
    log(f"tuning: {label}")
    kept = measure()
    with variant:
        other = measure()
    return {"kit": kept, "variant": other}


def tuning(kit: int, https: str, static: str, packages: list[str]) -> dict[str, object]:
    """The choices behind the defaults, each measured against its alternative, back to back
    (DJKIT_BENCH_TUNING=1): Ansible settings on re-runs and on a cold run, Gunicorn's worker
    classes, nginx's static and proxy settings, Django's persistent connections and
    PostgreSQL's memory settings, on the same server."""
    found: dict[str, object] = {}
    log("tuning: site.yml puts the sample app's own release back (the redeploy changed it)")
    playbook(kit, "site.yml")
    log("tuning: re-run without pipelining")
    found["rerun_no_pipelining_s"] = round(
        playbook(kit, "site.yml", env={"ANSIBLE_PIPELINING": "False"})[0], 1
    )
    log("tuning: re-run refreshing the apt cache every time")
    found["rerun_apt_update_always_s"] = round(
        playbook(kit, "site.yml", "-e", "common_apt_cache_valid_time=0")[0], 1
    )
    with tempfile.TemporaryDirectory() as cache:
        facts = {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": cache}
        log("tuning: re-runs with a fact cache (one to fill it, one measured)")
        playbook(kit, "site.yml", env=facts)
        found["rerun_fact_cache_s"] = round(playbook(kit, "site.yml", env=facts)[0], 1)
        log("tuning: plain re-run beside it")
        found["rerun_plain_s"] = round(playbook(kit, "site.yml")[0], 1)
    # A few percent apart, less than one run's noise: three alternating rounds, medians.
    injected: dict[str, list[float]] = {"True": [], "False": []}
    for round_ in range(1, 4):
        for inject in injected:
            log(f"tuning: re-run with inject_facts_as_vars={inject}, round {round_} of 3")
            env = {"ANSIBLE_INJECT_FACT_VARS": inject}
            injected[inject].append(playbook(kit, "site.yml", env=env)[0])
    found["rerun_inject_facts_s"] = {
        inject: {"median": round(statistics.median(runs), 1), "runs": [round(r, 1) for r in runs]}
        for inject, runs in injected.items()
    }
    found.update(worker_classes(https))

    static_url, home = f"https://127.0.0.1{static}", "https://127.0.0.1/"
    found["nginx_upstream_keepalive"] = pair(
        "nginx upstream keepalive (home page) vs none",
        lambda: wrk(home),
        nginx_variant(without("keepalive 16;")),
    )
    found["nginx_open_file_cache"] = pair(
        "nginx open_file_cache (static file) vs none",
        lambda: wrk(static_url),
        nginx_variant(without("open_file_cache")),
    )
    found["nginx_sendfile"] = pair(
        "nginx sendfile + tcp_nopush (static file) vs off",
        lambda: wrk(static_url),
        nginx_variant(
            lambda t: t.replace("sendfile on;", "sendfile off;").replace(
                "tcp_nopush on;", "tcp_nopush off;"
            )
        ),
    )
    gzip = "Accept-Encoding: gzip"
    found["nginx_gzip_static"] = pair(
        "gzip_static (precompressed) vs compressing on the fly (static file, gzip accepted)",
        lambda: {
            **wrk(static_url, gzip),
            "bytes": int(in_kit(*SIZE, "-H", gzip, static_url)),
        },
        nginx_variant(without("gzip_static on;")),
    )
    found["django_persistent_connections"] = pair(
        "Django CONN_MAX_AGE 60 with health checks vs a connection per request (direct)",
        lambda: wrk(f"http://{DIRECT}/", https),
        service_variant(
            "myapp-gunicorn.service",
            "[Service]\nEnvironment=DJANGO_CONN_MAX_AGE=0\n",
            "myapp-gunicorn.service",
        ),
    )
    pg = in_kit("sh", "-c", "ls /etc/postgresql/*/main/conf.d/50-djkit.conf").strip()
    found["postgresql_memory"] = pair(
        "PostgreSQL shared_buffers 25 % of RAM vs the distribution's 128MB (home page direct)",
        lambda: wrk(f"http://{DIRECT}/", https),
        postgres_variant(pg),
    )

    log(f"tuning: cold run after one apt call for all {len(packages)} packages")
    fresh = fresh_server(APT)
    try:
        started = time.monotonic()
        ssh(fresh, "bash -s", apt_script(packages))
        apt_s = time.monotonic() - started
        site_s, _ = playbook(fresh, "site.yml")
        found["cold_after_one_apt_call_s"] = {"apt": round(apt_s, 1), "site": round(site_s, 1)}
    finally:
        run([str(TOOLS / "fresh-server"), "down", APT])
    return found


def worker_classes(https: str, rounds: int = 3) -> dict[str, object]:
    """Gunicorn's sync and gthread workers sized from the vCPUs, in alternating rounds (one
    run each can be turned around by a noisy neighbour): every round's figures and the
    median requests per second of each class."""
    cores = os.cpu_count() or 1
    classes = {
        "sync": ("sync", 2 * cores + 1, 1),
        "gthread": ("gthread", cores + 1, 4),
    }
    conf = "/etc/myapp/gunicorn.conf.py"
    original = in_kit("cat", conf)
    runs: dict[str, list[dict[str, float]]] = {}
    try:
        for round_ in range(1, rounds + 1):
            for label, (worker_class, workers, threads) in classes.items():
                name = f"gunicorn_{label}_{workers}x{threads}"
                log(f"tuning: {name}, round {round_} of {rounds}")
                changed = re.sub(r"(?m)^workers = .*$", f"workers = {workers}", original)
                changed = re.sub(r"(?m)^threads = .*$", f"threads = {threads}", changed)
                changed = re.sub(
                    r"(?m)^worker_class = .*$", f'worker_class = "{worker_class}"', changed
                )
                in_kit("sh", "-c", f"cat > {conf}", stdin=changed)
                in_kit("systemctl", "restart", "myapp-gunicorn.service")
                time.sleep(2)
                runs.setdefault(name, []).append(wrk(f"http://{DIRECT}/", https))
    finally:
        in_kit("sh", "-c", f"cat > {conf}", stdin=original)
        in_kit("systemctl", "restart", "myapp-gunicorn.service")
        time.sleep(2)
    return {
        name: {"median_rps": statistics.median(r["rps"] for r in results), "runs": results}
        for name, results in runs.items()
    }


@contextlib.contextmanager
def postgres_variant(conf: str) -> Iterator[None]:
    original = in_kit("cat", conf)
    changed = re.sub(r"(?m)^shared_buffers = .*$", "shared_buffers = 128MB", original)
    changed = re.sub(r"(?m)^effective_cache_size = .*$", "effective_cache_size = 4GB", changed)
    try:
        in_kit("sh", "-c", f"cat > {conf}", stdin=changed)
        in_kit(
            "sh", "-c", "systemctl restart postgresql && systemctl restart myapp-gunicorn.service"
        )
        time.sleep(3)
        yield
    finally:
        in_kit("sh", "-c", f"cat > {conf}", stdin=original)
        in_kit(
            "sh", "-c", "systemctl restart postgresql && systemctl restart myapp-gunicorn.service"
        )
        time.sleep(3)


def apt_script(packages: list[str]) -> str:
    return f"""set -eu
export DEBIAN_FRONTEND=noninteractive
sudo -E apt-get update -qq
sudo -E apt-get install -y -qq --no-install-recommends {" ".join(packages)} >/dev/null
"""


def provision(name: str, env: dict[str, str]) -> tuple[int, dict[str, object]]:
    """On a fresh server of its own, with one strategy's environment: the cold run, REPEATS
    immediate re-runs and REPEATS code-only redeploys (medians, each run shown)."""
    container = KIT if name == "default" else MITOGEN
    log(f"{name}: fresh server {container} ({SUITE})")
    port = fresh_server(container)
    before = manual_packages(container)
    found: dict[str, object] = {}
    log(f"{name}: 1/3 cold site.yml")
    found["cold_s"], found["cold_changed"] = playbook(
        port, "site.yml", env=env, label=f"{name} cold"
    )
    reruns: list[tuple[float, str]] = []
    changed: list[int] = []
    for number in range(1, REPEATS + 1):
        log(f"{name}: 2/3 immediate re-run {number} of {REPEATS}")
        label = f"{name} rerun {number}"
        took, count = playbook(port, "site.yml", env=env, label=label)
        reruns.append((took, label))
        changed.append(count)
    found["rerun_changed"] = max(changed)
    found["rerun_tasks"] = RECAPS[reruns[0][1]]
    found["rerun_s"], found["rerun_runs_s"] = median_timed(reruns, f"{name} rerun")
    timed: list[tuple[float, str]] = []
    for number in range(1, REPEATS + 1):
        log(f"{name}: 3/3 code-only redeploy {number} of {REPEATS}")
        label = f"{name} redeploy {number}"
        timed.append((redeploy(port, f"bench-{name}-{number}", env=env, label=label), label))
    found["redeploy_s"], found["redeploy_runs_s"] = median_timed(timed, f"{name} redeploy")
    # What the floor installs: the packages the kit left marked as installed by hand.
    found["packages"] = sorted(manual_packages(container) - before)
    return port, found


def judge(value: float, target: tuple[str, float] | None) -> dict[str, object]:
    if target is None:
        return {"value": round(value, 3), "target": "(reported)", "met": None}
    sign, limit = target
    met = value <= limit if sign == "<=" else value >= limit
    return {"value": round(value, 3), "target": f"{sign} {limit}", "met": met}


def main() -> None:
    subprocess.run([str(TOOLS / "ensure-docker")], check=True)
    machine = {
        "cores": os.cpu_count(),
        "memory_mb": int(Path("/proc/meminfo").read_text().split()[1]) // 1024,
        "suite": SUITE,
        "wrk": f"{THREADS} threads, {CONNECTIONS} connections, {SECONDS} s, inside the server"
        f"; home page: median of {ROUNDS} alternating runs each",
        "repeats": REPEATS,
    }
    results: dict[str, object] = {"machine": machine, "strategies": {}}
    strategies: dict[str, dict[str, object]] = results["strategies"]
    try:
        # Mitogen first, on a server of its own, gone before the default's is measured.
        if "mitogen" in STRATEGIES:
            strategies["mitogen"] = provision("mitogen", mitogen_env())[1]
            strategies["mitogen"].pop("packages")
            run([str(TOOLS / "fresh-server"), "down", MITOGEN])
        kit, strategies["default"] = provision("default", {})
        packages = strategies["default"].pop("packages")
        results["floor_packages"] = packages
        log("Ansible's own cost per task on this machine (bare playbooks)")
        results["task_floor"] = task_floor(kit)
        for found in strategies.values():
            found["rerun_floor_s"] = round(
                rerun_floor(results["task_floor"], found["rerun_tasks"]), 1
            )

        log(f"fresh server {FLOOR}: the floor (apt: {len(packages)} packages, pip: requirements)")
        floor = fresh_server(FLOOR)
        ssh(floor, "cat > /tmp/requirements.txt", (ROOT / "app/requirements.txt").read_text())
        started = time.monotonic()
        ssh(floor, "bash -s", floor_script(packages))
        results["floor_s"] = round(time.monotonic() - started, 1)
        run([str(TOOLS / "fresh-server"), "down", FLOOR])

        log("serving (wrk)")
        in_kit("sh", "-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null")
        page = in_kit("curl", "-sk", "https://127.0.0.1/")
        static = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page).group(1)
        https = "X-Forwarded-Proto: https"
        results["static_nginx"] = wrk(f"https://127.0.0.1{static}")
        results["static_django"] = wrk(f"http://{DIRECT}{static}", https)
        # Both a few percent apart and each turned around by a noisy neighbour now and then:
        # three alternating rounds, the median run of each.
        dynamic: dict[str, list[dict[str, float]]] = {"dynamic_nginx": [], "dynamic_gunicorn": []}
        for round_ in range(1, ROUNDS + 1):
            log(f"home page via nginx and Gunicorn direct, round {round_} of {ROUNDS}")
            dynamic["dynamic_nginx"].append(wrk("https://127.0.0.1/"))
            dynamic["dynamic_gunicorn"].append(wrk(f"http://{DIRECT}/", https))
        for key, runs in dynamic.items():
            results[key] = median_run(runs)
        if os.environ.get("DJKIT_BENCH_TUNING") == "1":
            try:
                results["tuning"] = tuning(kit, https, static, packages)
            except (subprocess.CalledProcessError, AttributeError, ValueError) as exc:
                # The main figures stand; the report says what broke, and the exit code too.
                detail = getattr(exc, "stderr", "") or ""
                results["tuning_error"] = f"{exc!r} {detail}".strip()
    finally:
        if os.environ.get("DJKIT_BENCH_KEEP") != "1":
            for name in (KIT, MITOGEN, FLOOR, APT):
                subprocess.run([str(TOOLS / "fresh-server"), "down", name], check=False)

    ratios: dict[str, dict[str, object]] = {}
    for name, found in strategies.items():
        for key in ("cold_s", "rerun_s", "redeploy_s"):
            found[key] = round(found[key], 1)
        targets = TARGETS[name]
        ratios[name] = {
            "cold_over_floor": judge(
                found["cold_s"] / results["floor_s"], targets["cold_over_floor"]
            ),
            "rerun_over_cold": judge(
                found["rerun_s"] / found["cold_s"], targets["rerun_over_cold"]
            ),
            "redeploy_over_cold": judge(
                found["redeploy_s"] / found["cold_s"], targets["redeploy_over_cold"]
            ),
        }
        # A re-run that changed something is no re-run of a converged server.
        if found["rerun_changed"] != 0:
            ratios[name]["rerun_over_cold"]["met"] = False
    serving = TARGETS["serving"]
    ratios["serving"] = {
        "static_nginx_over_django": judge(
            results["static_nginx"]["rps"] / results["static_django"]["rps"],
            serving["static_nginx_over_django"],
        ),
        "dynamic_nginx_over_gunicorn": judge(
            results["dynamic_nginx"]["rps"] / results["dynamic_gunicorn"]["rps"],
            serving["dynamic_nginx_over_gunicorn"],
        ),
    }
    results["ratios"] = ratios

    results["slowest_tasks"] = SLOWEST
    out = ROOT / os.environ.get("DJKIT_BENCH_OUT", "artifacts/bench.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    # Each timed run's whole output (profile_tasks' times included) beside the JSON, to look
    # into a run that read slow after the fact.
    logs = out.with_name(out.stem + "-logs")
    logs.mkdir(exist_ok=True)
    for label, output in OUTPUTS.items():
        (logs / f"{label.replace(' ', '-')}.log").write_text(output)
    print(table(results))
    print(floor_note(results))
    for label, tasks in SLOWEST.items():
        print(f"\nslowest tasks, {label}:")
        for task in tasks:
            print(f"  {task['s']:6.2f} s  {task['task']}")
    for name, value in results.get("tuning", {}).items():
        print(f"tuning: {name}: {value}")
    print(f"\n(written to {out.relative_to(ROOT)}, each run's output in {logs.relative_to(ROOT)}/)")
    if "tuning_error" in results:
        sys.exit(f"bench: a tuning run failed: {results['tuning_error']}")


def floor_note(r: dict) -> str:
    """What Ansible alone costs here, and the least a re-run of the kit's tasks can take."""
    f = r["task_floor"]
    lines = [
        f"\nAnsible alone on this machine: a run doing nothing {f['empty_s']} s, facts "
        f"{f['facts_s']} s; per task: set_fact {f['set_fact_ms']} ms, skipped "
        f"{f['skipped_ms']} ms, stat with become {f['stat_ms']} ms."
    ]
    for name, s in r["strategies"].items():
        n = s["rerun_tasks"]
        lines.append(
            f"The {name} strategy's re-run had {n['ok']} ok and {n['skipped']} skipped task "
            f"results: at least {s['rerun_floor_s']} s even at a set_fact's cost each "
            f"({s['rerun_floor_s'] / s['cold_s']:.3f} of cold)."
        )
    return "\n".join(lines)


def table(r: dict) -> str:
    m = r["machine"]
    rows = [
        f"machine: {m['cores']} cores, {m['memory_mb']} MB, Debian {m['suite']}; wrk: {m['wrk']}",
        "",
        "| measurement | strategy | value | floor / reference | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def line(name: str, strategy: str, value: str, ref: str, x: dict) -> None:
        met = {True: "yes", False: "NO", None: ""}[x["met"]]
        rows.append(
            f"| {name} | {strategy} | {value} | {ref} | {x['value']} | {x['target']} | {met} |"
        )

    def seconds(value: float, runs: list[float]) -> str:
        """A median's seconds, with every run's when there were several."""
        each = f" ({', '.join(f'{x} s' for x in runs)})" if len(runs) > 1 else ""
        return f"{value} s{each}"

    def median_of(runs: list[float]) -> str:
        return f", median of {len(runs)}" if len(runs) > 1 else ""

    for name, s in r["strategies"].items():
        ratio = r["ratios"][name]
        line("cold site.yml", name, f"{s['cold_s']} s", f"floor script {r['floor_s']} s",
             ratio["cold_over_floor"])  # fmt: skip
        line(
            "re-run" + median_of(s["rerun_runs_s"]), name,
            f"{seconds(s['rerun_s'], s['rerun_runs_s'])}, changed={s['rerun_changed']}",
            f"cold {s['cold_s']} s", ratio["rerun_over_cold"],
        )  # fmt: skip
        line(
            "code-only redeploy" + median_of(s["redeploy_runs_s"]), name,
            seconds(s["redeploy_s"], s["redeploy_runs_s"]), f"cold {s['cold_s']} s",
            ratio["redeploy_over_cold"],
        )  # fmt: skip

    def serve(x: dict) -> str:
        return f"{x['rps']} req/s, p50 {x['p50_ms']} ms, p99 {x['p99_ms']} ms"

    serving = r["ratios"]["serving"]
    line("static file via nginx", "", serve(r["static_nginx"]),
         f"Django: {serve(r['static_django'])}", serving["static_nginx_over_django"])  # fmt: skip
    line("home page via nginx", "", serve(r["dynamic_nginx"]),
         f"Gunicorn direct: {serve(r['dynamic_gunicorn'])}",
         serving["dynamic_nginx_over_gunicorn"])  # fmt: skip
    return "\n".join(rows)


if __name__ == "__main__":
    main()
