import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from djkit_probe import Site, host_fixture, inventory_host, site_for

DB, APP1, APP2, WEB = "djkit-c-db", "djkit-c-app1", "djkit-c-app2", "djkit-c-web"
WORKER = "djkit-c-worker"

db = host_fixture(DB, "db")
app1 = host_fixture(APP1, "app1")
app2 = host_fixture(APP2, "app2")
web = host_fixture(WEB, "web")
worker = host_fixture(WORKER, "worker")


@pytest.fixture(scope="session")
def site() -> Site:
    return site_for(WEB)


@pytest.fixture(scope="session")
def address():
    """Each container's address on the private network, as its interface reports it."""
    cache: dict[str, str] = {}

    def lookup(name: str) -> str:
        if name not in cache:
            cache[name] = inventory_host(name).check_output("hostname -I").split()[0]
        return cache[name]

    return lookup
