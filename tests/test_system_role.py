"""The system role's files as it renders them, read by the programs that read them on a server:
sshd's settings (sshd -t itself runs in the default scenario), apt's configuration of
unattended-upgrades, needrestart's Perl; and its look at the server, run with stand-ins."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from role_templates import ROLES, render, role_variables
from stand_ins import stub

TEMPLATES = ROLES / "system/templates"
OFFERED = {
    "kex": [
        "sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "diffie-hellman-group14-sha1",
    ],
    "cipher": ["aes128-cbc", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com"],
    "mac": ["hmac-sha1", "hmac-sha2-256-etm@openssh.com"],
}  # fmt: skip


def variables(distribution: str = "Debian", **more: object) -> dict:
    """The role's variables, main.yml's look as a container without swap answers it."""
    answered = ["docker", "", "no", *(" ".join(OFFERED[kind]) for kind in OFFERED)]
    return role_variables("system") | {
        "ansible_managed": "Ansible managed",
        "ansible_facts": {"distribution": distribution},
        "__system_look": {"stdout_lines": answered},
        **more,
    }


def stand_ins(directory: Path, ssh_missing: bool = False) -> Path:
    """The programs the look runs, answering as a container with two swaps would; `ssh -Q`
    answers OFFERED, a line per algorithm, or `ssh` is not found."""
    directory.mkdir(parents=True)
    ssh = [f'[ "$2" = {kind} ] && printf "%s\\n" {" ".join(OFFERED[kind])}' for kind in OFFERED]
    answers = {
        "systemd-detect-virt": "echo docker",
        "dpkg-query": "exit 1",
        "swapon": 'printf "/swapfile\\n/dev/zram0\\n"',
        "ssh": "echo 'ssh: not found' >&2; exit 127" if ssh_missing else "\n".join(ssh),
    }
    for name, body in answers.items():
        stub(directory, name, f"{body}\nexit 0")
    return directory


def look(tmp_path: Path, ssh_missing: bool = False, **more: object) -> tuple[int, dict]:
    """main.yml's look, its command rendered as the role renders it and run by /bin/sh with
    stand-ins: its exit status, and the role's variables with its output."""
    tasks = yaml.safe_load((ROLES / "system/tasks/main.yml").read_text())
    task = next(t for t in tasks if t["name"].startswith("Look at the server"))
    values = role_variables("system") | more
    argv = [str(render(arg, values)) for arg in task["ansible.builtin.command"]["argv"]]
    ran = subprocess.run(
        argv,
        env={"PATH": f"{stand_ins(tmp_path / 'bin', ssh_missing)}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    return ran.returncode, values | {"__system_look": {"stdout_lines": ran.stdout.splitlines()}}


@pytest.mark.parametrize("hardening", [True, False])
def test_the_look_reads_ssh_algorithms_only_with_hardening_and_swaps_after(
    tmp_path, hardening: bool
) -> None:
    status, values = look(tmp_path, system_ssh_hardening=hardening)
    assert status == 0
    assert render("{{ __system_container }}", values) == "docker"
    assert render("{{ __system_swaps }}", values) == ["/swapfile", "/dev/zram0"]
    offered = render("{{ __system_ssh_offered }}", values)
    assert offered == (OFFERED if hardening else {})


def test_the_look_fails_where_ssh_is_missing_and_hardening_needs_it(tmp_path) -> None:
    assert look(tmp_path, ssh_missing=True, system_ssh_hardening=True)[0] != 0
    assert look(tmp_path / "off", ssh_missing=True, system_ssh_hardening=False)[0] == 0


def template(path: str, values: dict) -> str:
    return render((TEMPLATES / path).read_text(), values)


def sshd_file(values: dict) -> dict[str, str]:
    text = template("etc/ssh/sshd_config.d/djkit.conf.j2", values)
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split(" ", 1) for line in lines)


def test_sshd_settings_take_only_modern_algorithms_the_server_offers() -> None:
    found = sshd_file(variables())
    assert found["KexAlgorithms"] == "sntrup761x25519-sha512@openssh.com,curve25519-sha256"
    assert found["Ciphers"] == "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com"
    assert found["MACs"] == "hmac-sha2-256-etm@openssh.com"
    assert found["PasswordAuthentication"] == "no"
    assert "AllowGroups" not in found


def test_sshd_settings_of_the_user_come_last_and_win() -> None:
    found = sshd_file(
        variables(
            system_ssh_allow_groups=["admins", "deploy"], system_ssh_options={"MaxAuthTries": 6}
        )
    )
    assert found["AllowGroups"] == "admins deploy"
    assert found["MaxAuthTries"] == "6"


@pytest.mark.parametrize("distribution", ["Debian", "Ubuntu"])
def test_unattended_upgrades_take_the_security_archive_only(tmp_path, distribution) -> None:
    """The package's own file lists more origins; the kit's, read after it, clears them."""
    package_default = tmp_path / "50unattended-upgrades"
    package_default.write_text(
        "Unattended-Upgrade::Origins-Pattern"
        ' { "origin=Debian,codename=${distro_codename},label=Debian"; };\n'
        'Unattended-Upgrade::Allowed-Origins { "${distro_id}:${distro_codename}-updates"; };\n'
        'Unattended-Upgrade::Package-Blacklist { };\n'
    )  # fmt: skip
    kit = tmp_path / "52djkit-unattended-upgrades"
    kit.write_text(
        template("etc/apt/apt.conf.d/52djkit-unattended-upgrades.j2", variables(distribution))
    )
    argv = ["/usr/bin/apt-config", "-c", str(package_default), "-c", str(kit)]
    dump = subprocess.run(
        [*argv, "dump", "Unattended-Upgrade"], capture_output=True, text=True, check=True
    ).stdout
    origins = [
        line.split('"')[1]
        for line in dump.splitlines()
        if line.startswith("Unattended-Upgrade::Origins-Pattern:: ")
    ]
    assert origins, dump
    assert all("-security" in origin or "Security" in origin for origin in origins), origins
    assert "Allowed-Origins::" not in dump
    assert 'Unattended-Upgrade::Package-Blacklist:: "^postgresql-[0-9]+$";' in dump
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in dump


def test_needrestart_leaves_the_kit_services_alone(tmp_path) -> None:
    path = tmp_path / "djkit.conf"
    path.write_text(template("etc/needrestart/conf.d/djkit.conf.j2", variables()))
    # needrestart reads its conf.d files with Perl's `do` (the file ends true), then compares
    # unit names with each override_rc pattern.
    units = [
        "nginx.service", "postgresql@15-main.service", "redis-server.service",
        "shop-gunicorn.service", "shop-uvicorn.service", "shop-worker-tasks@2.service",
        "cron.service", "ssh.service",
    ]  # fmt: skip
    script = (
        "our %nrconf; do $ARGV[0] or die $@ || $!; shift;"
        " for my $unit (@ARGV) { my $held = 0;"
        " for my $re (keys %{$nrconf{override_rc}}) { $held = 1 if $unit =~ $re }"
        ' print "$unit $held\\n" }'
    )
    result = subprocess.run(
        ["/usr/bin/perl", "-e", script, str(path), *units], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    held = dict(line.split() for line in result.stdout.splitlines())
    assert held == {unit: "0" if unit in ("cron.service", "ssh.service") else "1" for unit in units}


def test_fail2ban_never_bans_loopback_the_user_list_or_the_kit_itself() -> None:
    values = variables(
        system_fail2ban_ignore=["198.51.100.0/24"],
        ansible_facts={"distribution": "Debian", "env": {"SSH_CLIENT": "203.0.113.7 50022 22"}},
    )
    text = template("etc/fail2ban/jail.d/djkit.local.j2", values)
    ignore = next(line for line in text.splitlines() if line.startswith("ignoreip = "))
    assert ignore == "ignoreip = 127.0.0.1/8 ::1 198.51.100.0/24 203.0.113.7"
    assert "banaction = nftables-multiport" in text
    alone = template(
        "etc/fail2ban/jail.d/djkit.local.j2", values | {"system_fail2ban_ignore_controller": False}
    )
    assert "203.0.113.7" not in alone
