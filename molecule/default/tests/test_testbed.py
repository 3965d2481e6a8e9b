"""The test bed is a real server: systemd as PID 1, sshd, a non-root login with sudo, and
HTTPS out to PyPI through the host's extra CAs."""


def test_systemd_is_pid_1_and_booted(host) -> None:
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state


def test_sshd_serves_the_login(host) -> None:
    assert host.service("ssh").is_running
    assert host.socket("tcp://0.0.0.0:22").is_listening


def test_login_user_is_not_root_and_escalates_with_sudo(host) -> None:
    assert host.user().name == "admin"
    assert host.run("id -u").stdout.strip() != "0"
    with host.sudo():
        assert host.run("id -u").stdout.strip() == "0"


def test_image_is_a_fresh_server(host) -> None:
    assert not host.package("build-essential").is_installed
    assert not host.package("gcc").is_installed
    marker = host.run("ls /usr/lib/python3*/EXTERNALLY-MANAGED")
    assert marker.rc == 0, "the PEP 668 marker was removed"


def test_pip_on_the_target_reaches_pypi(host, app) -> None:
    with host.sudo():
        result = host.run(
            f"/srv/{app}/current/.venv/bin/pip download --no-deps --no-cache-dir "
            "-d $(mktemp -d) six==1.16.0"
        )
    assert result.rc == 0, result.stderr
    assert "six-1.16.0" in result.stdout
