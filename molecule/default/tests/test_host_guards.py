"""What a fresh cloud server may already be running when the kit first meets it (found by
reviewing Ubuntu's images, docs/ubuntu.md): an enabled ufw is refused before any change, and
an apt lock another process holds is waited for (the wait reported), then taken."""

import re
import time

from djkit_probe import ansible_playbook, inventory_host

# Holds dpkg's frontend lock as apt itself takes it (an fcntl lock), for 20 s, noting when
# it has the lock and when it lets it go.
HOLDER = """
import fcntl, pathlib, time
lock = open("/var/lib/dpkg/lock-frontend", "w")
fcntl.lockf(lock, fcntl.LOCK_EX)
pathlib.Path("/run/djkit-apt-held").write_text(str(time.time()))
time.sleep(20)
pathlib.Path("/run/djkit-apt-released").write_text(str(time.time()))
"""


def installed_packages(host) -> set[str]:
    return set(host.check_output("dpkg-query -W -f '${Package}\\n'").split())


def test_an_enabled_ufw_is_refused_before_any_change(host, hostvars) -> None:
    name = hostvars["inventory_hostname"]
    with host.sudo():
        before = installed_packages(host)
        host.check_output(
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ufw"
        )
        added = installed_packages(host) - before
        # What `ufw enable` records for every boot. Its rules are not loaded here: the
        # controller keeps its connection to the test server.
        host.check_output("sed -i 's/^ENABLED=.*/ENABLED=yes/' /etc/ufw/ufw.conf")
    try:
        refused = ansible_playbook("site.yml", "--limit", name)
    finally:
        with host.sudo():
            host.check_output(
                "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq " + " ".join(sorted(added))
            )
    assert refused.returncode != 0
    assert f"ufw is enabled on {name}" in refused.stdout, refused.stdout[-2000:]
    assert "common_firewall_enabled: false" in refused.stdout
    assert re.search(rf"{name}\s*: ok=\d+\s+changed=0\s", refused.stdout), refused.stdout[-2000:]


def test_an_apt_lock_held_by_another_process_is_waited_for(host, hostvars) -> None:
    name = hostvars["inventory_hostname"]
    with host.sudo():
        host.check_output("rm -f /run/djkit-apt-held /run/djkit-apt-released")
        host.check_output(
            "systemd-run --quiet --collect --unit=djkit-apt-holder python3 -c %s", HOLDER
        )
        for _ in range(50):
            if host.file("/run/djkit-apt-held").exists:
                break
            time.sleep(0.2)
        assert host.file("/run/djkit-apt-held").exists
    try:
        # A package the kit is told to install while the lock is held.
        result = ansible_playbook(
            "site.yml",
            "--limit",
            name,
            "--tags",
            "role::common",
            "-e",
            '{"common_extra_packages": ["hello"]}',
        )
        assert result.returncode == 0, result.stdout[-3000:]
        # The wait was reported before it began, naming the holder.
        assert re.search(
            r"apt is in use by python3 \(pid \d+\) holding /var/lib/dpkg/lock-frontend",
            result.stdout,
        ), result.stdout[-3000:]
        with host.sudo():
            released = float(host.file("/run/djkit-apt-released").content_string)
            installed = int(host.check_output("stat -c %Y /var/lib/dpkg/info/hello.list"))
        # Installed once the other process let the lock go, not refused while it held it.
        assert installed >= int(released), (installed, released)
    finally:
        with host.sudo():
            host.run("DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq hello")


def test_a_package_missing_from_the_apt_sources_is_named_with_the_fix() -> None:
    # Redis on the WSGI-only server, whose apt sources are made to lack redis-server, as an
    # Ubuntu image without the universe component does.
    name = "djkit-d13-wsgi"
    server = inventory_host(name)
    pin = "/etc/apt/preferences.d/djkit-test-no-redis"
    with server.sudo():
        assert not server.package("redis-server").is_installed
        server.check_output(
            f"printf 'Package: redis-server\\nPin: release *\\nPin-Priority: -1\\n' > {pin}"
        )
    try:
        refused = ansible_playbook(
            "site.yml", "--limit", name, "-e", '{"redis_enabled": true, "uvicorn_enabled": true}'
        )
    finally:
        with server.sudo():
            # The pin, and the drop-in the redis role writes before it installs Redis.
            server.check_output(f"rm -rf {pin} /etc/systemd/system/redis-server.service.d")
    assert refused.returncode != 0
    assert "not in this server's apt sources" in refused.stdout, refused.stdout[-3000:]
    assert "add-apt-repository universe" in refused.stdout
    assert "redis-server" in refused.stdout
    with server.sudo():
        assert not server.package("redis-server").is_installed
