"""What the station shows: a plain observable model, no Qt (the widgets in station/ui/ observe it).

The pipeline and the device threads update a `StationState`; views subscribe to its
signals and call `StationActions` on user input. Signals are emitted on the thread that
made the change: a Qt view must hop to its own thread (station/ui does so with queued
signals), a test can simply collect them.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from station.verdict import Verdict

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Signal(Generic[T]):
    """A list of callbacks called with one value; a failing callback is logged, not fatal."""

    def __init__(self) -> None:
        self._slots: list[Callable[[T], None]] = []
        self._lock = threading.Lock()

    def connect(self, slot: Callable[[T], None]) -> None:
        """Call `slot(value)` on every emit."""
        with self._lock:
            self._slots.append(slot)

    def disconnect(self, slot: Callable[[T], None]) -> None:
        """Stop calling `slot`."""
        with self._lock:
            self._slots.remove(slot)

    def emit(self, value: T) -> None:
        """Call every slot with `value`."""
        with self._lock:
            slots = list(self._slots)
        for slot in slots:
            try:
                slot(value)
            except Exception:
                logger.exception("a view failed to handle %s", type(value).__name__)


class Level(enum.Enum):
    """How a component is doing, as the status bar colours it."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Health:
    """One component's state in plain words, with what to do when it is not OK."""

    component: str  # "camera:top", "conveyor", "mqtt", "models", "disk", "calibration"
    level: Level
    summary: str  # short, for the status bar: "MQTT connected, 0 waiting"
    detail: str = ""  # what is wrong and what to do
    values: dict[str, Any] = field(default_factory=dict)  # e.g. {"backlog": 3, "oldest_s": 1.2}
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Overlay:
    """What to draw over the captured frame."""

    codes: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()  # (text, quad) in frame pixels
    regions: tuple[tuple[int, int, int, int, float], ...] = ()  # defect boxes (x, y, w, h, score)
    heatmap: np.ndarray | None = None  # float32 in [0, 1], any size, stretched over `item_box`
    item_box: tuple[int, int, int, int] | None = None  # where the item lies in the frame
    roi: tuple[int, int, int, int] | None = None


@dataclass(frozen=True, eq=False)
class ViewShot:
    """One camera's picture of the item and what to draw over it."""

    camera: str
    frame: np.ndarray  # BGR
    overlay: Overlay = field(default_factory=Overlay)


@dataclass(frozen=True)
class ItemView:
    """One decided item as the operator sees it."""

    verdict: Verdict
    frame: np.ndarray | None  # the first camera's frame, BGR
    overlay: Overlay = field(default_factory=Overlay)
    reference_image: str | None = None  # catalog image path of the expected SKU
    lane_name: str | None = None
    # Every camera's view, first camera first, on a station with several (empty with one).
    views: tuple[ViewShot, ...] = ()


class StationActions(Protocol):
    """What a view may ask of the station (intents); every call is audited by the station."""

    def sign_in(self, operator_id: str) -> None: ...

    def confirm(self, verdict_id: str) -> None: ...

    def override(
        self, verdict_id: str, disposition: str, reason: str, supervisor_pin: str | None = None
    ) -> None: ...

    def withdraw(self, verdict_id: str, intent: str) -> None:
        """A confirm or override taken back before it was recorded (audited only)."""

    def needs_supervisor(self, verdict_id: str, note: str) -> None: ...

    def reinspect(self) -> None: ...

    def trigger(self) -> None: ...

    def scan(self, text: str) -> None: ...

    def set_mode(self, mode: str) -> None: ...

    def set_thresholds(self, values: dict[str, float]) -> None: ...


class StationState:
    """The observable state the views render."""

    def __init__(self, recent_limit: int = 200, frames_kept: int = 10) -> None:
        self.item_decided: Signal[ItemView] = Signal()
        self.item_updated: Signal[ItemView] = Signal()  # a new revision (override) of a shown item
        # A new revision of an item no longer listed (an older one an item window may be open on).
        self.record_revised: Signal[Verdict] = Signal()
        self.health_changed: Signal[Health] = Signal()
        self.counters_changed: Signal[dict[str, Any]] = Signal()
        self.message: Signal[str] = Signal()  # one-line notices ("override saved", errors of an action)
        self._lock = threading.Lock()
        self._recent: deque[ItemView] = deque(maxlen=recent_limit)
        # A 1280x720 frame is 2.7 MB: only the newest items keep theirs in memory; older ones
        # are shown from the stored JPEG.
        self.frames_kept = frames_kept
        self._health: dict[str, Health] = {}
        self._counters: dict[str, Any] = {}
        self.operator_id: str | None = None
        self.mode: str = "conveyor"

    @property
    def current(self) -> ItemView | None:
        """The last decided item."""
        with self._lock:
            return self._recent[-1] if self._recent else None

    def recent(self) -> list[ItemView]:
        """Decided items, newest last."""
        with self._lock:
            return list(self._recent)

    def health(self) -> dict[str, Health]:
        """The latest health of each component."""
        with self._lock:
            return dict(self._health)

    def counters(self) -> dict[str, Any]:
        """The latest counters."""
        with self._lock:
            return dict(self._counters)

    def add_item(self, view: ItemView) -> None:
        """A new item was decided."""
        with self._lock:
            self._recent.append(view)
            index = len(self._recent) - 1 - self.frames_kept
            if index >= 0 and self._recent[index].frame is not None:
                self._recent[index] = dataclasses.replace(self._recent[index], frame=None)
        self.item_decided.emit(view)

    def update_item(self, verdict: Verdict) -> None:
        """A new revision of an item already shown (one older than the revision shown is not); of an
        item no longer listed, `record_revised` says it to whoever shows it elsewhere."""
        with self._lock:
            for index, view in enumerate(self._recent):
                if view.verdict.verdict_id == verdict.verdict_id:
                    if view.verdict.revision > verdict.revision:
                        return
                    updated = dataclasses.replace(view, verdict=verdict)
                    self._recent[index] = updated
                    break
            else:
                updated = None
        if updated is None:
            self.record_revised.emit(verdict)
        else:
            self.item_updated.emit(updated)

    def set_health(self, health: Health) -> None:
        """Record a component's health; emits only when level or summary changed."""
        with self._lock:
            old = self._health.get(health.component)
            self._health[health.component] = health
        changed = old is None or (old.level, old.summary, old.detail) != (
            health.level, health.summary, health.detail
        )
        if changed:
            self.health_changed.emit(health)

    def set_counters(self, counters: dict[str, Any]) -> None:
        """Replace the counters (items, dispositions, latency, queue depths)."""
        with self._lock:
            self._counters = dict(counters)
        self.counters_changed.emit(counters)

    def __iter__(self) -> Iterator[ItemView]:
        return iter(self.recent())
