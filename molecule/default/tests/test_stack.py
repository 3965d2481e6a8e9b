"""The single-host stack as its users meet it: through nginx over HTTPS, and on the server."""

import re
import shlex
import uuid

import pytest
import requests
import websockets.sync.client
from websockets.exceptions import InvalidStatus

from djkit_probe import eventually

ALLOWED_PUBLIC_PORTS = {22, 80, 443}


# --- services and the server ------------------------------------------------------------


def test_services_are_enabled_and_running(host, app, asgi) -> None:
    units = ["postgresql", "nginx", f"{app}-gunicorn.socket", f"{app}-gunicorn.service"]
    if asgi:
        units += [f"{app}-uvicorn.socket", f"{app}-uvicorn.service", "redis-server"]
    for unit in units:
        service = host.service(unit)
        assert service.is_enabled, unit
        assert service.is_running, unit
    if not asgi:
        assert not host.file(f"/etc/systemd/system/{app}-uvicorn.service").exists


def test_service_logs_are_rotated(host) -> None:
    """nginx, PostgreSQL and Redis write under /var/log and leave rotation to logrotate."""
    assert host.package("logrotate").is_installed
    timer = host.service("logrotate.timer")
    assert timer.is_enabled
    assert timer.is_running
    with host.sudo():
        dry_run = host.run("logrotate --debug /etc/logrotate.conf")
    assert dry_run.rc == 0, dry_run.stderr
    read = re.findall(r"(?m)^reading config file (\S+)$", dry_run.stdout + dry_run.stderr)
    for config in ("nginx", "postgresql-common"):
        assert config in read, (config, read)


def test_gunicorn_socket_only_nginx_group_may_connect(host, app) -> None:
    sock = host.file(f"/run/{app}-gunicorn.sock")
    assert sock.is_socket
    assert sock.user == "root"
    assert sock.group == "www-data"
    assert sock.mode == 0o660


def test_no_app_or_database_port_beyond_loopback(host) -> None:
    exposed = []
    for spec in host.socket.get_listening_sockets():
        match = re.match(r"^tcp://(.*):(\d+)$", spec)
        if not match:
            continue
        address, port = match.group(1), int(match.group(2))
        if address in ("127.0.0.1", "::1") or port in ALLOWED_PUBLIC_PORTS:
            continue
        exposed.append(spec)
    assert exposed == [], f"listening beyond loopback: {exposed}"
    assert not host.socket("tcp://0.0.0.0:5432").is_listening
    assert not host.socket("tcp://0.0.0.0:8000").is_listening


def test_app_processes_are_not_root(host, app, asgi) -> None:
    units = [f"{app}-gunicorn.service"] + ([f"{app}-uvicorn.service"] if asgi else [])
    rows = [line.split() for line in host.check_output("ps -e -o user=,unit=").splitlines()]
    for unit in units:
        users = [row[0] for row in rows if len(row) == 2 and row[1] == unit]
        assert len(users) >= 2, f"{unit}: expected a master and workers, found {len(users)}"
        assert set(users) == {app}, f"{unit} runs as {set(users)}"


def test_gunicorn_master_loads_the_app_before_the_workers_fork(host, app) -> None:
    """gunicorn_preload_app (default true): the master has imported the project, so its
    database driver's native library (the sample's psycopg[binary]) is mapped in the
    master itself, not only in the workers."""
    master = host.check_output(f"systemctl show -p MainPID --value {app}-gunicorn.service")
    assert int(master) > 0
    with host.sudo():
        maps = host.check_output(f"cat /proc/{master}/maps")
    assert "psycopg_binary" in maps, "the master has not loaded the application"


def test_environment_file_is_private_to_the_app(host, app) -> None:
    with host.sudo():
        env = host.file(f"/etc/{app}/environment")
        assert env.user == "root"
        assert env.group == app
        assert env.mode == 0o640
        assert "DJANGO_SECRET_KEY=" in env.content_string
    # The login user cannot even see it.
    assert host.run(f"cat /etc/{app}/environment").rc != 0


def test_app_user_has_no_login_shell_and_lives_under_srv(host, app) -> None:
    user = host.user(app)
    assert user.shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")
    assert user.home.startswith("/srv/")


def test_manage_wrapper_runs_as_the_app_user(manage) -> None:
    result = manage("showmigrations", "myapp")
    assert result.rc == 0, result.stderr
    assert "[X] 0001_initial" in result.stdout


def test_migrations_are_all_applied(manage) -> None:
    result = manage("migrate", "--check")
    assert result.rc == 0, result.stdout + result.stderr


def test_check_deploy_is_clean(manage) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.rc == 0, result.stdout + result.stderr


# --- PostgreSQL ----------------------------------------------------------------------------


def test_pg_hba_has_no_trust_line(host) -> None:
    with host.sudo():
        clusters = host.check_output("pg_lsclusters --no-header").split()
        hba = host.file(f"/etc/postgresql/{clusters[0]}/main/pg_hba.conf").content_string
    rules = [line.split() for line in hba.splitlines() if line.strip() and not line.startswith("#")]
    assert rules, "pg_hba.conf has no rules"
    assert all("trust" not in rule for rule in rules), hba


def test_database_server_was_created_with_its_settings_and_never_restarted(host) -> None:
    """The cluster was created with the kit's settings (preseed), so neither the fresh
    server's converge nor the idempotence run had to restart PostgreSQL for them."""
    with host.sudo():
        log = host.check_output("journalctl -o cat --no-pager -u 'postgresql@*'")
        pending = host.check_output(
            "runuser -u postgres -- psql -XAt -c"
            " 'SELECT count(*) FROM pg_file_settings WHERE error IS NOT NULL'"
        )
        version = host.check_output("pg_lsclusters --no-header").split()[0]
        created = host.file(f"/etc/postgresql/{version}/main/postgresql.conf").content_string
        kit = host.file(f"/etc/postgresql/{version}/main/conf.d/50-djkit.conf").content_string
    assert log.count("Started postgresql@") == 1, log
    assert "Stopping postgresql@" not in log, log
    assert pending == "0"
    # pg_createcluster writes a value unquoted when it can (localhost, not 'localhost').
    for setting in ("shared_buffers", "max_connections", "listen_addresses"):
        value = re.search(rf"(?m)^{setting} = '?([^'\n]*)'?$", kit).group(1)
        found = re.findall(rf"(?m)^{setting} = '?([^'\s#]*)'?", created)
        assert found == [value], f"{setting}: {found} in postgresql.conf, {value!r} in conf.d"


def test_app_role_needs_a_password_over_tcp_but_not_on_its_socket(host, app) -> None:
    with host.sudo():
        tcp = host.run(f"runuser -u {app} -- psql -w -h 127.0.0.1 -d {app} -c 'select 1'")
        sock = host.run(f"runuser -u {app} -- psql -w -d {app} -tAc 'select current_user'")
        settings = host.check_output(
            "runuser -u postgres -- psql -tAc \"select current_setting('password_encryption')\""
        )
    assert tcp.rc != 0
    assert "password" in tcp.stderr
    assert sock.rc == 0, sock.stderr
    assert sock.stdout.strip() == app
    assert settings.strip() == "scram-sha-256"


# --- through nginx ---------------------------------------------------------------------------


def test_home_page_over_https(site) -> None:
    response = site.session().get(f"{site.base}/", timeout=10)
    assert response.status_code == 200
    assert "Sample app" in response.text
    assert response.headers["Server"] == "nginx"  # no version, and no gunicorn


def test_plain_http_redirects_to_https(site) -> None:
    response = site.session().get(
        f"http://127.0.0.1:{site.http_port}/some/page?x=1", allow_redirects=False, timeout=10
    )
    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://127.0.0.1")
    assert response.headers["Location"].endswith("/some/page?x=1")


def test_hashed_static_file_is_served_by_nginx_alone(host, app, site) -> None:
    session = site.session()
    page = session.get(f"{site.base}/", timeout=10).text
    css = re.search(r'href="(/static/myapp/css/site\.[0-9a-f]{12}\.css)"', page)
    assert css, "the page links no hashed stylesheet"
    probe = uuid.uuid4().hex
    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    gz = session.get(
        f"{site.base}{css.group(1)}?probe={probe}", headers={"Accept-Encoding": "gzip"}, timeout=10
    )
    assert gz.status_code == 200
    assert gz.headers["Content-Encoding"] == "gzip"
    assert "immutable" in gz.headers["Cache-Control"]
    assert "max-age=31536000" in gz.headers["Cache-Control"]
    assert "background" in gz.text
    # A request that does reach the app shows up in gunicorn's access log: the control.
    control = uuid.uuid4().hex
    assert session.get(f"{site.base}/whoami?probe={control}", timeout=10).status_code == 200

    def logged() -> str:
        """Gunicorn's journal since the probe, once it has the control's line ('' before)."""
        with host.sudo():
            log = host.check_output(
                f"journalctl -u {app}-gunicorn.service --since '{since}' -o cat"
            )
        return log if control in log else ""

    # The control's line reaches the journal a moment later; the static file's would be before.
    log = eventually(logged, seconds=15)
    assert log, "control: the request to the app never reached gunicorn's journal"
    assert probe not in log


def test_session_counter_increments_with_the_cookie(site) -> None:
    session = site.session()
    counts = []
    for _ in range(3):
        page = session.get(f"{site.base}/", timeout=10).text
        counts.append(int(re.search(r'id="visits">.*?<strong>(\d+)</strong>', page).group(1)))
    assert counts == [1, 2, 3]
    assert session.cookies.get("sessionid")
    fresh = site.session().get(f"{site.base}/", timeout=10).text
    assert "<strong>1</strong>" in fresh


def test_csrf_form_post_creates_a_row(site, manage) -> None:
    text = f"note-{uuid.uuid4().hex[:8]}"
    refused = site.session().post(
        f"{site.base}/notes/", data={"text": text}, headers={"Origin": site.base}, timeout=10
    )
    assert refused.status_code == 403
    created = site.csrf_post_note(site.session(), text)
    assert created.status_code == 302
    count = manage(
        "shell",
        "-c",
        f"\"from myapp.models import Note; print(Note.objects.filter(text='{text}').count())\"",
    )
    assert count.stdout.strip().splitlines()[-1] == "1", count.stdout + count.stderr


def test_unknown_host_gets_no_page(site) -> None:
    for url in (f"{site.base}/", f"http://127.0.0.1:{site.http_port}/"):
        with pytest.raises(requests.exceptions.ConnectionError):
            site.session().get(url, headers={"Host": "evil.example"}, timeout=10)


def test_nginx_checker_takes_another_deployments_site_and_refuses_clashes(host, app) -> None:
    """Each nginx file of the kit is checked with the server's whole config before it lands
    (djkit-nginx-check): a site of another deployment beside the app's passes; one that
    repeats a default server, a server-wide setting or the app's upstream is refused, naming
    it; the app's own site passes in its own place and clashes beside itself."""
    enabled = "/etc/nginx/sites-enabled"
    other = f"{enabled}/other.conf"
    beside = (
        "upstream other_wsgi { server unix:/run/other.sock; }\n"
        "server { listen 80; server_name other.test; return 204; }\n"
    )
    clashes = [
        "server { listen 80 default_server; server_name other.test; return 204; }\n",
        "client_header_timeout 5s;\n",
        f"upstream {app}_wsgi {{ server unix:/run/other.sock; }}\n",
    ]
    with host.sudo():
        site = host.file(f"/etc/nginx/sites-available/{app}.conf").content_string
        candidate = host.check_output("mktemp")
        try:

            def checked(text: str, target: str):
                host.check_output(f"printf %s {shlex.quote(text)} > {candidate}")
                return host.run(f"/usr/local/sbin/djkit-nginx-check {candidate} {target}")

            passed = checked(beside, other)
            assert passed.rc == 0, passed.stderr
            for text in clashes:
                refused = checked(text, other)
                assert refused.rc == 1, text
                assert "duplicate" in refused.stderr, refused.stderr
                assert f"in {other}:1" in refused.stderr, refused.stderr
            assert checked(site, f"{enabled}/{app}.conf").rc == 0
            # (its login zone bound twice; nginx names the files where they are, not the copy)
            copy = checked(site, f"{enabled}/{app}-copy.conf")
            assert copy.rc == 1
            assert f"in {enabled}/{app}.conf:" in copy.stderr, copy.stderr
            assert checked(beside, "/etc/nginx/nginx.conf").rc == 2
            # Nothing of that landed, and the server's config still tests clean.
            assert host.check_output(f"ls {enabled}").split() == [f"{app}.conf"]
            assert host.run("nginx -t -q").rc == 0
        finally:
            host.run(f"rm -f {candidate}")


def test_healthz_through_nginx(site) -> None:
    response = site.session().get(f"{site.base}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "Set-Cookie" not in response.headers


def test_websocket_push_through_nginx(site, asgi) -> None:
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    url = f"wss://127.0.0.1:{site.https_port}/ws/notes/"
    if not asgi:
        # Without Uvicorn nginx has no websocket route: the handshake is refused, not upgraded.
        # (30 s: one CI run saw this refusal take over 10 s on Debian 13; not reproduced since.)
        with pytest.raises(InvalidStatus) as refused:
            websockets.sync.client.connect(url, ssl=context, origin=site.base, open_timeout=30)
        assert refused.value.response.status_code != 101
        return
    with websockets.sync.client.connect(url, ssl=context, origin=site.base, open_timeout=10) as ws:
        assert ws.response.status_code == 101
        text = f"pushed-{uuid.uuid4().hex[:8]}"
        assert site.csrf_post_note(site.session(), text).status_code == 302
        event = ws.recv(timeout=10)
    assert text in event


def test_app_units_are_sandboxed(host, app, asgi) -> None:
    units = [
        f"{app}-gunicorn.service",
        f"{app}-worker-tasks@1.service",
        f"{app}-timer-prune-task-results.service",
        f"{app}-timer-failed@{app}-timer-prune-task-results.service.service",
    ] + ([f"{app}-uvicorn.service"] if asgi else [])
    for unit in units:
        with host.sudo():
            report = host.check_output(f"systemd-analyze security {unit} --no-pager")
        match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", report)
        assert match, report[-500:]
        assert float(match.group(1)) <= 2.0, f"{unit}: exposure {match.group(1)}"


def test_a_job_queued_through_the_site_is_run_by_the_worker_as_the_app(host, app, site) -> None:
    worker = host.service(f"{app}-worker-tasks@1.service")
    assert worker.is_enabled
    assert worker.is_running
    with host.sudo():
        live = host.check_output(f"readlink /srv/{app}/current").rsplit("/", 1)[-1]
        users = {
            line.split()[0]
            for line in host.check_output("ps -e -o user=,unit=").splitlines()
            if line.split()[-1] == f"{app}-worker-tasks@1.service"
        }
    assert users == {app}
    done = site.digest(site.queue_digest())
    assert done["status"] == "SUCCESSFUL", done
    assert done["release"] == live
    assert done["notes"] >= 0


def test_the_daily_timer_is_scheduled_and_its_job_runs_as_the_app(host, app) -> None:
    timer = host.service(f"{app}-timer-prune-task-results.timer")
    assert timer.is_enabled
    assert timer.is_running
    with host.sudo():
        # Started by hand (what the timer does at its time): one run, exit status 0.
        host.check_output(f"systemctl start {app}-timer-prune-task-results.service")
        shown = host.check_output(
            f"systemctl show -p Result -p ExecMainStatus -p User {app}-timer-prune-task-results"
        )
        persistent = host.check_output(
            f"systemctl show -p Persistent --value {app}-timer-prune-task-results.timer"
        )
    assert persistent == "yes"
    assert set(shown.splitlines()) == {"Result=success", "ExecMainStatus=0", f"User={app}"}


def test_upload_lands_in_media_and_nginx_serves_it(host, site) -> None:
    session = site.session()
    page = session.get(f"{site.base}/", timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = f"uploaded {uuid.uuid4().hex}".encode()
    response = session.post(
        f"{site.base}/uploads/",
        data={"csrfmiddlewaretoken": token},
        files={"file": ("hello.txt", body, "text/plain")},
        headers={"Origin": site.base, "Referer": f"{site.base}/"},
        timeout=10,
    )
    assert response.status_code == 201, response.text[:300]
    url = response.json()["url"]
    assert url.startswith("/media/uploads/")
    served = session.get(f"{site.base}{url}", timeout=10)
    assert served.status_code == 200
    assert served.content == body
    assert served.headers["X-Content-Type-Options"] == "nosniff"
