"""Intents sent to the station one at a time off the GUI thread, each with what to do once it succeeded.

Confirm and override are *held* for an undo time before they are sent (`IntentQueue.hold`): the
operator may take one back with Ctrl+Z and nothing reaches the station's record. A held intent is
bound to the verdict id captured when the key was pressed, never looked up again, so an item that
arrives meanwhile cannot take its place. Closing the window sends every intent still waiting.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from station.ui.bridge import Background
from station.ui.phrase import Phrase

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeldIntent:
    """An intent waiting for its undo time to pass: what it does, to which item, in the operator's words."""

    ticket: int
    name: str  # "confirm", "override"
    verdict_id: str  # captured when the key was pressed
    notice: Phrase  # "Confirmed R-1042: Restock", said again in the language of the moment
    undone_notice: Phrase  # "Confirm of R-1042 undone: nothing was recorded."
    fn: Callable[..., None] = field(repr=False)
    args: tuple[Any, ...] = field(repr=False)
    on_success: Callable[[], None] = field(repr=False)
    deadline: float = 0.0  # time.monotonic() when it is sent


class IntentQueue(QObject):
    """`send()` runs a `StationActions` call on the worker; its success callback runs on the GUI thread.

    `sent(name)` once an intent is queued (tests and the screenshot wait on it); `failed(name, text)`
    when the station refused it (`ActionError`, wrong PIN, database locked). `hold()` keeps an intent
    back for its undo time; `held_changed()` whenever one starts or stops waiting, `released(held)`
    when its time passed and it was sent.
    """

    sent = Signal(str)
    failed = Signal(str, str)
    held_changed = Signal()
    released = Signal(object)  # HeldIntent

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: dict[str, Callable[[], None]] = {}  # tag -> what to do when it succeeded
        self._tags = itertools.count(1)
        self._tickets = itertools.count(1)
        self._held: OrderedDict[int, tuple[HeldIntent, QTimer]] = OrderedDict()  # oldest first
        self._worker = Background("intents", self)
        self._worker.finished.connect(self._done)
        self._worker.failed.connect(self._refused)

    def send(self, name: str, on_success: Callable[[], None], fn: Callable[..., None], *args: Any) -> None:
        """Queue `fn(*args)`; `on_success()` runs after it returned."""
        tag = f"{next(self._tags)}:{name}"
        self._pending[tag] = on_success
        self._worker.submit(tag, fn, *args)
        self.sent.emit(name)

    def hold(
        self,
        name: str,
        verdict_id: str,
        notice: Phrase,
        undone_notice: Phrase,
        delay_s: float,
        on_success: Callable[[], None],
        fn: Callable[..., None],
        *args: Any,
    ) -> HeldIntent:
        """Send `fn(*args)` after `delay_s` unless `undo()` takes it back first; with no delay, now."""
        held = HeldIntent(next(self._tickets), name, verdict_id, notice, undone_notice, fn, tuple(args),
                          on_success, time.monotonic() + max(0.0, delay_s))
        if delay_s <= 0:
            self.send(name, on_success, fn, *args)
            return held
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(round(delay_s * 1000))
        timer.timeout.connect(lambda: self._release(held.ticket))
        self._held[held.ticket] = (held, timer)
        timer.start()
        logger.info("%s of %s held for %.1f s (undo possible)", name, verdict_id, delay_s)
        self.held_changed.emit()
        return held

    def held(self) -> list[HeldIntent]:
        """The intents still waiting, oldest first."""
        return [held for held, _timer in self._held.values()]

    def undo(self) -> HeldIntent | None:
        """Take back the newest waiting intent (nothing is sent); None when nothing waits."""
        if not self._held:
            return None
        _ticket, (held, timer) = self._held.popitem(last=True)
        timer.stop()
        timer.deleteLater()
        logger.info("%s of %s undone before it was sent", held.name, held.verdict_id)
        self.held_changed.emit()
        return held

    def _release(self, ticket: int) -> None:
        entry = self._held.pop(ticket, None)
        if entry is None:
            return
        held, timer = entry
        timer.deleteLater()
        self.send(held.name, held.on_success, held.fn, *held.args)
        self.released.emit(held)
        self.held_changed.emit()

    def flush(self) -> None:
        """Send every waiting intent now, oldest first (the window is closing: nothing is lost)."""
        for ticket in list(self._held):
            held, timer = self._held[ticket]
            timer.stop()
            logger.info("%s of %s sent at close, before its undo time ended", held.name, held.verdict_id)
            self._release(ticket)

    def _done(self, tag: str, _result: object) -> None:
        callback = self._pending.pop(tag, None)
        if callback is not None:
            callback()

    def _refused(self, tag: str, text: str) -> None:
        self._pending.pop(tag, None)
        self.failed.emit(tag.partition(":")[2], text)

    def close(self) -> None:
        """Send what still waits, let the intents already sent reach the station, then stop."""
        self.flush()
        self._worker.close()
