import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from djkit_probe import Site, site_for


@pytest.fixture
def name(host) -> str:
    return host.ansible.get_variables()["inventory_hostname"]


@pytest.fixture
def site(name) -> Site:
    return site_for(name)
