"""files/prepare_release.py's migrations (real Django, the controller's, on SQLite): with
DJKIT_PLAN_FIRST=1 a release whose migrations would change a database that has some applied
stops before migrating and names them, so that the kit dumps the database first; a first
deploy onto an empty database, or a release with nothing to apply, goes on."""

from __future__ import annotations

import grp
import json
import os
import pwd
import sqlite3
import subprocess
import sys
from pathlib import Path

FILES = Path(__file__).resolve().parent.parent / "roles/django/files"
SETTINGS = """SECRET_KEY = "x"
INSTALLED_APPS = ["shopapp"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
STATIC_URL = "/static/"
"""
MANAGE = """import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conf.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
"""
MIGRATION = """from django.db import migrations, models
class Migration(migrations.Migration):
    dependencies = {dependencies}
    operations = [migrations.CreateModel(name="{model}",
        fields=[("id", models.AutoField(primary_key=True))])]
"""


def project(root: Path) -> Path:
    for package in ("conf", "shopapp", "shopapp/migrations"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "conf/settings.py").write_text(SETTINGS)
    (root / "manage.py").write_text(MANAGE)
    add_migration(root, "0001_first", "First", [])
    return root


def add_migration(root: Path, name: str, model: str, dependencies: list) -> None:
    text = MIGRATION.format(dependencies=dependencies, model=model)
    (root / "shopapp/migrations" / f"{name}.py").write_text(text)


def run_script(root: Path, name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One of the kit's release scripts (files/NAME) in the project, as the kit runs it."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"} | env
    script = (FILES / name).read_text()
    entry = (FILES / "djkit_entry.py").read_text()
    return subprocess.run(
        [sys.executable, "-c", entry, script, "manage.py"],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def boot(
    root: Path, plan_first: bool, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict]:
    env = (env or {}) | {"DJKIT_MIGRATE": "1", "DJKIT_PLAN_FIRST": "1" if plan_first else "0"}
    result = run_script(root, "prepare_release.py", env)
    last = result.stdout.strip().splitlines()[-1] if result.returncode == 0 else "{}"
    return result, json.loads(last)


def applied(root: Path) -> list[str]:
    with sqlite3.connect(root / "db.sqlite3") as db:
        return [
            row[0] for row in db.execute("SELECT name FROM django_migrations WHERE app = 'shopapp'")
        ]


def test_an_empty_database_is_migrated_without_stopping(tmp_path) -> None:
    root = project(tmp_path)
    result, found = boot(root, plan_first=True)
    assert result.returncode == 0, result.stderr
    assert "pending" not in found
    assert "Applying shopapp.0001_first" in found["migrate"]
    assert applied(root) == ["0001_first"]


def test_migrations_for_a_database_in_use_are_named_before_any_is_applied(tmp_path) -> None:
    root = project(tmp_path)
    boot(root, plan_first=True)
    add_migration(root, "0002_second", "Second", [("shopapp", "0001_first")])
    result, found = boot(root, plan_first=True)
    assert result.returncode == 0, result.stderr
    assert found == {"pending": [["shopapp", "0002_second"]], "unsafe": []}
    assert applied(root) == ["0001_first"]
    # The kit's second boot (after the dump) migrates.
    result, found = boot(root, plan_first=False)
    assert result.returncode == 0, result.stderr
    assert "Applying shopapp.0002_second" in found["migrate"]
    assert applied(root) == ["0001_first", "0002_second"]
    # Nothing left to apply: the boot goes on, with or without the plan first.
    result, found = boot(root, plan_first=True)
    assert "pending" not in found
    assert "No migrations to apply" in found["migrate"]


def test_the_roots_directories_are_reported_as_they_stand(tmp_path) -> None:
    """release.yml sets up only a root the boot did not find as it should be: what the boot
    reports must tell a directory in place from anything else."""
    root = project(tmp_path / "project")
    shared = tmp_path / "shared"
    (shared / "static").mkdir(parents=True)
    (shared / "static").chmod(0o2750)
    (shared / "media").mkdir()
    (shared / "media").chmod(0o755)
    (shared / "file").write_text("")
    (shared / "link").symlink_to(shared / "static")
    (root / "conf/settings.py").write_text(SETTINGS + f'STATIC_ROOT = "{shared / "static"}"\n')
    names = ["static", "media", "file", "link", "none"]
    env = {"DJKIT_ROOT_DIRS": "\n".join(str(shared / name) for name in names)}
    result, found = boot(root, plan_first=False, env=env)
    assert result.returncode == 0, result.stderr
    me = f"{pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name}"
    assert found["dirs"] == {
        str(shared / "static"): f"2750 {me}",
        str(shared / "media"): f"755 {me}",
        str(shared / "file"): "missing",
        str(shared / "link"): "missing",
        str(shared / "none"): "missing",
    }


ITEM = """from django.db import migrations, models
class Migration(migrations.Migration):
    dependencies = [("shopapp", "0001_first")]
    operations = [migrations.CreateModel(name="Item", fields=[
        ("id", models.AutoField(primary_key=True)),
        ("name", models.CharField(max_length=20, null=True)),
        ("size", models.IntegerField(default=0)),
        ("label", models.CharField(max_length=20, default="")),
    ])]
"""
CHANGES = """from django.db import migrations, models
class Migration(migrations.Migration):
    dependencies = [("shopapp", "0002_item")]
    operations = [
        migrations.RemoveField("item", "size"),
        migrations.RenameField("item", "label", "title"),
        migrations.AlterField("item", "name", models.CharField(max_length=20, default="x")),
        migrations.AddField("item", "code", models.CharField(max_length=5, default="a")),
        migrations.AddField("item", "note", models.CharField(max_length=5, null=True)),
        migrations.AddField("item", "kept", models.IntegerField(db_default=1)),
    ]
"""


def test_operations_that_would_break_the_live_release_are_named(tmp_path) -> None:
    root = project(tmp_path)
    (root / "shopapp/migrations/0002_item.py").write_text(ITEM)
    boot(root, plan_first=False)
    (root / "shopapp/migrations/0003_changes.py").write_text(CHANGES)
    result, found = boot(root, plan_first=True)
    assert result.returncode == 0, result.stderr
    assert found["unsafe"] == [
        "shopapp.0003_changes: RemoveField item.size",
        "shopapp.0003_changes: RenameField item.label to title",
        "shopapp.0003_changes: AlterField item.name to NOT NULL without a database default",
        "shopapp.0003_changes: AddField item.code NOT NULL without a database default",
    ]
    # Refused on request, before anything is migrated.
    env = {"DJKIT_UNSAFE_MIGRATIONS": "refuse"}
    refused, _ = boot(root, plan_first=False, env=env)
    assert refused.returncode == 1
    assert "would break the live release" in refused.stderr
    assert "RemoveField item.size" in refused.stderr
    assert "django_unsafe_migrations: warn" in refused.stderr
    assert applied(root) == ["0001_first", "0002_item"]
    # Warned only (the default): migrated, the report kept.
    result, found = boot(root, plan_first=False)
    assert result.returncode == 0, result.stderr
    assert len(found["unsafe"]) == 4
    assert applied(root)[-1] == "0003_changes"


def check_rollback(root: Path) -> dict:
    """files/rollback_check.py in the project as it is now (the release rolled back to)."""
    result = run_script(root, "rollback_check.py", {})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_release_that_does_not_know_applied_migrations_is_named_for_rollback(tmp_path) -> None:
    root = project(tmp_path)
    add_migration(root, "0002_second", "Second", [("shopapp", "0001_first")])
    boot(root, plan_first=False)
    assert check_rollback(root) == {"unknown": []}
    # The release before 0002: its code does not know it.
    (root / "shopapp/migrations/0002_second.py").unlink()
    assert check_rollback(root) == {"unknown": [["shopapp", "0002_second"]]}
    # A release that squashed both knows them.
    (root / "shopapp/migrations/0001_first.py").unlink()
    (root / "shopapp/migrations/0001_squashed_0002.py").write_text(
        MIGRATION.format(dependencies=[], model="First").replace(
            "class Migration(migrations.Migration):",
            "class Migration(migrations.Migration):\n"
            '    replaces = [("shopapp", "0001_first"), ("shopapp", "0002_second")]',
        )
    )
    assert check_rollback(root) == {"unknown": []}
