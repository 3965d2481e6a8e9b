"""A project that is not the kit's own, deployed from git with only the kit's variables."""

import time
import uuid


def test_page_through_nginx_with_peer_auth_database(site) -> None:
    response = site.session().get(f"{site.base}/", timeout=10)
    assert response.status_code == 200
    assert "The shop is open; database shop as shop." in response.text


def test_release_is_the_git_commit(host) -> None:
    with host.sudo():
        commit = host.check_output("git -C /opt/upstream/shop.git rev-parse main")
        live = host.check_output("readlink /srv/shop/current")
    assert live == f"/srv/shop/releases/{commit[:12]}"


def test_static_files_found_in_the_projects_own_settings(host, site) -> None:
    # STATIC_URL /assets/ and STATIC_ROOT /var/www/shop/assets come from the project's
    # settings, not from the kit: nginx must serve exactly those.
    with host.sudo():
        site_conf = host.file("/etc/nginx/sites-available/shop.conf").content_string
    assert "location /assets/ {" in site_conf
    assert "alias /var/www/shop/assets/;" in site_conf
    probe = uuid.uuid4().hex
    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    css = site.session().get(f"{site.base}/assets/shop/shop.css?probe={probe}", timeout=10)
    assert css.status_code == 200
    assert "#123456" in css.text
    time.sleep(1)
    with host.sudo():
        log = host.check_output(f"journalctl -u shop-gunicorn.service --since '{since}' -o cat")
    assert probe not in log


def test_code_is_read_only_for_the_app_user(host) -> None:
    result = host.run("sudo -u shop touch /srv/shop/current/src/config/hacked.py")
    assert result.rc != 0
