"""The common role's platform rule: Debian 12 and 13, Ubuntu 22.04 and 24.04 (LTS); interim
and end-of-life releases refused, as Ansible's facts name them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parent.parent
VARS = yaml.safe_load((ROOT / "roles/common/vars/main.yml").read_text())


def supported(distribution: str, version: str) -> bool:
    facts = {
        "distribution": distribution,
        "distribution_version": version,
        "distribution_major_version": version.split(".")[0],
    }
    variables = {
        name: trust_as_template(value) if isinstance(value, str) else value
        for name, value in VARS.items()
    } | {"ansible_facts": facts}
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template("{{ __common_release_supported | bool }}"))


@pytest.mark.parametrize(
    ("distribution", "version", "expected"),
    [
        ("Debian", "12.12", True),
        ("Debian", "13.2", True),
        ("Ubuntu", "22.04", True),
        ("Ubuntu", "24.04", True),
        ("Debian", "11.11", False),
        ("Debian", "14", False),
        ("Ubuntu", "20.04", False),
        ("Ubuntu", "22.10", False),
        ("Ubuntu", "24.10", False),
        ("Ubuntu", "25.04", False),
        ("CentOS", "9", False),
    ],
)
def test_release_rule(distribution, version, expected) -> None:
    assert supported(distribution, version) is expected
