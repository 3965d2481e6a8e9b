"""Bad input fails before anything changes, naming the variable and what is accepted.

site.yml starts with playbooks/validate.yml, which only checks (argument specs and asserts of
every role a host runs, then the rules that span roles). Each case below is this machine under a
name of its own (local connection, nothing changed) with the sample app's variables and one bad
value, alone in its topology (database, app and web server at once); one run of that playbook
checks them all, and each case must fail with a message naming the variable."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = ROOT / "playbooks" / "validate.yml"

# This machine as a host of the inventory: nothing is changed on it.
LOCAL = {
    "ansible_connection": "local",
    "ansible_become": False,
    "ansible_python_interpreter": sys.executable,
}

# Two broken rules of one role (a case of the fixture, read by a test of its own).
TWO_DJANGO_RULES = {"django_releases_kept": 0, "django_root": "srv/app"}

# (case, extra variables, what the error must name)
CASES: list[tuple[str, dict, str]] = [
    ("domain with a space", {"django_allowed_hosts": ["bad host.example"]}, "nginx_server_names"),
    ("domain with a slash", {"nginx_server_names": ["example.org/admin"]}, "nginx_server_names"),
    ("zero gunicorn workers", {"gunicorn_workers": 0}, "gunicorn_workers"),
    ("negative gunicorn workers", {"gunicorn_workers": -2}, "gunicorn_workers"),
    ("zero uvicorn workers", {"uvicorn_workers": 0}, "uvicorn_workers"),
    ("app name with a space", {"django_app_name": "my app"}, "django_app_name"),
    ("app name with capitals", {"django_app_name": "MyApp"}, "django_app_name"),
    ("relative deployment root", {"django_root": "srv/myapp"}, "django_root"),
    ("relative media root", {"django_media_root": "media"}, "django_media_root"),
    ("deployment root under /home", {"django_root": "/home/myapp"}, "django_root"),
    ("missing secret key", {"django_secret_key": ""}, "django_secret_key"),
    ("Django's insecure dev key", {"django_secret_key": "django-insecure-" + "x1y2z3" * 10}, "django_secret_key"),
    ("short Redis password", {"redis_password": "short"}, "redis_password"),
    ("HTTP and HTTPS on one port", {"nginx_http_port": 8443, "nginx_https_port": 8443}, "nginx_http_port"),
    ("gunicorn and uvicorn on one port", {"gunicorn_port": 9000, "uvicorn_port": 9000}, "uvicorn_port"),
    ("nginx on the SSH port", {"nginx_http_port": 22}, "common_firewall_ssh_port"),
    ("certificate without its key", {"nginx_tls_certificate": "/etc/ssl/site.pem"}, "nginx_tls_certificate_key"),
    ("files as TLS source without files", {"nginx_tls_source": "files"}, "nginx_tls_certificate"),
    ("relative certificate path", {"nginx_tls_source": "files", "nginx_tls_certificate": "site.pem", "nginx_tls_certificate_key": "/etc/ssl/site.key"}, "nginx_tls_certificate"),
    ("certificate file not on the server", {"nginx_tls_source": "files", "nginx_tls_certificate": "/nonexistent/site.pem", "nginx_tls_certificate_key": "/nonexistent/site.key"}, "/nonexistent/site.pem and /nonexistent/site.key (nginx_tls_certificate"),
    ("unknown certificate source", {"nginx_tls_source": "letsencrypt"}, "nginx_tls_source"),
    ("ACME for an IP address", {"nginx_tls_source": "acme"}, "nginx_server_names"),
    ("ACME for a wildcard", {"nginx_tls_source": "acme", "nginx_server_names": ["*.example.org"]}, "nginx_server_names"),
    ("ACME directory over plain HTTP", {"nginx_tls_source": "acme", "nginx_server_names": ["www.example.org"], "nginx_acme_directory": "http://ca.example.org/dir"}, "nginx_acme_directory"),
    ("web server not in the inventory", {"djkit_web_hosts": ["{{ inventory_hostname }}", "web9"]}, "djkit_web_hosts"),
    ("ACME contact that is not an address", {"nginx_acme_email": "webmaster"}, "nginx_acme_email"),
    ("uvicorn on without an ASGI path", {"uvicorn_enabled": True, "django_asgi_application": ""}, "uvicorn_asgi_application"),
    ("worker class that is not one", {"gunicorn_worker_class": "fastest"}, "gunicorn_worker_class"),
    ("threads without gthread", {"gunicorn_threads": 4}, "gunicorn_threads"),
    ("body size that is not a size", {"nginx_client_max_body_size": "ten megs"}, "nginx_client_max_body_size"),
    ("trust in pg_hba", {"postgresql_hba_entries": [{"type": "host", "database": "all", "user": "all", "address": "0.0.0.0/0", "method": "trust"}]}, "postgresql_hba_entries"),
    ("database without owner", {"postgresql_databases": [{"name": "myapp"}]}, "postgresql_databases"),
    ("unknown source type", {"django_source_type": "svn"}, "django_source_type"),
    ("git source without repository", {"django_source_type": "git"}, "django_git_repo"),
    ("keeping zero releases", {"django_releases_kept": 0}, "django_releases_kept"),
    ("release command as a string", {"django_release_commands": ["compress --force"]}, "django_release_commands"),
    ("empty release command", {"django_release_commands": [[]]}, "django_release_commands"),
    ("hook at an unknown point", {"django_hooks": {"before_deploy": "/etc/hostname"}}, "django_hooks must map"),
    ("hook file missing", {"django_hooks": {"after_switch": "/nonexistent/hook.yml"}}, "django_hooks must map"),
    ("empty manage command", {"django_manage_command": []}, "django_manage_command must be"),
    ("worker name with a space", {"django_workers": [{"name": "my jobs", "command": "python manage.py db_worker"}]}, "django_workers must be"),
    ("two workers of one name", {"django_workers": [{"name": "jobs", "command": "a"}, {"name": "jobs", "command": "b"}]}, "django_workers must be"),
    ("worker without a command", {"django_workers": [{"name": "jobs"}]}, "django_workers"),
    ("worker with an empty command", {"django_workers": [{"name": "jobs", "command": " "}]}, "django_workers must be"),
    ("worker on a host that is no app server", {"django_workers": [{"name": "beat", "command": "celery -A proj beat", "host": "db9"}]}, "django_workers must be"),
    ("workers on a server that runs no app", {"django_workers_hosts": ["db9"]}, "django_workers_hosts"),
    ("worker server not in the inventory", {"djkit_worker_hosts": ["jobs9"]}, "djkit_worker_hosts"),
    ("root login over SSH", {"system_ssh_permit_root_login": "yes"}, "system_ssh_permit_root_login"),
    ("SSH guard too short to log in", {"system_ssh_guard_seconds": 5}, "system_ssh_guard_seconds"),
    ("sshd option with a comment", {"system_ssh_options": {"Banner": "/etc/issue # x"}}, "system_ssh_options"),
    ("swap file that is not a path", {"system_swap_file": "swapfile"}, "system_swap_file"),
    ("unknown time service", {"system_time_sync": "ntpd"}, "system_time_sync"),
    ("fail2ban ignoring a host name", {"system_fail2ban_ignore": ["office.example.org"]}, "system_fail2ban_ignore"),
    ("journal size in words", {"system_journald_max_use": "lots"}, "system_journald_max_use"),
    ("reboot timeout too short to boot", {"system_reboot_timeout": 5}, "system_reboot_timeout"),
    ("worker with no stop timeout", {"django_workers": [{"name": "jobs", "command": "a", "stop_timeout": 0}]}, "django_workers must be"),
    ("timer schedule systemd cannot read", {"django_timers": [{"name": "prune", "command": "python manage.py clearsessions", "on_calendar": "every tuesday-ish"}]}, "systemd-analyze calendar said"),
    ("timer on a host that is no app server", {"django_timers": [{"name": "prune", "command": "a", "on_calendar": "daily", "host": "db9"}]}, "django_timers must be"),
    ("two timers of one name", {"django_timers": [{"name": "t", "command": "a", "on_calendar": "daily"}, {"name": "t", "command": "b", "on_calendar": "daily"}]}, "django_timers must be"),
    ("timer without a schedule", {"django_timers": [{"name": "t", "command": "a"}]}, "django_timers"),
    ("unknown answer to unsafe migrations", {"django_unsafe_migrations": "ignore"}, "django_unsafe_migrations"),
    ("relative writable directory", {"django_writable_dirs": ["data"]}, "django_writable_dirs a"),
    ("releases as a writable directory", {"django_writable_dirs": ["/srv/myapp/releases"]}, "django_writable_dirs a"),
    ("local source without manage.py", {"django_source_path": "/etc"}, "django_manage_command"),
    ("zero client timeout", {"nginx_client_timeout": 0}, "nginx_client_timeout"),
    ("environment name with a space", {"django_environment": {"MY VAR": "x"}}, '"MY VAR"'),
    ("environment value with a quote", {"django_environment": {"GREETING": "it's"}}, '"GREETING"'),
    (
        "renewal window as long as the validity",
        {"nginx_self_signed_days": 30, "nginx_self_signed_renew_days": 30},
        "nginx_self_signed_renew_days",
    ),
    (
        "PostgreSQL setting of the wrong type",
        {"postgresql_settings": ["work_mem", "8MB"]},
        "postgresql_settings",
    ),
    ("rate limit that is not a rate", {"nginx_login_rate_limit": "lots"}, "nginx_login_rate_limit"),
    ("firewall rule without ports", {"common_firewall_rules": [{"name": "metrics"}]}, "common_firewall_rules"),
    ("SSH port out of range", {"common_firewall_ssh_port": 70000}, "common_firewall_ssh_port"),
    ("listen mode that is not one", {"common_app_listen": "udp"}, "common_app_listen"),
]  # fmt: skip


def inventory(tmp: Path, second_web_server: bool = False) -> Path:
    """This machine in every group, with the sample app's variables (inventories/local); with
    `second_web_server`, this machine once more under another name, as a second web server."""
    hosts = {
        "all": {
            "hosts": {"localhost": LOCAL} | ({"web2": LOCAL} if second_web_server else {}),
            "children": {g: {"hosts": {"localhost": None}} for g in ("dbservers", "appservers", "webservers")},
        }
    }  # fmt: skip
    if second_web_server:
        hosts["all"]["children"]["webservers"]["hosts"]["web2"] = None
    (tmp / "hosts.yml").write_text(yaml.safe_dump(hosts))
    (tmp / "group_vars").symlink_to(ROOT / "inventories/local/group_vars")
    return tmp / "hosts.yml"


def validate(
    tmp: Path,
    hosts: Path,
    extra: dict,
    platform: bool = False,
    one_line: bool = False,
    timeout: int = 300,
    args: tuple[str, ...] = (),
    playbook: Path = PLAYBOOK,
) -> subprocess.CompletedProcess[str]:
    """This machine runs no systemd, so the platform check (tag `platform`) is skipped except
    in the case that tests it: a real host the kit does not support. With `one_line`, each
    result is printed on its result line (JSON), as validate_cases() reads them."""
    secrets = tmp / "secrets"
    variables = {
        "django_secrets_dir": str(secrets),
        "postgresql_secrets_dir": str(secrets),
        "redis_secrets_dir": str(secrets),
        **extra,
    }
    binary = Path(sys.executable).parent / "ansible-playbook"
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    } | ({"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"} if one_line else {})
    return subprocess.run(
        [str(binary), "-i", str(hosts), str(playbook), "-e", json.dumps(variables)]
        + ([] if platform else ["--skip-tags", "platform"]) + list(args),
        capture_output=True, text=True, env=env, check=False, timeout=timeout,
    )  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """How one host (one case) came out of a validate run: failed or not, what it changed,
    and the text of its results."""

    failed: bool
    changed: int
    text: str


def validate_cases(tmp: Path, cases: dict[str, dict]) -> dict[str, Outcome]:
    """One run of the validate playbook with a host per case (this machine under a name of its
    own, the case's variables as its host variables, its own database, app and web server), the
    results read per host from what the default callback prints. A host variable outranks the
    inventory's group_vars as `-e` did, and a set_fact or role var that would outrank it is one
    the case could not set from `-e` either (the topology's set_facts keep a value the host
    sets)."""
    names = {case: f"case{number}" for number, case in enumerate(cases)}
    hosts = {
        names[case]: LOCAL
        | {f"djkit_{tier}_hosts": [names[case]] for tier in ("database", "app", "web")}
        | extra
        for case, extra in cases.items()
    }
    groups = {g: {"hosts": dict.fromkeys(hosts)} for g in ("dbservers", "appservers", "webservers")}
    (tmp / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "children": groups}}))
    (tmp / "group_vars").symlink_to(ROOT / "inventories/local/group_vars")
    run = validate(tmp, tmp / "hosts.yml", {}, one_line=True, timeout=600)
    texts, recap = per_host(run.stdout)
    outcomes = {}
    for case, host in names.items():
        assert host in recap, f"{host} ({case}) is not in the recap\n{run.stdout[-3000:]}"
        outcomes[case] = Outcome(
            failed=recap[host]["failed"] + recap[host]["unreachable"] > 0,
            changed=recap[host]["changed"],
            text="\n".join(texts.get(host, [])),
        )
    return outcomes


HOST_LINE = re.compile(r"^(?:ok|changed|fatal|failed|skipping): \[([^]]+)\]")
RECAP_LINE = re.compile(r"^(\S+)\s+: ((?:\w+=\d+\s*)+)$")


def per_host(stdout: str) -> tuple[dict[str, list[str]], dict[str, dict[str, int]]]:
    """The default callback's output split by host: each result line with the lines printed
    just before it (the error of a failed task, shown even where its result is hidden by
    no_log), and each host's counts from the recap."""
    texts: dict[str, list[str]] = {}
    recap: dict[str, dict[str, int]] = {}
    pending: list[str] = []
    for line in stdout.splitlines():
        if line.startswith(("TASK [", "PLAY [", "included: ")):
            pending = []
        elif found := HOST_LINE.match(line):
            texts.setdefault(found[1], []).extend([*pending, line])
            pending = []
        elif found := RECAP_LINE.match(line):
            recap[found[1]] = {k: int(v) for k, v in (p.split("=") for p in found[2].split())}
        else:
            pending.append(line)
    return texts, recap


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Outcome]:
    cases = {"control": {}, "two django rules": TWO_DJANGO_RULES} | {n: e for n, e, _ in CASES}
    tmp = tmp_path_factory.mktemp("bad-input")
    with ThreadPoolExecutor(max_workers=2) as pool:
        platform = pool.submit(validate, tmp, inventory(tmp), {}, platform=True)
        outcomes = validate_cases(tmp_path_factory.mktemp("cases"), cases)
        run = platform.result()
    return outcomes | {"platform": Outcome(run.returncode != 0, 0, run.stdout + run.stderr)}


def test_site_checks_every_input_before_any_play_changes_anything() -> None:
    top = yaml.safe_load((ROOT / "site.yml").read_text())
    assert top[0]["ansible.builtin.import_playbook"] == "playbooks/site.yml"
    plays = yaml.safe_load((ROOT / "playbooks/site.yml").read_text())
    # First the checks of every input.
    assert plays[0]["ansible.builtin.import_playbook"] == "validate.yml"
    checks = yaml.safe_load(PLAYBOOK.read_text())[1]["tasks"]
    modules = {key for task in checks for key in task if key.startswith("ansible.builtin.")}
    # Checks, and facts kept in memory (the package list): nothing that touches a host.
    allowed = {"ansible.builtin.include_role", "ansible.builtin.assert", "ansible.builtin.set_fact"}
    assert modules <= allowed, modules


def test_acme_on_two_web_servers_is_refused(tmp_path) -> None:
    """HTTP-01 may reach the web server that did not write the token: one web server only."""
    hosts = inventory(tmp_path, second_web_server=True)
    acme = {"nginx_tls_source": "acme", "nginx_server_names": ["www.example.org"]}
    run = validate(tmp_path, hosts, acme)
    assert run.returncode != 0, run.stdout[-2000:]
    assert "one web server only" in run.stdout, run.stdout[-3000:]
    assert "djkit_web_hosts" in run.stdout
    control = validate(tmp_path, hosts, {**acme, "nginx_tls_source": "self_signed"})
    assert control.returncode == 0, (
        "control: two web servers are fine otherwise\n" + control.stdout[-3000:]
    )


@pytest.mark.parametrize("playbook", ["site.yml", "deploy.yml"])
def test_a_run_limited_to_part_of_a_topology_is_refused(tmp_path, playbook) -> None:
    """The servers read each other's addresses and settings, and a deploy migrates from the
    first app server and publishes static files to every web server: --limit to one of them
    would converge or deploy it against what it cannot see (the acme test's control passes
    the same inventory whole)."""
    hosts = inventory(tmp_path, second_web_server=True)
    run = validate(
        tmp_path, hosts, {}, args=("--limit", "localhost"), playbook=PLAYBOOK.parent / playbook
    )
    assert run.returncode != 0, run.stdout[-2000:]
    text = " ".join(run.stdout.split())
    assert "this run leaves out web2 (--limit localhost)" in text, run.stdout[-3000:]
    assert "Run it without --limit" in text
    # Stopped in the first play, before any change.
    assert run.stdout.count("PLAY [") == 1, run.stdout[-3000:]
    assert re.search(r"localhost\s*: ok=\d+\s+changed=0", run.stdout), run.stdout[-3000:]


def test_good_input_passes(results) -> None:
    control = results["control"]
    assert not control.failed, control.text[-3000:]
    assert control.changed == 0


def test_unsupported_platform_is_refused_naming_what_is_supported(results) -> None:
    # This machine is a container without systemd: not a server the kit supports.
    run = results["platform"]
    assert run.failed
    assert (
        "supports servers running systemd with Debian 12 or 13 or Ubuntu 22.04 or 24.04" in run.text
    )
    assert "common_allow_unsupported_release" in run.text


def test_there_are_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize(("case", "extra", "names"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_naming_the_variable(results, case, extra, names) -> None:
    run = results[case]
    assert run.failed, f"{case}: accepted\n{run.text[-2000:]}"
    assert names in run.text, f"{case}: the error does not name {names}\n{run.text[-3000:]}"
    assert run.changed == 0


def test_environment_check_names_the_variable_never_its_value(results) -> None:
    run = results["environment value with a quote"]
    assert "GREETING" in run.text
    assert "it's" not in run.text


def test_a_role_check_names_only_the_rules_broken(results) -> None:
    """One check per role, naming just what is wrong: two broken django rules both named, the
    django rules that hold not; a PostgreSQL database without owner named alone."""
    two = results["two django rules"].text
    assert "django_releases_kept must be at least 1" in two, two[-3000:]
    assert "django_root, django_static_root, django_media_root and django_python" in two
    assert "django_allowed_hosts must not be empty" not in two
    assert "django_app_name and django_user must be" not in two
    owner = results["database without owner"].text
    assert "each needs both name and owner" in owner
    assert "method 'trust' is refused" not in owner
