"""Each role's public interface is written three times: defaults/main.yml (the values),
meta/argument_specs.yml (the types) and the README (the table). These tests keep them equal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ROLES = sorted(p.parent.parent.name for p in ROOT.glob("roles/*/defaults/main.yml"))


def defaults(role: str) -> dict:
    return yaml.safe_load((ROOT / "roles" / role / "defaults/main.yml").read_text()) or {}


def specs(role: str) -> dict:
    data = yaml.safe_load((ROOT / "roles" / role / "meta/argument_specs.yml").read_text())
    return data["argument_specs"]["main"]["options"]


def test_every_role_has_an_interface() -> None:
    assert set(ROLES) >= {"common", "postgresql", "redis", "django", "gunicorn", "uvicorn", "nginx"}


@pytest.mark.parametrize("role", ROLES)
def test_specs_and_defaults_name_the_same_variables(role: str) -> None:
    assert set(specs(role)) == set(defaults(role))


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_carries_the_role_prefix_and_a_description(role: str) -> None:
    for name, spec in specs(role).items():
        assert name.startswith(f"{role}_"), name
        assert spec.get("description"), f"{name} has no description"
        assert "type" in spec, f"{name} has no type"


@pytest.mark.parametrize("role", ROLES)
def test_literal_defaults_match_the_spec(role: str) -> None:
    values = defaults(role)
    for name, spec in specs(role).items():
        value = values[name]
        templated = "{{" in json.dumps(value)
        if templated:
            assert "default" not in spec, f"{name}: a computed default given as a literal spec"
            continue
        documented = spec.get("default")
        assert documented == value, f"{name}: spec default {documented!r} != {value!r}"
        if "choices" in spec:
            assert value in spec["choices"], name


def test_each_role_readme_documents_every_variable() -> None:
    from tools_readme import render_readme

    for role in ROLES:
        readme = (ROOT / "roles" / role / "README.md").read_text()
        assert readme == render_readme(ROOT / "roles" / role), (
            f"{role}/README.md is stale: make docs"
        )
