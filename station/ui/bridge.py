"""The hop between the station's threads and the Qt thread.

`StationState` emits on whichever thread made the change (pipeline, serial, MQTT).
`StateBridge` re-emits each change as a Qt signal; the receivers live on the GUI thread,
so Qt queues the call there. `Background` runs the station's intents and database
reports on one worker thread each, so a slow SQLite write or report never freezes
the window, and reports the outcome back on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from station.state import Health, ItemView, StationState
from station.verdict import Verdict

logger = logging.getLogger(__name__)


class StateBridge(QObject):
    """Qt signals mirroring a `StationState`'s; safe to emit from any thread."""

    item_decided = Signal(object)  # ItemView
    item_updated = Signal(object)  # ItemView
    record_revised = Signal(object)  # Verdict
    health_changed = Signal(object)  # Health
    counters_changed = Signal(object)  # dict
    message = Signal(str)

    def __init__(self, state: StationState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        state.item_decided.connect(self._on_item_decided)
        state.item_updated.connect(self._on_item_updated)
        state.record_revised.connect(self._on_record_revised)
        state.health_changed.connect(self._on_health)
        state.counters_changed.connect(self._on_counters)
        state.message.connect(self._on_message)
        self._connected = True

    def detach(self) -> None:
        """Stop listening to the state (before the window goes away, so no late emit hits a dead object)."""
        if not self._connected:
            return
        self._connected = False
        self._state.item_decided.disconnect(self._on_item_decided)
        self._state.item_updated.disconnect(self._on_item_updated)
        self._state.record_revised.disconnect(self._on_record_revised)
        self._state.health_changed.disconnect(self._on_health)
        self._state.counters_changed.disconnect(self._on_counters)
        self._state.message.disconnect(self._on_message)

    # The slots below run on the emitting (worker) thread; a Qt signal emit is thread-safe.
    def _on_item_decided(self, view: ItemView) -> None:
        self.item_decided.emit(view)

    def _on_item_updated(self, view: ItemView) -> None:
        self.item_updated.emit(view)

    def _on_record_revised(self, verdict: Verdict) -> None:
        self.record_revised.emit(verdict)

    def _on_health(self, health: Health) -> None:
        self.health_changed.emit(health)

    def _on_counters(self, counters: dict[str, Any]) -> None:
        self.counters_changed.emit(counters)

    def _on_message(self, text: str) -> None:
        self.message.emit(text)


class Background(QObject):
    """Runs calls one at a time on its own thread.

    The outcome arrives on the GUI thread as `finished(tag, result)` or `failed(tag, text)`; a failure
    comes as `refused(tag, exception)` first, for a caller that words the exception itself.
    """

    finished = Signal(str, object)
    failed = Signal(str, str)
    refused = Signal(str, object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ui-{name}")
        self._pending = 0
        self._closed = False
        self.finished.connect(self._settle)
        self.failed.connect(self._settle)

    @property
    def busy(self) -> bool:
        """Whether a call is queued or running."""
        return self._pending > 0

    def submit(self, tag: str, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the worker thread; `tag` names it in the outcome signals."""
        if self._closed:
            logger.warning("%s: %s ignored, the window is closing", self._name, tag)
            return
        self._pending += 1
        future = self._pool.submit(fn, *args)
        future.add_done_callback(lambda f: self._done(tag, f))

    def _done(self, tag: str, future: Future[Any]) -> None:
        # Runs on the worker thread: the signals below are queued to the GUI thread.
        exc = future.exception()
        if exc is not None:
            # Mostly a refusal the user can act on (wrong PIN, nobody signed in); the trace is for debugging.
            logger.warning("%s: %s failed: %s", self._name, tag, exc)
            logger.debug("%s: %s failed", self._name, tag, exc_info=exc)
            self.refused.emit(tag, exc)
            self.failed.emit(tag, str(exc) or type(exc).__name__)
        else:
            self.finished.emit(tag, future.result())

    def _settle(self, _tag: str, _outcome: object) -> None:
        self._pending = max(0, self._pending - 1)

    def close(self, wait: bool = True) -> None:
        """Stop taking calls; with `wait`, let queued ones finish (a sent intent must reach the station)."""
        self._closed = True
        self._pool.shutdown(wait=wait)
