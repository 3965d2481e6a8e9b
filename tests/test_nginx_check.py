"""The nginx role's config checker (files/djkit-nginx-check), run by /bin/sh against a
stand-in /etc/nginx and a stand-in nginx that prints what the config it is given includes:
the candidate stands at its target, every other file of conf.d and sites-enabled beside it.
(The default scenario runs it with the real nginx: a second site that repeats a default
server or a server-wide setting is refused there.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from role_templates import ROLES
from stand_ins import stub

CHECK = ROLES / "nginx/files/djkit-nginx-check"
# nginx -t -q -c FILE: each file FILE's includes name, resolved, then its content; when it
# fails, an error naming a file beside FILE, as nginx names the file and line of a clash.
NGINX = """\
[ "${NGINX_EXIT:-0}" = 0 ] ||
  echo "[emerg] duplicate in ${4%/nginx.conf}/sites-enabled/x.conf:1" >&2
grep -o 'include [^;]*;' "$4" | while read -r _ pattern; do
  for file in ${pattern%;}; do
    if [ -e "$file" ]; then echo "== $(readlink -f "$file")"; cat "$file"; fi
  done
done
exit "${NGINX_EXIT:-0}"
"""


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    """A server's /etc/nginx: Debian's includes, the server-wide file, two sites enabled."""
    etc = tmp_path / "nginx"
    for name in ("conf.d", "sites-available", "sites-enabled"):
        (etc / name).mkdir(parents=True)
    (etc / "nginx.conf").write_text(
        f"http {{\n\tinclude {etc}/mime.types;\n\tinclude {etc}/conf.d/*.conf;\n"
        f"\tinclude {etc}/sites-enabled/*;\n}}\n"
    )
    (etc / "mime.types").write_text("types {}\n")
    (etc / "conf.d/djkit.conf").write_text("server-wide\n")
    (etc / "conf.d/README").write_text("not included\n")
    for app in ("shop", "blog"):
        (etc / f"sites-available/{app}.conf").write_text(f"site {app}\n")
        (etc / f"sites-enabled/{app}.conf").symlink_to(etc / f"sites-available/{app}.conf")
    return etc


def check(etc: Path, candidate: str, target: str, nginx_exit: int = 0):
    """The checker on a candidate holding `candidate`, TARGET relative to `etc`: its result,
    and the files the tested config included (resolved path: content), from what nginx said
    (which the checker passes on, on its standard error)."""
    bin_dir = etc.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    stub(bin_dir, "nginx", NGINX)
    tmp = etc.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    file = etc.parent / "candidate"
    file.write_text(f"{candidate}\n")
    ran = subprocess.run(
        ["/bin/sh", str(CHECK), str(file), f"{etc}/{target}"],
        env={
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "DJKIT_NGINX_DIR": str(etc),
            "TMPDIR": str(tmp),
            "NGINX_EXIT": str(nginx_exit),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    included = {
        part.split("\n", 1)[0]: part.split("\n", 1)[1].strip()
        for part in ran.stderr.split("== ")[1:]
    }
    assert list(tmp.iterdir()) == [], "the checker left its copy behind"
    return ran, included


def test_a_site_is_tested_in_place_of_its_own_with_the_others(etc: Path) -> None:
    ran, included = check(etc, "site shop, new", "sites-enabled/shop.conf")
    assert ran.returncode == 0, ran.stderr
    assert included == {
        f"{etc}/mime.types": "types {}",
        f"{etc}/conf.d/djkit.conf": "server-wide",
        f"{etc.parent}/candidate": "site shop, new",
        f"{etc}/sites-available/blog.conf": "site blog",
    }


def test_a_new_site_is_tested_beside_the_others(etc: Path) -> None:
    ran, included = check(etc, "site news", "sites-enabled/news.conf")
    assert ran.returncode == 0, ran.stderr
    assert set(included) == {
        f"{etc}/mime.types", f"{etc}/conf.d/djkit.conf", f"{etc.parent}/candidate",
        f"{etc}/sites-available/blog.conf", f"{etc}/sites-available/shop.conf",
    }  # fmt: skip


def test_the_server_wide_file_is_tested_with_every_site(etc: Path) -> None:
    ran, included = check(etc, "server-wide, new", "conf.d/djkit.conf")
    assert ran.returncode == 0, ran.stderr
    assert included[f"{etc.parent}/candidate"] == "server-wide, new"
    assert f"{etc}/conf.d/djkit.conf" not in included
    assert {f"{etc}/sites-available/blog.conf", f"{etc}/sites-available/shop.conf"} < set(included)


def test_nginx_refusing_the_config_refuses_the_candidate_naming_the_real_path(etc: Path) -> None:
    ran, _ = check(etc, "site shop, broken", "sites-enabled/shop.conf", nginx_exit=1)
    assert ran.returncode == 1
    assert f"[emerg] duplicate in {etc}/sites-enabled/x.conf:1" in ran.stderr.splitlines()


@pytest.mark.parametrize("target", ["nginx.conf", "sites-available/shop.conf", "conf.d/x.txt"])
def test_a_target_outside_the_included_directories_is_refused(etc: Path, target: str) -> None:
    ran, included = check(etc, "anything", target)
    assert ran.returncode == 2
    assert "is not a file of" in ran.stderr
    assert included == {}


def test_an_nginx_conf_without_the_includes_is_named(etc: Path) -> None:
    (etc / "nginx.conf").write_text(f"http {{\n\tinclude {etc}/conf.d/*.conf;\n}}\n")
    ran, included = check(etc, "site shop", "sites-enabled/shop.conf")
    assert ran.returncode == 1
    assert f"does not include {etc}/sites-enabled/*;" in ran.stderr
    assert included == {}
