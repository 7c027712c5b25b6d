"""The data folder's free space, checked before each item is recorded.

A full disk must not lose items: before it is full the station stops taking them (the
controller's default lane, manual review, takes each one), every item still gets a small
record without images, and whoever watches the station is told why. The reserve kept free
(`[storage].stop_free_disk_mb`) is what those records, the log and the outbox need until
someone frees space; taking items again needs twice that, so the station does not flap at
the edge.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from station.i18n import DEFAULT_LANGUAGE, QT_TRANSLATE_NOOP

logger = logging.getLogger(__name__)

MB = 1_000_000


DISK_FULL = QT_TRANSLATE_NOOP(
    "Health", "The data folder {folder} has {free_mb:.1f} MB free, below the {stop_mb} MB the station keeps "
    "in reserve ([storage].stop_free_disk_mb): items go to the manual lane uninspected. Free space on "
    "that disk (old images, logs) or move [station].data_dir to a larger one.")


@dataclass(frozen=True)
class DiskState:
    """What the guard last saw of the data folder's file system."""

    folder: Path
    free_mb: float
    stop_mb: int
    full: bool

    def message(self, language: str = DEFAULT_LANGUAGE) -> str:
        """One plain sentence an operator acts on (the log and `station run` keep the English)."""
        return DISK_FULL.render(language, folder=str(self.folder), free_mb=self.free_mb, stop_mb=self.stop_mb)


class DiskGuard:
    """Says whether the station may take another item; thread-safe."""

    def __init__(self, folder: Path, stop_free_mb: int,
                 free_bytes: Callable[[Path], int] | None = None) -> None:
        self.folder = folder
        self.stop_free_mb = stop_free_mb
        self._free_bytes = free_bytes or (lambda path: shutil.disk_usage(path).free)
        self._lock = threading.Lock()
        self._full = False
        self.tripped = False  # has it been full at any time since start

    def check(self) -> DiskState:
        """Look at the free space now (one statvfs, a few microseconds)."""
        try:
            free_mb = self._free_bytes(self.folder) / MB
        except OSError as exc:
            logger.error("cannot read the free space of %s: %s", self.folder, exc)
            free_mb = 0.0
        with self._lock:
            if self._full:
                self._full = free_mb < 2 * self.stop_free_mb
                if not self._full:
                    logger.warning("data folder %s has %.0f MB free again: taking items",
                                   self.folder, free_mb)
            elif free_mb < self.stop_free_mb:
                self._full = self.tripped = True
                logger.error("disk full: %s",
                             DiskState(self.folder, free_mb, self.stop_free_mb, True).message())
            return DiskState(self.folder, free_mb, self.stop_free_mb, self._full)

    def out_of_space(self) -> None:
        """A write failed for lack of space, whatever the free space said: stop taking items."""
        with self._lock:
            self._full = self.tripped = True
