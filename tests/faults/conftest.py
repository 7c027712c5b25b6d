"""Fixtures of the fault tests: the real store, broker and central receiver of the other suites.

Each test here reproduces one fault found by probing the station as an attacker or a bad
day on the floor would, on real parts, and holds the behaviour that fixed it.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.station.conftest import make_verdict, store  # noqa: F401
from tests.sync.conftest import broker, probe, start_receiver  # noqa: F401


@contextlib.contextmanager
def mounted_read_only(made: Path, mounted: Path) -> Iterator[Path]:
    """`made` bind-mounted read-only on the empty folder `mounted` (as root, chmod stops nothing);
    the test is skipped where this machine gives no mount rights."""
    bind = subprocess.run(["mount", "--bind", str(made), str(mounted)], capture_output=True, text=True,
                          check=False)
    if bind.returncode != 0:
        pytest.skip(f"needs mount rights for a read-only bind mount: {bind.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mounted)], check=True)
        yield mounted
    finally:
        subprocess.run(["umount", str(mounted)], check=True)
