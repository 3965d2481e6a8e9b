"""Hostile and careless clients, and the controls that meet them: TLS profile, security
headers, hidden files, path traversal, oversized bodies, slow clients, login floods, the host
firewall and the database's file modes."""

import http.client
import re
import socket
import ssl
import time

from djkit_probe import eventually, inventory_host, reachable

PLATFORMS = ("djkit-d12-asgi", "djkit-d13-wsgi")


def tls_context(version: ssl.TLSVersion, ciphers: str = "DEFAULT") -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    # The client side allows anything (security level 0), so a refusal is the server's.
    context.set_ciphers(f"{ciphers}:@SECLEVEL=0")
    context.minimum_version = context.maximum_version = version
    return context


def handshake(site, context: ssl.SSLContext) -> tuple[str, str] | None:
    """(protocol, cipher) the server agreed to, or None when it refused the handshake."""
    try:
        with site.tls(context) as tls:
            return tls.version(), tls.cipher()[0]
    except ssl.SSLError:
        return None


def raw_get(site, path: str) -> tuple[int, bytes]:
    """A GET with the path exactly as written (no client-side dot-segment clean-up)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", site.https_port, context=context, timeout=10)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", "localhost")
    conn.endheaders()
    response = conn.getresponse()
    return response.status, response.read()


def test_tls_is_mozilla_intermediate(site, host, app) -> None:
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        assert handshake(site, tls_context(old)) is None, f"{old.name} accepted"
    tls12 = handshake(site, tls_context(ssl.TLSVersion.TLSv1_2))
    tls13 = handshake(site, tls_context(ssl.TLSVersion.TLSv1_3))
    assert tls12 is not None, "control: TLS 1.2 refused"
    assert tls12[1].startswith("ECDHE-"), tls12
    assert tls13 is not None, "control: TLS 1.3 refused"
    # The site's servers, and the default server that answers handshakes for other names.
    with host.sudo():
        conf = host.file(f"/etc/nginx/sites-available/{app}.conf").content_string
        conf += host.file("/etc/nginx/conf.d/djkit.conf").content_string
    offered = re.findall(r"ssl_ciphers ([^;]+);", conf)
    assert offered == [offered[0]] * 2, offered
    ciphers = offered[0].split(":")
    assert all(c.startswith("ECDHE-") and ("GCM" in c or "CHACHA20" in c) for c in ciphers)
    # The client may lack TLS 1.0/1.1 itself: the configuration says what the server offers.
    assert set(re.findall(r"ssl_protocols ([^;]+);", conf)) == {"TLSv1.2 TLSv1.3"}
    assert "ssl_session_tickets off;" in conf
    assert "ssl_stapling" not in conf, "OCSP stapling needs a real chain"


def test_security_headers_once_on_every_kind_of_response(site) -> None:
    s = site.session()
    page = s.get(f"{site.base}/", timeout=10)
    static = re.search(r'href="(/static/[^"]+\.css)"', page.text).group(1)
    for response in (page, s.get(f"{site.base}{static}", timeout=10)):
        assert response.status_code == 200
        h = response.headers
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "same-origin"
        assert h["Strict-Transport-Security"] == "max-age=63072000"
        assert "default-src 'self'" in h["Content-Security-Policy"]
        assert "," not in h["Content-Security-Policy"], "the header came twice"


def test_hidden_and_backup_files_are_never_served(site, host, app) -> None:
    planted = [
        f"/srv/{app}/shared/static/.env",
        f"/srv/{app}/shared/static/.git/config",
        f"/srv/{app}/shared/media/report.pdf~",
        f"/srv/{app}/shared/media/db.sql",
        f"/srv/{app}/shared/media/settings.py.bak",
    ]
    with host.sudo():
        for path in planted:
            host.check_output(f"install -D -m 0644 /dev/null {path} && echo SECRET-{app} > {path}")
    try:
        s = site.session()
        for url in (
            "/.env",
            "/.git/config",
            "/static/.env",
            "/static/.git/config",
            "/media/report.pdf~",
            "/media/db.sql",
            "/media/settings.py.bak",
        ):
            response = s.get(f"{site.base}{url}", timeout=10)
            assert response.status_code in (403, 404), f"{url}: {response.status_code}"
            assert "SECRET" not in response.text, url
        control = s.get(f"{site.base}/robots.txt", timeout=10)
        assert control.status_code < 500
    finally:
        with host.sudo():
            host.run(f"rm -rf {' '.join(planted)} /srv/{app}/shared/static/.git")


def test_path_traversal_reaches_nothing_outside_the_roots(site) -> None:
    for path in (
        "/static/../../../../etc/passwd",
        "/static/..%2f..%2f..%2f..%2fetc/passwd",
        "/media/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static../etc/passwd",
        "/media../../etc/passwd",
        "/static/%2e%2e%2f%2e%2e%2fenvironment",
    ):
        status, body = raw_get(site, path)
        assert b"root:" not in body, path
        assert status in (400, 403, 404), f"{path}: {status}"


def test_body_above_the_limit_is_refused(site) -> None:
    response = site.session().post(
        f"{site.base}/uploads/",
        data=b"x" * (11 * 1024 * 1024),
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert response.status_code == 413


def test_slow_client_is_cut_off(site) -> None:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", site.https_port), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        started = time.monotonic()
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")  # never finished
        try:
            data = tls.recv(4096)
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        waited = time.monotonic() - started
    assert not data or data.startswith(b"HTTP/1.1 408"), data[:80]
    assert 5 < waited < 25, f"closed after {waited:.1f} s (client_header_timeout is 10 s)"


def test_login_floods_get_429(site) -> None:
    s = site.session()
    statuses = [s.get(f"{site.base}/admin/login/", timeout=10).status_code for _ in range(25)]
    assert statuses[0] == 200, statuses
    assert 429 in statuses, statuses
    assert s.get(f"{site.base}/healthz", timeout=10).status_code == 200, "control: others pass"


def test_firewall_admits_ssh_and_web_only(host, hostvars) -> None:
    me = hostvars["inventory_hostname"]
    peer = inventory_host(next(p for p in PLATFORMS if p != me))
    address = host.check_output("hostname -I").split()[0]
    with host.sudo():
        ruleset = host.check_output("nft list table inet djkit_firewall")
        # A listener on every address that nothing opened: the firewall must hide it.
        host.check_output(
            "systemd-run --unit=djkit-probe-listener --collect "
            "python3 -m http.server --bind 0.0.0.0 9999"
        )
    try:
        assert eventually(lambda: reachable(host, "127.0.0.1", 9999), seconds=15), (
            "control: the listener never listened"
        )
        assert "policy drop" in ruleset
        assert "udp sport 547 udp dport 546 accept" in ruleset, "DHCPv6 replies dropped"
        assert reachable(peer, address, 443), "control: 443 closed to the peer"
        assert not reachable(peer, address, 9999), "port 9999 reachable from the peer"
    finally:
        with host.sudo():
            host.run("systemctl stop djkit-probe-listener")


def test_database_files_have_the_baseline_modes(host) -> None:
    with host.sudo():
        version, cluster, _, _, _, data = host.check_output("pg_lsclusters --no-header").split()[:6]
        conf = f"/etc/postgresql/{version}/{cluster}"
        assert host.file(data).mode == 0o700
        assert host.file(data).user == "postgres"
        for name in ("pg_hba.conf", "conf.d/50-djkit.conf"):
            assert host.file(f"{conf}/{name}").mode & 0o007 == 0, name
        ssl_on = host.check_output("runuser -u postgres -- psql -tAc 'show ssl'")
    assert ssl_on.strip() == "on"


def test_app_role_has_no_power(host, app) -> None:
    query = "select rolsuper, rolcreatedb, rolcreaterole from pg_roles where rolname = :'name'"
    with host.sudo():
        value = host.check_output(
            # psql interpolates :'name' in a script read from stdin, not in -c.
            f'echo "{query}" | runuser -u postgres -- psql -tA -F " " -v name={app}'
        )
    assert value.split() == ["f", "f", "f"], value
