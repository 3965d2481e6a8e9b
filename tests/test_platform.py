"""The common role's platform rule: Debian 12 and 13, Ubuntu 22.04 and 24.04 (LTS); interim
and end-of-life releases refused, as Ansible's facts name them."""

from __future__ import annotations

import pytest
from role_templates import render, role_variables


def supported(distribution: str, version: str) -> bool:
    facts = {
        "distribution": distribution,
        "distribution_version": version,
        "distribution_major_version": version.split(".")[0],
    }
    variables = role_variables("common", ("vars",)) | {"ansible_facts": facts}
    return render("{{ __common_release_supported | bool }}", variables)


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
