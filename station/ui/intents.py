"""Intents sent to the station one at a time off the GUI thread, each with what to do once it succeeded."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from station.ui.bridge import Background

logger = logging.getLogger(__name__)


class IntentQueue(QObject):
    """`send()` runs a `StationActions` call on the worker; its success callback runs on the GUI thread.

    `sent(name)` once an intent is queued (tests and the screenshot wait on it); `failed(name, text)`
    when the station refused it (`ActionError`, wrong PIN, database locked).
    """

    sent = Signal(str)
    failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: dict[str, Callable[[], None]] = {}  # tag -> what to do when it succeeded
        self._tags = itertools.count(1)
        self._worker = Background("intents", self)
        self._worker.finished.connect(self._done)
        self._worker.failed.connect(self._refused)

    def send(self, name: str, on_success: Callable[[], None], fn: Callable[..., None], *args: Any) -> None:
        """Queue `fn(*args)`; `on_success()` runs after it returned."""
        tag = f"{next(self._tags)}:{name}"
        self._pending[tag] = on_success
        self._worker.submit(tag, fn, *args)
        self.sent.emit(name)

    def _done(self, tag: str, _result: object) -> None:
        callback = self._pending.pop(tag, None)
        if callback is not None:
            callback()

    def _refused(self, tag: str, text: str) -> None:
        self._pending.pop(tag, None)
        self.failed.emit(tag.partition(":")[2], text)

    def close(self) -> None:
        """Let the intents already sent reach the station, then stop."""
        self._worker.close()
