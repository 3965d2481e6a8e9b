#!/usr/bin/env python3
"""Digest (and optionally pack) a Django project tree on the controller.

The digest names the release: the same tree gives the same release id, so a re-run of the
play changes nothing, and any change to a file, a name or an executable bit gives a new one.
The archive is reproducible (sorted entries, fixed owners and times) with normalised modes:
directories 0750, files 0640, executables 0750, so the app user can read but not change code.

    source_archive.py SRC [--exclude PATTERN]... [--output FILE.tar.gz]

A PATTERN that starts with / matches paths from SRC only ("/media", not pkg/fixtures/media);
any other matches the path from SRC or the name of a file or directory anywhere.
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import hashlib
import io
import os
import sys
import tarfile
from pathlib import Path


def walk(root: Path, excludes: list[str]) -> list[Path]:
    # "/media" matches from the root only; "media" the path from the root or a name anywhere.
    anchored = [p[1:] for p in excludes if p.startswith("/")]
    anywhere = [p for p in excludes if not p.startswith("/")]

    def excluded(rel: str) -> bool:
        name = rel.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatch(rel, p) for p in anchored) or any(
            fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in anywhere
        )

    found: list[Path] = []
    for current, dirs, files in os.walk(root, followlinks=False):
        base = Path(current)
        dirs[:] = sorted(d for d in dirs if not excluded(str((base / d).relative_to(root))))
        for name in sorted(files):
            path = base / name
            rel = str(path.relative_to(root))
            if not excluded(rel) and (path.is_file() or path.is_symlink()):
                found.append(path)
    return sorted(found, key=lambda p: str(p.relative_to(root)))


def is_executable(path: Path) -> bool:
    return not path.is_symlink() and bool(path.stat().st_mode & 0o111)


def digest(root: Path, paths: list[Path]) -> str:
    sha = hashlib.sha256()
    for path in paths:
        rel = str(path.relative_to(root))
        sha.update(rel.encode() + b"\0")
        if path.is_symlink():
            sha.update(b"link\0" + os.readlink(path).encode())
        else:
            sha.update(b"x\0" if is_executable(path) else b"f\0")
            sha.update(path.read_bytes())
        sha.update(b"\0")
    return sha.hexdigest()[:12]


def pack(root: Path, paths: list[Path], output: Path) -> None:
    all_dirs = sorted(
        {str(parent) for p in paths for parent in p.relative_to(root).parents} - {"."}
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in all_dirs:
            info = tarfile.TarInfo(rel)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o750, 0
            tar.addfile(info)
        for path in paths:
            info = tarfile.TarInfo(str(path.relative_to(root)))
            info.mtime = 0
            if path.is_symlink():
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, os.readlink(path), 0o777
                tar.addfile(info)
                continue
            data = path.read_bytes()
            info.size = len(data)
            info.mode = 0o750 if is_executable(path) else 0o640
            tar.addfile(info, io.BytesIO(data))
    # No file name and no time in the gzip header either: same tree, same bytes.
    with (
        output.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz,
    ):
        gz.write(buffer.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--exclude", action="append", default=[])
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    root = args.source.resolve()
    if not root.is_dir():
        print(f"source_archive: {args.source} is not a directory", file=sys.stderr)
        return 2
    paths = walk(root, args.exclude)
    if not paths:
        print(f"source_archive: {args.source} holds no files", file=sys.stderr)
        return 2
    if args.output:
        pack(root, paths, args.output)
    print(digest(root, paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
