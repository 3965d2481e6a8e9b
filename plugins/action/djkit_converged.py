"""The controller half of site.yml's quick re-run (the module of the same name is the remote
half): the digest of everything a full run's outcome depends on, computed here, and the
server's record checked against it in one module call.

The digest covers the kit's own files (roles, playbooks, plugins, site.yml, ansible.cfg), the
versions of Ansible, its collections and Mitogen, and for every server of the inventory: each
role default as it templates for that server (so inventory and extra vars, lookups such as
the password files, and the facts the defaults read all count), every other variable of the
kit's prefixes, the facts the roles read themselves, its groups, and the digest of a local
app source (the release id). Whatever cannot be templated at this point of the run counts by
its error, which is the same at this point of every run."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

KIT = Path(__file__).resolve().parents[2]
CODE = ("roles", "playbooks", "plugins")
CODE_FILES = ("site.yml", "ansible.cfg", "requirements.yml")
PREFIX = re.compile(r"^(common|postgresql|redis|django|gunicorn|uvicorn|nginx|djkit)_")
FACTS = (
    "distribution", "distribution_release", "distribution_version", "distribution_major_version",
    "os_family", "architecture", "service_mgr", "memtotal_mb", "processor_vcpus",
    "processor_cores", "processor_count", "default_ipv4", "default_ipv6", "fqdn", "hostname",
)  # fmt: skip
# Groups this run makes for itself: not inputs.
RUN_GROUPS = {"djkit_topology_recorded", "djkit_converged"}
GIT_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def code_digest() -> str:
    digest = hashlib.sha256()
    files = [KIT / name for name in CODE_FILES if (KIT / name).is_file()]
    for top in CODE:
        files += [p for p in (KIT / top).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for path in sorted(files):
        digest.update(str(path.relative_to(KIT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def controller_packages() -> dict[str, str]:
    """The versions of what runs the kit beside ansible-core: the collections (the `ansible`
    package) and Mitogen."""
    found = {}
    for name in ("ansible", "mitogen"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = ""
    return found


def plain(value: object) -> object:
    """A templated value as JSON can hold it, the same way every run."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(repr(plain(v)) for v in value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("state", "hosts", "enabled", "fingerprint", "reason", "packages"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        state = args.get("state")
        if state == "fingerprint":
            # The controller's part alone: run once for every server of the run.
            fingerprint, reason = self.fingerprint(task_vars, args)
            result.update(changed=False, fingerprint=fingerprint, reason=reason)
            return result
        if state not in ("check", "begin", "seal"):
            raise AnsibleActionFail(
                f"djkit_converged: state must be fingerprint, check, begin or seal, got {state!r}"
            )
        module_args = {"state": state, "fingerprint": args.get("fingerprint")}
        if state == "seal":
            module_args["packages"] = list(args.get("packages") or [])
        result.update(
            self._execute_module(
                module_name="djkit_converged", module_args=module_args, task_vars=task_vars
            )
        )
        if state == "check" and not args.get("fingerprint") and args.get("reason"):
            # Why this run has no fingerprint (the fingerprint step said).
            result["reason"] = args["reason"]
        return result

    def fingerprint(self, task_vars: dict, args: dict) -> tuple[str | None, str]:
        """The inputs' digest, or None and why this run has no quick path."""
        if not args.get("enabled", True):
            return None, "quick re-runs are off (djkit_quick_rerun)"
        if task_vars.get("ansible_limit"):
            return None, "a run limited to some hosts is always a full run"
        if list(task_vars.get("ansible_run_tags") or ["all"]) != ["all"] or task_vars.get(
            "ansible_skip_tags"
        ):
            return None, "a run with tags is always a full run"
        hostvars = task_vars["hostvars"]
        roles = self.roles()
        # Every role's defaults and vars, merged once for all hosts.
        defaults = {k: v for d, _ in roles.values() for k, v in d.items()}
        role_vars = {k: v for _, v in roles.values() for k, v in v.items()}
        sources: dict[tuple[str, tuple[str, ...]], str] = {}
        hosts = {}
        for host in sorted(args.get("hosts") or []):
            raw = hostvars.raw_get(host)
            values, source = self.host_inputs(raw, roles, {**defaults, **dict(raw), **role_vars})
            if source is None:
                return None, f"{host} deploys a git branch or tag, not a commit: always a full run"
            if source:
                if source not in sources:
                    sources[source] = self.source_digest(*source)
                values["__source_digest"] = sources[source]
            hosts[host] = values
        document = {
            "kit": code_digest(),
            "ansible": plain(task_vars.get("ansible_version", {}).get("full")),
            "controller": controller_packages(),
            "hosts": hosts,
        }
        text = json.dumps(document, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest(), ""

    def roles(self) -> dict[str, tuple[dict, dict]]:
        found = {}
        for role in sorted((KIT / "roles").iterdir()):
            parts = []
            for name in ("defaults", "vars"):
                path = role / name / "main.yml"
                data = (
                    self._loader.load_from_file(str(path), cache="none", trusted_as_template=True)
                    if path.is_file()
                    else None
                )
                parts.append(dict(data or {}))
            found[role.name] = (parts[0], parts[1])
        return found

    def host_inputs(
        self, raw: dict, roles: dict, context: dict
    ) -> tuple[dict, tuple[str, tuple[str, ...]] | tuple[()] | None]:
        """This host's templated inputs (in `context`: the roles' defaults under its vars,
        the roles' vars over them), and its local source (path and excludes; () for none,
        None for a git source that follows a branch or tag)."""
        values: dict[str, object] = {}

        def templated(templar, value: object) -> object:
            try:
                return plain(templar.template(value))
            except Exception as exc:  # any failure counts, by its kind and text
                return f"<{type(exc).__name__}: {exc}>"

        for role, (role_defaults, _) in roles.items():
            templar = self._templar.copy_with_new_env(
                available_variables={**context, "role_path": str(KIT / "roles" / role)}
            )
            for name in role_defaults:
                values[name] = templated(templar, context[name])
        templar = self._templar.copy_with_new_env(available_variables=context)
        for name in sorted(raw):
            if PREFIX.match(name) and name not in values:
                values[name] = templated(templar, raw[name])
        facts = raw.get("ansible_facts") or {}
        values["__facts"] = {name: plain(facts.get(name)) for name in FACTS}
        values["__groups"] = sorted(set(raw.get("group_names") or []) - RUN_GROUPS)
        if values.get("django_source_type") == "git":
            if not GIT_COMMIT.match(str(values.get("django_git_version", ""))):
                return values, None
        elif raw.get("inventory_hostname") in (values.get("djkit_app_hosts") or []):
            excludes = tuple(str(p) for p in values.get("django_source_excludes") or [])
            return values, (str(values.get("django_source_path")), excludes)
        return values, ()

    def source_digest(self, path: str, excludes: tuple[str, ...]) -> str:
        script = KIT / "roles" / "django" / "files" / "source_archive.py"
        argv = [sys.executable, str(script), str(Path(str(path)).resolve())]
        argv += [f"--exclude={pattern}" for pattern in excludes]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 - the kit's own script
        return done.stdout.strip() if done.returncode == 0 else f"<error {done.stderr.strip()}>"
