import os
import sys
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from djkit_probe import Site, site_for

DB, APP1, APP2, WEB = "djkit-c-db", "djkit-c-app1", "djkit-c-app2", "djkit-c-web"


def _host(name: str):
    return testinfra.get_host(
        f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}"
    )


@pytest.fixture(scope="session")
def db():
    return _host(DB)


@pytest.fixture(scope="session")
def app1():
    return _host(APP1)


@pytest.fixture(scope="session")
def app2():
    return _host(APP2)


@pytest.fixture(scope="session")
def web():
    return _host(WEB)


@pytest.fixture(scope="session")
def site() -> Site:
    return site_for(WEB)


@pytest.fixture(scope="session")
def address():
    """Each container's address on the private network, as its interface reports it."""
    cache: dict[str, str] = {}

    def lookup(name: str) -> str:
        if name not in cache:
            cache[name] = _host(name).check_output("hostname -I").split()[0]
        return cache[name]

    return lookup
