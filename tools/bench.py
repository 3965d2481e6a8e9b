#!/usr/bin/env python3
"""The kit's benchmark (`make bench`): provisioning and serving, measured in one run on fresh
containers of the same image, against floors that cannot be beaten.

1. cold `site.yml` on a fresh server, against a bare script that installs the same apt
   packages (those the kit left marked as installed by hand) and the same pip requirements
   on an identical fresh server, over the same SSH;
2. an immediate re-run: its time and its changed count;
3. a code-only redeploy (requirements unchanged);
4. wrk inside the server, fixed duration and connections: a hashed static file through
   nginx vs the same file from Django through Gunicorn, and the home page through nginx vs
   Gunicorn asked directly (a bench-only loopback listener, gunicorn_extra_listen).

Prints a table, writes artifacts/bench.json. Not a test: the targets are reported, not
enforced. DJKIT_BENCH_SECONDS (wrk duration, default 10), DJKIT_BENCH_SUITE (bookworm),
DJKIT_BENCH_KEEP=1 keeps the containers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"
SUITE = os.environ.get("DJKIT_BENCH_SUITE", "bookworm")
SECONDS = int(os.environ.get("DJKIT_BENCH_SECONDS", "10"))
CONNECTIONS, THREADS = 16, 2
KIT, FLOOR = "djkit-bench-kit", "djkit-bench-floor"
DIRECT = "127.0.0.1:18000"  # gunicorn_extra_listen in tools/bench-vars.yml
TARGETS = {
    "cold_over_floor": ("<=", 1.5),
    "rerun_over_cold": ("<=", 0.10),
    "redeploy_over_cold": ("<=", 0.15),
    "static_nginx_over_django": (">=", 10.0),
    "dynamic_nginx_over_gunicorn": (">=", 0.9),
}


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def fresh_server(name: str) -> int:
    run([str(TOOLS / "fresh-server"), "down", name])
    run([str(TOOLS / "fresh-server"), "up", name, SUITE])
    return int(run([str(TOOLS / "fresh-server"), "port", name, "22"]).stdout)


def ssh(port: int, command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    key = run([str(TOOLS / "fresh-server"), "key"]).stdout.strip()
    return run(
        [
            "ssh", "-i", key, "-p", str(port), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "admin@127.0.0.1", command,
        ],
        input=stdin,
    )  # fmt: skip


def manual_packages(container: str) -> set[str]:
    return set(run(["docker", "exec", container, "apt-mark", "showmanual"]).stdout.split())


def playbook(
    port: int, name: str, *extra: str, env: dict[str, str] | None = None
) -> tuple[float, int]:
    """Runs a playbook of the kit against the container; its time and changed count."""
    env = {
        **os.environ,
        "DJKIT_SSH_PORT": str(port),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        **(env or {}),
    }
    binary = Path(sys.executable).parent / "ansible-playbook"
    started = time.monotonic()
    result = subprocess.run(
        [str(binary), "-i", str(ROOT / "inventories/local"), str(ROOT / name),
         "-e", f"@{TOOLS / 'bench-vars.yml'}", *extra],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"bench: {name} failed:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", result.stdout))
    return took, changed


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
    return f"""set -eu
export DEBIAN_FRONTEND=noninteractive
sudo -E apt-get update -qq
sudo -E apt-get install -y -qq --no-install-recommends {" ".join(packages)} >/dev/null
python3 -m venv /tmp/floor-venv
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
/tmp/floor-venv/bin/pip install -q -r /tmp/requirements.txt
"""


def tuning(kit: int, https: str) -> dict[str, object]:
    """The choices behind the defaults, each measured (DJKIT_BENCH_TUNING=1, a few minutes
    more): re-runs without pipelining and with an apt update every time; Gunicorn's worker
    classes on the home page, asked directly."""
    found: dict[str, object] = {}
    log("tuning: re-run without pipelining")
    found["rerun_no_pipelining_s"] = round(
        playbook(kit, "site.yml", env={"ANSIBLE_PIPELINING": "False"})[0], 1
    )
    log("tuning: re-run refreshing the apt cache every time")
    found["rerun_apt_update_always_s"] = round(
        playbook(kit, "site.yml", "-e", "common_apt_cache_valid_time=0")[0], 1
    )
    cores = os.cpu_count() or 1
    classes = {
        "sync": ("sync", 2 * cores + 1, 1),
        "gthread": ("gthread", cores + 1, 4),
    }
    conf = "/etc/myapp/gunicorn.conf.py"
    original = run(["docker", "exec", KIT, "cat", conf]).stdout
    for label, (worker_class, workers, threads) in classes.items():
        log(f"tuning: gunicorn {label}, {workers} workers x {threads} threads")
        changed = re.sub(r"(?m)^workers = .*$", f"workers = {workers}", original)
        changed = re.sub(r"(?m)^threads = .*$", f"threads = {threads}", changed)
        changed = re.sub(r"(?m)^worker_class = .*$", f'worker_class = "{worker_class}"', changed)
        run(["docker", "exec", "-i", KIT, "sh", "-c", f"cat > {conf}"], input=changed)
        run(["docker", "exec", KIT, "systemctl", "restart", "myapp-gunicorn.service"])
        time.sleep(2)
        found[f"gunicorn_{label}_{workers}x{threads}"] = wrk(f"http://{DIRECT}/", https)
    run(["docker", "exec", "-i", KIT, "sh", "-c", f"cat > {conf}"], input=original)
    run(["docker", "exec", KIT, "systemctl", "restart", "myapp-gunicorn.service"])
    return found


def main() -> None:
    subprocess.run([str(TOOLS / "ensure-docker")], check=True)
    machine = {
        "cores": os.cpu_count(),
        "memory_mb": int(Path("/proc/meminfo").read_text().split()[1]) // 1024,
        "suite": SUITE,
        "wrk": f"{THREADS} threads, {CONNECTIONS} connections, {SECONDS} s, inside the server",
    }
    results: dict[str, object] = {"machine": machine}
    try:
        log(f"fresh server {KIT} ({SUITE})")
        kit = fresh_server(KIT)
        before = manual_packages(KIT)
        log("1/4 cold site.yml")
        results["cold_s"], results["cold_changed"] = playbook(kit, "site.yml")
        log("2/4 immediate re-run")
        results["rerun_s"], results["rerun_changed"] = playbook(kit, "site.yml")
        log("3/4 code-only redeploy")
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "app"
            shutil.copytree(ROOT / "app", source, ignore=shutil.ignore_patterns("__pycache__"))
            (source / "myapp/templates/myapp/home.html").write_text(
                (source / "myapp/templates/myapp/home.html").read_text() + "\n<!-- bench -->\n"
            )
            results["redeploy_s"], _ = playbook(
                kit, "playbooks/deploy.yml", "-e", f"django_source_path={source}"
            )
        packages = sorted(manual_packages(KIT) - before)
        results["floor_packages"] = packages

        log(f"fresh server {FLOOR}: the floor (apt: {len(packages)} packages, pip: requirements)")
        floor = fresh_server(FLOOR)
        ssh(floor, "cat > /tmp/requirements.txt", (ROOT / "app/requirements.txt").read_text())
        started = time.monotonic()
        ssh(floor, "bash -s", floor_script(packages))
        results["floor_s"] = time.monotonic() - started
        run([str(TOOLS / "fresh-server"), "down", FLOOR])

        log("4/4 serving (wrk)")
        run(
            [
                "docker",
                "exec",
                KIT,
                "sh",
                "-c",
                "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null",
            ]
        )
        page = run(["docker", "exec", KIT, "curl", "-sk", "https://127.0.0.1/"]).stdout
        static = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page).group(1)
        https = "X-Forwarded-Proto: https"
        results["static_nginx"] = wrk(f"https://127.0.0.1{static}")
        results["static_django"] = wrk(f"http://{DIRECT}{static}", https)
        results["dynamic_nginx"] = wrk("https://127.0.0.1/")
        results["dynamic_gunicorn"] = wrk(f"http://{DIRECT}/", https)
        if os.environ.get("DJKIT_BENCH_TUNING") == "1":
            results["tuning"] = tuning(kit, https)
    finally:
        if os.environ.get("DJKIT_BENCH_KEEP") != "1":
            for name in (KIT, FLOOR):
                subprocess.run([str(TOOLS / "fresh-server"), "down", name], check=False)

    ratios = {
        "cold_over_floor": results["cold_s"] / results["floor_s"],
        "rerun_over_cold": results["rerun_s"] / results["cold_s"],
        "redeploy_over_cold": results["redeploy_s"] / results["cold_s"],
        "static_nginx_over_django": results["static_nginx"]["rps"]
        / results["static_django"]["rps"],
        "dynamic_nginx_over_gunicorn": results["dynamic_nginx"]["rps"]
        / results["dynamic_gunicorn"]["rps"],
    }
    for key in ("cold_s", "rerun_s", "redeploy_s", "floor_s"):
        results[key] = round(results[key], 1)
    results["ratios"] = {
        name: {
            "value": round(value, 3),
            "target": f"{TARGETS[name][0]} {TARGETS[name][1]}",
            "met": value <= TARGETS[name][1]
            if TARGETS[name][0] == "<="
            else value >= TARGETS[name][1],
        }
        for name, value in ratios.items()
    }
    if results["rerun_changed"] != 0:
        results["ratios"]["rerun_over_cold"]["met"] = False

    out = ROOT / "artifacts" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    for name, value in results.get("tuning", {}).items():
        print(f"tuning: {name}: {value}")
    print(f"\n(written to {out.relative_to(ROOT)})")


def table(r: dict) -> str:
    m = r["machine"]
    rows = [
        f"machine: {m['cores']} cores, {m['memory_mb']} MB, Debian {m['suite']}; wrk: {m['wrk']}",
        "",
        "| measurement | value | floor / reference | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    ratio = r["ratios"]

    def line(name: str, value: str, ref: str, key: str) -> None:
        x = ratio[key]
        met = "yes" if x["met"] else "NO"
        rows.append(f"| {name} | {value} | {ref} | {x['value']} | {x['target']} | {met} |")

    line("cold site.yml", f"{r['cold_s']} s", f"floor script {r['floor_s']} s", "cold_over_floor")
    line(
        "re-run",
        f"{r['rerun_s']} s, changed={r['rerun_changed']}",
        f"cold {r['cold_s']} s",
        "rerun_over_cold",
    )
    line(
        "code-only redeploy", f"{r['redeploy_s']} s", f"cold {r['cold_s']} s", "redeploy_over_cold"
    )

    def serve(x: dict) -> str:
        return f"{x['rps']} req/s, p50 {x['p50_ms']} ms, p99 {x['p99_ms']} ms"

    line(
        "static file via nginx",
        serve(r["static_nginx"]),
        f"Django: {serve(r['static_django'])}",
        "static_nginx_over_django",
    )
    line(
        "home page via nginx",
        serve(r["dynamic_nginx"]),
        f"Gunicorn direct: {serve(r['dynamic_gunicorn'])}",
        "dynamic_nginx_over_gunicorn",
    )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
