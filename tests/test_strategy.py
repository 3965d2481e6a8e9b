"""The kit's strategy wrapper: Mitogen's dependency scan compiles each source once per run,
and finds exactly what it found before."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ansible.module_utils.basic
from ansible_mitogen import module_finder

PLUGIN = Path(__file__).resolve().parent.parent / "plugins/strategy/mitogen_linear.py"


def load_plugin():
    spec = importlib.util.spec_from_file_location("djkit_strategy_under_test", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scan(name: str, path: str) -> list:
    return module_finder.scan(name, path, [str(Path(ansible.module_utils.basic.__file__).parent)])


def test_scan_finds_the_same_imports_compiling_each_source_once(monkeypatch) -> None:
    monkeypatch.delattr(module_finder, "compile", raising=False)
    module = str(Path(ansible.__file__).parent / "modules/command.py")
    before = scan("ansible.modules.command", module)
    assert any(name == "ansible.module_utils.basic" for name, _, _ in before), before

    plugin = load_plugin()
    assert isinstance(module_finder.compile, plugin._CompileOnce)
    compiled: list[str] = []
    real = plugin.builtins.compile

    def counting(source, filename, mode, *args, **kwargs):
        compiled.append(filename)
        return real(source, filename, mode, *args, **kwargs)

    monkeypatch.setattr(plugin.builtins, "compile", counting)
    first = scan("ansible.modules.command", module)
    stat = scan("ansible.modules.stat", str(Path(ansible.__file__).parent / "modules/stat.py"))
    assert first == before
    # The second module's scan shares module_utils.basic and its imports: none compiled again.
    assert compiled, "the scans compiled nothing"
    assert len(compiled) == len(set(compiled)), sorted(compiled)
    assert any(name == "ansible.module_utils.basic" for name, _, _ in stat)

    # Loaded again (Ansible may load a plugin twice), it does not wrap itself.
    installed = module_finder.compile
    load_plugin()
    assert module_finder.compile is installed


def test_compile_once_gives_the_code_builtin_compile_gives() -> None:
    plugin = load_plugin()
    once = plugin._CompileOnce()
    code = once("x = 1\n", "m.py", "exec")
    assert once("x = 1\n", "m.py", "exec") is code
    assert once("x = 2\n", "m.py", "exec") is not code
    assert code.co_filename == "m.py"
    namespace: dict[str, int] = {}
    exec(code, namespace)  # noqa: S102 - the code compiled above
    assert namespace["x"] == 1
