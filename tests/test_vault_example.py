"""The production example keeps its secrets with ansible-vault: encrypted in git, readable
only with the vault password, and used by the kit through their plain names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "inventories/production"
VAULT = INVENTORY / "group_vars/all/vault.yml"


def secret_key_length(*args: str) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "ansible"
    return subprocess.run(
        [str(binary), "all", "-i", str(INVENTORY), *args, "-m", "ansible.builtin.debug",
         "-a", "msg={{ django_secret_key | length }}"],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip


def test_the_secrets_file_is_encrypted() -> None:
    text = VAULT.read_text()
    assert text.startswith("$ANSIBLE_VAULT;1.1;AES256\n")
    assert "vault_django_secret_key" not in text


def test_with_the_vault_password_the_secret_key_is_there() -> None:
    result = secret_key_length("--vault-password-file", str(INVENTORY / "vault-password.example"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "msg: 64" in result.stdout


def test_without_it_nothing_is_readable() -> None:
    result = secret_key_length()
    assert result.returncode != 0
    assert "no vault secrets" in result.stdout + result.stderr
