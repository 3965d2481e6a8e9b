import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from djkit_probe import Site, host_fixture, site_for

CA, WEB = "djkit-acme-ca", "djkit-acme"
NAMES = ["djkit-acme.test", "www.djkit-acme.test"]

ca = host_fixture(CA, "ca")
web = host_fixture(WEB, "web")


@pytest.fixture(scope="session")
def site() -> Site:
    return site_for(WEB)
