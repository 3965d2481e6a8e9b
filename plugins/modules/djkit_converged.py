#!/usr/bin/python
"""The remote half of site.yml's quick re-run: what the last full run left on this server,
checked in one call. Its action plugin (plugins/action/djkit_converged.py) computes the
inputs' fingerprint on the controller and calls this module with it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: djkit_converged
short_description: Whether this server is as the last full run with the same inputs left it
description:
  - "C(state=check): the server counts as converged when its record (written by C(state=seal)
    at the end of a full run) names the same O(fingerprint) and everything the record watches
    looks as it did then: each file's content, owner, group and mode, each directory's owner,
    group and mode (and its entries where a role asked), each link's target, each absent path
    still absent, each unit still enabled and running (or not), each package still installed,
    and each probe command's output. Otherwise the record is removed and, with a fingerprint, a
    new journal started: djkit_state calls then name what they put in place."
  - "C(state=begin): what C(check) does for a server that is not converged, for one that is
    while another server is not (every server then gets the full run)."
  - "C(state=seal): the journal becomes the record, with a snapshot of what it names."
  - Check mode changes nothing (no journal, no record).
options:
  state:
    description:
      - "C(check), C(begin) (a full run for a server the check found as the record says,
        because another server was not), or C(seal)."
    type: str
    choices: [check, begin, seal]
    required: true
  fingerprint:
    description: The inputs' digest; without it (quick re-runs off) the record is removed.
    type: str
  packages: {description: Packages the record watches (seal)., type: list, elements: str, default: []}
author: djkit
"""

RETURN = r"""
converged: {description: The server is as the last full run left it (check)., type: bool, returned: always}
reason: {description: Why it is not (check)., type: str, returned: always}
watched: {description: How many things the record watches (seal)., type: int, returned: when sealed}
"""

import hashlib
import json
import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

# Where the record lives (the tests point it at a scratch directory).
DIRECTORY = os.environ.get("DJKIT_CONVERGED_DIR", "/var/lib/djkit/converged")
RECORD = f"{DIRECTORY}/record.json"
JOURNAL = f"{DIRECTORY}/journal.jsonl"
ACTIVE = {"active", "reloading", "activating"}
ENABLED = {"enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "linked"}


def path_state(path: str, listing: bool = False) -> list:
    """What a path is: absent, a link and its target, a file's digest, owner, group and mode,
    a directory's owner, group and mode (and its entries when asked)."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return ["absent"]
    ids = [found.st_uid, found.st_gid, stat.S_IMODE(found.st_mode)]
    if stat.S_ISLNK(found.st_mode):
        return ["link", os.readlink(path)]
    if stat.S_ISREG(found.st_mode):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return ["file", digest.hexdigest(), *ids]
    if stat.S_ISDIR(found.st_mode):
        return ["directory", *ids, sorted(os.listdir(path)) if listing else None]
    return ["other", stat.S_IFMT(found.st_mode), *ids]


class Snapshot:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module

    def units(self, names: list[str]) -> dict[str, list]:
        if not names:
            return {}
        systemctl = self.module.get_bin_path("systemctl", required=True)
        rc, out, _ = self.module.run_command(
            [systemctl, "show", "--property=LoadState,ActiveState,UnitFileState", "--", *names]
        )
        blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
                  for block in out.strip().split("\n\n")]  # fmt: skip
        if rc != 0 or len(blocks) != len(names):
            return {name: ["unknown"] for name in names}
        return {
            name: [
                found.get("LoadState", ""),
                found.get("ActiveState", "") in ACTIVE,
                found.get("UnitFileState", "") in ENABLED,
            ]
            for name, found in zip(names, blocks, strict=True)
        }

    def packages(self, names: list[str]) -> dict[str, str]:
        if not names:
            return {}
        _, out, _ = self.module.run_command(
            ["dpkg-query", "--show", "--showformat=${Package}\t${db:Status-Status}\n", *names]
        )
        found = dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)
        return {name: found.get(name, "not-installed") for name in names}

    def command(self, probe: dict) -> list:
        argv = [str(arg) for arg in probe["argv"]]
        rc, out, err = self.module.run_command(argv, data=probe.get("stdin"))
        return [rc, hashlib.sha256(out.encode()).hexdigest(), err.strip()[-200:] if rc else ""]

    def take(self, watch: dict) -> dict:
        return {
            "paths": {path: path_state(path) for path in watch["paths"]},
            "listings": {path: path_state(path, listing=True) for path in watch["listings"]},
            "units": self.units(watch["units"]),
            "packages": self.packages(watch["packages"]),
            "probes": [self.command(probe) for probe in watch["probes"]],
        }


def first_difference(before: dict, now: dict) -> str:
    for kind, recorded in before.items():
        current = now.get(kind)
        if kind == "probes":
            for index, (was, is_) in enumerate(zip(recorded, current or [], strict=False)):
                if was != is_:
                    return f"probe {index + 1} answers differently"
            continue
        for name, was in recorded.items():
            if (current or {}).get(name) != was:
                return f"{kind[:-1] if kind != 'paths' else 'path'} {name} changed"
    return "the snapshot differs"


def read_journal() -> dict:
    watch: dict[str, list] = {"paths": [], "listings": [], "units": [], "probes": []}
    with open(JOURNAL, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            entry = json.loads(line)
            for kind in watch:
                for item in entry.get(kind, []):
                    if item not in watch[kind]:
                        watch[kind].append(item)
    return watch


def write_json(path: str, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".djkit-", dir=DIRECTORY)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def remove(path: str) -> None:
    if os.path.lexists(path):
        os.unlink(path)


def check(module: AnsibleModule, snapshot: Snapshot) -> dict:
    fingerprint = module.params["fingerprint"]
    reason = ""
    try:
        with open(RECORD, encoding="utf-8") as handle:
            record = json.load(handle)
    except FileNotFoundError:
        reason = "no full run has been recorded on this server"
    except (OSError, ValueError) as exc:
        reason = f"the record is unreadable: {exc}"
    if not reason:
        if not fingerprint:
            reason = "quick re-runs are off for this run"
        elif record.get("fingerprint") != fingerprint:
            reason = "the inputs or the kit changed since the last full run"
        else:
            now = snapshot.take(record["watch"])
            if now != record["snapshot"]:
                reason = first_difference(record["snapshot"], now)
    if not reason:
        return {"changed": False, "converged": True, "reason": ""}
    begin(module)
    return {"changed": False, "converged": False, "reason": reason}


def begin(module: AnsibleModule) -> dict:
    """A full run starts: the record goes (a run that stops half way leaves none, so the next
    run is a full one too) and, with a fingerprint, a new journal starts."""
    if not module.check_mode:
        os.makedirs(DIRECTORY, mode=0o700, exist_ok=True)
        os.chmod(DIRECTORY, 0o700)
        remove(RECORD)
        remove(JOURNAL)
        if module.params["fingerprint"]:
            with open(JOURNAL, "w", encoding="utf-8") as handle:
                handle.write(json.dumps({"fingerprint": module.params["fingerprint"]}) + "\n")
            os.chmod(JOURNAL, 0o600)
    return {"changed": False}


def seal(module: AnsibleModule, snapshot: Snapshot) -> dict:
    fingerprint = module.params["fingerprint"]
    if module.check_mode or not fingerprint:
        return {"changed": False, "watched": 0}
    if not os.path.exists(JOURNAL):
        module.fail_json(msg=f"{JOURNAL} is missing: the run's check did not start a journal")
    with open(JOURNAL, encoding="utf-8") as handle:
        started = json.loads(handle.readline() or "{}").get("fingerprint")
    if started != fingerprint:
        module.fail_json(msg="the journal belongs to another run (two runs at once?)")
    watch = {**read_journal(), "packages": sorted(set(module.params["packages"]))}
    write_json(
        RECORD, {"fingerprint": fingerprint, "watch": watch, "snapshot": snapshot.take(watch)}
    )
    remove(JOURNAL)
    return {"changed": False, "watched": sum(len(v) for v in watch.values())}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["check", "begin", "seal"], "required": True},
            "fingerprint": {"type": "str", "no_log": False},
            "packages": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    snapshot = Snapshot(module)
    if module.params["state"] == "check":
        module.exit_json(**check(module, snapshot))
    if module.params["state"] == "begin":
        module.exit_json(**begin(module))
    module.exit_json(**seal(module, snapshot))


if __name__ == "__main__":
    main()
