"""The repository's root is the collection djkit.stack: built, installed into a scratch path and
used by FQCN from a directory outside the repository, with no ansible.cfg of ours."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ROLES = sorted(path.name for path in (ROOT / "roles").iterdir() if path.is_dir())


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The built collection, installed into a scratch collections path; the environment of a
    user outside the repository (no ANSIBLE_CONFIG, a working directory of their own)."""
    scratch = tmp_path_factory.mktemp("collection")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["HOME"] = str(scratch / "home")
    built = run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path",
         str(scratch / "dist")],
        cwd=scratch, env=env,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (artifact,) = (scratch / "dist").glob("djkit-stack-*.tar.gz")
    # The collection's own collections come from the `ansible` package (no Galaxy here).
    done = run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p",
         str(scratch / "collections"), str(artifact)],
        cwd=scratch, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    env["ANSIBLE_COLLECTIONS_PATH"] = str(scratch / "collections")
    return artifact, env


def test_the_artifact_holds_the_collection_and_nothing_of_the_kit_around_it(installed) -> None:
    artifact, _ = installed
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    manifest = next(name for name in names if name == "MANIFEST.json")
    assert manifest
    for role in ROLES:
        assert f"roles/{role}/tasks/main.yml" in names
    assert "playbooks/site.yml" in names
    assert "meta/runtime.yml" in names
    tops = {name.split("/", 1)[0] for name in names}
    assert not tops & {"app", "molecule", "tests", "tools", "inventories", ".cache", ".venv"}, tops
    meta = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert artifact.name == f"{meta['namespace']}-{meta['name']}-{meta['version']}.tar.gz"


def test_a_playbook_using_every_role_by_fqcn_passes_syntax_check_and_lint(
    installed, tmp_path
) -> None:
    _, env = installed
    roles = "".join(f"    - role: djkit.stack.{role}\n" for role in ROLES)
    (tmp_path / "playbook.yml").write_text(
        "---\n- name: Every role of the kit, from the installed collection\n"
        "  hosts: all\n  become: true\n  roles:\n" + roles + "\n"
        "- name: The kit's own site playbook\n"
        "  ansible.builtin.import_playbook: djkit.stack.site\n"
    )
    (tmp_path / "hosts.yml").write_text("all:\n  hosts:\n    server:\n")
    syntax = run(
        [str(BIN / "ansible-playbook"), "-i", "hosts.yml", "--syntax-check", "playbook.yml"],
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    lint = run(
        [str(BIN / "ansible-lint"), "--offline", "--profile", "production", "playbook.yml"],
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_no_role_writes_under_its_own_path() -> None:
    """Generated secrets live beside the inventory: an upgrade of the installed collection
    must not remove them (and rotate the Django key and the passwords)."""
    defaults = "\n".join(p.read_text() for p in (ROOT / "roles").glob("*/defaults/main.yml"))
    assert "role_path }}/../../.cache" not in defaults
    for line in defaults.splitlines():
        if "_secrets_dir:" in line:
            assert "inventory_dir" in line, line
