#!/usr/bin/python
"""The kit's batched state module: the files, directories, links and systemd units of one role
part, checked (and put right) in one module call instead of one task each. A re-run of the
kit is mostly such checks, and each task costs Ansible 60-80 ms however little it does (see
the README's benchmarks); here they cost a few milliseconds each."""

from __future__ import annotations

DOCUMENTATION = r"""
module: djkit_state
short_description: Files, directories, links and systemd units of one role part, in one call
description:
  - Each entry of O(files) is put in the state it names, in order (a directory before the
    files in it). A file's content is given whole (render templates with the template
    lookup); it is written to a temporary file beside its destination, checked by O(files[].validate)
    when given, and moved into place, so a file that fails validation never lands.
  - Then each unit of O(units) is enabled and started (or stopped and disabled), after a
    C(systemctl daemon-reload) when a file under /etc/systemd changed.
  - Supports check mode and diff mode.
options:
  files:
    description: What to put in place, in order.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Where., type: path, required: true}
      state:
        description:
          - "C(file) with O(files[].content), C(lines) with O(files[].lines), C(directory),
            C(link) to O(files[].src), or C(absent)."
        type: str
        choices: [file, lines, directory, link, absent]
        default: file
      lines:
        description:
          - "With C(state=lines), each O(files[].lines[].regexp) and O(files[].lines[].line): the
            last line of the existing file matching the regexp becomes the line, or the line is
            added at the end."
        type: list
        elements: dict
      content: {description: The whole content of a file., type: str}
      src: {description: What a link points at., type: path}
      owner: {description: Owner by name (default root for what is created)., type: str}
      group: {description: Group by name (default root for what is created)., type: str}
      mode: {description: Octal mode, as a string., type: str}
      validate:
        description: Command checking the candidate file before it lands; %s is its path.
        type: str
      secret:
        description: Never show the content in a diff.
        type: bool
        default: false
  units:
    description: systemd units to have enabled and running (or stopped and disabled).
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: The unit., type: str, required: true}
      state: {description: started or stopped., type: str, choices: [started, stopped], default: started}
      enabled: {description: Enabled at boot., type: bool, default: true}
  daemon_reload:
    description: Reload systemd's units even when no file under /etc/systemd changed.
    type: bool
    default: false
  watch:
    description:
      - "More for site.yml's quick re-run to watch, besides this call's files and units (see
        djkit_converged): O(watch.paths) (state made by other tasks), O(watch.listings)
        (directories whose entries count), O(watch.units) (units other tasks run) and
        O(watch.probes) (commands whose output counts, each an C(argv) list with an optional
        C(stdin))."
      - Recorded only while a full site.yml run keeps a journal; never in check mode.
    type: dict
    default: {}
author: djkit
"""

RETURN = r"""
changed_paths: {description: Paths this call changed (or would change in check mode)., type: list, returned: always}
started: {description: Units this call found stopped and started., type: list, returned: always}
stopped: {description: Units this call found running and stopped., type: list, returned: always}
"""

import grp
import json
import os
import pwd
import re
import shlex
import shutil
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

DIFF_LIMIT = 64 * 1024
ACTIVE = {"active", "reloading", "activating"}
ENABLED = {"enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "linked"}
# Kept by djkit_converged while a full site.yml run goes on: what each call put in place.
JOURNAL = os.environ.get("DJKIT_CONVERGED_DIR", "/var/lib/djkit/converged") + "/journal.jsonl"


class State:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.check = module.check_mode
        self.changed_paths: list[str] = []
        self.diffs: list[dict] = []

    def fail(self, msg: str, **kwargs) -> None:
        self.module.fail_json(msg=msg, changed_paths=self.changed_paths, **kwargs)

    def ids(self, entry: dict) -> tuple[int | None, int | None]:
        uid = gid = None
        try:
            if entry.get("owner"):
                uid = pwd.getpwnam(entry["owner"]).pw_uid
            if entry.get("group"):
                gid = grp.getgrnam(entry["group"]).gr_gid
        except KeyError as exc:
            self.fail(f"{entry['path']}: no such user or group: {exc}")
        return uid, gid

    def mode(self, entry: dict) -> int | None:
        if entry.get("mode") is None:
            return None
        try:
            return int(str(entry["mode"]), 8)
        except ValueError:
            self.fail(f"{entry['path']}: mode must be octal, got {entry['mode']!r}")
        return None

    def attributes(self, path: str, entry: dict, existing: os.stat_result | None) -> bool:
        """Owner, group and mode as asked; True when something differs (and is set)."""
        uid, gid = self.ids(entry)
        mode = self.mode(entry)
        if existing is None:
            uid = 0 if uid is None else uid
            gid = 0 if gid is None else gid
        differs = (
            existing is None
            or (uid is not None and existing.st_uid != uid)
            or (gid is not None and existing.st_gid != gid)
            or (mode is not None and stat.S_IMODE(existing.st_mode) != mode)
        )
        if differs and not self.check and os.path.lexists(path):
            os.lchown(path, -1 if uid is None else uid, -1 if gid is None else gid)
            if mode is not None:
                os.chmod(path, mode)
        return differs

    def changed(self, path: str, diff: dict | None = None) -> None:
        self.changed_paths.append(path)
        if diff is not None and self.module._diff:
            self.diffs.append(diff)

    def directory(self, entry: dict) -> None:
        path = entry["path"]
        existing = os.lstat(path) if os.path.lexists(path) else None
        if existing is not None and not stat.S_ISDIR(existing.st_mode):
            self.fail(f"{path}: exists and is not a directory")
        if existing is None and not self.check:
            # Missing parents as `mkdir -p` makes them (the file module's way too).
            os.makedirs(os.path.dirname(path.rstrip("/")) or "/", exist_ok=True)
            os.mkdir(path, 0o755 if entry.get("mode") is None else 0o700)
        if self.attributes(path, entry, existing):
            self.changed(path, {"before_header": path, "after_header": path,
                                "before": "absent\n" if existing is None else "attributes\n",
                                "after": "directory\n"})  # fmt: skip

    def link(self, entry: dict) -> None:
        path, src = entry["path"], entry.get("src")
        if not src:
            self.fail(f"{path}: a link needs src")
        if os.path.islink(path) and os.readlink(path) == src:
            return
        if os.path.isdir(path) and not os.path.islink(path):
            self.fail(f"{path}: is a directory, not replaced by a link")
        before = (
            os.readlink(path)
            if os.path.islink(path)
            else ("absent" if not os.path.lexists(path) else "file")
        )
        if not self.check:
            tmp = f"{path}.djkit-{os.getpid()}"
            os.symlink(src, tmp)
            os.replace(tmp, path)
        self.changed(path, {"before_header": path, "after_header": path,
                            "before": f"{before}\n", "after": f"-> {src}\n"})  # fmt: skip

    def absent(self, entry: dict) -> None:
        path = entry["path"]
        if not os.path.lexists(path):
            return
        if not self.check:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        self.changed(path, {"before_header": path, "after_header": path,
                            "before": "present\n", "after": "absent\n"})  # fmt: skip

    def lines(self, entry: dict) -> None:
        """An existing file with some of its lines as asked: for each, the last line matching
        its regexp is replaced, or the line is added at the end (as lineinfile does)."""
        path = os.path.realpath(entry["path"])
        if not os.path.isfile(path):
            self.fail(f"{entry['path']}: lines can only be set in an existing file")
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        rows = text.splitlines()
        for wanted in entry.get("lines") or []:
            if "regexp" not in wanted or "line" not in wanted:
                self.fail(f"{path}: each of lines needs regexp and line")
            pattern = re.compile(wanted["regexp"])
            matches = [i for i, row in enumerate(rows) if pattern.search(row)]
            if matches:
                rows[matches[-1]] = wanted["line"]
            else:
                rows.append(wanted["line"])
        content = "\n".join(rows) + "\n" if rows else ""
        self.file({**entry, "content": content})

    def file(self, entry: dict) -> None:
        path = entry["path"]
        content = entry.get("content")
        if content is None:
            self.fail(f"{path}: a file needs content")
        if os.path.islink(path):
            # The distribution's link stays (Debian 13's /etc/default/locale points at
            # /etc/locale.conf): what it points at gets the content.
            path = os.path.realpath(path)
        data = content.encode()
        existing = os.lstat(path) if os.path.lexists(path) else None
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            self.fail(f"{path}: exists and is not a regular file")
        old = None
        if existing is not None:
            with open(path, "rb") as handle:
                old = handle.read()
        if old == data:
            if self.attributes(path, entry, existing):
                self.changed(path, {"before_header": path, "after_header": path,
                                    "before": "attributes\n", "after": "attributes as asked\n"})  # fmt: skip
            return
        diff = None
        if entry.get("secret"):
            diff = {"before_header": path, "after_header": path,
                    "before": "(secret content)\n", "after": "(new secret content)\n"}  # fmt: skip
        elif len(data) <= DIFF_LIMIT and (old is None or len(old) <= DIFF_LIMIT):
            try:
                before = "" if old is None else old.decode()
                diff = {
                    "before_header": path,
                    "after_header": path,
                    "before": before,
                    "after": content,
                }
            except UnicodeDecodeError:
                diff = None
        if not self.check:
            self.write(path, data, entry, existing)
        self.changed(path, diff)

    def write(self, path: str, data: bytes, entry: dict, existing: os.stat_result | None) -> None:
        directory = os.path.dirname(path) or "/"
        if not os.path.isdir(directory):
            self.fail(f"{path}: its directory {directory} does not exist")
        uid, gid = self.ids(entry)
        mode = self.mode(entry)
        if existing is not None:
            uid = existing.st_uid if uid is None else uid
            gid = existing.st_gid if gid is None else gid
            mode = stat.S_IMODE(existing.st_mode) if mode is None else mode
        fd, tmp = tempfile.mkstemp(prefix=".djkit-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chown(tmp, 0 if uid is None else uid, 0 if gid is None else gid)
            os.chmod(tmp, 0o644 if mode is None else mode)
            if entry.get("validate"):
                command = entry["validate"]
                if "%s" not in command:
                    self.fail(f"{path}: validate must contain %s, got {command!r}")
                rc, out, err = self.module.run_command(command.replace("%s", shlex.quote(tmp)))
                if rc != 0:
                    self.fail(
                        f"{path}: failed validation by {command!r}", rc=rc, stdout=out, stderr=err
                    )
            os.replace(tmp, path)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)

    def show(self, names: list[str]) -> list[dict[str, str]]:
        out = self.run(
            [
                self.systemctl(),
                "show",
                "--property=UnitFileState,ActiveState,LoadState",
                "--",
                *names,
            ]
        )
        found = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
                 for block in out.strip().split("\n\n")]  # fmt: skip
        if len(found) != len(names):
            self.fail(f"systemctl show answered for {len(found)} of {len(names)} units: {names}")
        return found

    def systemctl(self) -> str:
        return self.module.get_bin_path("systemctl", required=True)

    def stop_units(self, units: list[dict]) -> list[str]:
        """Before the files change: units that are to go are stopped and disabled while
        their files are still there."""
        units = [u for u in units if u["state"] == "stopped"]
        if not units:
            return []
        stop, disable = [], []
        for unit, now in zip(units, self.show([u["name"] for u in units]), strict=True):
            if now.get("ActiveState", "") in ACTIVE:
                stop.append(unit["name"])
            if not unit["enabled"] and now.get("UnitFileState", "") in ENABLED:
                disable.append(unit["name"])
        if not self.check:
            if stop:
                self.run([self.systemctl(), "stop", "--", *stop])
            if disable:
                self.run([self.systemctl(), "disable", "--quiet", "--", *disable])
        self.changed_paths.extend(f"unit:{name}" for name in dict.fromkeys(stop + disable))
        return stop

    def start_units(self, units: list[dict], reload_asked: bool) -> list[str]:
        """After the files changed: systemd reloaded when a file under /etc/systemd changed,
        then the wanted units enabled and started."""
        if (
            reload_asked or any(p.startswith("/etc/systemd/") for p in self.changed_paths)
        ) and not self.check:
            self.run([self.systemctl(), "daemon-reload"])
        units = [u for u in units if u["state"] == "started"]
        if not units:
            return []
        enable, start = [], []
        for unit, now in zip(units, self.show([u["name"] for u in units]), strict=True):
            if now.get("LoadState") == "not-found" and not (self.check and self.changed_paths):
                self.fail(f"unit {unit['name']} does not exist")
            if unit["enabled"] and now.get("UnitFileState", "") not in ENABLED:
                enable.append(unit["name"])
            if now.get("ActiveState", "") not in ACTIVE:
                start.append(unit["name"])
        if not self.check:
            if enable:
                self.run([self.systemctl(), "enable", "--quiet", "--", *enable])
            if start:
                self.run([self.systemctl(), "start", "--", *start])
        self.changed_paths.extend(f"unit:{name}" for name in dict.fromkeys(enable + start))
        return start

    def run(self, argv: list[str]) -> str:
        rc, out, err = self.module.run_command(argv)
        if rc != 0:
            self.fail(f"{' '.join(argv)} failed: {err.strip() or out.strip()}", rc=rc)
        return out


def journal(module: AnsibleModule) -> None:
    """Names what this call keeps in place for the quick re-run's record, while a full
    site.yml run keeps a journal (djkit_converged)."""
    if module.check_mode or not os.path.exists(JOURNAL):
        return
    paths: list[str] = []
    for entry in module.params["files"]:
        paths.append(entry["path"])
        if entry["state"] in ("file", "lines") and os.path.islink(entry["path"]):
            paths.append(os.path.realpath(entry["path"]))
    watch = module.params["watch"] or {}
    record = {
        "paths": paths + list(watch.get("paths") or []),
        "listings": list(watch.get("listings") or []),
        "units": [unit["name"] for unit in module.params["units"]] + list(watch.get("units") or []),
        "probes": list(watch.get("probes") or []),
    }
    with open(JOURNAL, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "path": {"type": "path", "required": True},
                    "state": {"type": "str", "choices": ["file", "lines", "directory", "link", "absent"], "default": "file"},
                    "content": {"type": "str"},
                    "src": {"type": "path"},
                    "owner": {"type": "str"},
                    "group": {"type": "str"},
                    "mode": {"type": "str"},
                    "validate": {"type": "str"},
                    "secret": {"type": "bool", "default": False},
                    "lines": {"type": "list", "elements": "dict"},
                },
            },
            "units": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "state": {"type": "str", "choices": ["started", "stopped"], "default": "started"},
                    "enabled": {"type": "bool", "default": True},
                },
            },
            "daemon_reload": {"type": "bool", "default": False},
            "watch": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )  # fmt: skip
    state = State(module)
    stopped = state.stop_units(module.params["units"])
    for entry in module.params["files"]:
        getattr(state, entry["state"])(entry)
    started = state.start_units(module.params["units"], module.params["daemon_reload"])
    result = {
        "changed": bool(state.changed_paths),
        "changed_paths": state.changed_paths,
        "started": started,
        "stopped": stopped,
    }
    if state.diffs:
        result["diff"] = state.diffs
    journal(module)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
