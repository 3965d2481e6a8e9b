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


SERVER_WIDE = ROLES / "nginx/templates/etc/nginx/conf.d/djkit.conf.j2"
# What a file defines that nginx allows once per server: upstreams, map variables, zones.
DEFINED = r"(?m)^upstream (\S+)|^map \S+ (\S+)|zone=([^:\s]+)|shared:([^:\s]+)"


def test_sites_of_two_deployments_on_one_server_define_nothing_twice() -> None:
    shop = render(nginx_login_rate_limit="5r/m")
    blog = render(
        nginx_login_rate_limit="5r/m", django_app_name="blog", nginx_asgi_enabled=True,
        django_allowed_hosts=["blog.example.org"],
    )  # fmt: skip
    defined = [
        {name for match in re.findall(DEFINED, site) for name in match if name}
        for site in (shop, blog)
    ]
    names = ["$djkit_{}_connection_upgrade", "$djkit_{}_static_cache", "{}_login", "{}_tls"]
    assert defined[0] == {name.format("shop") for name in [*names, "{}_wsgi"]}
    assert defined[1] == {name.format("blog") for name in [*names, "{}_wsgi", "{}_asgi"]}
    for site in (shop, blog):
        # At http level a site holds only what it names after its app, and servers.
        assert set(http_level(site)) == {"map", "upstream", "limit_req_zone", "server"}
        assert "default_server" not in site


def test_a_site_says_the_server_wide_settings_it_was_written_with() -> None:
    # The line another deployment's run compares its own settings with (the nginx role's
    # assert.yml), and what the site listens on.
    site = render(nginx_https_port=8443, nginx_client_timeout=30)
    assert re.findall(r"(?m)^# djkit-server-wide: (.*)$", site) == [
        "nginx_http_port=80 nginx_https_port=8443 nginx_client_timeout=30"
    ]
    assert re.findall(r"(?m)^ +listen ([^ ;]+)", site) == ["80", "[::]:80", "8443", "[::]:8443"]


def http_level(conf: str) -> list[str]:
    """The directives of a file included in nginx's http block that stand at its level."""
    found, depth = [], 0
    for line in conf.splitlines():
        code = re.sub(r'"[^"]*"|#.*', "", line).strip()
        if code and depth == 0:
            found.append(code.split()[0])
        depth += code.count("{") - code.count("}")
    return found


def test_the_server_wide_file_holds_the_default_servers_and_the_client_timeouts() -> None:
    server = render_template(
        SERVER_WIDE.read_text(),
        role_variables("nginx") | {"ansible_managed": "Ansible managed", "nginx_https_port": 8443},
    )
    assert re.findall(r"listen (\S+) (?:ssl )?default_server;", server) == [
        "80", "[::]:80", "8443", "[::]:8443",
    ]  # fmt: skip
    assert server.count("return 444;") == 2
    assert http_level(server) == [
        "client_header_timeout", "client_body_timeout", "send_timeout", "server", "server",
    ]  # fmt: skip
    assert "ssl_certificate /etc/ssl/certs/ssl-cert-snakeoil.pem;" in server
    for timeout in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert f"\n{timeout} 10s;" in server
