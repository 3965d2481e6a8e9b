"""The nginx role's site file as it renders for a project's static and media URLs: one
`location /` whatever the project sets, no location at all for a URL nginx does not serve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parent.parent
ROLE = ROOT / "roles/nginx"
TEMPLATE = ROLE / "templates/etc/nginx/sites-available/site.conf.j2"


def trusted(value: object) -> object:
    """Values as Ansible loads a role's files: their templates are rendered when used."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


def render(**overrides: object) -> str:
    """The site of a single host (unix sockets, self-signed certificate), the role's own
    defaults and vars for everything not given."""
    variables: dict[str, object] = {}
    for part in ("defaults", "vars"):
        variables |= trusted(yaml.safe_load((ROLE / part / "main.yml").read_text()))
    variables |= {
        "ansible_managed": "Ansible managed",
        "inventory_hostname": "web1",
        "django_app_name": "shop",
        "django_allowed_hosts": ["shop.example.org"],
        "hostvars": {"web1": {}},
        "__nginx_version_output": {"stderr": "nginx version: nginx/1.26.3"},
    } | overrides
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template(TEMPLATE.read_text()))


def app_server_block(site: str) -> str:
    return site[site.index("listen 443 ssl") :]


def test_default_urls_get_their_locations() -> None:
    site = render()
    assert "location /static/ {\n        alias /srv/shop/shared/static/;" in site
    assert "location /media/ {\n        alias /srv/shop/shared/media/;" in site
    assert len(re.findall(r"location / \{", app_server_block(site))) == 1


@pytest.mark.parametrize("setting", ["nginx_media_url", "nginx_static_url"])
def test_an_empty_url_gets_no_location_and_never_a_second_root(setting: str) -> None:
    site = render(**{setting: ""})
    block = app_server_block(site)
    assert len(re.findall(r"location / \{", block)) == 1, block
    assert "location  {" not in block
    served = (
        "/srv/shop/shared/media/" if setting == "nginx_media_url" else "/srv/shop/shared/static/"
    )
    assert served not in block
