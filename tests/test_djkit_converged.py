"""site.yml's quick re-run, its remote half (plugins/modules/djkit_converged.py) with
djkit_state's journal, run as Ansible runs a module, on a scratch directory. The whole path
(fingerprint, plays left out, drift found and put right) is proven by the lifecycle scenario."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MODULES = Path(__file__).resolve().parent.parent / "plugins" / "modules"


def run(tmp_path: Path, module: str, check: bool = False, **args) -> dict:
    args_file = tmp_path / "args.json"
    args_file.write_text(
        json.dumps({"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check}})
    )
    env = {**os.environ, "DJKIT_CONVERGED_DIR": str(tmp_path / "converged")}
    out = subprocess.run(
        [sys.executable, str(MODULES / f"{module}.py"), str(args_file)],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    return json.loads(out.stdout)


def full_run(tmp_path: Path, fingerprint: str, files: list[dict], **watch) -> dict:
    """What a full site.yml run does with the record: check, the roles' calls, seal."""
    check = run(tmp_path, "djkit_converged", state="check", fingerprint=fingerprint)
    assert check["converged"] is False
    assert run(tmp_path, "djkit_state", files=files, watch=watch).get("failed") is not True
    sealed = run(tmp_path, "djkit_converged", state="seal", fingerprint=fingerprint, packages=[])
    assert sealed.get("failed") is not True, sealed
    return check


def test_a_server_is_converged_only_after_a_full_run_with_the_same_inputs(tmp_path) -> None:
    conf = tmp_path / "app.conf"
    files = [{"path": str(conf), "content": "a = 1\n", "mode": "0640"}]
    first = full_run(tmp_path, "one", files)
    assert first["reason"] == "no full run has been recorded on this server"
    again = run(tmp_path, "djkit_converged", state="check", fingerprint="one")
    assert again["converged"] is True
    other = run(tmp_path, "djkit_converged", state="check", fingerprint="two")
    assert other["converged"] is False
    assert other["reason"] == "the inputs or the kit changed since the last full run"
    # That check dropped the record: the run it starts may stop half way.
    assert not (tmp_path / "converged" / "record.json").exists()
    assert run(tmp_path, "djkit_converged", state="check", fingerprint="one")["converged"] is False


def test_drift_in_what_a_run_put_in_place_makes_the_next_run_a_full_one(tmp_path) -> None:
    conf = tmp_path / "app.conf"
    marker = tmp_path / "made-by-a-command"
    marker.write_text("x\n")
    releases = tmp_path / "releases"
    releases.mkdir()
    files = [{"path": str(conf), "content": "a = 1\n", "mode": "0640"}]
    watch = {"paths": [str(marker)], "listings": [str(releases)],
             "probes": [{"argv": ["cat", str(marker)]}]}  # fmt: skip
    drifts = [
        (lambda: conf.write_text("a = 2\n"), f"path {conf} changed"),
        (lambda: conf.chmod(0o644), f"path {conf} changed"),
        (lambda: marker.unlink(), f"path {marker} changed"),
        (lambda: (releases / "old").mkdir(), f"listing {releases} changed"),
    ]
    for drift, reason in drifts:
        full_run(tmp_path, "one", files, **watch)
        assert run(tmp_path, "djkit_converged", state="check", fingerprint="one")["converged"]
        drift()
        found = run(tmp_path, "djkit_converged", state="check", fingerprint="one")
        assert (found["converged"], found["reason"]) == (False, reason)
        marker.write_text("x\n")
    # A probe's output counts as well.
    full_run(tmp_path, "one", files, **watch)
    conf.write_text("a = 1\n")
    marker.write_text("y\n")
    found = run(tmp_path, "djkit_converged", state="check", fingerprint="one")
    assert found["converged"] is False


def test_check_mode_and_runs_without_a_fingerprint_record_nothing(tmp_path) -> None:
    conf = tmp_path / "app.conf"
    files = [{"path": str(conf), "content": "a = 1\n"}]
    full_run(tmp_path, "one", files)
    conf.write_text("drift\n")
    checked = run(tmp_path, "djkit_converged", check=True, state="check", fingerprint="one")
    assert checked["converged"] is False
    # Check mode left the record as it was: the drift is still found, by the same record.
    record = tmp_path / "converged" / "record.json"
    assert record.exists()
    assert not (tmp_path / "converged" / "journal.jsonl").exists()
    # Quick re-runs off: the record goes, no journal starts, nothing is sealed.
    off = run(tmp_path, "djkit_converged", state="check", fingerprint=None)
    assert (off["converged"], off["reason"]) == (False, "quick re-runs are off for this run")
    assert not record.exists()
    assert not (tmp_path / "converged" / "journal.jsonl").exists()
    assert run(tmp_path, "djkit_converged", state="seal", fingerprint=None)["watched"] == 0
    assert not record.exists()


def test_a_seal_without_its_runs_journal_fails_and_names_why(tmp_path) -> None:
    failed = run(tmp_path, "djkit_converged", state="seal", fingerprint="one")
    assert failed["failed"] is True
    assert "journal.jsonl is missing" in failed["msg"]
    run(tmp_path, "djkit_converged", state="check", fingerprint="one")
    other = run(tmp_path, "djkit_converged", state="seal", fingerprint="two")
    assert other["failed"] is True
    assert "another run" in other["msg"]


def test_begin_gives_a_converged_server_the_full_run_another_server_needs(tmp_path) -> None:
    conf = tmp_path / "app.conf"
    files = [{"path": str(conf), "content": "a = 1\n"}]
    full_run(tmp_path, "one", files)
    assert run(tmp_path, "djkit_converged", state="check", fingerprint="one")["converged"]
    # Another server was out of step: this one runs in full and is recorded again.
    run(tmp_path, "djkit_converged", state="begin", fingerprint="one")
    assert not (tmp_path / "converged" / "record.json").exists()
    run(tmp_path, "djkit_state", files=files)
    sealed = run(tmp_path, "djkit_converged", state="seal", fingerprint="one", packages=[])
    assert sealed["watched"] == 1
    assert run(tmp_path, "djkit_converged", state="check", fingerprint="one")["converged"]
