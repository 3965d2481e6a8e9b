"""The postgresql role's backup script as it renders, run by /bin/sh with stand-ins for
psql, pg_dump and pg_dumpall: every database the cluster lists is dumped (whichever
deployment's run wrote the script), the newest `postgresql_backup_keep` of each kept, a name
that is no file name reported and the run failed after the others are dumped. (The lifecycle
scenario runs it against PostgreSQL and restores a dump.)"""

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


def backup(tmp_path: Path, databases: str, runs: int) -> subprocess.CompletedProcess[str]:
    """The rendered script run `runs` times, the dumps of each run older than the next's; the
    last run's result."""
    directory = tmp_path / "backups"
    directory.mkdir()
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
