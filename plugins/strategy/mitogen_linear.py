"""The kit's default strategy: Ansible's linear strategy run over Mitogen (PyPI `mitogen`,
pinned in requirements-dev.txt), which keeps one Python interpreter per target for the
whole run instead of starting one per task. `make bench` measured it against plain linear
(see the README); ANSIBLE_STRATEGY=linear runs without it.

Ansible finds this file through `strategy_plugins` in ansible.cfg, so the project needs no
path into a virtualenv. The real plugin is imported under its own package name, as Mitogen
expects."""

from __future__ import annotations

import builtins
import threading

from ansible.errors import AnsibleError

try:
    from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule
except ImportError as exc:
    raise AnsibleError(
        "ansible.cfg selects the mitogen_linear strategy, but the controller's Python cannot "
        f"import Mitogen ({exc}). Install the pinned tools (`make venv`, or "
        "`pip install -r requirements-dev.txt`), or run with ANSIBLE_STRATEGY=linear."
    ) from exc


class _CompileOnce:
    """`compile` for Mitogen's module dependency scan, remembering each result.

    For every Ansible module a run uses, Mitogen's controller reads and compiles the module
    and all the module_utils it imports to find their imports (ansible_mitogen.module_finder);
    the same dozens of module_utils are compiled again for each module, about 0.3 s of the
    controller's CPU in a code-only deploy, on a machine it shares with the work. compile()
    gives the same code for the same source, file name and mode, so the first one is kept
    for the run. Only that module's name `compile` is replaced; without it (another Mitogen)
    nothing changes."""

    djkit_compile_once = True

    def __init__(self) -> None:
        self._done: dict[tuple[object, str, str], object] = {}
        self._lock = threading.Lock()

    def __call__(self, source, filename, mode, *args, **kwargs):
        if args or kwargs:
            return builtins.compile(source, filename, mode, *args, **kwargs)
        key = (source, filename, mode)
        with self._lock:
            code = self._done.get(key)
        if code is None:
            code = builtins.compile(source, filename, mode)
            with self._lock:
                self._done[key] = code
        return code


def _compile_once_in_mitogen_scan() -> None:
    try:
        from ansible_mitogen import module_finder
    except ImportError:
        return
    installed = getattr(module_finder, "compile", None)
    if hasattr(module_finder, "_scan_importlib_find_spec") and not getattr(
        installed, "djkit_compile_once", False
    ):
        module_finder.compile = _CompileOnce()


_compile_once_in_mitogen_scan()

__all__ = ["StrategyModule"]
