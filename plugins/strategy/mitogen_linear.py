"""The kit's default strategy: Ansible's linear strategy run over Mitogen (PyPI `mitogen`,
pinned in requirements-dev.txt), which keeps one Python interpreter per target for the
whole run instead of starting one per task. `make bench` measured it against plain linear
(see the README); ANSIBLE_STRATEGY=linear runs without it.

Ansible finds this file through `strategy_plugins` in ansible.cfg, so the project needs no
path into a virtualenv. The real plugin is imported under its own package name, as Mitogen
expects."""

from __future__ import annotations

from ansible.errors import AnsibleError

try:
    from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule
except ImportError as exc:
    raise AnsibleError(
        "ansible.cfg selects the mitogen_linear strategy, but the controller's Python cannot "
        f"import Mitogen ({exc}). Install the pinned tools (`make venv`, or "
        "`pip install -r requirements-dev.txt`), or run with ANSIBLE_STRATEGY=linear."
    ) from exc

__all__ = ["StrategyModule"]
