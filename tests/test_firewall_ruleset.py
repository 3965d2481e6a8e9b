"""The common role's nftables ruleset as it renders: valid for nft, and the replies a host's
own DHCP client needs (a lease renewed) accepted."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from role_templates import ROLES, render, role_variables

TEMPLATE = ROLES / "common/templates/etc/djkit/firewall.nft.j2"
NFT = shutil.which("nft") or "/usr/sbin/nft"


def rendered(tmp_path: Path) -> str:
    # The openings' directory, empty here (the roles add theirs on a server).
    openings = tmp_path / "firewall.d"
    openings.mkdir(exist_ok=True)
    variables = role_variables("common") | {
        "ansible_managed": "Ansible managed",
        "__common_firewall_dir": str(openings),
    }
    return render(TEMPLATE.read_text(), variables)


def test_the_ruleset_is_valid_for_nft(tmp_path) -> None:
    ruleset = tmp_path / "firewall.nft"
    ruleset.write_text(rendered(tmp_path))
    checked = subprocess.run(
        [NFT, "--check", "--file", str(ruleset)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


def test_dhcp_replies_are_accepted(tmp_path) -> None:
    lines = [line.strip() for line in rendered(tmp_path).splitlines()]
    assert "ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept" in lines
    assert "udp sport 67 udp dport 68 accept" in lines
    # Before the policy's last word: in the input chain, ahead of the openings.
    assert lines.index("udp sport 67 udp dport 68 accept") < lines.index(
        f'include "{tmp_path}/firewall.d/*.nft"'
    )
