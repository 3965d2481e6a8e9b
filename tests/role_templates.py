"""Role variables and templates as Ansible loads and renders them, for the tests that render a
role's file or one of its expressions without a server."""

from __future__ import annotations

from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLES = Path(__file__).resolve().parent.parent / "roles"


def trusted(value: object) -> object:
    """Values as Ansible loads a role's files: their templates are rendered when used."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


def role_variables(role: str, parts: tuple[str, ...] = ("defaults", "vars")) -> dict:
    """A role's defaults and vars (vars winning), templates left to render when used."""
    variables: dict[str, object] = {}
    for part in parts:
        variables |= trusted(yaml.safe_load((ROLES / role / part / "main.yml").read_text()))
    return variables


def render(text: str, variables: dict) -> object:
    """`text` rendered as a template with `variables`."""
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(text))
