"""A project that is not the kit's own, deployed from git with only the kit's variables."""

import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from djkit_probe import ansible_playbook, boot_mark, record, screenshot_styled, task_outcome


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
    # STATIC_URL /assets/ and STATIC_ROOT src/collected come from the project's settings, not
    # from the kit. The root inside the release is linked to the shared one, which nginx
    # serves (the releases are closed to it).
    with host.sudo():
        site_conf = host.file("/etc/nginx/sites-available/shop.conf").content_string
        link = host.file("/srv/shop/current/src/collected")
        assert link.is_symlink
        assert link.linked_to == "/srv/shop/shared/static"
        assert host.file("/srv/shop/shared/static/shop/shop.css").exists
    assert "location /assets/ {" in site_conf
    assert "alias /srv/shop/shared/static/;" in site_conf
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


def test_the_kit_brings_the_gunicorn_the_project_lacks(host) -> None:
    # requirements/prod.txt names no server: the kit installs its pinned Gunicorn (one of the
    # releases with a control socket, which the sandbox lets it put in its runtime directory).
    with host.sudo():
        assert "gunicorn" not in host.file("/srv/shop/current/requirements/prod.txt").content_string
        version = host.check_output(
            "/srv/shop/current/.venv/bin/python -c "
            "'import importlib.metadata as m; print(m.version(\"gunicorn\"))'"
        )
        workers = host.run(
            "sudo -u shop /srv/shop/current/.venv/bin/gunicornc "
            "-s /run/shop-gunicorn/gunicorn.ctl -c 'show workers'"
        )
        log = host.check_output("journalctl -u shop-gunicorn.service -o cat")
    assert version == "27.0.1"
    assert workers.rc == 0, workers.stderr
    assert "Total:" in workers.stdout
    assert "Control server error" not in log
    assert "Read-only file system" not in log


def test_uploads_to_a_media_root_inside_the_project_land_in_shared_media(host, site) -> None:
    # MEDIA_ROOT src/uploads: linked to the shared media, where the app may write (its
    # sandbox's writable path) and a later release finds the files again.
    name = f"probe-{uuid.uuid4().hex}.txt"
    with host.sudo():
        assert host.file("/srv/shop/current/src/uploads").linked_to == "/srv/shop/shared/media"
        saved = host.check_output(
            'shop-manage shell -c "from django.core.files.base import ContentFile; '
            "from django.core.files.storage import default_storage; "
            f"print(default_storage.save('{name}', ContentFile(b'uploaded')))\""
        ).splitlines()[-1]
        assert host.file(f"/srv/shop/shared/media/{saved}").content_string == "uploaded"
    response = site.session().get(f"{site.base}/uploads/{saved}", timeout=10)
    assert response.status_code == 200
    assert response.text == "uploaded"
    unit = host.check_output("systemctl show -p ReadWritePaths --value shop-gunicorn.service")
    assert "/srv/shop/shared/media" in unit.split()


def test_a_new_commit_deploys_through_the_default_health_check_keeping_uploads(host, site):
    # The project has no health view: the gate asks the site's root, where anything below 500
    # passes. The new release links its roots again and finds the earlier upload.
    name = f"kept-{uuid.uuid4().hex}.txt"
    with host.sudo():
        host.check_output(f"printf kept > /srv/shop/shared/media/{name}")
        host.check_output("chown shop:www-data /srv/shop/shared/media/" + name)
        host.check_output(
            "cd /opt/upstream/shop && sed -i 's/The shop is open/The shop is open again/' "
            "src/shop/templates/shop/index.html && git -c user.name=upstream "
            "-c user.email=upstream@example.org commit -qam 'shop 1.1' && git push -q "
            "/opt/upstream/shop.git HEAD:main"
        )
        commit = host.check_output("git -C /opt/upstream/shop.git rev-parse main")
    result = ansible_playbook("deploy.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "check | Check the site's health through the web server" in result.stdout
    with host.sudo():
        assert (
            host.check_output("readlink /srv/shop/current") == f"/srv/shop/releases/{commit[:12]}"
        )
        assert host.file("/srv/shop/current/src/uploads").linked_to == "/srv/shop/shared/media"
    page = site.session().get(f"{site.base}/", timeout=10)
    assert "The shop is open again" in page.text
    kept = site.session().get(f"{site.base}/uploads/{name}", timeout=10)
    assert (kept.status_code, kept.text) == (200, "kept")


def test_hooks_ran_at_their_points_of_each_deploy(host) -> None:
    # The first release (site.yml: nothing live before), then the new commit (deploy.yml).
    with host.sudo():
        noted = host.file("/srv/shop/shared/hooks.log").content_string.splitlines()
        first = host.check_output("git -C /opt/upstream/shop.git rev-parse main~1")[:12]
        second = host.check_output("git -C /opt/upstream/shop.git rev-parse main")[:12]
    points = ["before_build", "after_build", "before_switch", "after_switch"]
    assert noted == [f"{point} {first} " for point in points] + [
        f"{point} {second} {first}" for point in points
    ], noted


def test_a_failing_release_command_refuses_the_release_and_the_next_run_recovers(host, site):
    with host.sudo():
        live = host.check_output("readlink /srv/shop/current")
        host.check_output(
            "cd /opt/upstream/shop && sed -i 's/The shop is open again/The shop is open, 1.2/' "
            "src/shop/templates/shop/index.html && git -c user.name=upstream "
            "-c user.email=upstream@example.org commit -qam 'shop 1.2' && git push -q "
            "/opt/upstream/shop.git HEAD:main"
        )
        commit = host.check_output("git -C /opt/upstream/shop.git rev-parse main")
    failing = json.dumps({"django_release_commands": [["nosuchcommand"]]})
    refused = ansible_playbook("deploy.yml", "-e", failing)
    assert refused.returncode != 0, refused.stdout[-3000:]
    assert "Run the release commands in the new release" in refused.stdout
    assert "Unknown command: 'nosuchcommand'" in refused.stdout
    with host.sudo():
        assert host.check_output("readlink /srv/shop/current") == live
    assert "The shop is open again" in site.session().get(f"{site.base}/", timeout=10).text
    # The fix (the inventory's own commands): the same release is finished and goes live.
    fixed = ansible_playbook("deploy.yml")
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    assert "check --deploy --fail-level ERROR" in fixed.stdout
    assert "System check identified" in fixed.stdout
    with host.sudo():
        assert (
            host.check_output("readlink /srv/shop/current") == f"/srv/shop/releases/{commit[:12]}"
        )
    assert "The shop is open, 1.2" in site.session().get(f"{site.base}/", timeout=10).text


# Last: the server's app becomes a Wagtail site, as `wagtail start` made it (prepare.yml):
# its production settings keep SQLite, set no SECRET_KEY nor ALLOWED_HOSTS, and keep both
# roots inside the project. The overlay makes it a production site; nothing of it is edited.
WAGTAIL = {
    "django_git_repo": "/opt/upstream/mysite.git",
    "django_project_dir": ".",
    "django_requirements_file": "requirements.txt",
    "django_settings_module": "mysite.settings.production",
    "django_wsgi_application": "mysite.wsgi:application",
    "django_settings_overlay": True,
    "django_release_commands": [["check", "--deploy", "--fail-level", "WARNING"]],
}


def upstream_commit(host, command: str, message: str) -> str:
    with host.sudo():
        host.check_output(
            f"cd /opt/upstream/mysite && {command} && git -c user.name=upstream "
            f"-c user.email=upstream@example.org commit -qam '{message}' && "
            "git push -q /opt/upstream/mysite.git HEAD:main"
        )
        return host.check_output("git -C /opt/upstream/mysite.git rev-parse main")


def static_links(session, url: str) -> set[str]:
    """The page's links to files nginx serves itself (static and media), quoted or not (pretalx
    minifies its HTML)."""
    page = session.get(url, timeout=10)
    assert page.status_code == 200, f"{url} answered {page.status_code}"
    return set(re.findall(r"""(?:href|src)=["']?(/(?:static|media)/[^"'\s>?#]+)""", page.text))


def test_a_wagtail_site_deploys_unmodified_after_a_failed_first_deploy(host, site) -> None:
    # This server's first deploy of the site: no release live, the shop's services stopped.
    with host.sudo():
        host.check_output("rm -f /srv/shop/current")
        host.check_output("systemctl stop shop-gunicorn.service")
    # Upstream's first commit names a requirement that cannot be installed.
    upstream_commit(host, "echo djkit-no-such-distribution==1.0 >> requirements.txt", "typo")
    failed = ansible_playbook("site.yml", "-e", json.dumps(WAGTAIL))
    assert failed.returncode != 0
    assert "djkit-no-such-distribution" in failed.stdout + failed.stderr, failed.stdout[-3000:]
    with host.sudo():
        assert not host.file("/srv/shop/current").exists
    # The fix, and the next run: no new server.
    commit = upstream_commit(host, "sed -i '/djkit-no-such-distribution/d' requirements.txt", "fix")
    deployed = ansible_playbook("site.yml", "-e", json.dumps(WAGTAIL))
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    again = ansible_playbook("site.yml", "-e", json.dumps(WAGTAIL))
    assert again.returncode == 0, again.stdout[-3000:]
    assert re.search(r"djkit-thirdparty\s*: ok=\d+\s+changed=0\s", again.stdout), again.stdout[
        -2000:
    ]
    # check --deploy at WARNING level, run by the release command, passed; its output shown.
    assert "check --deploy --fail-level WARNING" in deployed.stdout
    assert "System check identified no issues" in deployed.stdout, deployed.stdout[-3000:]
    with host.sudo():
        assert (
            host.check_output("readlink /srv/shop/current") == f"/srv/shop/releases/{commit[:12]}"
        )
        for root in ("static", "media"):
            link = host.file(f"/srv/shop/current/{root}")
            assert link.is_symlink, root
            assert link.linked_to == f"/srv/shop/shared/{root}", root
    session = site.session()
    home = session.get(f"{site.base}/", timeout=10)
    assert home.status_code == 200
    assert "Welcome to your new Wagtail site" in home.text
    links = static_links(session, f"{site.base}/") | static_links(
        session, f"{site.base}/admin/login/"
    )
    assert any(link.startswith("/static/wagtailadmin/") for link in links), links
    for link in sorted(links):
        assert session.get(f"{site.base}{link}", timeout=10).status_code == 200, link
    # As a person sees it: the admin's login page styled (not the browser's default serif).
    family = screenshot_styled(f"{site.base}/admin/login/", "wagtail-admin-login")
    assert "Times" not in family, family
    # An upload through Django's storage lands in shared media, served by nginx, and is
    # still there after a code-only redeploy of a new upstream commit.
    with host.sudo():
        saved = host.check_output(
            '/usr/local/bin/shop-manage shell -c "from django.core.files.base import '
            "ContentFile; from django.core.files.storage import default_storage as s; "
            "print(s.save('documents/kept.txt', ContentFile(b'kept')))\""
        ).splitlines()[-1]
        assert host.file(f"/srv/shop/shared/media/{saved}").exists
    upstream_commit(host, "echo '# 1.1' >> mysite/settings/base.py", "mysite 1.1")
    redeployed = ansible_playbook("deploy.yml", "-e", json.dumps(WAGTAIL))
    assert redeployed.returncode == 0, redeployed.stdout[-3000:]
    assert session.get(f"{site.base}/media/{saved}", timeout=10).text == "kept"


def startproject(tmp_path: Path) -> Path:
    """`django-admin startproject proj` as it comes (DEBUG on, SQLite, no STATIC_ROOT), plus
    the requirements file every project needs to name its Django."""
    import django

    project = tmp_path / "startproject"
    project.mkdir()
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "proj", str(project)], check=True
    )
    (project / "requirements.txt").write_text(f"Django=={django.__version__}\n")
    return project


# After the Wagtail site: the server's app becomes a project fresh from startproject.
def test_a_startproject_project_deploys_with_the_settings_overlay(host, site, tmp_path) -> None:
    project = startproject(tmp_path)
    # A server about to get its first release: none live, its services stopped.
    with host.sudo():
        host.check_output("rm -f /srv/shop/current")
        host.check_output("systemctl stop shop-gunicorn.service")
    names = {
        "django_source_path": str(project),
        "django_settings_module": "proj.settings",
        "django_wsgi_application": "proj.wsgi:application",
        "django_project_dir": ".",
        "django_requirements_file": "requirements.txt",
        "django_source_type": "local",
        "django_healthcheck_url": "https://127.0.0.1:443/admin/login/",
        "django_healthcheck_statuses": [200],
    }
    refused = ansible_playbook("site.yml", "-e", json.dumps(names))
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "STATIC_ROOT is not set in proj.settings" in output, output[-3000:]
    assert "django_settings_overlay" in output
    with host.sudo():
        assert not host.file("/srv/shop/current").exists

    overlay = {**names, "django_settings_overlay": True}
    result = ansible_playbook("site.yml", "-e", json.dumps(overlay))
    assert result.returncode == 0, result.stdout[-3000:]
    # The release path of this project changes nothing on a second deploy (the Wagtail
    # site's second site.yml, overlay on too, shows the rest changing nothing).
    again = ansible_playbook("deploy.yml", "-e", json.dumps(overlay))
    assert again.returncode == 0, again.stdout[-3000:]
    assert re.search(r"djkit-thirdparty\s*: ok=\d+\s+changed=0\s", again.stdout), again.stdout[
        -2000:
    ]
    session = site.session()
    # (its home page is Django's 404 with DEBUG off: startproject routes only the admin)
    links = static_links(session, f"{site.base}/admin/login/")
    assert any(link.endswith(".css") for link in links), links
    for link in links:
        assert session.get(f"{site.base}{link}", timeout=10).status_code == 200, link
    family = screenshot_styled(f"{site.base}/admin/login/", "startproject-admin-login")
    assert "Times" not in family, family
    manage = "/usr/local/bin/shop-manage"
    with host.sudo():
        checked = host.run(f"{manage} check --deploy --fail-level WARNING")
        assert checked.rc == 0, checked.stdout + checked.stderr
        saved = host.check_output(
            f'{manage} shell -c "from django.core.files.base import ContentFile; '
            "from django.core.files.storage import default_storage as s; "
            "print(s.save('overlay/upload.txt', ContentFile(b'uploaded')))\""
        ).splitlines()[-1]
        assert host.file(f"/srv/shop/shared/media/{saved}").exists
        engine = host.check_output(
            f'{manage} shell -c "from django.db import connection; print(connection.vendor)"'
        )
    assert engine.splitlines()[-1] == "postgresql"
    assert session.get(f"{site.base}/media/{saved}", timeout=10).text == "uploaded"
    record("startproject with the overlay: check --deploy", output=checked.stdout.strip())


# Last: the server's app becomes pretalx, a conference application installed from PyPI and
# deployed as its documentation says (Gunicorn + nginx + PostgreSQL): `pip install
# pretalx[postgres]`, its own entry point for management commands (`python -m pretalx`, no
# manage.py), its settings from its own environment names, `rebuild` after each upgrade.
# The deployment's source is only the requirements file that names it.
PRETALX_ENVIRONMENT = {
    "PRETALX_DB_TYPE": "postgresql",
    "PRETALX_DB_NAME": "pretalx",
    "PRETALX_DB_USER": "shop",
    "PRETALX_SITE_URL": "https://localhost",
    "PRETALX_REDIS": "{{ django_redis_url | regex_replace('/0$', '/1') }}",
    # pretalx's production check wants Celery configured. The kit runs no worker yet (queued
    # tasks wait in Redis); nothing this test does queues one.
    "PRETALX_CELERY_BROKER": "{{ django_redis_url | regex_replace('/0$', '/2') }}",
    "PRETALX_CELERY_BACKEND": "{{ django_redis_url | regex_replace('/0$', '/3') }}",
    "PRETALX_DATA_DIR": "/srv/shop/shared/data",
}
# pretalx's own shell asks for its event scoping to be named.
PRETALX_SHELL = "/usr/local/bin/shop-manage shell --unsafe-disable-scopes -c"
PRETALX = {
    "django_source_type": "local",
    "django_project_dir": ".",
    "django_requirements_file": "requirements.txt",
    "django_manage_command": ["-m", "pretalx"],
    "django_settings_module": "pretalx.settings",
    "django_wsgi_application": "pretalx.wsgi:application",
    "django_writable_dirs": ["/srv/shop/shared/data"],
    "django_settings_overlay": True,
    "django_release_commands": [["rebuild"], ["check", "--deploy", "--fail-level", "WARNING"]],
    "redis_enabled": True,
    "postgresql_databases": [
        {"name": "shop", "owner": "shop"},
        {"name": "pretalx", "owner": "shop"},
    ],
}


def test_pretalx_from_pypi_deploys_with_its_own_settings_and_commands(host, site, tmp_path):
    source = tmp_path / "pretalx-deployment"
    source.mkdir()
    (source / "requirements.txt").write_text("pretalx[postgres]==2026.2.1\n")
    (source / "README.md").write_text("pretalx for our conference\n")
    with host.sudo():
        host.check_output("rm -f /srv/shop/current")
        host.check_output("systemctl stop shop-gunicorn.service")
    names = {**PRETALX, "django_source_path": str(source)}
    # pretalx's defaults keep its static files and data beside its package, in the
    # virtualenv: refused before migrate, naming the setting and pretalx's own name for it.
    refused = ansible_playbook(
        "site.yml", "-e", json.dumps({**names, "django_environment": PRETALX_ENVIRONMENT})
    )
    # One line: Ansible's output folds long messages.
    output = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0
    # (the pattern is the message's, not the kit's script that the output also shows)
    assert re.search(r"STATIC_ROOT is /\S+/static\.dist in pretalx\.settings, inside", output), (
        output[-3000:]
    )
    assert "pretalx: PRETALX_FILESYSTEM_STATIC" in output
    with host.sudo():
        assert not host.file("/srv/shop/current").exists
    # The fix a user reads there: pretalx's own settings pointed at the kit's shared roots.
    environment = {
        **PRETALX_ENVIRONMENT,
        "PRETALX_FILESYSTEM_STATIC": "{{ django_static_root }}",
        "PRETALX_FILESYSTEM_MEDIA": "{{ django_media_root }}",
    }
    fixed = {**names, "django_environment": environment}
    deployed = ansible_playbook("site.yml", "-e", json.dumps(fixed))
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    # Its release path (roots, release commands, collect) changes nothing on a second deploy.
    again = ansible_playbook("deploy.yml", "-e", json.dumps(fixed))
    assert again.returncode == 0, again.stdout[-3000:]
    assert re.search(r"djkit-thirdparty\s*: ok=\d+\s+changed=0\s", again.stdout), again.stdout[
        -2000:
    ]
    # Its release commands ran in the release: rebuild (its frontend bundle installed into
    # the static root) and check --deploy at WARNING level.
    # (passed at WARNING level: what it says is pretalx's own INFO, no admin e-mail set)
    assert "check --deploy --fail-level WARNING" in deployed.stdout
    assert "System check identified" in deployed.stdout, deployed.stdout[-3000:]
    with host.sudo():
        assert host.file("/srv/shop/shared/static/pretalx-manifest.json").exists
        assert host.file("/srv/shop/shared/data/logs").is_directory
        engine = host.check_output(
            f'{PRETALX_SHELL} "from django.db import connection; '
            "print(connection.vendor, connection.settings_dict['NAME'])\""
        )
    assert engine.splitlines()[-1] == "postgresql pretalx"
    session = site.session()
    links = static_links(session, f"{site.base}/") | static_links(
        session, f"{site.base}/orga/login/"
    )
    assert any(link.endswith(".css") for link in links), links
    for link in sorted(links):
        assert session.get(f"{site.base}{link}", timeout=10).status_code == 200, link
    family = screenshot_styled(f"{site.base}/orga/login/", "pretalx-orga-login")
    assert "Times" not in family, family
    # An upload through its storage lands in shared media, served by nginx, and is still
    # served after a code-only redeploy (a new release of the same requirements).
    with host.sudo():
        saved = host.check_output(
            f'{PRETALX_SHELL} "from django.core.files.base import '
            "ContentFile; from django.core.files.storage import default_storage as s; "
            "print(s.save('avatars/kept.txt', ContentFile(b'kept')))\""
        ).splitlines()[-1]
        assert host.file(f"/srv/shop/shared/media/{saved}").exists
        before = host.check_output("readlink /srv/shop/current")
    (source / "README.md").write_text("pretalx for our conference, 2027 edition\n")
    redeployed = ansible_playbook("deploy.yml", "-e", json.dumps(fixed))
    assert redeployed.returncode == 0, redeployed.stdout[-3000:]
    with host.sudo():
        assert host.check_output("readlink /srv/shop/current") != before
    assert session.get(f"{site.base}/media/{saved}", timeout=10).text == "kept"
    checked = re.search(r"System check identified (?:no|\d+) issues?[^\n\"]*", deployed.stdout)
    record("pretalx 2026.2.1 with the overlay: check --deploy", output=checked.group(0))


# Then a second deployment on the same server, beside the first (as staging beside
# production): its own app, user, database, units and site, the server's nginx shared.
BLOG_HOST = {"Host": "blog.localhost"}
BLOG = {
    "django_app_name": "blog",
    "django_allowed_hosts": [BLOG_HOST["Host"]],
    "django_source_type": "local",
    "django_settings_module": "proj.settings",
    "django_wsgi_application": "proj.wsgi:application",
    "django_project_dir": ".",
    "django_requirements_file": "requirements.txt",
    "django_settings_overlay": True,
    "django_healthcheck_url": "https://127.0.0.1:443/admin/login/",
    "django_healthcheck_statuses": [200],
    "django_release_commands": [],
    "django_hooks": {},
    "django_environment": {},
    "postgresql_databases": [{"name": "blog", "owner": "blog"}],
}


def test_a_second_deployment_on_the_server_gets_a_site_beside_the_first(host, site, tmp_path):
    before = site.session().get(f"{site.base}/orga/login/", timeout=10)
    assert before.status_code == 200, "control: the first deployment (pretalx) serves"
    blog = {**BLOG, "django_source_path": str(startproject(tmp_path))}
    deployed = ansible_playbook("site.yml", "-e", json.dumps(blog))
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    # What the deployments share is the same whichever writes it: the first one's runs wrote
    # it, the second one's found it so (nginx's default servers and client timeouts, the
    # database backup).
    for task in (
        "nginx : configure | Ensure the server-wide settings and default servers are in place",
        "postgresql : backup | Ensure the backup script is in place",
    ):
        assert task_outcome(deployed.stdout, task) == "ok", (task, deployed.stdout[-3000:])
    with host.sudo():
        assert host.check_output("ls /etc/nginx/sites-enabled").split() == [
            "blog.conf", "shop.conf",
        ]  # fmt: skip
        assert host.run("nginx -t -q").rc == 0
        # The nightly backup dumps each deployment's databases.
        host.check_output("systemctl start djkit-pg-backup.service")
        dumps = host.check_output("ls /var/backups/postgresql")
    for database in ("blog", "pretalx", "shop"):
        assert re.search(rf"(?m)^{database}-\d{{8}}T\d{{6}}Z\.dump$", dumps), (database, dumps)
    session = site.session()
    login = session.get(f"{site.base}/admin/login/", headers=BLOG_HOST, timeout=10)
    assert login.status_code == 200
    assert "Django administration" in login.text
    assert session.get(f"{site.base}/orga/login/", timeout=10).status_code == 200
    # Each site answers only its own names; a name neither has still gets no page.
    assert session.get(f"{site.base}/orga/login/", headers=BLOG_HOST,
                       timeout=10).status_code == 404  # fmt: skip
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"{site.base}/", headers={"Host": "other.localhost"}, timeout=10)


def test_a_deployment_asking_other_server_wide_settings_is_refused_before_any_change(
    host, site, tmp_path
):
    """blog (beside shop since the test above) run again with another HTTPS port: its
    firewall opening would have replaced shop's port with its own. Refused while the inputs
    are checked, naming shop's site, its settings and the variables; nothing changed."""
    files = "/etc/nginx/sites-available/*.conf /etc/nginx/conf.d/djkit.conf /etc/djkit/firewall.d/*"
    with host.sudo():
        before = host.check_output(f"sha256sum {files}")
    blog = {**BLOG, "django_source_path": str(startproject(tmp_path)), "nginx_https_port": 8443}
    refused = ansible_playbook("site.yml", "-e", json.dumps(blog))
    out = " ".join(refused.stdout.split())
    assert refused.returncode != 0, out[-3000:]
    assert (
        "Another deployment on djkit-thirdparty runs nginx with other server-wide settings:"
        " /etc/nginx/sites-enabled/shop.conf has nginx_http_port=80 nginx_https_port=443"
        " nginx_client_timeout=10; this one asks nginx_http_port=80 nginx_https_port=8443"
    ) in out, out[-3000:]
    assert "set nginx_http_port, nginx_https_port and nginx_client_timeout alike" in out
    # In validate.yml's play, before any other play ran.
    checked = "nginx : assert | Ensure the server-wide settings are those of the other deployments"
    assert task_outcome(refused.stdout, checked + " on the server") == "fatal"
    assert "PLAY [Put every server's base in place]" not in refused.stdout
    assert re.search(r"changed=0 .*failed=1", out), out[-1000:]
    with host.sudo():
        assert host.check_output(f"sha256sum {files}") == before
    login = site.session().get(f"{site.base}/admin/login/", headers=BLOG_HOST, timeout=10)
    assert login.status_code == 200


def test_both_deployments_come_back_after_a_reboot(host, site) -> None:
    """reboot.yml on the server running pretalx (shop, this inventory's deployment) and the
    second deployment (blog): every server rebooted (-e djkit_reboot_all=true), this one
    once though it is in every group; the boot started every unit, and both sites serve by
    their names again, blog's by its own units though no run of it was part of the reboot."""
    before = boot_mark(host)
    result = ansible_playbook("reboot.yml", "-e", "djkit_reboot_all=true")
    out = " ".join(result.stdout.split())
    assert result.returncode == 0, result.stdout[-3000:]
    assert boot_mark(host) != before
    assert "djkit-thirdparty stays up: rebooted earlier in this run" in out, out[-3000:]
    assert host.run("systemctl is-system-running").stdout.strip() == "running"
    session = site.session()
    login = session.get(f"{site.base}/admin/login/", headers=BLOG_HOST, timeout=10)
    assert login.status_code == 200
    assert "Django administration" in login.text
    assert session.get(f"{site.base}/orga/login/", timeout=10).status_code == 200
