"""The nginx role's site file as it renders for a project's static and media URLs: one
`location /` whatever the project sets, no location at all for a URL nginx does not serve."""

from __future__ import annotations

import re

import pytest
from role_templates import ROLES, role_variables
from role_templates import render as render_template

TEMPLATE = ROLES / "nginx/templates/etc/nginx/sites-available/site.conf.j2"


def render(**overrides: object) -> str:
    """The site of a single host (unix sockets, self-signed certificate), the role's own
    defaults and vars for everything not given."""
    variables = (
        role_variables("nginx")
        | {
            "ansible_managed": "Ansible managed",
            "inventory_hostname": "web1",
            "django_app_name": "shop",
            "django_allowed_hosts": ["shop.example.org"],
            "hostvars": {"web1": {}},
            "__nginx_version_output": {"stderr": "nginx version: nginx/1.26.3"},
        }
        | overrides
    )
    return render_template(TEMPLATE.read_text(), variables)


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
