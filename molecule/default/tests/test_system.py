"""The server itself (role system): SSH as a production server's, proven from another
container, the lockout guard that keeps the old settings when new ones would shut the admin
out, fail2ban's bans in nftables (SSH guessers, login floods), security updates, swap, the
journal and the clock, no TLS 1.0 or 1.1 anywhere in nginx's configuration, and a reboot
through playbooks/reboot.yml."""

import json
import re
import subprocess

from djkit_probe import (
    PROJECT,
    ansible_playbook,
    boot_mark,
    eventually,
    inventory_host,
    reachable,
    site_for,
)

PLATFORMS = ("djkit-d12-asgi", "djkit-d13-wsgi")
DROPIN = "/etc/ssh/sshd_config.d/00-djkit.conf"
SSH = "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10"


def sshd_settings(h) -> dict[str, str]:
    with h.sudo():
        lines = h.check_output("/usr/sbin/sshd -T").splitlines()
    return dict(line.split(" ", 1) for line in lines if " " in line)


def test_sshd_runs_with_the_kit_settings(host) -> None:
    found = sshd_settings(host)
    for name, value in {
        "permitrootlogin": "no",
        "passwordauthentication": "no",
        "kbdinteractiveauthentication": "no",
        "permitemptypasswords": "no",
        "pubkeyauthentication": "yes",
        "authenticationmethods": "publickey",
        "maxauthtries": "3",
        "x11forwarding": "no",
    }.items():
        assert found.get(name) == value, f"{name}: {found.get(name)}"
    # Mozilla's modern set: no SHA-1, no CBC, no plain Diffie-Hellman group exchange with SHA-1.
    for kind in ("kexalgorithms", "ciphers", "macs"):
        algorithms = found[kind].split(",")
        assert algorithms, kind
        weak = [a for a in algorithms if re.search(r"sha1|cbc|group1[4-8]?-|md5|3des", a)]
        assert weak == [], f"{kind}: {weak}"
    assert found["kexalgorithms"].split(",")[0].startswith(("mlkem", "sntrup")), found


def test_password_login_is_refused_and_a_key_accepted_from_another_container(host) -> None:
    name = host.backend.get_hostname()
    other = inventory_host(next(p for p in PLATFORMS if p != name))
    address = host.check_output("hostname -I").split()[0]
    # The methods the server offers a client that tries passwords first: publickey only. (Its
    # exit status is printed: testinfra takes ssh's 255 for a failure of its own.)
    with other.sudo():
        password = other.check_output(
            f"{SSH} -o BatchMode=yes -o PubkeyAuthentication=no"
            f" -o PreferredAuthentications=password,keyboard-interactive admin@{address} true"
            " 2>&1; echo exit=$?"
        )
    assert "Permission denied (publickey)" in password, password
    assert password.endswith("exit=255"), password
    key = subprocess.run(
        [str(PROJECT / "tools" / "fresh-server"), "key"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    with open(key, encoding="utf-8") as handle:
        private = handle.read()
    path = f"/root/djkit-test-key-{name}"
    with other.sudo():
        other.run(f"install -m 600 /dev/stdin {path} <<'EOF'\n{private}EOF")
        try:
            login = other.run(f"{SSH} -o BatchMode=yes -i {path} admin@{address} id -un")
        finally:
            other.run(f"rm -f {path}")
    assert login.rc == 0, login.stderr
    assert login.stdout.strip() == "admin"


def test_the_lockout_guard_keeps_the_old_settings_and_says_why() -> None:
    """Settings that would shut the kit's own user out (a group it is not in) are undone by
    the server itself, and the run fails naming sshd's reason."""
    name = "djkit-d13-wsgi"
    h = inventory_host(name)
    with h.sudo():
        before = h.check_output(f"sha256sum {DROPIN}")
    bad = {"system_ssh_allow_groups": ["djkit-nobody"], "system_ssh_guard_seconds": 30}
    result = ansible_playbook(
        "base.yml", "--tags", "role::system", "--limit", name, "-e", json.dumps(bad)
    )
    # One line, as the callback folds long messages (and quotes ' as '' in YAML).
    out = " ".join(result.stdout.split()).replace("''", "'")
    assert result.returncode != 0, out[-3000:]
    assert "The new SSH settings would lock the kit out" in out, out[-3000:]
    assert "none of user's groups are listed in AllowGroups" in out, out[-3000:]
    # The server put the previous file back (and left no copy behind); logins work.
    with h.sudo():
        assert h.check_output(f"sha256sum {DROPIN}") == before
        assert h.run("ls /etc/ssh/sshd_config.d/*~").rc != 0
    assert "allowgroups" not in sshd_settings(h)


def test_the_journal_is_bounded(host) -> None:
    with host.sudo():
        config = host.check_output("systemd-analyze cat-config systemd/journald.conf")
    assert "SystemMaxUse=1G" in config
    assert "RuntimeMaxUse=100M" in config


def test_no_tls_below_1_2_anywhere_in_nginx(host) -> None:
    with host.sudo():
        config = host.check_output("nginx -T 2>/dev/null")
    protocols = re.findall(r"^\s*ssl_protocols\s+([^;]+);", config, re.M)
    assert protocols, "no ssl_protocols line"
    assert all(p.split() == ["TLSv1.2", "TLSv1.3"] for p in protocols), protocols


def test_unattended_upgrades_select_security_origins_only(host) -> None:
    with host.sudo():
        config = host.check_output("apt-config dump APT::Periodic")
        out = host.check_output("unattended-upgrade --dry-run --debug 2>&1")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in config
    allowed = next(line for line in out.splitlines() if line.startswith("Allowed origins are:"))
    origins = allowed.split(": ", 1)[1].split(", ")
    assert origins, allowed
    assert all("Debian-Security" in origin for origin in origins), origins
    assert "Initial blacklist: ^postgresql-[0-9]+$" in out


def test_no_swap_file_in_a_container_and_the_run_says_why() -> None:
    """The test bed is containers, whose swap is the host's: even a threshold every server is
    under makes no swap file, and the run names the reason (and changes nothing else)."""
    name = "djkit-d12-asgi"
    result = ansible_playbook(
        "base.yml", "--tags", "role::system", "--limit", name, "-e", "system_swap_below_mb=999999"
    )
    out = " ".join(result.stdout.split())
    assert result.returncode == 0, out[-3000:]
    assert f"No swap file on {name}: it runs in a container (docker)" in out, out[-3000:]
    assert re.search(rf"{name}\s*: ok=\d+\s+changed=0\b", out), out[-1500:]
    h = inventory_host(name)
    with h.sudo():
        assert h.run("test -e /swapfile").rc != 0


def test_the_clock_service_is_enabled(host) -> None:
    assert host.package("systemd-timesyncd").is_installed
    assert host.service("systemd-timesyncd").is_enabled


def banned_soon(h, jail: str, address: str, seconds: float = 30) -> bool:
    """Whether fail2ban (which reads the journal or the log a moment later) bans `address`."""
    return eventually(lambda: address in banned(h, jail), seconds=seconds, step=1)


def banned(h, jail: str) -> list[str]:
    with h.sudo():
        status = h.check_output(f"fail2ban-client status {jail}")
        # The table appears with the first ban.
        table = h.run("nft list table inet f2b-table").stdout
    listed = status.rsplit("Banned IP list:", 1)[1].split()
    # fail2ban's nftables action keeps a set per jail in its own table.
    return [address for address in listed if address in table]


def test_fail2ban_bans_ssh_guessers_in_nftables(host) -> None:
    name = host.backend.get_hostname()
    other = inventory_host(next(p for p in PLATFORMS if p != name))
    address = host.check_output("hostname -I").split()[0]
    guesser = other.check_output("hostname -I").split()[0]
    try:
        for _ in range(6):
            other.run(f"{SSH} -o BatchMode=yes nosuchuser@{address} true 2>&1; true")
        assert banned_soon(host, "sshd", guesser), banned(host, "sshd")
        # Refused at the network: not even a TCP connection.
        assert not reachable(other, address, 22)
        assert reachable(other, address, 443), "control: the web stays open to it"
    finally:
        with host.sudo():
            host.run(f"fail2ban-client set sshd unbanip {guesser}")
    assert reachable(other, address, 22)


def test_fail2ban_bans_clients_the_login_rate_limit_keeps_refusing(host, hostvars) -> None:
    name = host.backend.get_hostname()
    other = inventory_host(next(p for p in PLATFORMS if p != name))
    address = host.check_output("hostname -I").split()[0]
    flooder = other.check_output("hostname -I").split()[0]
    flood = (
        "python3 -c 'import ssl, sys, urllib.request as u\n"
        "c = ssl.create_default_context()\n"
        "c.check_hostname, c.verify_mode = False, ssl.CERT_NONE\n"
        "for _ in range(40):\n"
        '    r = u.Request(sys.argv[1], headers={{"Host": sys.argv[2]}})\n'
        "    try: u.urlopen(r, context=c, timeout=5)\n"
        '    except Exception as e: print(getattr(e, "code", e))\n'
        "' https://{}/admin/login/ {}"
    )
    try:
        said = other.check_output(flood.format(address, hostvars["django_allowed_hosts"][0]))
        assert "429" in said, said
        assert banned_soon(host, "nginx-login", flooder), banned(host, "nginx-login")
        assert not reachable(other, address, 443)
    finally:
        with host.sudo():
            host.run(f"fail2ban-client set nginx-login unbanip {flooder}")
    assert reachable(other, address, 443)


def test_reboot_of_a_single_server_is_announced_and_everything_comes_back() -> None:
    """reboot.yml on single-host servers: only the one that needs a reboot goes down, after
    the run says that it is downtime; it comes back with every unit started and the site
    answering, and what the kit set survived the boot (Debian 13's boot makes
    /etc/default/locale a link again). Container restarts stand in for reboots."""
    name, other = "djkit-d13-wsgi", "djkit-d12-asgi"
    h, o = inventory_host(name), inventory_host(other)
    before = {name: boot_mark(h), other: boot_mark(o)}
    with h.sudo():
        h.check_output("touch /run/reboot-required")
    result = ansible_playbook("reboot.yml")
    out = " ".join(result.stdout.split()).replace("''", "'")
    assert result.returncode == 0, out[-3000:]
    assert (
        f"{name} is the only app server: until its services are back, the site answers 502" in out
    )
    assert f"{other} stays up: no reboot required" in out, out[-3000:]
    assert boot_mark(h) != before[name]
    assert boot_mark(o) == before[other]
    assert h.run("systemctl is-system-running").stdout.strip() == "running"
    assert h.check_output("cat /etc/default/locale").strip() == "LANG=C.UTF-8"
    site = site_for(name)
    assert site.session().get(f"{site.base}/", timeout=10).status_code == 200
