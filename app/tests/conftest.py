"""A throwaway PostgreSQL cluster for the whole test session, started from the host's binaries.

The tests run against the production database engine, never SQLite. PostgreSQL refuses to run
as root, so when the tests run as root the cluster runs as the `postgres` (or `nobody`) user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        pytest.exit("PostgreSQL server binaries (pg_ctl) not found; run `make venv`", returncode=3)
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _runner() -> tuple[list[str], pwd.struct_passwd | None]:
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], user
    pytest.exit("running as root and neither a postgres nor a nobody user exists", returncode=3)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[dict[str, str]]:
    bindir = _pg_bindir()
    prefix, user = _runner()
    base = Path(tempfile.mkdtemp(prefix="djkit-pg-"))
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    if user is not None:
        for path in (base, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
    port = _free_port()
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-k {sockets} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(base / "server.log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield {"HOST": "127.0.0.1", "PORT": str(port), "USER": "postgres", "NAME": "postgres"}
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(pg_cluster: dict[str, str]) -> None:
    from django.conf import settings

    settings.DATABASES["default"].update(pg_cluster)
    settings.DATABASES["default"]["PASSWORD"] = ""


@pytest.fixture(scope="session", autouse=True)
def collected_static() -> None:
    """Templates resolve hashed names from the manifest, as in production."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
