"""Stand-ins for the programs a script of the kit runs, for the tests that run it with /bin/sh
on the controller."""

from __future__ import annotations

from pathlib import Path


def stub(bin_dir: Path, name: str, body: str) -> None:
    """`name` in `bin_dir`: a /bin/sh script of `body`, executable."""
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
