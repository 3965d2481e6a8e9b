"""The ACME path end to end: pebble (Let's Encrypt's test CA) validated HTTP-01 through the
site's nginx, the site serves pebble's certificate for every name, certbot's timer renews it
and nginx picks up the renewal; user-provided files replace it and ACME takes over again."""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import time

import pytest
from conftest import NAMES
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from djkit_probe import ansible_playbook, record

RENEWAL_CONF = "/etc/letsencrypt/renewal/myapp.conf"
LIVE = "/etc/letsencrypt/live/myapp"


def fetch(site, name: str, trusted_pem: str) -> tuple[x509.Certificate, str]:
    """Connects to the site's HTTPS port as a browser would to `name`, trusting only
    `trusted_pem`: the chain and the name must verify. Returns the served certificate and the
    status line of GET /."""
    with site.tls(ssl.create_default_context(cadata=trusted_pem), name) as tls:
        der = tls.getpeercert(binary_form=True)
        request = f"GET / HTTP/1.1\r\nHost: {name}:{site.https_port}\r\nConnection: close\r\n\r\n"
        tls.sendall(request.encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    return x509.load_der_x509_certificate(der), data.split(b"\r\n", 1)[0].decode()


def dns_names(cert: x509.Certificate) -> list[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return sorted(san.get_values_for_type(x509.DNSName))


def issuer_cn(cert: x509.Certificate) -> str:
    return cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


@pytest.fixture(scope="module")
def pebble_root(ca) -> str:
    """Pebble's root of the moment (it makes a new one at each start), from its management API."""
    return ca.check_output(
        "curl -sSf --cacert /etc/pebble/api-ca.crt https://djkit-acme-ca:15000/roots/0"
    )


def test_site_serves_the_certificate_the_acme_ca_issued(site, pebble_root) -> None:
    for name in NAMES:
        cert, status = fetch(site, name, pebble_root)
        assert status == "HTTP/1.1 200 OK", (name, status)
        assert issuer_cn(cert).startswith("Pebble Intermediate CA"), issuer_cn(cert)
        assert dns_names(cert) == sorted(NAMES)
    record(
        "acme_certificate", issuer=issuer_cn(cert), sans=dns_names(cert), serial=cert.serial_number
    )


def test_http_serves_only_the_challenge_directory(site) -> None:
    import requests

    s = requests.Session()
    s.trust_env = False
    base = f"http://127.0.0.1:{site.http_port}"
    headers = {"Host": NAMES[0]}
    missing = s.get(
        f"{base}/.well-known/acme-challenge/nothing-here",
        headers=headers,
        timeout=10,
        allow_redirects=False,
    )
    assert missing.status_code == 404, missing.status_code
    page = s.get(f"{base}/admin/", headers=headers, timeout=10, allow_redirects=False)
    assert page.status_code == 301, page.status_code
    assert page.headers["Location"].startswith(f"https://{NAMES[0]}"), page.headers


def test_renewal_timer_is_armed_with_the_reload_hook(web) -> None:
    timer = web.service("certbot.timer")
    assert timer.is_enabled
    assert timer.is_running
    exec_start = web.check_output("systemctl show certbot.service -p ExecStart --value")
    assert "certbot" in exec_start, exec_start
    assert "renew" in exec_start, exec_start
    hook = web.file("/etc/letsencrypt/renewal-hooks/deploy/djkit-reload-nginx")
    assert hook.exists
    assert hook.user == "root"
    assert hook.mode & 0o111
    with web.sudo():
        conf = web.file(RENEWAL_CONF).content_string
    assert "authenticator = webroot" in conf, conf
    assert "https://djkit-acme-ca:14000/dir" in conf, conf


def test_the_timer_service_renews_and_nginx_serves_the_new_certificate(
    web, site, pebble_root
) -> None:
    """Runs the unit certbot.timer starts, with the certificate made due (renew when fewer days
    are left than its whole lifetime); nginx must then serve a new certificate without anyone
    but certbot's deploy hook reloading it."""
    before, _ = fetch(site, NAMES[0], pebble_root)
    lifetime = (before.not_valid_after_utc - datetime.datetime.now(datetime.UTC)).days + 2
    with web.sudo():
        web.check_output(f"cp -p {RENEWAL_CONF} {RENEWAL_CONF}.djkit-test")
        try:
            web.check_output(f"sed -i '1i renew_before_expiry = {lifetime} days' {RENEWAL_CONF}")
            started = web.run("systemctl start certbot.service")
        finally:
            web.check_output(f"mv {RENEWAL_CONF}.djkit-test {RENEWAL_CONF}")
        log = web.run("tail -n 40 /var/log/letsencrypt/letsencrypt.log").stdout
        serial = web.check_output(f"openssl x509 -noout -serial -in {LIVE}/cert.pem")
    on_disk = int(serial.split("=", 1)[1], 16)
    assert started.rc == 0, (started.stderr, log)
    assert on_disk != before.serial_number, f"certbot renewed nothing: {log}"
    # The hook's reload returns once nginx got the signal; new workers follow within moments.
    deadline = time.monotonic() + 15
    while True:
        after, status = fetch(site, NAMES[0], pebble_root)
        if after.serial_number == on_disk or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == "HTTP/1.1 200 OK"
    assert after.serial_number == on_disk, "nginx still serves the old certificate"
    assert dns_names(after) == sorted(NAMES)
    record("acme_renewal", before=before.serial_number, after=after.serial_number)


def _own_ca_and_leaf() -> tuple[str, str, str]:
    """A CA and a certificate for the site's names, as a user's own PKI would issue them."""
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=30)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "djkit test user CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAMES[0])]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in NAMES]), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca.public_bytes(pem).decode(), leaf.public_bytes(pem).decode(), key_pem.decode()


def test_user_files_replace_the_acme_certificate_and_acme_takes_over_again(
    web, site, pebble_root
) -> None:
    ca_pem, cert_pem, key_pem = _own_ca_and_leaf()
    with web.sudo():
        web.check_output("install -d -m 0700 /etc/ssl/site")
        for path, mode, pem in (("fullchain.pem", "0644", cert_pem), ("key.pem", "0600", key_pem)):
            encoded = base64.b64encode(pem.encode()).decode()
            target = f"/etc/ssl/site/{path}"
            web.check_output(
                f"umask 077 && echo {encoded} | base64 -d > {target} && chmod {mode} {target}"
            )
    files = {
        "nginx_tls_source": "files",
        "nginx_tls_certificate": "/etc/ssl/site/fullchain.pem",
        "nginx_tls_certificate_key": "/etc/ssl/site/key.pem",
    }
    run = ansible_playbook("web.yml", "-e", json.dumps(files))
    assert run.returncode == 0, run.stdout[-3000:]
    cert, status = fetch(site, NAMES[1], ca_pem)
    assert status == "HTTP/1.1 200 OK"
    assert issuer_cn(cert) == "djkit test user CA"

    # Back to ACME: the certificate certbot keeps is served again, not issued anew.
    run = ansible_playbook("web.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Obtain a certificate for the server names" not in _changed_tasks(run.stdout), (
        run.stdout[-3000:]
    )
    cert, status = fetch(site, NAMES[1], pebble_root)
    assert status == "HTTP/1.1 200 OK"
    assert issuer_cn(cert).startswith("Pebble Intermediate CA")


def _changed_tasks(output: str) -> str:
    """The task headers followed by a `changed:` line, as one string."""
    changed, task = [], ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith("changed:"):
            changed.append(task)
    return "\n".join(changed)


def test_a_missing_certificate_file_is_refused_before_anything_changes(web) -> None:
    with web.sudo():
        before = web.check_output("sha256sum /etc/nginx/sites-available/myapp.conf")
    bad = {"nginx_tls_source": "files", "nginx_tls_certificate": "/etc/ssl/site/absent.pem",
           "nginx_tls_certificate_key": "/etc/ssl/site/key.pem"}  # fmt: skip
    run = ansible_playbook("../site.yml", "-e", json.dumps(bad))
    assert run.returncode != 0
    assert "/etc/ssl/site/absent.pem (nginx_tls_certificate" in run.stdout, run.stdout[-2000:]
    with web.sudo():
        assert web.check_output("sha256sum /etc/nginx/sites-available/myapp.conf") == before
