"""The kit's strategy wrapper: Mitogen's dependency scan compiles each source once per run,
and finds exactly what it found before."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ansible.module_utils.basic
import mitogen.master
import pytest
from ansible_mitogen import module_finder

PLUGIN = Path(__file__).resolve().parent.parent / "plugins/strategy/mitogen_linear.py"


MITOGENS_BUILD = getattr(
    mitogen.master.ModuleResponder._build_tuple,
    "djkit_built",
    mitogen.master.ModuleResponder._build_tuple,
)


@pytest.fixture(autouse=True)
def _mitogen_as_it_was(monkeypatch):
    """Loading the plugin wraps Mitogen's responder class: undone after each test, and no
    test writes to the user's own cache."""
    monkeypatch.setenv("DJKIT_MITOGEN_CACHE", "off")
    monkeypatch.setattr(mitogen.master.ModuleResponder, "_build_tuple", MITOGENS_BUILD)


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


class FakeRouter:
    """The responder registers its handler with the router; nothing routes here."""

    def add_handler(self, fn, handle):
        pass


def responder_with(plugin, answers):
    """A ModuleResponder of this process whose _build_tuple answers from `answers`."""
    import mitogen.core

    responder = mitogen.master.ModuleResponder(FakeRouter(), mitogen.core.ImportPolicy())
    if answers is not None:
        wrapped = plugin._answering_from(answers, MITOGENS_BUILD)
        responder._build_tuple = wrapped.__get__(responder)
    return responder


def answers_in(plugin, directory: Path):
    return plugin._ModuleAnswers(directory, "test")


NAMES = ("mitogen.parent", "ansible.module_utils.basic", "ansible.module_utils.facts", "json")


def test_the_plugin_puts_its_answers_in_mitogens_responder_once(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DJKIT_MITOGEN_CACHE", str(tmp_path))
    load_plugin()
    installed = mitogen.master.ModuleResponder._build_tuple
    assert installed.djkit_answers.directory == tmp_path
    assert installed.djkit_built is MITOGENS_BUILD
    load_plugin()
    assert mitogen.master.ModuleResponder._build_tuple is installed

    monkeypatch.setattr(mitogen.master.ModuleResponder, "_build_tuple", MITOGENS_BUILD)
    monkeypatch.setenv("DJKIT_MITOGEN_CACHE", "off")
    load_plugin()
    assert mitogen.master.ModuleResponder._build_tuple is MITOGENS_BUILD


def test_answers_kept_across_runs_are_mitogens_own(tmp_path, monkeypatch) -> None:
    plugin = load_plugin()
    mitogens = {name: responder_with(plugin, None)._build_tuple(name) for name in NAMES}
    assert mitogens["json"][2] is None, "the standard library is refused, not answered"

    first = responder_with(plugin, answers_in(plugin, tmp_path))
    for name in NAMES:
        assert first._build_tuple(name) == mitogens[name]
    kept = sorted(entry.name for entry in tmp_path.iterdir())
    assert len(kept) == 3, kept  # not the standard library's refusal

    # The next run answers from the disk without building: a poisoned build would show.
    second = responder_with(plugin, answers_in(plugin, tmp_path))
    second._build_tuple  # noqa: B018 - bound before the build is poisoned
    monkeypatch.setattr(
        "mitogen.master.zlib.compress", lambda *a: (_ for _ in ()).throw(AssertionError("built"))
    )
    for name in NAMES[:3]:
        again = second._build_tuple(name)
        assert again == mitogens[name]
        assert type(again[3]).__name__ == "Blob"
    assert mitogens["ansible.module_utils.facts"][1], "a package lists its submodules"


def test_a_changed_source_is_answered_afresh(tmp_path, monkeypatch) -> None:
    import zlib

    plugin = load_plugin()
    code = tmp_path / "code"
    code.mkdir()
    monkeypatch.syspath_prepend(str(code))
    module = code / "djkit_probe_module.py"
    module.write_text("VALUE = 1\n")
    store = answers_in(plugin, tmp_path / "cache")
    first = responder_with(plugin, store)._build_tuple("djkit_probe_module")
    assert zlib.decompress(first[3]) == b"VALUE = 1\n"

    module.write_text("VALUE = 2\n")
    second = responder_with(plugin, store)._build_tuple("djkit_probe_module")
    assert zlib.decompress(second[3]) == b"VALUE = 2\n"
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_a_damaged_or_unwritable_cache_is_only_skipped(tmp_path, monkeypatch) -> None:
    plugin = load_plugin()
    mitogens = responder_with(plugin, None)._build_tuple("mitogen.parent")

    store = answers_in(plugin, tmp_path)
    responder_with(plugin, store)._build_tuple("mitogen.parent")
    (entry,) = tmp_path.iterdir()
    entry.write_bytes(entry.read_bytes()[:-10])  # cut short
    assert store.get(entry.name) is None
    assert responder_with(plugin, store)._build_tuple("mitogen.parent") == mitogens
    entry.write_bytes(b"not json\n")
    assert store.get(entry.name) is None

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    nowhere = answers_in(plugin, blocked / "cache")  # under a file: cannot be made
    assert responder_with(plugin, nowhere)._build_tuple("mitogen.parent") == mitogens


def test_the_cache_setting_and_pruning(tmp_path, monkeypatch) -> None:
    import os
    import time

    plugin = load_plugin()
    assert plugin._ModuleAnswers.from_environment() is None
    monkeypatch.setenv("DJKIT_MITOGEN_CACHE", str(tmp_path / "here"))
    assert plugin._ModuleAnswers.from_environment().directory == tmp_path / "here"
    monkeypatch.delenv("DJKIT_MITOGEN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    found = plugin._ModuleAnswers.from_environment()
    assert found.directory == tmp_path / "xdg/djkit/mitogen-modules"
    assert "mitogen" in found.tag
    assert "python" in found.tag

    store = answers_in(plugin, tmp_path / "pruned")
    store.directory.mkdir()
    old, recent = store.directory / "old", store.directory / "recent"
    for entry in (old, recent):
        entry.write_bytes(b"")
    long_ago = time.time() - (plugin._ModuleAnswers.KEEP_DAYS + 1) * 86400
    os.utime(old, (long_ago, long_ago))
    store.put("new", b"x", [])
    assert sorted(e.name for e in store.directory.iterdir()) == ["new", "recent"]
    assert store.get("new") == (b"x", [])


def test_nothing_is_kept_of_an_answer_without_code(tmp_path) -> None:
    plugin = load_plugin()
    store = answers_in(plugin, tmp_path)

    def refused(self, fullname):
        return (fullname, None, None, None, ())

    build = plugin._answering_from(store, refused)
    responder = responder_with(plugin, None)
    assert build(responder, "mitogen.parent") == ("mitogen.parent", None, None, None, ())
    assert not tmp_path.exists() or not list(tmp_path.iterdir())
