"""The kit's default strategy: Ansible's linear strategy run over Mitogen (PyPI `mitogen`,
pinned in requirements-dev.txt), which keeps one Python interpreter per target for the
whole run instead of starting one per task. `make bench` measured it against plain linear
(see the README); ANSIBLE_STRATEGY=linear runs without it.

Ansible finds this file through `strategy_plugins` in ansible.cfg, so the project needs no
path into a virtualenv. The real plugin is imported under its own package name, as Mitogen
expects."""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path

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


class _ModuleAnswers:
    """Mitogen's answers to the targets' module requests, kept on disk across runs.

    A target asks the controller for every Python module it imports (Mitogen's own, Ansible's
    module_utils). For each, Mitogen's responder reads the source, minifies its own modules,
    compresses it at zlib level 9 and scans the imports of everything it imports, to send
    those along: about 0.5 s of the controller's CPU in every run (142 modules in a code-only
    deploy), most of it while the run's first task waits. A module's code depends only on its
    name, file and source, so the answer is stored under a digest of them (and of the Mitogen
    and Python versions): a changed file is a new key, so the code sent is never stale. The
    list of modules sent along with it also reflects what the modules it imports import; if
    one of those changed, that list is at worst a little off (a module sent ahead that is not
    needed, or one the target asks for itself), and each module sent is answered under its
    own key. A package's submodules are listed afresh each time; anything unusual (no source,
    the standard library, `__main__`) is left to Mitogen.

    The directory is $DJKIT_MITOGEN_CACHE, or djkit/mitogen-modules under $XDG_CACHE_HOME
    (~/.cache); DJKIT_MITOGEN_CACHE=off turns it off. A cache that cannot be read or written
    is skipped. Entries unused for 30 days are removed, once per run."""

    KEEP_DAYS = 30

    def __init__(self, directory: Path, tag: str) -> None:
        self.directory = directory
        self.tag = tag
        self._pruned = False

    @classmethod
    def from_environment(cls) -> _ModuleAnswers | None:
        setting = os.environ.get("DJKIT_MITOGEN_CACHE", "")
        if setting.lower() in {"off", "0", "no", "false"}:
            return None
        try:
            base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        except RuntimeError:  # no home directory: no cache
            return None
        directory = Path(setting) if setting else Path(base) / "djkit" / "mitogen-modules"
        import mitogen

        version = ".".join(str(part) for part in mitogen.__version__)
        return cls(directory, f"mitogen {version} python {sys.version}")

    def key(self, fullname: str, path: str, source: bytes) -> str:
        digest = hashlib.blake2b(digest_size=20)
        for part in (self.tag.encode(), fullname.encode(), path.encode(), source):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()

    def get(self, key: str) -> tuple[bytes, list[str]] | None:
        entry = self.directory / key
        try:
            with entry.open("rb") as handle:
                header = json.loads(handle.readline())
                compressed = handle.read()
            related = header["related"]
            if len(compressed) != header["size"] or not all(isinstance(n, str) for n in related):
                return None
            os.utime(entry)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return compressed, related

    def put(self, key: str, compressed: bytes, related: list[str]) -> None:
        header = json.dumps({"size": len(compressed), "related": list(related)})
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._prune()
            partial = self.directory / f".{key}.{os.getpid()}.{threading.get_ident()}"
            try:
                with partial.open("wb") as handle:
                    handle.write(header.encode() + b"\n" + compressed)
                os.replace(partial, self.directory / key)
            finally:
                partial.unlink(missing_ok=True)
        except OSError:
            pass

    def _prune(self) -> None:
        if self._pruned:
            return
        self._pruned = True
        cutoff = time.time() - self.KEEP_DAYS * 86400
        for entry in self.directory.iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
            except OSError:
                pass


def _answering_from(answers: _ModuleAnswers, built):
    """Mitogen's ModuleResponder._build_tuple (`built`), answering from `answers` first."""
    import mitogen.core
    import mitogen.master

    def build_tuple(self, fullname):
        if fullname in self._cache or fullname == "__main__":
            return built(self, fullname)
        self.policy.denied_raise(fullname)
        path, source, is_pkg = self._finder.get_module_source(fullname)
        if not path or source is None or mitogen.master.is_stdlib_path(path):
            return built(self, fullname)
        key = answers.key(fullname, path, source)
        kept = answers.get(key)
        if kept is None:
            answer = built(self, fullname)
            if answer[3] is not None:  # Mitogen found no code to send: nothing to keep
                answers.put(key, bytes(answer[3]), answer[4])
            return answer
        compressed, related = kept
        # Mitogen's answer: name, a package's submodules, path, compressed source, related.
        answer = (
            mitogen.core.to_text(fullname),
            mitogen.master.get_child_modules(path, fullname) if is_pkg else None,
            mitogen.core.to_text(path),
            mitogen.core.Blob(compressed),
            [name for name in related if not self.policy.denied(name)],
        )
        self._cache[fullname] = answer
        return answer

    build_tuple.djkit_answers = answers
    build_tuple.djkit_built = built
    return build_tuple


def _answers_kept_across_runs(answers: _ModuleAnswers | None) -> None:
    try:
        import mitogen.master
    except ImportError:
        return
    responder = mitogen.master.ModuleResponder
    built = getattr(responder, "_build_tuple", None)
    if answers is None or built is None or getattr(built, "djkit_answers", None) is not None:
        return
    responder._build_tuple = _answering_from(answers, built)


_compile_once_in_mitogen_scan()
_answers_kept_across_runs(_ModuleAnswers.from_environment())

__all__ = ["StrategyModule"]
