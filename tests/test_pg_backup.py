"""The postgresql role's backup script as it renders, run by /bin/sh with stand-ins for
psql, pg_dump and pg_dumpall: every database the cluster lists is dumped (whichever
deployment's run wrote the script), the newest `postgresql_backup_keep` of each kept (never
counting one database's files as another's), a name that is no file name reported and the
run failed after the others are dumped. (The lifecycle scenario runs it against PostgreSQL
and restores a dump.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from role_templates import ROLES, render, role_variables
from stand_ins import stub

TEMPLATE = ROLES / "postgresql/templates/usr/local/sbin/djkit-pg-backup.j2"
STAND_INS = {
    # The databases of the cluster, as psql lists them (DATABASES: one per line).
    "psql": 'printf "%s" "$DATABASES"',
    # --format=custom --file=PATH DB / --globals-only --file=PATH: the dump names its source.
    "pg_dump": 'echo "$3" > "${2#--file=}"',
    "pg_dumpall": 'echo globals > "${2#--file=}"',
    # Each run a new stamp, as each night's run has (RUN: its number).
    "date": 'echo "2026120${RUN}T020000Z"',
}


def backup(
    tmp_path: Path, databases: str, runs: int, before: tuple[str, ...] | list[str] = ()
) -> subprocess.CompletedProcess[str]:
    """The rendered script run `runs` times, the dumps of each run older than the next's (the
    files named in `before` there first, each older than the next); the last run's result."""
    directory = tmp_path / "backups"
    directory.mkdir()
    for age, name in enumerate(reversed(before)):
        (directory / name).write_text(name)
        os.utime(directory / name, (1_700_000_000 - 3600 * age,) * 2)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STAND_INS.items():
        stub(bin_dir, name, body)
    values = role_variables("postgresql") | {
        "ansible_managed": "Ansible managed",
        "postgresql_backup_dir": str(directory),
        "postgresql_backup_keep": 2,
    }
    script = tmp_path / "djkit-pg-backup"
    script.write_text(str(render(TEMPLATE.read_text(), values)))
    for run in range(1, runs + 1):
        for old in directory.iterdir():
            os.utime(old, (old.stat().st_mtime - 60,) * 2)
        ran = subprocess.run(
            ["/bin/sh", str(script)],
            env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
                 "DATABASES": databases, "RUN": str(run)},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    return ran


def test_every_database_the_cluster_lists_is_dumped_and_the_newest_kept(tmp_path: Path) -> None:
    ran = backup(tmp_path, "blog\nshop\n", runs=3)
    assert ran.returncode == 0, ran.stderr
    found = sorted(path.name for path in (tmp_path / "backups").iterdir())
    assert found == [
        "blog-20261202T020000Z.dump", "blog-20261203T020000Z.dump",
        "globals-20261202T020000Z.sql", "globals-20261203T020000Z.sql",
        "shop-20261202T020000Z.dump", "shop-20261203T020000Z.dump",
    ]  # fmt: skip
    assert (tmp_path / "backups/shop-20261203T020000Z.dump").read_text() == "shop\n"


def test_a_database_named_like_another_keeps_its_own_dumps(tmp_path: Path) -> None:
    # shop's files are shop-<stamp>.dump; shop-2-<stamp>.dump is shop-2's alone, and so are
    # the dumps a deploy took before migrating it. A name may hold a space.
    directory = tmp_path / "backups"
    premigrate = [
        f"premigrate-{db}-2026110{day}T020000Z-a{day}-to-b{day}.dump"
        for db in ("shop", "shop-2") for day in (1, 2, 3)
    ]  # fmt: skip
    ran = backup(tmp_path, "my shop\nshop\nshop-2\n", runs=3, before=premigrate)
    assert ran.returncode == 0, ran.stderr
    found = sorted(path.name for path in directory.iterdir() if not path.name.startswith("g"))
    assert found == [
        "my shop-20261202T020000Z.dump", "my shop-20261203T020000Z.dump",
        "premigrate-shop-2-20261102T020000Z-a2-to-b2.dump",
        "premigrate-shop-2-20261103T020000Z-a3-to-b3.dump",
        "premigrate-shop-20261102T020000Z-a2-to-b2.dump",
        "premigrate-shop-20261103T020000Z-a3-to-b3.dump",
        "shop-2-20261202T020000Z.dump", "shop-2-20261203T020000Z.dump",
        "shop-20261202T020000Z.dump", "shop-20261203T020000Z.dump",
    ]  # fmt: skip


def test_a_name_that_is_no_file_name_fails_the_run_after_the_others(tmp_path: Path) -> None:
    ran = backup(tmp_path, "a/b\nshop\n", runs=1)
    assert ran.returncode == 1
    assert "not dumped: database a/b" in ran.stderr
    found = sorted(path.name for path in (tmp_path / "backups").iterdir())
    assert found == ["globals-20261201T020000Z.sql", "shop-20261201T020000Z.dump"]


def test_a_cluster_without_app_databases_dumps_its_globals(tmp_path: Path) -> None:
    ran = backup(tmp_path, "", runs=1)
    assert ran.returncode == 0, ran.stderr
    assert [path.name for path in (tmp_path / "backups").iterdir()] == [
        "globals-20261201T020000Z.sql"
    ]
