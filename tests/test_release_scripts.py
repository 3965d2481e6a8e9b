"""The django role's shell scripts (roles/django/files), run here on real files, with stand-ins
for the commands that would touch this machine's services (systemctl, systemd-run, nginx)."""

from __future__ import annotations

import base64
import grp
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from stand_ins import stub

FILES = Path(__file__).resolve().parent.parent / "roles/django/files"
GROUP = grp.getgrgid(os.getgid()).gr_name
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the scripts chown to root")


def run(*args: str, env: dict[str, str] | None = None, timeout: int = 120):
    return subprocess.run(
        [*args], capture_output=True, text=True, check=False, timeout=timeout,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def pack(source: Path, release: Path) -> None:
    """The source's archive beside the release's directory, as the role sends it."""
    with tarfile.open(f"{release}.tar.gz", "w:gz") as tar:
        tar.add(source, arcname=".")


@pytest.fixture
def deployment(tmp_path) -> tuple[Path, Path]:
    """A deployment root with the archive of a release beside its directory."""
    root = tmp_path / "srv"
    (root / "releases").mkdir(parents=True)
    (root / "venvs").mkdir()
    source = tmp_path / "source"
    (source / "proj").mkdir(parents=True)
    (source / "requirements.txt").write_text("")
    (source / "proj" / "views.py").write_text("ANSWER = 42\n")
    release = root / "releases" / "abc123"
    pack(source, release)
    return root, release


def unpack(root: Path, release: Path, env: dict[str, str] | None = None):
    return run(
        str(FILES / "djkit-release"), "unpack", str(release), GROUP, str(root),
        "requirements.txt", sys.executable, "abc123", env=env,
    )  # fmt: skip


def test_a_release_is_unpacked_then_built_then_finished_on_its_virtualenv(deployment) -> None:
    root, release = deployment
    first = unpack(root, release)
    assert first.returncode == 0, first.stderr
    found = json.loads(first.stdout)
    version = "{}.{}".format(*sys.version_info[:2])
    assert found["complete"] is False
    assert Path(found["venv"]).parent == root / "venvs"
    assert Path(found["venv"]).name.startswith(f"py{version}-")
    assert (release / "proj" / "views.py").read_text() == "ANSWER = 42\n"
    assert not Path(f"{release}.tar.gz").exists()
    assert not (release / ".djkit-release").exists()

    built = run(
        str(FILES / "djkit-release"), "venv", str(release), GROUP, found["venv"],
        str(release / "requirements.txt"), sys.executable, "abc123",
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert (Path(found["venv"]) / ".djkit-complete").read_text() == "abc123\n"
    assert (release / ".venv").resolve() == Path(found["venv"]).resolve()
    # The id, and the kit's servers it was built with (none asked here).
    assert (release / ".djkit-release").read_text() == "abc123\n\n"
    assert list((release / "proj" / "__pycache__").glob("views.*.pyc"))


def test_a_release_whose_virtualenv_exists_is_finished_at_once(deployment) -> None:
    root, release = deployment
    venv = json.loads(unpack(root, release).stdout)["venv"]
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    Path(venv, ".djkit-complete").write_text("older\n")
    # Packed again: the first unpack removed the archive.
    pack(root.parent / "source", release)
    again = unpack(root, release)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"venv": venv, "complete": True}
    # The id, and the kit's servers it was built with (none asked here).
    assert (release / ".djkit-release").read_text() == "abc123\n\n"


@pytest.fixture
def wheels(tmp_path) -> Path:
    """A directory for wheel() to write into, pip's --find-links."""
    directory = tmp_path / "wheels"
    directory.mkdir()
    return directory


def wheel(directory: Path, name: str, version: str, requires_python: str = "") -> None:
    """A pure-Python wheel of `name`, for pip to install from `directory` with no index."""
    dist = f"{name}-{version}.dist-info"
    needs = f"Requires-Python: {requires_python}\n" if requires_python else ""
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{needs}",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(directory / f"{name}-{version}-py3-none-any.whl", "w") as whl:
        for path, text in files.items():
            whl.writestr(path, text)


def build(root: Path, release: Path, source: Path, env: dict) -> tuple[dict, object]:
    """The source packed as the release's archive, unpacked, and its virtualenv built with
    `env`: what unpack printed, and the venv step's result."""
    pack(source, release)
    found = json.loads(unpack(root, release, env=env).stdout)
    built = run(
        str(FILES / "djkit-release"), "venv", str(release), GROUP, found["venv"],
        str(release / "requirements.txt"), sys.executable, "abc123", env=env,
    )  # fmt: skip
    return found, built


# The kit's entry names an alternative (as the database driver's does: psycopg or psycopg2):
# either distribution in the project's requirements provides it.
@pytest.mark.parametrize("project_has", [None, "probeserver==1.0", "probealt==1.0"])
def test_the_kits_servers_are_installed_unless_the_project_provides_them(
    deployment, tmp_path, wheels, project_has
) -> None:
    root, release = deployment
    for name, version in (("probeserver", "1.0"), ("probeserver", "2.0"), ("probealt", "1.0")):
        wheel(wheels, name, version)
    source = tmp_path / "source"
    (source / "requirements.txt").write_text(f"{project_has}\n" if project_has else "")
    env = {"DJKIT_SERVER_REQUIREMENTS": "probeserver==2.0|probealt", "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # fmt: skip
    found, built = build(root, release, source, env)
    assert built.returncode == 0, built.stderr
    version = run(
        f"{found['venv']}/bin/python", "-c",
        "import importlib.metadata as m\ntry:\n print(m.version('probeserver'))\n"
        "except m.PackageNotFoundError:\n print('none')",
    ).stdout.strip()  # fmt: skip
    assert version == {None: "2.0", "probeserver==1.0": "1.0", "probealt==1.0": "none"}[project_has]
    said = "installing what the requirements do not provide: probeserver==2.0\n"
    assert (said in built.stdout) is (project_has is None), built.stdout
    # Another pin of the kit's servers is another virtualenv.
    pack(source, release)
    other = unpack(root, release, env={**env, "DJKIT_SERVER_REQUIREMENTS": "probeserver==1.0"})
    assert json.loads(other.stdout)["venv"] != found["venv"]


# A requirement with releases only for a newer Python (Django 6 on Python 3.11): pip's own
# error, then the kit's, naming the server's Python and the way out. Both ways pip learns it:
# an index's data-requires-python, or the package's own metadata.
@pytest.mark.parametrize("source", ["index", "metadata"])
def test_a_requirement_for_a_newer_python_is_named_with_the_servers_python(
    deployment, tmp_path, wheels, source
) -> None:
    root, release = deployment
    wheel(wheels, "probefuture", "1.0", requires_python=">=99")
    env = {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if source == "index":
        page = tmp_path / "simple/probefuture"
        page.mkdir(parents=True)
        page.joinpath("index.html").write_text(
            f'<a href="file://{wheels}/probefuture-1.0-py3-none-any.whl" '
            'data-requires-python="&gt;=99">probefuture-1.0-py3-none-any.whl</a>\n'
        )
        env |= {"PIP_INDEX_URL": f"file://{tmp_path}/simple"}
    else:
        env |= {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    source_dir = tmp_path / "source"
    (source_dir / "requirements.txt").write_text("probefuture==1.0\n")
    _, built = build(root, release, source_dir, env)
    assert built.returncode == 1
    here = "{}.{}".format(*sys.version_info[:2])
    assert f"no release of it that they allow runs on this server's Python {here}" in built.stderr
    assert "probefuture" in built.stderr.splitlines()[-1]
    assert ">=99" in built.stderr.splitlines()[-1]


# The project's own declaration of the Python it needs, read before pip runs: refused with
# the file, the declaration and the server's Python, and nothing installed.
@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("pyproject.toml", '[project]\nname = "proj"\nrequires-python = ">=3.99"\n',
         "pyproject.toml ([project] requires-python)"),
        ("setup.cfg", "[metadata]\nname = proj\n[options]\npython_requires = >=3.99\n",
         "setup.cfg ([options] python_requires)"),
    ],
)  # fmt: skip
def test_a_project_declaring_a_newer_python_is_refused_before_pip(
    deployment, tmp_path, name, text, where
) -> None:
    root, release = deployment
    (tmp_path / "source" / name).write_text(text)
    pack(tmp_path / "source", release)
    result = unpack(root, release)
    here = "{}.{}.{}".format(*sys.version_info[:3])
    assert result.returncode == 1
    assert f"the project asks for Python >=3.99 in {where}" in result.stderr
    assert f"this server's Python is {here}" in result.stderr
    assert "django_python" in result.stderr
    assert result.stdout == ""
    assert list((root / "venvs").iterdir()) == []


def test_a_project_whose_declared_python_includes_the_servers_goes_on(deployment, tmp_path):
    root, release = deployment
    here = "{}.{}".format(*sys.version_info[:2])
    (tmp_path / "source" / "pyproject.toml").write_text(
        f'[project]\nname = "proj"\nrequires-python = "~={here}"\n'
    )
    pack(tmp_path / "source", release)
    result = unpack(root, release)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["complete"] is False


# Python 3.10 (Ubuntu 22.04) has no tomllib, and a server's Python may lack packaging: both are
# then read from the pip wheel the distribution ships (python3-venv depends on it).
def test_the_declaration_is_read_through_the_distributions_pip_wheel(tmp_path) -> None:
    assert list(Path("/usr/share/python-wheels").glob("pip-*.whl")), "python3-pip-whl"
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.99"\n')
    without = (
        "import runpy, sys; sys.modules['tomllib'] = None; sys.modules['packaging'] = None;"
        " sys.modules['packaging.specifiers'] = None;"
        f" sys.argv = ['djkit-requires-python', {str(tmp_path)!r}];"
        f" runpy.run_path({str(FILES / 'djkit-requires-python')!r}, run_name='__main__')"
    )
    result = run(sys.executable, "-c", without)
    assert result.returncode == 1, result.stderr
    assert "the project asks for Python >=3.99 in pyproject.toml" in result.stderr


def test_requirements_missing_from_the_release_is_named(deployment) -> None:
    root, release = deployment
    result = run(
        str(FILES / "djkit-release"), "unpack", str(release), GROUP, str(root),
        "requirements/prod.txt", sys.executable, "abc123",
    )  # fmt: skip
    assert result.returncode == 1
    assert "django_requirements_file: requirements/prod.txt is not in the release" in result.stderr


def test_usage_errors_say_how_to_call() -> None:
    result = run(str(FILES / "djkit-release"), "venv", "only-one")
    assert result.returncode == 2
    assert "usage: djkit-release venv" in result.stderr


def releases_with_systemctl(tmp_path, body: str) -> tuple[Path, Path, Path, dict[str, str]]:
    """releases/old (live) and releases/new, and a systemctl stand-in (`body`, with LOG the
    file it may write its calls to) first on PATH."""
    old, new = tmp_path / "releases/old", tmp_path / "releases/new"
    old.mkdir(parents=True)
    new.mkdir()
    (tmp_path / "current").symlink_to(old)
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    stub(bin_dir, "systemctl", body.replace("LOG", str(log)))
    return old, new, log, {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_switch_replaces_the_live_link_and_restarts_the_first_service_holding_the_rest(
    tmp_path,
) -> None:
    old, new, log, env = releases_with_systemctl(
        tmp_path, 'if [ "$1" = show ]; then echo loaded; else echo "systemctl $*" >> LOG; fi'
    )
    script = str(FILES / "djkit-release")
    # One server: Gunicorn restarts; Uvicorn and a worker are told to stop without waiting.
    held = run(script, "switch", str(new), str(tmp_path / "current"), "1", "a.service",
               "b.service", "app-worker-tasks@1.service", env=env)  # fmt: skip
    assert held.returncode == 0, held.stderr
    assert (tmp_path / "current").resolve() == new
    assert not (tmp_path / "current.djkit-new").exists()
    assert log.read_text().splitlines() == [
        "systemctl stop --no-block b.service app-worker-tasks@1.service",
        "systemctl restart a.service",
    ]
    log.unlink()
    # A rolling deploy: both web services restart together, the worker still only stops.
    together = run(script, "switch", str(old), str(tmp_path / "current"), "2", "a.service",
                   "b.service", "app-worker-tasks@1.service", env=env)  # fmt: skip
    assert together.returncode == 0, together.stderr
    assert (tmp_path / "current").resolve() == old
    assert log.read_text().splitlines() == [
        "systemctl stop --no-block app-worker-tasks@1.service",
        "systemctl restart a.service b.service",
    ]
    log.unlink()
    # No worker, every service now.
    plain = run(script, "switch", str(new), str(tmp_path / "current"), "2", "a.service",
                "b.service", env=env)  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert log.read_text().splitlines() == ["systemctl restart a.service b.service"]
    log.unlink()
    # A worker server: no web service, its workers only told to stop; or nothing to move.
    workers = run(script, "switch", str(old), str(tmp_path / "current"), "0",
                  "app-worker-tasks@1.service", "app-worker-tasks@2.service", env=env)  # fmt: skip
    assert workers.returncode == 0, workers.stderr
    assert (tmp_path / "current").resolve() == old
    assert log.read_text().splitlines() == [
        "systemctl stop --no-block app-worker-tasks@1.service app-worker-tasks@2.service"
    ]
    log.unlink()
    bare = run(script, "switch", str(new), str(tmp_path / "current"), "0", env=env)
    assert bare.returncode == 0, bare.stderr
    assert (tmp_path / "current").resolve() == new
    assert not log.exists()

    mark = new / ".djkit-live"
    went_live = run(script, "live", str(mark), GROUP, "b.service", "app-worker-tasks@1.service",
                    env=env)  # fmt: skip
    assert went_live.returncode == 0, went_live.stderr
    assert log.read_text().splitlines()[-1] == (
        "systemctl start b.service app-worker-tasks@1.service"
    )
    assert mark.stat().st_mode & 0o777 == 0o640


def test_a_deploy_prunes_once_the_release_is_marked_live_and_a_failed_prune_says_so(
    tmp_path,
) -> None:
    """go_live.yml's last call in a deploy (vars/main.yml's __django_live_then_prune): the
    live command first; the prune only after it, 100 when the prune alone failed (the
    release stays live), the live command's own status when that failed (rolled back)."""
    variables = yaml.safe_load((FILES.parent / "vars/main.yml").read_text())
    then_prune = variables["__django_live_then_prune"]
    root = tmp_path / "srv"
    for name in ("old1", "old2", "old3", "new"):
        (root / "releases" / name).mkdir(parents=True)
    (root / "venvs").mkdir()
    for age, name in enumerate(("old1", "old2", "old3")):
        mark = root / "releases" / name / ".djkit-live"
        mark.touch()
        os.utime(mark, (1000 + age, 1000 + age))
    (root / "current").symlink_to(root / "releases/new")
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    stub(bin_dir, "systemctl", f'echo "systemctl $*" >> {log}; exit "${{SYSTEMCTL_EXIT:-0}}"')
    prune = (FILES / "prune_releases.py").read_text()

    def go_live(root: Path, systemctl_exit: int = 0):
        mark = root / "releases/new/.djkit-live"
        return run(
            "/bin/sh", "-c", then_prune, "live", sys.executable, prune, str(root),
            str(root / "releases/new"), "2", str(FILES / "djkit-release"), "live", str(mark),
            GROUP, "b.service",
            env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "SYSTEMCTL_EXIT": str(systemctl_exit)},
        )  # fmt: skip

    failed_start = go_live(root, systemctl_exit=5)
    assert failed_start.returncode == 5
    assert not (root / "releases/new/.djkit-live").exists()
    assert len(list((root / "releases").iterdir())) == 4
    went_live = go_live(root)
    assert went_live.returncode == 0, went_live.stderr
    assert log.read_text().splitlines()[-1] == "systemctl start b.service"
    # Two kept: the new one, live, and the one most recently live before it.
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["new", "old3"]
    assert json.loads(went_live.stdout) == {"releases": ["old1", "old2"], "venvs": []}
    (root / "venvs").rmdir()
    prune_failed = go_live(root)
    assert prune_failed.returncode == 100
    assert "venvs" in prune_failed.stderr
    assert (root / "releases/new/.djkit-live").exists()


def test_switch_refuses_a_unit_not_set_up_before_changing_anything(tmp_path) -> None:
    old, new, log, env = releases_with_systemctl(
        tmp_path,
        'echo "systemctl $*" >> LOG\n'
        'case "$*" in *worker*) echo not-found ;; *) echo loaded ;; esac',
    )
    result = run(str(FILES / "djkit-release"), "switch", str(new), str(tmp_path / "current"), "1",
                 "a.service", "app-worker-tasks@1.service", env=env)  # fmt: skip
    assert result.returncode == 3
    assert "app-worker-tasks@1.service is not set up on this server (LoadState=not-found)" in (
        result.stderr
    )
    assert "run site.yml" in result.stderr
    assert (tmp_path / "current").resolve() == old
    assert [line for line in log.read_text().splitlines() if "show" not in line] == []


def test_switch_wants_a_count_of_services_to_restart(tmp_path) -> None:
    result = run(str(FILES / "djkit-release"), "switch", str(tmp_path / "new"),
                 str(tmp_path / "current"), "yes", "a.service")  # fmt: skip
    assert result.returncode == 2
    assert "NOW: a count" in result.stderr
    assert not (tmp_path / "current").exists()


def test_a_failed_restart_fails_the_switch(tmp_path) -> None:
    release = tmp_path / "releases/new"
    release.mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "systemctl", "exit 1")
    result = run(
        str(FILES / "djkit-release"), "switch", str(release), str(tmp_path / "current"), "0",
        "a.service", env={"PATH": f"{bin_dir}:{os.environ['PATH']}"},
    )  # fmt: skip
    assert result.returncode != 0


@pytest.fixture
def fake_systemd(tmp_path) -> tuple[Path, Path]:
    """systemd-run, systemctl and curl stand-ins that log their calls; curl connects once it
    has been asked CURL_FAILS times, then answers CURL_STATUS (200) with "ok"."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for name in ("systemd-run", "systemctl"):
        stub(bin_dir, name, f'echo "{name} $*" >> {log}')
    count = tmp_path / "curl.count"
    stub(
        bin_dir, "curl",
        f'echo "curl $*" >> {log}; n=$(cat {count} 2>/dev/null || echo 0)\n'
        f"echo $((n + 1)) > {count}\n"
        'if [ "$n" -lt "${CURL_FAILS:-0}" ]; then echo "curl: (7) refused" >&2; exit 7; fi\n'
        'while [ $# -gt 0 ]; do [ "$1" = --output ] && echo ok > "$2"; shift; done\n'
        'printf %s "${CURL_STATUS:-200}"',
    )  # fmt: skip
    return bin_dir, log


def canary(bin_dir: Path, seconds: str, fails: int, status: int = 200, statuses: str = "200"):
    return run(
        str(FILES / "djkit-canary"), "myapp-canary", "/run/c.sock", "example.org",
        "/up?full=1", statuses, seconds, "--property=User=myapp", "/srv/gunicorn", "app:wsgi",
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "CURL_FAILS": str(fails),
             "CURL_STATUS": str(status)},
    )  # fmt: skip


def test_canary_answers_its_health_path_and_is_always_stopped(fake_systemd) -> None:
    bin_dir, log = fake_systemd
    result = canary(bin_dir, "5", fails=3)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "200 ok\n"
    calls = log.read_text().splitlines()
    assert calls[0] == (
        "systemd-run --quiet --unit=myapp-canary --collect --property=User=myapp"
        " /srv/gunicorn app:wsgi"
    )
    asked = [call for call in calls if call.startswith("curl")]
    assert len(asked) == 4
    assert "--unix-socket /run/c.sock" in asked[0]
    assert "--header Host: example.org" in asked[0]
    assert asked[0].endswith("http://canary/up?full=1")
    assert calls[-1] == "systemctl stop myapp-canary.service"


def test_canary_that_never_answers_is_refused_with_the_last_error(fake_systemd) -> None:
    bin_dir, log = fake_systemd
    started = time.monotonic()
    result = canary(bin_dir, "1", fails=10_000)
    assert result.returncode == 1
    assert "curl: (7) refused" in result.stderr
    assert time.monotonic() - started < 5
    assert log.read_text().splitlines()[-1] == "systemctl stop myapp-canary.service"


@pytest.mark.parametrize(("status", "passes"), [(302, True), (404, True), (500, False)])
def test_canary_passes_the_statuses_it_is_given(fake_systemd, status, passes) -> None:
    """The default rule (anything below 500) lets a project with no health view through, and
    never a server error."""
    bin_dir, _ = fake_systemd
    below_500 = ",".join(str(code) for code in range(200, 500))
    result = canary(bin_dir, "1", fails=0, status=status, statuses=below_500)
    assert (result.returncode == 0) is passes, result.stderr
    if not passes:
        assert f"the release answered /up?full=1 with {status}: ok" in result.stderr


def worker(title: str, seconds: float) -> subprocess.Popen:
    """A process whose argv[0] is `title`, as nginx names its workers; reaped as soon as it
    exits (as nginx's master reaps its workers), so that it leaves no entry in /proc."""
    process = subprocess.Popen(["/bin/bash", "-c", f'exec -a "{title}" sleep {seconds}'])
    threading.Thread(target=process.wait, daemon=True).start()
    return process


@pytest.mark.parametrize("state", ["up", "down"])
def test_nginx_reload_waits_for_the_old_workers(tmp_path, state) -> None:
    """The old worker stops accepting at the reload (here: it exits 0.5 s after it); with
    `down` the script also waits for it to be gone, with `up` it does not need to."""
    old = worker("nginx: worker process", 30)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "nginx", 'echo "nginx $*" >> ' + str(tmp_path / "calls.log"))
    stub(bin_dir, "pgrep", f"echo {old.pid}")
    stub(bin_dir, "systemctl", f"(sleep 0.5; kill {old.pid}) >/dev/null 2>&1 &")
    try:
        started = time.monotonic()
        result = run(
            str(FILES / "djkit-nginx-reload"), state, "5",
            env={"PATH": f"{bin_dir}:{os.environ['PATH']}"},
        )  # fmt: skip
        took = time.monotonic() - started
    finally:
        old.kill()
        old.wait()
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calls.log").read_text() == "nginx -t -q\n"
    assert 0.4 < took < 4


def test_nginx_reload_fails_when_old_workers_keep_accepting(tmp_path) -> None:
    old = worker("nginx: worker process", 30)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "nginx", "true")
    stub(bin_dir, "pgrep", f"echo {old.pid}")
    stub(bin_dir, "systemctl", "true")
    try:
        result = run(
            str(FILES / "djkit-nginx-reload"), "down", "1",
            env={"PATH": f"{bin_dir}:{os.environ['PATH']}"},
        )  # fmt: skip
    finally:
        old.kill()
        old.wait()
    assert result.returncode == 1
    assert f"old nginx workers still accepting after 10 s: {old.pid}" in result.stderr
