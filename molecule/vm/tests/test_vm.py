"""The sample app on the user's own VM (molecule/vm): the services as systemd sees them, and
the site from this machine through the VM's public HTTPS port only."""

import os
import re

import requests
import urllib3

# The VM has the kit's self-signed certificate unless you gave it yours.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

BASE = f"https://{os.environ['DJKIT_VM_HOST']}:{os.environ.get('DJKIT_VM_HTTPS_PORT', '443')}"


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = False
    return s


def test_the_release_is_one_the_kit_supports(host) -> None:
    release = (host.system_info.distribution, host.system_info.release)
    assert release in {("debian", "12"), ("debian", "13"), ("ubuntu", "22.04"), ("ubuntu", "24.04")}


def test_the_site_answers_through_nginx_with_its_static_files() -> None:
    s = session()
    home = s.get(f"{BASE}/", timeout=15)
    assert home.status_code == 200
    assert "Sample app" in home.text
    assert home.headers["Server"] == "nginx"
    assert s.get(f"{BASE}/healthz", timeout=15).status_code == 200
    links = set(re.findall(r'(?:href|src)="(/static/[^"?#]+)', home.text))
    assert links, "the home page links no static file"
    for link in links:
        assert s.get(f"{BASE}{link}", timeout=15).status_code == 200, link


def test_the_services_run_under_systemd(host) -> None:
    # After the site answered: Gunicorn starts with its socket's first connection.
    app = host.ansible.get_variables()["django_app_name"]
    units = ["nginx.service", "djkit-firewall.service", f"{app}-gunicorn.socket"]
    units += [f"{app}-gunicorn.service", "postgresql.service"]
    if host.ansible.get_variables().get("uvicorn_enabled"):
        units += [f"{app}-uvicorn.service", "redis-server.service"]
    with host.sudo():
        for unit in units:
            assert host.service(unit).is_running, unit
        failed = host.check_output("systemctl --failed --no-legend --plain | cut -d' ' -f1")
    assert not set(failed.split()) & set(units), failed
