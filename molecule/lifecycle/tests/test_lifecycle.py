"""Deploy day and bad days, each promise measured. The tests run in this order and build on
each other's releases, as deploys do."""

import json
import re
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest

from djkit_probe import (
    Load,
    ansible_playbook,
    failing_migration_copy,
    live_release,
    record,
    release_copy,
    releases,
    site_for,
    task_outcome,
)

APP = "myapp"


COLLECT_TASK = "collect | Collect static files (hashed, compressed) outside the release"
CANARY_TASK = "canary | Run the release on a canary Gunicorn and ask it for its health"
IN_BOOT_TASK = (
    "canary | Refuse the release when it did not load or answer its health check in its boot"
)


def collectstatic_outcome(output: str) -> str:
    return task_outcome(output, COLLECT_TASK)


def served_css(site) -> tuple[str, str]:
    """The stylesheet the home page links (hashed name) and its body, both through nginx."""
    session = site.session()
    page = session.get(f"{site.base}/", timeout=10)
    href = re.search(r'href="(/static/myapp/css/site\.[0-9a-f]{12}\.css)"', page.text)
    assert href, "the home page links no hashed stylesheet"
    css = session.get(f"{site.base}{href.group(1)}", timeout=10)
    assert css.status_code == 200, f"{href.group(1)} answered {css.status_code}"
    return href.group(1), css.text


def test_code_only_redeploy_under_load_fails_no_request(host, site, tmp_path) -> None:
    before = live_release(host)
    with host.sudo():
        venv_before = host.check_output(f"readlink /srv/{APP}/current/.venv")
    source = release_copy(tmp_path, "v2")
    started = time.monotonic()
    with Load(f"{site.base}/", seconds=300) as load:
        result = ansible_playbook("deploy.yml", "-e", f"django_source_path={source}")
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:]
    assert load.ok > 50, "the load generator did not run"
    assert load.failed == 0, f"{load.failed} failed of {load.ok + load.failed}: {load.errors[:5]}"
    assert live_release(host) != before
    assert '<p id="mark">v2</p>' in site.session().get(f"{site.base}/", timeout=10).text
    # The base is site.yml's (common_base false): the deploy runs none of its tasks.
    base = [
        task
        for task in re.findall(r"TASK \[common : ([^\]]+)\]", result.stdout)
        if not task.startswith(("Validating arguments", "Put the server's base in place"))
    ]
    assert base == [], base
    assert task_outcome(result.stdout, "common : Put the server's base in place, once per run") == (
        "skipping"
    ), result.stdout[-3000:]
    with host.sudo():
        assert host.check_output(f"readlink /srv/{APP}/current/.venv") == venv_before
    # Same static inputs as the release converge collected: not collected again, and the
    # page still finds its files.
    assert collectstatic_outcome(result.stdout) == "skipping", result.stdout[-3000:]
    # Nothing collected: the release was asked for its health in the boot that migrated it,
    # and no canary Gunicorn booted it a second time.
    assert task_outcome(result.stdout, IN_BOOT_TASK) == "skipping", result.stdout[-3000:]
    assert task_outcome(result.stdout, CANARY_TASK) == "skipping", result.stdout[-3000:]
    served_css(site)
    # Uvicorn was held back while Gunicorn booted: it started after the gate's request
    # (through nginx, answered by the new Gunicorn), so on the new release too; both run.
    with host.sudo():
        for unit in ("gunicorn", "uvicorn"):
            assert host.service(f"{APP}-{unit}.service").is_running, unit
        gate = host.check_output(
            f"journalctl -u {APP}-gunicorn.service -o json --since -10min | grep ansible-httpget"
        ).splitlines()[-1]
        uvicorn_started = int(
            host.check_output(
                f"systemctl show -p ActiveEnterTimestampMonotonic --value {APP}-uvicorn.service"
            )
        )
    assert uvicorn_started > int(json.loads(gate)["__MONOTONIC_TIMESTAMP"]), gate
    record(
        "code-only deploy under load", seconds=round(took, 1), requests=load.ok, failed=load.failed
    )


# Two ways a release is refused before it serves: asked in the boot that migrated it (a
# code-only release), or on a canary Gunicorn after its collect (a release with new static
# files, which a health page may render). Both under load, neither may fail a request.
@pytest.mark.parametrize("where", ["in its boot", "on a canary Gunicorn"])
def test_release_failing_its_health_check_never_serves(host, site, tmp_path, where) -> None:
    before = live_release(host)
    source = release_copy(tmp_path, "v3-broken")
    views = source / "myapp/views.py"
    views.write_text(
        views.read_text().replace(
            'return JsonResponse({"status": "ok", "database": "ok"})',
            'return JsonResponse({"status": "broken"}, status=500)',
        )
    )
    if where == "on a canary Gunicorn":
        css = source / "myapp/static/myapp/css/site.css"
        css.write_text(css.read_text() + "\n/* v3-broken */\n")
    with Load(f"{site.base}/", seconds=300) as load:
        result = ansible_playbook("deploy.yml", "-e", f"django_source_path={source}")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(r"Release [0-9a-f]{12} failed its health check", output), output[-2000:]
    assert f"{before} is" in output
    if where == "in its boot":
        assert "answered /healthz with 500" in output, output[-2000:]
        assert task_outcome(output, IN_BOOT_TASK) == "fatal", output[-3000:]
        assert task_outcome(output, CANARY_TASK) == "absent", output[-3000:]
    else:
        assert collectstatic_outcome(output) == "changed", output[-3000:]
        assert task_outcome(output, IN_BOOT_TASK) == "skipping", output[-3000:]
        assert task_outcome(output, CANARY_TASK) == "fatal", output[-3000:]
    assert load.failed == 0, f"{load.failed} failed of {load.ok + load.failed}: {load.errors[:5]}"
    assert live_release(host) == before
    assert "v3-broken" not in site.session().get(f"{site.base}/", timeout=10).text
    record(f"release refused {where}, under load", requests=load.ok, failed=load.failed)


def test_release_whose_asgi_application_cannot_load_never_serves(host, site, tmp_path) -> None:
    # Healthy through WSGI, but Uvicorn could not load it: refused in its boot, even with new
    # static files (its health request then waits for the canary Gunicorn, its loading not).
    before = live_release(host)
    source = release_copy(tmp_path, "v3-asgi")
    asgi = source / "myproject/asgi.py"
    asgi.write_text(asgi.read_text() + '\nraise RuntimeError("v3-asgi cannot start")\n')
    css = source / "myapp/static/myapp/css/site.css"
    css.write_text(css.read_text() + "\n/* v3-asgi */\n")
    result = ansible_playbook("deploy.yml", "-e", f"django_source_path={source}")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert task_outcome(output, IN_BOOT_TASK) == "fatal", output[-3000:]
    assert "the release could not load: RuntimeError: v3-asgi cannot start" in output, output[
        -2000:
    ]
    assert live_release(host) == before
    assert "v3-asgi" not in site.session().get(f"{site.base}/", timeout=10).text


def test_release_failing_the_gate_through_nginx_is_switched_back(host, site, tmp_path) -> None:
    # A healthy release, but a gate that cannot pass (nothing answers on port 1): the
    # release goes live, the gate fails, and the kit must switch back and restart.
    before = live_release(host)
    source = release_copy(tmp_path, "v3-gate")
    with Load(f"{site.base}/", seconds=300) as load:
        result = ansible_playbook(
            "deploy.yml",
            "-e",
            f"django_source_path={source}",
            "-e",
            "django_healthcheck_url=https://127.0.0.1:1/healthz",
            "-e",
            "django_healthcheck_retries=3",
        )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "go_live | Switch back to the release that was live" in output
    assert re.search(r"Release [0-9a-f]{12} failed its health check", output), output[-2000:]
    assert load.failed == 0, f"{load.failed} failed of {load.ok + load.failed}: {load.errors[:5]}"
    assert live_release(host) == before
    assert "v3-gate" not in site.session().get(f"{site.base}/", timeout=10).text
    record(
        "release switched back by the nginx gate, under load", requests=load.ok, failed=load.failed
    )


def test_failed_migration_stops_the_deploy_before_the_switch(host, tmp_path) -> None:
    before = live_release(host)
    source = failing_migration_copy(tmp_path, "v4-bad-migration")
    result = ansible_playbook("deploy.yml", "-e", f"django_source_path={source}")
    assert result.returncode != 0
    assert "this migration fails" in result.stdout + result.stderr
    assert live_release(host) == before


def test_old_releases_are_pruned(host, tmp_path) -> None:
    # The two refused deploys stopped before pruning; the next good one prunes.
    source = release_copy(tmp_path, "v5")
    result = ansible_playbook("deploy.yml", "-e", f"django_source_path={source}")
    assert result.returncode == 0, result.stdout[-3000:]
    kept = releases(host)
    with host.sudo():
        venvs = host.check_output(f"ls /srv/{APP}/venvs").split()
    # Six releases were built; two are kept (the live one among them).
    assert len(kept) == 2, kept
    assert live_release(host) in kept
    assert len(venvs) == 1, venvs


def test_check_mode_with_a_new_source_builds_nothing_and_says_so(host, tmp_path) -> None:
    """`deploy.yml --check` with a source not deployed yet: the release a run would build is
    named as a change, and nothing is packed, sent, built, switched or pruned."""
    before = live_release(host)
    built = releases(host)
    source = release_copy(tmp_path, "checked")
    result = ansible_playbook("deploy.yml", "--check", "-e", f"django_source_path={source}")
    assert result.returncode == 0, result.stdout[-3000:]
    said = re.search(
        r"Check mode: release (\w+) is not built on \S+; a run would build it",
        " ".join(result.stdout.split()),
    )
    assert said, result.stdout[-3000:]
    assert said.group(1) not in built
    assert re.search(r"changed=[1-9]", result.stdout)
    assert releases(host) == built
    assert live_release(host) == before
    controller_tmp = Path(tempfile.gettempdir())
    assert not list(controller_tmp.glob(f"djkit-*-{said.group(1)}.tar.gz"))


def test_rollback_says_which_release_is_live(host, site) -> None:
    before = live_release(host)
    result = ansible_playbook("rollback.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    after = live_release(host)
    assert after != before
    assert f"live release before: {before}; after: {after}" in result.stdout
    # Back to v2, the release live before v5: never to one that was refused.
    assert '<p id="mark">v2</p>' in site.session().get(f"{site.base}/", timeout=10).text


def test_a_long_job_outlives_a_deploy_and_the_worker_follows_deploys_and_rollbacks(
    host, site, tmp_path
) -> None:
    worker = f"{APP}-worker-tasks@1.service"
    before = live_release(host)
    with host.sudo():
        since = host.check_output("date +%s")
    # A job that holds the worker 20 s, running when the deploy starts.
    job = site.queue_digest(pause=20)
    assert site.digest(job, until="RUNNING", seconds=30)["status"] == "RUNNING"
    source = release_copy(tmp_path, "v-worker")
    started = time.monotonic()
    result = ansible_playbook("deploy.yml", "-e", f"django_source_path={source}")
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:]
    after = live_release(host)
    assert after != before
    # It ran to its end on the release it started on, after the new release began serving:
    # the switch told the worker to stop, and it finished its job first (never killed).
    done = site.digest(job, seconds=5)
    assert done["status"] == "SUCCESSFUL", done
    assert done["release"] == before
    with host.sudo():
        serving_since = int(
            host.check_output(
                f"systemctl show -p ActiveEnterTimestamp --value --timestamp=unix "
                f"{APP}-gunicorn.service"
            ).lstrip("@")
        )
        journal = host.check_output(f"journalctl -u {worker} --since @{since} -o cat")
        worker_since = int(
            host.check_output(
                f"systemctl show -p ActiveEnterTimestamp --value --timestamp=unix {worker}"
            ).lstrip("@")
        )
    finished = datetime.fromisoformat(done["finished_at"]).timestamp()
    assert finished > serving_since, (done, serving_since)
    assert "Killing" not in journal, journal[-2000:]
    assert "SIGKILL" not in journal, journal[-2000:]
    # The worker started again once its job was done, and runs the new release.
    assert worker_since >= int(finished), (worker_since, finished)
    assert site.digest(site.queue_digest())["release"] == after
    # A rollback takes the worker back too.
    result = ansible_playbook("rollback.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert live_release(host) == before
    assert site.digest(site.queue_digest())["release"] == before
    record("a 20 s job across a code-only deploy", deploy_seconds=round(took, 1))


MIGRATION = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("myapp", "{after}")]
    operations = [{operations}]
"""
PROBE = 'migrations.CreateModel(name="Probe", fields=[("id", models.BigAutoField(primary_key=True)), ("size", models.IntegerField(null=True))])'  # noqa: E501


def with_migrations(tmp_path, mark: str, *operations: str):
    """The sample app with migrations added after its own: 0004_probe, then each operation."""
    source = release_copy(tmp_path, mark)
    after = "0003_digest"
    for index, operation in enumerate((PROBE, *operations), start=4):
        name = "0004_probe" if index == 4 else f"{index:04d}_change"
        (source / f"myapp/migrations/{name}.py").write_text(
            MIGRATION.format(after=after, operations=operation)
        )
        after = name
    return source


def psql(host, sql: str, database: str = APP) -> str:
    with host.sudo("postgres"):
        return host.check_output(f"psql -XAtq -d {database} -c {sql!r}")


def test_schema_changes_dump_first_guard_rollbacks_and_flag_breaking_migrations(
    host, site, tmp_path
) -> None:
    before = live_release(host)
    assert site.csrf_post_note(site.session(), "before-the-migration").status_code == 302
    notes = int(psql(host, "SELECT count(*) FROM myapp_note"))
    # 1. A release that migrates: the database dumped first, named after both releases.
    result = ansible_playbook(
        "deploy.yml", "-e", f"django_source_path={with_migrations(tmp_path, 'v-migrates')}"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    migrated = live_release(host)
    said = " ".join(result.stdout.split())
    found = re.search(
        rf"applies migrations myapp\.0004_probe: the database was dumped first, to djkit-life:"
        rf"(/var/backups/postgresql/premigrate-{APP}-\d{{8}}T\d{{6}}Z-{before}-to-{migrated}\.dump)",
        said,
    )
    assert found, said[-3000:]
    dump = found.group(1)
    assert psql(host, "SELECT count(*) FROM myapp_probe") == "0"
    # It restores into a scratch database with the rows of before, without the new table.
    with host.sudo("postgres"):
        host.check_output("dropdb --if-exists djkit_scratch && createdb djkit_scratch")
    try:
        with host.sudo("postgres"):
            host.check_output(f"pg_restore --no-owner --dbname=djkit_scratch {dump}")
        restored = psql(host, "SELECT count(*) FROM myapp_note", "djkit_scratch")
        probe = psql(host, "SELECT to_regclass('myapp_probe') IS NULL", "djkit_scratch")
    finally:
        with host.sudo("postgres"):
            host.run("dropdb --if-exists djkit_scratch")
    assert int(restored) == notes
    assert probe == "t"

    # 2. Back to the release before it, which does not know 0004_probe: stopped, naming it
    # and the dump; nothing switched.
    refused = ansible_playbook("rollback.yml")
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0
    assert (
        f"Release {before} does not know migrations applied in the database: myapp.0004_probe"
        in (said)
    ), said[-3000:]
    assert f"djkit-life:{dump}" in said
    assert live_release(host) == migrated
    # With the override: rolled back, and logged.
    with host.sudo():
        since = host.check_output("date +%s")
    result = ansible_playbook("rollback.yml", "-e", "django_rollback_across_migrations=true")
    assert result.returncode == 0, result.stdout[-3000:]
    assert live_release(host) == before
    with host.sudo():
        logged = host.check_output(f"journalctl -t djkit --since @{since} -o cat")
    assert f"rollback of {APP} to release {before} across migrations" in logged

    # 3. A code-only release takes no dump.
    again = ansible_playbook(
        "deploy.yml", "-e", f"django_source_path={with_migrations(tmp_path, 'v-code-only')}"
    )
    assert again.returncode == 0, again.stdout[-3000:]
    assert "dumped first" not in " ".join(again.stdout.split()), again.stdout[-3000:]

    # 4. A migration that removes a column the live release reads: refused on request before
    # it migrates; warned of by default, before the switch.
    live = live_release(host)
    breaking = with_migrations(tmp_path, "v-drops-text", 'migrations.RemoveField("note", "text")')
    refused = ansible_playbook(
        "deploy.yml",
        "-e",
        f"django_source_path={breaking}",
        "-e",
        "django_unsafe_migrations=refuse",
    )
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0
    assert "would break the live release" in said, said[-3000:]
    assert "myapp.0005_change: RemoveField note.text" in said
    assert live_release(host) == live
    assert psql(host, "SELECT count(*) FROM django_migrations WHERE name = '0005_change'") == "0"
    harmless = with_migrations(tmp_path, "v-drops-size", 'migrations.RemoveField("probe", "size")')
    warned = ansible_playbook("deploy.yml", "-e", f"django_source_path={harmless}")
    assert warned.returncode == 0, warned.stdout[-3000:]
    said = " ".join(warned.stdout.split())
    warning = said.find("WARNING: release")
    switch = said.find("go_live | Switch the live release")
    assert 0 < warning < switch, said[-3000:]
    assert "myapp.0005_change: RemoveField probe.size" in said[warning:switch]
    record("schema-safe releases", notes=notes, dump=dump)


def test_failed_first_deploy_leaves_a_server_the_next_run_converges(host, site, tmp_path) -> None:
    # A server with no live release yet, whose first release cannot serve (its WSGI module
    # raises; manage.py still works): refused before it is linked.
    with host.sudo():
        host.check_output(f"rm /srv/{APP}/current")
    broken = release_copy(tmp_path, "v-first-broken")
    wsgi = broken / "myproject/wsgi.py"
    wsgi.write_text(wsgi.read_text() + '\nraise RuntimeError("v-first-broken cannot serve")\n')
    result = ansible_playbook("site.yml", "-e", f"django_source_path={broken}")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "v-first-broken cannot serve" in output, output[-3000:]
    with host.sudo():
        assert not host.file(f"/srv/{APP}/current").exists
        # The release just built (the newest directory), never linked.
        built = host.check_output(f"ls -t /srv/{APP}/releases").split()
        assert not host.file(f"/srv/{APP}/releases/{built[0]}/.djkit-live").exists
        # What the kit did before the release was tried first: `current` linked to it, never
        # gone live, the services failed on it. The next run after the fix must converge.
        host.check_output(f"ln -sfn /srv/{APP}/releases/{built[0]} /srv/{APP}/current")
        host.check_output(f"systemctl stop {APP}-gunicorn.service {APP}-uvicorn.service")
    fixed = release_copy(tmp_path, "v-first-fixed")
    result = ansible_playbook("site.yml", "-e", f"django_source_path={fixed}")
    assert result.returncode == 0, result.stdout[-3000:]
    assert task_outcome(result.stdout, "confirm | Mark the first release as having gone live") == (
        "changed"
    ), result.stdout[-3000:]
    live = live_release(host)
    assert live != built[0]
    with host.sudo():
        assert host.file(f"/srv/{APP}/releases/{live}/.djkit-live").exists
        assert not host.file(f"/srv/{APP}/releases/{built[0]}/.djkit-live").exists
        for unit in ("gunicorn", "uvicorn"):
            assert host.service(f"{APP}-{unit}.service").is_running, unit
    assert '<p id="mark">v-first-fixed</p>' in site.session().get(f"{site.base}/", timeout=10).text


def test_static_change_is_collected_and_a_later_code_change_is_not(host, site, tmp_path) -> None:
    href_before, _ = served_css(site)
    source = release_copy(tmp_path, "v6-static")
    css = source / "myapp/static/myapp/css/site.css"
    css.write_text(css.read_text() + "\n/* v6-static */\n")
    result = ansible_playbook("deploy.yml", "-e", f"django_source_path={source}")
    assert result.returncode == 0, result.stdout[-3000:]
    assert collectstatic_outcome(result.stdout) == "changed", result.stdout[-3000:]
    href, body = served_css(site)
    assert href != href_before
    assert "/* v6-static */" in body

    # A code-only release after it: its inputs are v6's (not the earlier releases').
    later = release_copy(tmp_path, "v7")
    (later / "myapp/static/myapp/css/site.css").write_text(css.read_text())
    result = ansible_playbook("deploy.yml", "-e", f"django_source_path={later}")
    assert result.returncode == 0, result.stdout[-3000:]
    assert collectstatic_outcome(result.stdout) == "skipping", result.stdout[-3000:]
    assert '<p id="mark">v7</p>' in site.session().get(f"{site.base}/", timeout=10).text
    assert served_css(site) == (href, body)

    # Told not to skip, the same inputs are collected again.
    again = release_copy(tmp_path, "v8")
    (again / "myapp/static/myapp/css/site.css").write_text(css.read_text())
    result = ansible_playbook(
        "deploy.yml",
        "-e",
        f"django_source_path={again}",
        "-e",
        "django_collectstatic_skip_unchanged=false",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert collectstatic_outcome(result.stdout) == "changed", result.stdout[-3000:]
    assert served_css(site) == (href, body)


def seconds_until_healthy(site, path: str = "/healthz", limit: float = 30) -> float:
    session = site.session()
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            if session.get(f"{site.base}{path}", timeout=5).status_code == 200:
                return time.monotonic() - started
        except Exception:  # noqa: S110 - still down: try again
            pass
        time.sleep(0.1)
    return float("inf")


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_kill_9_of_the_master_recovers_within_5_seconds(host, site, server) -> None:
    unit = f"{APP}-{server}.service"
    with host.sudo():
        pid = host.check_output(f"systemctl show -p MainPID --value {unit}")
        assert int(pid) > 0
        host.check_output(f"kill -9 {pid}")
    if server == "gunicorn":
        took = seconds_until_healthy(site)
    else:
        import ssl

        import websockets.sync.client

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        started, took = time.monotonic(), float("inf")
        while time.monotonic() - started < 30:
            try:
                with websockets.sync.client.connect(
                    f"wss://127.0.0.1:{site.https_port}/ws/notes/",
                    ssl=context,
                    origin=site.base,
                    open_timeout=5,
                ):
                    took = time.monotonic() - started
                    break
            except Exception:
                time.sleep(0.1)
    with host.sudo():
        new_pid = host.check_output(f"systemctl show -p MainPID --value {unit}")
    assert new_pid != pid
    record(f"{server} kill -9 to serving", seconds=round(took, 2))
    assert took < 5


def test_stopped_database_fails_health_cleanly_and_recovers(host, site) -> None:
    session = site.session()
    with host.sudo():
        gunicorn_pid = host.check_output(
            f"systemctl show -p MainPID --value {APP}-gunicorn.service"
        )
        # Stopping the umbrella unit stops the clusters; wait until none accepts connections.
        host.check_output(
            "systemctl stop postgresql"
            " && timeout 30 sh -c 'while pg_isready -q; do sleep 0.2; done'"
        )
    try:
        health = session.get(f"{site.base}/healthz", timeout=15)
        page = session.get(f"{site.base}/", timeout=15)
        assert health.status_code == 503
        assert health.json()["database"] == "unavailable"
        assert page.status_code == 500
        assert "Traceback" not in page.text
        assert "psycopg" not in page.text
    finally:
        with host.sudo():
            host.check_output("systemctl start postgresql")
    assert seconds_until_healthy(site) < 10
    with host.sudo():
        assert (
            host.check_output(f"systemctl show -p MainPID --value {APP}-gunicorn.service")
            == gunicorn_pid
        )


def note_count(host) -> int:
    with host.sudo():
        out = host.check_output(
            f"/usr/local/bin/{APP}-manage shell -c "
            "'from myapp.models import Note; print(Note.objects.count())'"
        )
    return int(out.splitlines()[-1])


def test_backup_then_restore_brings_deleted_rows_back(host, site) -> None:
    for index in range(5):
        assert site.csrf_post_note(site.session(), f"kept-{index}").status_code == 302
    rows = note_count(host)
    assert rows >= 5
    with host.sudo():
        assert host.service("djkit-pg-backup.timer").is_enabled
        assert host.service("djkit-pg-backup.timer").is_running
        host.check_output("systemctl start djkit-pg-backup.service")
        dump = host.check_output(f"ls -1t /var/backups/postgresql/{APP}-*.dump | head -n 1")
        assert host.file("/var/backups/postgresql").mode == 0o700
        host.check_output(
            f"/usr/local/bin/{APP}-manage shell -c "
            "'from myapp.models import Note; Note.objects.all().delete()'"
        )
    assert note_count(host) == 0
    result = ansible_playbook(
        "restore.yml",
        "-e",
        f"postgresql_restore_database={APP}",
        "-e",
        f"postgresql_restore_file={dump}",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert note_count(host) == rows
    record("backup, delete, restore", rows_before=rows, rows_after=note_count(host), dump=dump)


def pg_state(host) -> tuple[str, str, str]:
    with host.sudo():
        return tuple(
            host.check_output(
                "runuser -u postgres -- psql -XAt -F ' ' -c \"SELECT pg_postmaster_start_time(),"
                " current_setting('work_mem'), current_setting('max_connections')\""
            ).rsplit(" ", 2)
        )


def test_database_settings_reload_restart_only_when_needed_and_refuse_bad_values(
    host, site
) -> None:
    started, work_mem, connections = pg_state(host)
    # A setting PostgreSQL takes on a reload: reloaded, not restarted.
    result = ansible_playbook(
        "database.yml", "-v", "-e", '{"postgresql_settings": {"work_mem": "8MB"}}'
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "msg: reloaded" in result.stdout
    assert pg_state(host) == (started, "8MB", connections)
    # One read only at start: restarted, and the output says for which.
    result = ansible_playbook("database.yml", "-v", "-e", "postgresql_max_connections=120")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "restarted for: max_connections" in result.stdout
    restarted, _, now = pg_state(host)
    assert restarted != started
    assert now == "120"
    # A value PostgreSQL rejects: the run fails naming it, the server keeps running as it was,
    # and the next run fails the same way (the file is unchanged then, the check is not).
    for _ in range(2):
        result = ansible_playbook(
            "database.yml", "-e", '{"postgresql_settings": {"work_mem": "lots"}}'
        )
        assert result.returncode != 0
        assert "PostgreSQL rejects these settings" in result.stdout
        assert "work_mem | lots" in result.stdout
        assert pg_state(host) == (restarted, work_mem, "120")
    result = ansible_playbook("database.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert pg_state(host)[1:] == (work_mem, connections)
    assert seconds_until_healthy(site) < 10


def test_database_on_another_port_is_reached_by_the_app_and_the_backup(host, site) -> None:
    def healthy_on(port: int) -> None:
        with host.sudo():
            assert host.check_output(
                f"runuser -u postgres -- psql -p {port} -XAtc 'show port'"
            ) == str(port)
            host.check_output("systemctl start djkit-pg-backup.service")
        health = site.session().get(f"{site.base}/healthz", timeout=15)
        assert health.status_code == 200, health.text
        assert health.json()["database"] == "ok", health.text

    # The app on the same host finds the socket by the port (django_database_port follows
    # the database host's postgresql_port), and so do the role's own tasks and the backup.
    result = ansible_playbook("../site.yml", "-e", "postgresql_port=5433")
    assert result.returncode == 0, result.stdout[-3000:]
    healthy_on(5433)
    result = ansible_playbook("../site.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    healthy_on(5432)


def test_self_signed_certificate_is_renewed_when_due_and_served(host, site) -> None:
    import ssl

    cert = f"/etc/ssl/djkit/{APP}.crt"

    def on_disk() -> str:
        with host.sudo():
            return host.check_output(f"openssl x509 -in {cert} -noout -serial -enddate")

    def served() -> str:
        # Asked by a name of the site (SNI): without one (an IP address) the handshake is the
        # default server's, with the server's own certificate.
        with site.tls() as tls:
            pem = ssl.DER_cert_to_PEM_cert(tls.getpeercert(binary_form=True))
        return subprocess.run(
            ["openssl", "x509", "-noout", "-serial", "-enddate"],
            input=pem, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    before = on_disk()
    assert served() == before
    # Valid for 825 days from the converge: not due within 824.
    result = ansible_playbook("web.yml", "-e", "nginx_self_signed_renew_days=824")
    assert result.returncode == 0, result.stdout[-3000:]
    assert on_disk() == before
    # Due within 826 days: a new certificate (ten years now), and nginx serves it.
    result = ansible_playbook(
        "web.yml", "-e", "nginx_self_signed_days=3650", "-e", "nginx_self_signed_renew_days=826"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    renewed = on_disk()
    assert renewed != before
    assert served() == renewed
    # Not due any more with the defaults: left alone.
    result = ansible_playbook("web.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert on_disk() == renewed


SITE_FILE = f"/etc/nginx/sites-available/{APP}.conf"
# A file of each role's config, edited by hand: every run puts it right. (Redis's file is
# the distribution's, of which the role manages some lines: one of those is edited.)
DRIFTED_FILES = {
    "common": "/etc/djkit/firewall.nft",
    "postgresql": "/etc/postgresql/*/main/conf.d/50-djkit.conf",
    "django": f"/usr/local/bin/{APP}-manage",
    "django's release steps": "/usr/local/sbin/djkit-canary",
    "gunicorn": f"/etc/{APP}/gunicorn.conf.py",
    "uvicorn": f"/etc/systemd/system/{APP}-uvicorn.service",
    "nginx": SITE_FILE,
    "nginx, server-wide": "/etc/nginx/conf.d/djkit.conf",
}
RELEASE_SCRIPT = "/usr/local/sbin/djkit-release"  # its mode changed by hand
HBA_BY_HAND = "host all all 0.0.0.0/0 scram-sha-256"
REDIS_CONF = "/etc/redis/redis.conf"
DEFAULT_KEY = "/etc/ssl/private/ssl-cert-snakeoil.key"  # the default server's, removed


def recap_changed(output: str) -> int:
    found = re.search(r"(?m)^djkit-life\s+: ok=\d+\s+changed=(\d+)\s", output)
    assert found, output[-3000:]
    return int(found.group(1))


def test_every_run_puts_drift_right_and_check_mode_only_reports_it(host, site) -> None:
    """A file edited by hand in each role's config, a release script's mode changed, a stopped
    service, a removed package, the default server's key removed and a pg_hba line added by
    hand: `--check --diff` reports them and changes nothing, the next plain site.yml puts each
    right, and the run after that changes nothing."""

    def digests() -> str:
        with host.sudo():
            paths = [*DRIFTED_FILES.values(), "/etc/postgresql/*/main/pg_hba.conf", REDIS_CONF]
            return host.check_output("sha256sum " + " ".join(paths))

    def site_yml(*extra: str) -> subprocess.CompletedProcess[str]:
        result = ansible_playbook("../site.yml", *extra)
        assert result.returncode == 0, result.stdout[-3000:]
        return result

    assert recap_changed(site_yml().stdout) == 0
    converged = digests()
    with host.sudo():
        for path in DRIFTED_FILES.values():
            # (A loop: the shell expands the PostgreSQL version's glob in a word, not in >>.)
            host.check_output(f"for f in {path}; do echo '# edited by hand' >> \"$f\"; done")
        host.check_output(
            f"printf '\\n%s\\n' '{HBA_BY_HAND}' >> $(ls /etc/postgresql/*/main/pg_hba.conf)"
        )
        host.check_output(f"sed -i 's/^protected-mode yes$/protected-mode no/' {REDIS_CONF}")
        host.check_output(f"systemctl stop {APP}-gunicorn.socket {APP}-gunicorn.service")
        host.check_output("DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq logrotate")
        host.check_output(f"chmod 0700 {RELEASE_SCRIPT}")
        host.check_output(f"rm {DEFAULT_KEY}")
    drifted = digests()
    assert drifted != converged

    checked = site_yml("--check", "--diff")
    assert recap_changed(checked.stdout) > 0
    assert "edited by hand" in checked.stdout, "the diff does not show the drift"
    assert digests() == drifted
    assert not host.service(f"{APP}-gunicorn.socket").is_running
    assert not host.package("logrotate").is_installed
    assert host.file(RELEASE_SCRIPT).mode == 0o700
    with host.sudo():
        assert not host.file(DEFAULT_KEY).exists

    repaired = site_yml()
    assert recap_changed(repaired.stdout) > 0
    assert digests() == converged
    with host.sudo():
        assert HBA_BY_HAND not in host.check_output("cat /etc/postgresql/*/main/pg_hba.conf")
    assert host.service(f"{APP}-gunicorn.socket").is_running
    assert host.package("logrotate").is_installed
    assert host.file(RELEASE_SCRIPT).mode == 0o755
    with host.sudo():
        assert host.file(DEFAULT_KEY).exists
    assert site.session().get(f"{site.base}/healthz", timeout=15).status_code == 200

    started = time.monotonic()
    assert recap_changed(site_yml().stdout) == 0
    record("drift put right", rerun_seconds=round(time.monotonic() - started, 1))


# A task of each role that changes something when it runs (the input checks and read-only
# probes run whatever the tags).
ROLE_TASKS = {
    "common": "common : apt | Ensure these packages are present: acl, locales",
    "postgresql": "postgresql : configure | Ensure the server settings are in place",
    "redis": "redis : redis | Ensure Redis listens only where configured and clients authenticate",
    "django": "django : boot | Apply migrations and ask the project for its static and media",
    "gunicorn": "gunicorn : configure | Ensure gunicorn's config is in place",
    "uvicorn": "common : app_service | Ensure the units are in place for myapp-uvicorn",
    "nginx": "nginx : configure | Ensure the site is in place",
}


def ran(output: str, role: str) -> bool:
    return f"TASK [{ROLE_TASKS[role]}" in output


def test_partial_runs_by_tag_touch_only_their_part(host, site) -> None:
    """`--tags role::nginx` runs nginx alone (and the facts and checks every run needs);
    `--tags config` runs every role's configuration and no release step; neither changes a
    converged server."""
    nginx = ansible_playbook("../site.yml", "--tags", "role::nginx")
    assert nginx.returncode == 0, nginx.stdout[-3000:]
    assert recap_changed(nginx.stdout) == 0
    assert ran(nginx.stdout, "nginx")
    for role in ("common", "postgresql", "redis", "django", "gunicorn", "uvicorn"):
        assert not ran(nginx.stdout, role), role

    config = ansible_playbook("../site.yml", "--tags", "config")
    assert config.returncode == 0, config.stdout[-3000:]
    assert recap_changed(config.stdout) == 0
    for role in ("postgresql", "redis", "gunicorn", "uvicorn", "nginx"):
        assert ran(config.stdout, role), role
    assert not ran(config.stdout, "django")
    assert not ran(config.stdout, "common")  # its packages: install
    assert site.session().get(f"{site.base}/healthz", timeout=15).status_code == 200


def test_restart_of_the_whole_server(host, name, site) -> None:
    """Last: the server restarts (its SSH port may change), so only docker exec from here on."""
    session = site.session()
    visits = [
        int(
            re.search(
                r"<strong>(\d+)</strong>", session.get(f"{site.base}/", timeout=10).text
            ).group(1)
        )
        for _ in range(2)
    ]
    rows = note_count(host)
    subprocess.run(["docker", "restart", name], check=True, capture_output=True, timeout=120)
    state, deadline = "", time.monotonic() + 120
    while state not in ("running", "degraded") and time.monotonic() < deadline:
        time.sleep(1)
        state = subprocess.run(
            ["docker", "exec", name, "systemctl", "is-system-running"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    assert state in ("running", "degraded"), state

    def on_server(*argv: str) -> str:
        return subprocess.run(
            ["docker", "exec", name, *argv], capture_output=True, text=True, check=True
        ).stdout.strip()

    for unit in (
        "postgresql",
        "nginx",
        "redis-server",
        f"{APP}-gunicorn.socket",
        f"{APP}-uvicorn.socket",
        "djkit-pg-backup.timer",
    ):
        assert on_server("systemctl", "is-active", unit) == "active", unit

    after = site_for(name)
    assert seconds_until_healthy(after, limit=60) < 60
    page = session.get(f"{after.base}/", timeout=10).text
    assert f"<strong>{visits[-1] + 1}</strong>" in page, "the session did not survive the restart"
    count = on_server(
        f"/usr/local/bin/{APP}-manage",
        "shell",
        "-c",
        "from myapp.models import Note; print(Note.objects.count())",
    )
    assert int(count.splitlines()[-1]) == rows
