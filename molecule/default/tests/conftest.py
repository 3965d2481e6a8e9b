import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from djkit_probe import Site, site_for


@pytest.fixture
def hostvars(host) -> dict:
    return host.ansible.get_variables()


@pytest.fixture
def app(hostvars) -> str:
    return hostvars["django_app_name"]


@pytest.fixture
def asgi(hostvars) -> bool:
    return bool(hostvars.get("uvicorn_enabled", False))


@pytest.fixture
def site(hostvars) -> Site:
    return site_for(hostvars["inventory_hostname"])


@pytest.fixture
def manage(host, app):
    def run(*args: str):
        with host.sudo():
            return host.run(f"/usr/local/bin/{app}-manage " + " ".join(args))

    return run
