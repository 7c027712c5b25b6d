"""Durable file writes: what makes a rename or a new file survive a power cut."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir"]


def fsync_dir(folder: Path) -> None:
    """Make the entries of `folder` (a rename, a new file) durable. POSIX only: Windows cannot
    open a directory, and NTFS journals the rename."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
