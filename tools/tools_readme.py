"""Renders each role's README (roles/<role>/README.md) from its meta/argument_specs.yml and
meta/main.yml: what it does, what it depends on, and every variable as a Markdown table.

    python3 tools/tools_readme.py           # rewrite every role's README (make docs)
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    else:
        text = yaml.safe_dump(value, default_flow_style=True).strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(role_dir: Path) -> str:
    """The variables table of one role, from its argument specs' main entry point."""
    main = yaml.safe_load((role_dir / "meta/argument_specs.yml").read_text())
    options = main["argument_specs"]["main"]["options"]
    lines = ["| variable | type | default | description |", "| --- | --- | --- | --- |"]
    for name, spec in options.items():
        kind = spec["type"] + (f" of {spec['elements']}" if "elements" in spec else "")
        if "choices" in spec:
            kind += " (" + ", ".join(map(str, spec["choices"])) + ")"
        default = f"`{_cell(spec['default'])}`" if "default" in spec else "computed"
        lines.append(f"| `{name}` | {kind} | {default} | {_cell(spec['description'])} |")
    return "\n".join(lines) + "\n"


def render_readme(role_dir: Path) -> str:
    role = role_dir.name
    main = yaml.safe_load((role_dir / "meta/argument_specs.yml").read_text())["argument_specs"]
    meta = yaml.safe_load((role_dir / "meta/main.yml").read_text())
    deps = [dep["role"] if isinstance(dep, dict) else dep for dep in meta.get("dependencies") or []]
    # One list for the whole kit: what common's platform check accepts.
    common_vars = yaml.safe_load((role_dir.parent / "common/vars/main.yml").read_text())
    platforms = ", ".join(
        f"{name} {' and '.join(releases)}"
        for name, releases in common_vars["__common_supported_releases"].items()
    )
    needs = ", ".join(f"`{dep}`" for dep in deps) or "no other role"
    return (
        f"# `djkit.stack.{role}`\n\n"
        f"{main['main']['short_description']}.\n\n"
        + "".join(f"{paragraph}\n\n" for paragraph in main["main"].get("description", []))
        + f"Depends on {needs} (`meta/main.yml`). Platforms: {platforms}; systemd. "
        "Its variables are checked against `meta/argument_specs.yml` before it changes "
        "anything.\n\n"
        "```yaml\n"
        f"- hosts: all\n  become: true\n  roles:\n    - role: djkit.stack.{role}\n"
        "```\n\n"
        f"Tags: its tasks carry the phases `install`, `config`"
        f"{', `deploy`' if role == 'django' else ''}; the kit's playbooks tag the whole role "
        f"`role::{role}`.\n\n"
        "## Variables\n\n"
        "Generated from `meta/argument_specs.yml` by `make docs`; a test fails when this "
        "table, the specs and `defaults/main.yml` disagree.\n\n" + render_table(role_dir)
    )


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    for role_dir in sorted(p for p in (root / "roles").iterdir() if p.is_dir()):
        (role_dir / "README.md").write_text(render_readme(role_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
