"""The firewall unit next to units ordered like Ubuntu's cloud-init (22.04, 24.04): no ordering
cycle in the boot transaction, as `systemd-analyze verify` computes it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from role_templates import ROLES, render

TEMPLATE = ROLES / "common/templates/etc/systemd/system/djkit-firewall.service.j2"
UNITS = Path(__file__).resolve().parent / "units"

# systemd's own tool (Debian's systemd package, on every machine the kit is developed on).
ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"


def verify(tmp_path: Path, firewall: str) -> str:
    """What systemd-analyze says of a boot that starts the firewall, cloud-init's network
    stage and the wait for the network."""
    (tmp_path / "djkit-firewall.service").write_text(firewall)
    for unit in UNITS.glob("*.service"):
        shutil.copy(unit, tmp_path / unit.name)
    (tmp_path / "boot.service").write_text(
        "[Unit]\nWants=djkit-firewall.service cloud-init.service"
        " systemd-networkd-wait-online.service\n[Service]\nType=oneshot\nExecStart=/bin/true\n"
    )
    units = [
        "boot.service",
        "djkit-firewall.service",
        "cloud-init.service",
        "cloud-init-local.service",
    ]
    result = subprocess.run(
        [ANALYZE, "verify", "--man=no", *(str(tmp_path / unit) for unit in units)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return result.stdout + result.stderr


def rendered() -> str:
    return render(TEMPLATE.read_text(), {"ansible_managed": "Ansible managed"})


def test_the_firewall_closes_no_ordering_cycle_with_cloud_init(tmp_path) -> None:
    said = verify(tmp_path, rendered())
    assert "ordering cycle" not in said, said


def test_with_default_dependencies_it_did(tmp_path) -> None:
    # The unit as it was (sysinit.target before it): the cycle the fix removes.
    unit = rendered().replace("DefaultDependencies=no\n", "")
    said = verify(tmp_path, unit)
    assert "Found ordering cycle" in said
    assert "djkit-firewall.service" in said
