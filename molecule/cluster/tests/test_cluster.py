"""The split stack as users and attackers see it: one site through the web server, served by
both app servers, one session and one channel layer across them, the app's worker on a server
of its own, and only the network paths each tier needs."""

import itertools
import json
import os
import re
import ssl
import time
from pathlib import Path

import websockets.sync.client
from conftest import APP1, APP2, DB, WEB, WORKER

from djkit_probe import (
    AddressesLoad,
    Load,
    ansible_playbook,
    boot_mark,
    failing_migration_copy,
    live_release,
    reachable,
    record,
    release_copy,
    releases,
)

APP = "myapp"


def task_outputs(out: str, title: str, role: str = "django") -> list[str]:
    """What a role's task printed, each time it ran."""
    return [section.split("\nTASK [")[0] for section in out.split(f"TASK [{role} : {title}")[1:]]


def task_hosts(out: str, title: str, status: str = "ok|changed", role: str = "django") -> list[str]:
    """The hosts a task ran on (with that status), over every time the task ran."""
    hosts = []
    for body in task_outputs(out, title, role):
        hosts += re.findall(rf"^(?:{status}): \[([\w-]+)", body, re.M)
    return hosts


HOST_RESULT = r"(?ms)^(?:ok|changed): \[([\w-]+)\] =>(.*?)(?=^\S|\Z)"


def migrate_ran_on(out: str) -> list[str]:
    """The hosts whose boot of the project ran migrate: its JSON result (printed at -v)
    carries migrate's report, which starts with "Operations to perform"."""
    hosts = []
    for body in task_outputs(out, "boot | Apply migrations"):
        for host, result in re.findall(HOST_RESULT, body):
            if "Operations to perform" in result:
                hosts.append(host)
    return hosts


def served_by(site, n: int) -> list[str]:
    s = site.session()
    return [s.get(f"{site.base}/whoami", timeout=10).json()["host"] for _ in range(n)]


def test_page_through_the_web_server(site) -> None:
    r = site.session().get(f"{site.base}/", timeout=10)
    assert r.status_code == 200
    assert "<h1>Sample app</h1>" in r.text
    assert "gunicorn" not in r.headers.get("Server", "").lower()


def test_consecutive_requests_reach_both_app_servers(site) -> None:
    hosts = served_by(site, 12)
    assert set(hosts) == {APP1, APP2}, hosts


def test_session_continues_across_app_servers(site) -> None:
    s = site.session()
    seen, visits = [], []
    for _ in range(8):
        page = s.get(f"{site.base}/", timeout=10).text
        visits.append(int(re.search(r'id="visits">[^<]*<strong>(\d+)</strong>', page).group(1)))
        seen.append(re.search(r'id="served-by">Served by <code>([\w-]+)</code>', page).group(1))
    assert set(seen) == {APP1, APP2}, f"the session's requests did not reach both: {seen}"
    assert visits == list(range(1, 9)), list(zip(seen, visits, strict=True))


def test_static_file_comes_from_the_web_server(site, web) -> None:
    page = site.session().get(f"{site.base}/", timeout=10).text
    path = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page).group(1)
    r = site.session().get(f"{site.base}{path}", timeout=10)
    assert r.status_code == 200
    assert "immutable" in r.headers["Cache-Control"]
    with web.sudo():
        assert web.file(f"/srv/{APP}/shared/static{path.removeprefix('/static')}").exists
        assert not web.exists("gunicorn")
        assert not web.file(f"/srv/{APP}/current").exists


def test_websocket_push_crosses_app_servers(site, app1, app2) -> None:
    hosts = {APP1: app1, APP2: app2}
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    url = f"wss://127.0.0.1:{site.https_port}/ws/notes/"
    with websockets.sync.client.connect(url, ssl=context, origin=site.base, open_timeout=10) as ws:
        holding = [
            name
            for name, h in hosts.items()
            if h.run("ss -Htn state established '( sport = :8001 )'").stdout.strip()
        ]
        assert len(holding) == 1, f"the websocket should sit on one app server: {holding}"
        other = hosts[APP2 if holding == [APP1] else APP1]
        text = f"cross-host {time.time_ns()}"
        with other.sudo():
            other.check_output(
                f"{APP}-manage shell -c "
                f"\"from myapp.models import Note; Note.objects.create(text='{text}')\""
            )
        event = json.loads(ws.recv(timeout=10))
    assert event["text"] == text, event


def test_database_only_from_app_and_worker_servers(db, app1, app2, web, worker, address) -> None:
    assert not reachable(web, address(DB), 5432), "the web server reaches PostgreSQL"
    assert not reachable(web, address(DB), 6379), "the web server reaches Redis"
    assert reachable(app1, address(DB), 5432), "control: app1 cannot reach PostgreSQL"
    assert reachable(app2, address(DB), 6379), "control: app2 cannot reach Redis"
    assert reachable(worker, address(DB), 5432), "the worker server cannot reach PostgreSQL"
    with db.sudo():
        hba = [
            line.split()
            for line in db.check_output("cat /etc/postgresql/*/main/pg_hba.conf").splitlines()
            if line.strip() and not line.startswith("#")
        ]
    assert {row[0] for row in hba} <= {"local", "hostssl"}, hba
    assert not [row for row in hba if "trust" in row], hba
    remote = [row for row in hba if row[0] == "hostssl" and not row[3].startswith(("127.", "::1"))]
    assert sorted(row[3] for row in remote) == sorted(
        f"{address(name)}/32" for name in (APP1, APP2, WORKER)
    )
    assert all(row[4] == "scram-sha-256" for row in remote)


def test_app_logs_in_to_the_database_over_tls(app1, app2, worker) -> None:
    for h in (app1, app2, worker):
        with h.sudo():
            out = h.check_output(
                f'{APP}-manage shell -c "from django.db import connection; '
                "connection.ensure_connection(); c = connection.connection; "
                "print('login', c.info.user, c.info.host, c.pgconn.ssl_in_use)\""
            ).splitlines()[-1]
        _, user, server, tls = out.split()
        assert user == APP, out
        assert not server.startswith("/"), f"over the unix socket: {out}"
        assert tls == "True", f"{h}: not over TLS: {out}"


def test_app_ports_only_from_the_web_servers(db, app1, app2, web, address) -> None:
    for name in (APP1, APP2):
        for port in (8000, 8001):
            assert not reachable(db, address(name), port), f"{DB} reaches {name}:{port}"
        assert reachable(web, address(name), 8000), f"control: {WEB} cannot reach {name}:8000"
    # The second web server (on app2) reaches the other app server too.
    assert reachable(app2, address(APP1), 8000), f"control: {APP2} cannot reach {APP1}:8000"
    # Both servers trust X-Forwarded-* from the web servers only: the environment systemd
    # gives them (Gunicorn and Uvicorn read FORWARDED_ALLOW_IPS), which Gunicorn's config
    # leaves be.
    with app1.sudo():
        conf = app1.file(f"/etc/{APP}/gunicorn.conf.py").content_string
        for server in ("gunicorn", "uvicorn"):
            env = app1.check_output(f"systemctl show -p Environment --value {APP}-{server}.service")
            trusted = [v for v in env.split() if v.startswith("FORWARDED_ALLOW_IPS=")]
            assert len(trusted) == 1, f"{server}: {env}"
            allowed = set(trusted[0].removeprefix("FORWARDED_ALLOW_IPS=").split(","))
            assert allowed == {address(WEB), address(APP2)}, f"{server}: {env}"
    assert "forwarded_allow_ips" not in conf


def test_worker_server_runs_the_workers_and_serves_nothing(site, app1, app2, web, worker) -> None:
    """With a workerservers group the app's workers run there, on the release the app servers
    serve, and nowhere else; the worker server runs no web process and opens no port to it."""
    unit = f"{APP}-worker-tasks@1.service"
    with worker.sudo():
        assert worker.service(unit).is_running
        assert worker.service(unit).is_enabled
        assert worker.run(f"systemctl cat {APP}-gunicorn.service {APP}-gunicorn.socket").rc != 0
        listening = worker.check_output("ss -ltnH")
    assert not re.search(r":(80|443|8000|8001)\s", listening), listening
    for h in (app1, app2):
        with h.sudo():
            assert h.run(f"systemctl cat {unit}").rc != 0, f"{h} has the worker"
            assert h.service(f"{APP}-gunicorn.service").is_running
    # The web server's upstreams name the app servers only.
    with web.sudo():
        site_conf = web.check_output(f"cat /etc/nginx/sites-available/{APP}.conf")
    assert WORKER not in site_conf
    # A job queued through the site is run (by the only worker there is) on the live release.
    job = site.digest(site.queue_digest())
    assert job["status"] == "SUCCESSFUL", job
    assert job["release"] == live_release(worker) == live_release(app1), job


def test_upstreams_balance_with_passive_checks(web, address) -> None:
    with web.sudo():
        site_conf = web.file(f"/etc/nginx/sites-available/{APP}.conf").content_string
    wsgi = re.search(r"upstream \w+_wsgi \{(.*?)\}", site_conf, re.S).group(1)
    asgi = re.search(r"upstream \w+_asgi \{(.*?)\}", site_conf, re.S).group(1)
    for name in (APP1, APP2):
        assert f"server {address(name)}:8000 max_fails=" in wsgi
        assert f"server {address(name)}:8001 max_fails=" in asgi
    assert "keepalive" in wsgi
    assert "keepalive" not in asgi
    assert "proxy_next_upstream error timeout http_502;" in site_conf
    assert " down;" not in site_conf


def test_one_app_server_down_costs_no_request(site, app2) -> None:
    units = f"{APP}-gunicorn.socket {APP}-gunicorn.service"
    with app2.sudo():
        app2.check_output(f"systemctl stop {units}")
    try:
        s = site.session()
        statuses = [s.get(f"{site.base}/", timeout=15).status_code for _ in range(30)]
        hosts = served_by(site, 6)
    finally:
        with app2.sudo():
            app2.check_output(f"systemctl start {units}")
    assert all(code < 500 for code in statuses), statuses
    assert set(hosts) == {APP1}, hosts
    record("one app server stopped", requests=len(statuses), failed=sum(c >= 500 for c in statuses))


def assert_left_and_rejoined(out: str, hosts: list[str]) -> None:
    """Each of `hosts` was marked down, then up, in the upstreams of both web servers."""
    for state in ("down", "up"):
        marked = task_hosts(
            out,
            f"upstream | Mark this app server in each web server's upstreams as {state}",
            "changed",
        )
        assert sorted(marked) == sorted(hosts * 2), f"{state}: {marked}"
        bodies = "".join(
            task_outputs(
                out, f"upstream | Mark this app server in each web server's upstreams as {state}"
            )
        )
        for host, web_server in itertools.product(hosts, (WEB, APP2)):
            edited = rf"^changed: \[{host}(?: -> [^]]+)?\] => \(item={web_server}\)"
            assert re.search(edited, bodies, re.M), f"{state}: {host} on {web_server}"


def quiet_while_restarting(h, since: str) -> tuple[int, int, int]:
    """Load requests (python-requests) gunicorn on `h` logged before its restart, between the
    restart and the deploy's direct health check (ansible-httpget), and after that check."""
    lines = h.check_output(
        f"journalctl -u {APP}-gunicorn.service -o short-unix --no-pager --since @{since}"
    ).splitlines()
    stopping = max(i for i, line in enumerate(lines) if "Stopping " in line)
    checked = next(
        i for i, line in enumerate(lines) if i > stopping and '"ansible-httpget"' in line
    )
    load = [i for i, line in enumerate(lines) if "python-requests" in line]
    return (
        sum(i < stopping for i in load),
        sum(stopping < i < checked for i in load),
        sum(i > checked for i in load),
    )


def test_rolling_deploy_under_load_fails_no_request(site, app1, app2, worker, tmp_path) -> None:
    mark = "rolling-v2"
    source = release_copy(tmp_path, mark)
    since = {h: h.check_output("date +%s") for h in (app1, app2)}
    started = time.monotonic()
    # Each request on its own connection: nginx reloads four times (see Load).
    with Load(f"{site.base}/", seconds=420, fresh_connections=True) as load:
        # -v: the results show where migrate ran.
        result = ansible_playbook("deploy.yml", "-v", "-e", f"django_source_path={source}")
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-4000:]
    assert load.ok > 50, "the load generator did not run"
    assert load.failed == 0, f"{load.failed} failed of {load.ok + load.failed}: {load.errors[:5]}"
    out = result.stdout
    # One batch per app server, each out of the upstreams and back in; migrations ran once.
    assert out.count("PLAY [Roll the release out") == 2, out[-3000:]
    # The worker server built and booted the release too (never migrating), and moved its
    # workers after the app servers, out of the upstreams' business.
    assert sorted(task_hosts(out, "boot | Apply migrations")) == [APP1, APP2, WORKER]
    assert "PLAY [Move the workers on worker servers to the release]" in out
    migrated = migrate_ran_on(out)
    assert migrated == [APP1], f"migrate ran on {migrated}"
    assert_left_and_rejoined(out, [APP1, APP2])
    # No load request reached an app server from its restart until it answered its direct
    # health check (it was out of the upstreams); it served load before and after.
    around = {}
    for h in (app1, app2):
        with h.sudo():
            before, restarting, after = around[h.backend.host] = quiet_while_restarting(h, since[h])
        assert restarting == 0, f"{h}: {restarting} requests reached it while it restarted"
        assert before > 0, f"{h}: served no load before its restart"
        assert after > 0, f"{h}: served no load after its restart"
    live = {live_release(h) for h in (app1, app2, worker)}
    assert len(live) == 1, live
    job = site.digest(site.queue_digest())
    assert job["status"] == "SUCCESSFUL", job
    assert job["release"] in live, job
    pages = [site.session().get(f"{site.base}/", timeout=10).text for _ in range(4)]
    assert all(f'<p id="mark">{mark}</p>' in page for page in pages)
    record(
        "rolling deploy under load (2 app servers)",
        seconds=round(took, 1),
        requests=load.ok,
        failed=load.failed,
        load_before_during_after_restart=around,
    )


def test_rollback_moves_the_worker_server_too(site, app1, app2, worker) -> None:
    before = live_release(worker)
    result = ansible_playbook("rollback.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "PLAY [Roll the workers on worker servers back]" in result.stdout
    after = {live_release(h) for h in (app1, app2, worker)}
    assert len(after) == 1, after
    assert before not in after, (before, after)
    with worker.sudo():
        assert worker.service(f"{APP}-worker-tasks@1.service").is_running
    job = site.digest(site.queue_digest())
    assert job["status"] == "SUCCESSFUL", job
    assert job["release"] in after, job


def test_deploy_limited_to_one_app_server_is_refused(app1, app2, worker, tmp_path) -> None:
    """A deploy migrates from the first app server and publishes the static files to every
    web server: limited to the second app server it would put a release live there that no
    server migrated. Refused in the first play, before anything is sent."""
    before = {h: (live_release(h), releases(h)) for h in (app1, app2, worker)}
    source = release_copy(tmp_path, "limited")
    result = ansible_playbook("deploy.yml", "--limit", APP2, "-e", f"django_source_path={source}")
    assert result.returncode != 0, result.stdout[-3000:]
    text = " ".join(result.stdout.split())
    left_out = re.search(r"this run leaves out (.*?) \(--limit ([\w-]+)\)", text)
    assert left_out, result.stdout[-3000:]
    assert sorted(left_out.group(1).split(", ")) == sorted([DB, APP1, WEB, WORKER])
    assert left_out.group(2) == APP2
    assert "PLAY [Build the release" not in result.stdout
    assert {h: (live_release(h), releases(h)) for h in (app1, app2, worker)} == before


def test_failed_migration_goes_live_on_no_server(site, app1, app2, worker, tmp_path) -> None:
    """The migration fails on the first app server, the one that migrates; the other servers
    boot the same release, whose canary passes against the old schema: they stop too, naming
    it, and every server keeps its live release."""
    before = {h: live_release(h) for h in (app1, app2, worker)}
    source = failing_migration_copy(tmp_path, "cluster-bad-migration")
    result = ansible_playbook("deploy.yml", "-e", f"django_source_path={source}")
    out = result.stdout
    assert result.returncode != 0, out[-3000:]
    assert "this migration fails" in out, out[-3000:]
    stopped = task_hosts(
        out, "release | Ensure the release's migrations ran on the deployment's first app server",
        status="fatal",
    )  # fmt: skip
    assert sorted(stopped) == sorted([APP2, WORKER]), out[-3000:]
    assert f"its migrations run from {APP1}" in " ".join(out.split())
    assert {h: live_release(h) for h in (app1, app2, worker)} == before
    assert "cluster-bad-migration" not in site.session().get(f"{site.base}/", timeout=10).text


def test_check_deploy_is_clean_on_every_app_server(app1, app2) -> None:
    for h in (app1, app2):
        with h.sudo():
            result = h.run(f"{APP}-manage check --deploy --fail-level WARNING")
        assert result.rc == 0, f"{h}: {result.stdout}{result.stderr}"


def unit_journal(h, unit: str, since: str) -> list[tuple[float, str]]:
    """(time, message) of a unit's journal since a time (seconds since the epoch)."""
    with h.sudo():
        lines = h.check_output(f"journalctl -u {unit} --since @{since} -o short-unix --no-pager")
    found = []
    for line in lines.splitlines():
        stamp, _, rest = line.partition(" ")
        if stamp.replace(".", "").isdigit():
            found.append((float(stamp), rest.split(": ", 1)[-1]))
    return found


def test_timers_run_on_one_app_server_never_overlap_and_fail_visibly(app1, app2) -> None:
    # Every 20 s (not a minute: the test waits for three runs), so that three runs take under
    # a minute of the test's time.
    timers = [
        # A real management command of the sample's.
        {"name": "prune", "command": "python manage.py prune_db_task_results --min-age-days 30",
         "on_calendar": "*:*:0/20"},
        # A run takes 25 s, longer than its period.
        {"name": "slow", "command": "python -c 'import time; time.sleep(25)'",
         "on_calendar": "*:*:0/20"},
        {"name": "broken", "command": "python manage.py no_such_command",
         "on_calendar": "*:*:0/20"},
    ]  # fmt: skip
    since = app1.check_output("date +%s")
    result = ansible_playbook(
        "site.yml", "--tags", "role::django", "-e", json.dumps({"django_timers": timers})
    )
    assert result.returncode == 0, result.stdout[-3000:]
    # Three runs of the prune timer, on the first app server only.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = [m for _, m in unit_journal(app1, f"{APP}-timer-prune.service", since)]
        if sum(m.startswith("Finished") for m in runs) >= 3:
            break
        time.sleep(5)
    assert sum(m.startswith("Finished") for m in runs) >= 3, runs
    with app2.sudo():
        assert app2.run(f"ls /etc/systemd/system/{APP}-timer-*.timer").rc != 0
    assert unit_journal(app2, f"{APP}-timer-prune.service", since) == []
    # The slow job: runs one after the other, each started after the last finished, so a
    # period's elapse during a run started nothing.
    slow = [
        (at, m) for at, m in unit_journal(app1, f"{APP}-timer-slow.service", since)
        if m.startswith(("Starting", "Finished"))
    ]  # fmt: skip
    kinds = [m.split()[0] for _, m in slow]
    assert kinds[:3] == ["Starting", "Finished", "Starting"], slow
    assert all(a != b for a, b in itertools.pairwise(kinds)), slow
    starts = [at for at, m in slow if m.startswith("Starting")]
    assert starts[1] - starts[0] >= 25, slow
    # The failing job: in systemctl --failed, and its OnFailure unit reported it at error level.
    with app1.sudo():
        failed = app1.check_output("systemctl --failed --no-legend --plain")
        report = app1.check_output(
            f"journalctl -p err -u {APP}-timer-failed@{APP}-timer-broken.service.service"
            f" --since @{since} -o cat"
        )
    assert f"{APP}-timer-broken.service" in failed, failed
    assert f"{APP}-timer-broken.service failed" in report, report
    # No longer listed: stopped, removed, its failure forgotten.
    result = ansible_playbook("site.yml", "--tags", "role::django")
    assert result.returncode == 0, result.stdout[-3000:]
    with app1.sudo():
        assert app1.run(f"ls /etc/systemd/system/{APP}-timer-slow.*").rc != 0
        assert f"{APP}-timer-" not in app1.check_output("systemctl --failed --no-legend --plain")
        assert not app1.service(f"{APP}-timer-slow.timer").is_running
    record("timers on one app server", prune_runs=sum(m.startswith("Finished") for m in runs))


def words(out: str) -> str:
    """A run's output with its line folding undone."""
    return " ".join(out.replace("''", "'").split())


def test_reboot_under_load_fails_no_request(site, app1, app2, web, worker, db, address) -> None:
    """reboot.yml reboots the servers that need it, one at a time, while a client on the
    controller sends a bounded load to both web servers' addresses (as a browser does with a
    name that has two). Container restarts stand in for reboots: systemd's reboot ends a
    fresh-server container and docker's restart policy starts it again, on the same address
    and ports, /run emptied."""
    due = {APP1: app1, APP2: app2, WORKER: worker, WEB: web}
    before = {name: boot_mark(h) for name, h in {**due, DB: db}.items()}
    for h in due.values():
        with h.sudo():
            h.check_output("touch /run/reboot-required")
    entries = [address(WEB), address(APP2)]
    started = time.monotonic()
    with AddressesLoad(entries, "/", host="localhost", seconds=600) as load:
        result = ansible_playbook("reboot.yml")
    took = time.monotonic() - started
    out = result.stdout
    assert result.returncode == 0, out[-4000:]
    assert load.ok > 200, "the load generator did not run"
    assert load.failed == 0, f"{load.failed} failed of {load.ok + load.failed}: {load.errors[:5]}"
    assert all(load.served[a] > 50 for a in entries), load.served
    # Rebooted: the four that needed it, in the playbook's order; the database server not.
    after = {name: boot_mark(h) for name, h in {**due, DB: db}.items()}
    assert sorted(n for n in before if before[n] != after[n]) == sorted(due), (before, after)
    rebooted = task_hosts(out, "reboot | Reboot the server", "changed", role="system")
    assert rebooted == [APP1, APP2, WORKER, WEB], rebooted
    said = words(out)
    assert f"{DB} stays up: no reboot required" in said, said[-3000:]
    assert f"{APP2} stays up: rebooted earlier in this run" in said, said[-3000:]
    # No downtime announced: every kind rebooted has another server (the database stays up).
    for host, announced in itertools.product(
        [*due, DB], ("is the only app server", "is the only web server", "runs the database")
    ):
        assert f"{host} {announced}" not in said, f"{host} {announced}"
    # Each app server left the upstreams of both web servers before its reboot and came back.
    assert_left_and_rejoined(out, [APP1, APP2])
    for h in (*due.values(), db):
        assert not h.file("/run/reboot-required").exists
        assert h.run("systemctl is-system-running").stdout.strip() == "running"
    with worker.sudo():
        assert worker.service(f"{APP}-worker-tasks@1.service").is_running
    job = site.digest(site.queue_digest())
    assert job["status"] == "SUCCESSFUL", job
    record(
        "reboot.yml under load (2 app servers, 2 web servers, a worker server)",
        seconds=round(took, 1),
        requests=load.ok,
        failed=load.failed,
        moved_to_the_other_web_server=load.moved,
        served=load.served,
    )


def test_database_reboot_is_announced_and_the_site_comes_back(site, app1, db) -> None:
    """The database server reboots last, after a warning that it is downtime; the app servers
    reconnect and the run checks the site through the web server. Asked for by name this
    time (djkit_reboot_all, limited to it): no /run/reboot-required there."""
    before = {DB: boot_mark(db), APP1: boot_mark(app1)}
    with db.sudo():
        assert not db.file("/run/reboot-required").exists
    result = ansible_playbook("reboot.yml", "-e", "djkit_reboot_all=true", "--limit", DB)
    out = result.stdout
    assert result.returncode == 0, out[-4000:]
    said = words(out)
    assert f"{DB} runs the database: while it reboots the app cannot reach it" in said
    assert task_hosts(out, "reboot | Reboot the server", "changed", role="system") == [DB]
    assert boot_mark(db) != before[DB]
    assert boot_mark(app1) == before[APP1]
    assert "check | Check the site's health through the web server" in out
    # The app writes to the database again, and a job runs (the queue is in the database).
    assert (
        site.csrf_post_note(site.session(), "after the database server's reboot").status_code == 302
    )
    job = site.digest(site.queue_digest())
    assert job["status"] == "SUCCESSFUL", job


# Beside the scenario's inventory: the roles' default secrets directory.
SECRETS = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent / ".secrets"


def test_after_the_reboots_a_verbose_run_changes_nothing_and_prints_no_secret(app1) -> None:
    """site.yml at -vvv prints module arguments and results; no secret may be among them. It
    runs after reboot.yml: a reboot undid nothing the kit had set (Debian 13's boot makes
    /etc/default/locale a link again, for one), so the run changes nothing."""
    secrets = {path.name: path.read_text().strip() for path in SECRETS.glob("djkit-c-*")}
    assert {"djkit-c-db-postgresql-myapp", "djkit-c-db-redis-password"} <= set(secrets), secrets
    with app1.sudo():
        environment = app1.check_output(f"cat /etc/{APP}/environment")
    secrets["DJANGO_SECRET_KEY"] = re.search(r"DJANGO_SECRET_KEY='([^']+)'", environment).group(1)
    # The secrets are in use: the app's environment carries the database and Redis passwords.
    assert secrets["djkit-c-db-postgresql-myapp"] in environment
    assert secrets["djkit-c-db-redis-password"] in environment
    result = ansible_playbook("../site.yml", "-vvv")
    assert result.returncode == 0, result.stdout[-3000:]
    output = result.stdout + result.stderr
    assert "Ensure the environment file is in place" in output
    leaked = [name for name, value in secrets.items() if len(value) >= 16 and value in output]
    assert leaked == [], f"printed at -vvv: {leaked}"
    recap = re.findall(r"^(djkit-c-[\w-]+)\s*: ok=\d+\s+changed=(\d+)", result.stdout, re.M)
    assert len(recap) == 5, result.stdout[-3000:]
    assert all(changed == "0" for _, changed in recap), recap
    record("verbose run without secrets", output_bytes=len(output), secrets_checked=len(secrets))
