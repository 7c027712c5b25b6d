"""The item pipeline: trigger → capture → inspect → decide → route → record.

Two worker threads joined by bounded queues (DESIGN §3):

- the **inspection worker** takes a trigger, picks the sharpest frame of the item,
  runs the `Inspector` (codes, models, policy) and sends the DIVERT before the
  controller's deadline — or, when the deadline has passed, sends nothing: the
  controller's default lane (manual review) takes the item, and the verdict says `late`;
- the **recorder** commits each verdict with its frames and its outbox row in one
  SQLite transaction (the store), then shows it (`StationState`). Routing confirmations
  from the controller (diverted, lost, too late) go through the same queue, so every
  database write happens on one thread, in order.

A trigger that finds the inspection queue full is not silently dropped: it is counted
and recorded as a manual-review verdict ("station overloaded"), and the item, which gets
no DIVERT, goes to the controller's default lane.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from station.state import ItemView, StationState
from station.verdict import Disposition, Routing, Verdict
from vision.camera import Camera, Frame

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trigger:
    """Something says an item is ready to be inspected."""

    source: str  # "conveyor", "scan", "key", "motion"
    t_trigger: float = field(default_factory=time.monotonic)
    item_id: int | None = None  # the controller's item id (conveyor mode)
    deadline: float | None = None  # monotonic time after which a DIVERT is too late
    scanned: tuple[str, ...] = ()  # lines from a hand scanner, parsed by the inspector


@dataclass(frozen=True)
class Inspected:
    """What the inspector made of one item, before routing."""

    verdict: Verdict
    frames: tuple[tuple[str, np.ndarray], ...]  # (camera, BGR image) to store
    view: ItemView  # what the operator sees (verdict JSON filled in later)


class Inspector(Protocol):
    """Turns a trigger and its frames into a verdict (codes, models, policy)."""

    def inspect(self, trigger: Trigger, frames: Mapping[str, Frame | None], seq: int) -> Inspected: ...

    def overloaded(self, trigger: Trigger, seq: int) -> Inspected: ...


class Conveyor(Protocol):
    """The controller, as far as the pipeline is concerned."""

    def divert(self, item_id: int, lane: int) -> None: ...


class Recorder(Protocol):
    """The store, as far as the pipeline is concerned (one writer thread)."""

    def record_verdict(self, verdict: Verdict, frames: Any) -> None: ...

    def update_routing(self, verdict_id: str, routing: Routing) -> Verdict | None: ...


@dataclass(frozen=True)
class _Pending:
    verdict_id: str
    routing: Routing


@dataclass(frozen=True)
class _PendingNote:
    """Sent by the inspection worker before its verdict, so confirmations find it."""

    item_id: int
    verdict_id: str
    routing: Routing


@dataclass(frozen=True)
class _RoutingUpdate:
    item_id: int
    lane_confirmed: int | None = None
    late: bool = False
    lost: bool = False


class Pipeline:
    """Runs items from trigger to a recorded, routed verdict."""

    def __init__(
        self,
        inspector: Inspector,
        recorder: Recorder,
        state: StationState,
        cameras: Mapping[str, Camera],
        lanes: Mapping[str, int],
        conveyor: Conveyor | None = None,
        queue_size: int = 8,
        frame_window_s: float = 0.03,
        frame_timeout_s: float = 0.25,
        on_recorded: Callable[[Verdict, float], None] | None = None,
    ) -> None:
        self.inspector = inspector
        self.recorder = recorder
        self.state = state
        self.cameras = dict(cameras)
        self.lanes = dict(lanes)
        self.conveyor = conveyor
        self.frame_window_s = frame_window_s
        self.frame_timeout_s = frame_timeout_s
        self.on_recorded = on_recorded
        self._triggers: queue.Queue[Trigger | None] = queue.Queue(maxsize=queue_size)
        # Large enough never to fill while the recorder lives; bounded so a dead disk is seen.
        self._records: queue.Queue[Inspected | _PendingNote | _RoutingUpdate | None] = queue.Queue(1024)
        self._threads: list[threading.Thread] = []
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}  # controller item id -> verdict awaiting confirmation
        self._early: dict[int, _RoutingUpdate] = {}  # confirmations that overtook their verdict
        self.routing_blocked: str | None = None  # "jam in zone 2", "e-stop": no DIVERT until cleared
        self.counters: dict[str, int] = {
            "triggers": 0, "inspected": 0, "recorded": 0, "overloaded": 0, "late": 0,
            "diverts": 0, "confirmed": 0, "lost": 0, "misrouted": 0, "record_errors": 0,
        }
        self.latencies_ms: deque[float] = deque(maxlen=2000)  # trigger -> committed

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the inspection worker and the recorder."""
        for target, name in ((self._inspect_loop, "inspect"), (self._record_loop, "record")):
            thread = threading.Thread(target=target, name=f"pipeline-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the items already triggered, commit them, and stop."""
        self._triggers.put(None)
        self._threads[0].join(timeout)
        self._records.put(None)
        self._threads[1].join(timeout)

    def idle(self) -> bool:
        """True when no item is waiting to be inspected or recorded."""
        return self._triggers.unfinished_tasks == 0 and self._records.unfinished_tasks == 0

    # -- inputs -----------------------------------------------------------------------
    def submit(self, trigger: Trigger) -> bool:
        """Queue an item for inspection; False (and a recorded manual-review verdict) when full."""
        self.counters["triggers"] += 1
        try:
            self._triggers.put_nowait(trigger)
        except queue.Full:
            self.counters["overloaded"] += 1
            logger.warning("inspection queue full: item %s goes to manual review", trigger.item_id)
            inspected = self.inspector.overloaded(trigger, self._next_seq())
            self._remember_pending(trigger, inspected.verdict)
            self._records.put(inspected)
            return False
        return True

    def diverted(self, item_id: int, lane: int) -> None:
        """The controller reports where item `item_id` went."""
        self._confirm(_RoutingUpdate(item_id, lane_confirmed=lane))

    def lost(self, item_id: int) -> None:
        """The controller lost track of item `item_id`."""
        self._confirm(_RoutingUpdate(item_id, lost=True))

    def too_late(self, item_id: int) -> None:
        """The controller refused our DIVERT as too late; the item goes to the default lane."""
        self._confirm(_RoutingUpdate(item_id, late=True))

    def flush_tracking(self, reason: str) -> None:
        """Forget items awaiting confirmation (controller rebooted): nothing stale is applied."""
        logger.warning("flushing conveyor tracking: %s", reason)
        self._confirm(_RoutingUpdate(-1, lost=True))

    def _confirm(self, update: _RoutingUpdate) -> None:
        # Called on the link's thread: never block it (heartbeats must go on).
        try:
            self._records.put_nowait(update)
        except queue.Full:
            self.counters["record_errors"] += 1
            logger.error("recorder is not keeping up: routing of item %s not recorded", update.item_id)

    # -- the workers ------------------------------------------------------------------
    def _next_seq(self) -> int:
        with self._seq_lock:
            self._seq += 1
            return self._seq

    def _grab(self, trigger: Trigger) -> dict[str, Frame | None]:
        frames: dict[str, Frame | None] = {}
        for name, camera in self.cameras.items():
            frame = camera.best_frame(trigger.t_trigger, self.frame_window_s, tag=trigger.item_id) \
                if self.frame_window_s > 0 else camera.wait_frame(trigger.t_trigger, self.frame_timeout_s,
                                                                  tag=trigger.item_id)
            frames[name] = frame
        return frames

    def _inspect_loop(self) -> None:
        while True:
            trigger = self._triggers.get()
            try:
                if trigger is None:
                    return
                self._inspect_one(trigger)
            except Exception:
                logger.exception("inspecting item %s failed", trigger.item_id if trigger else None)
            finally:
                self._triggers.task_done()

    def _inspect_one(self, trigger: Trigger) -> None:
        frames = self._grab(trigger)
        t_frames = time.monotonic()
        inspected = self.inspector.inspect(trigger, frames, self._next_seq())
        verdict = inspected.verdict
        timings = dict(verdict.timings_ms)
        timings["capture"] = round((t_frames - trigger.t_trigger) * 1000, 3)
        routing = self._route(trigger, verdict.decision.disposition)
        t_routed = time.monotonic()
        timings["route"] = round((t_routed - t_frames) * 1000 - sum(
            v for k, v in verdict.timings_ms.items() if k != "total"), 3)
        timings["total"] = round((t_routed - trigger.t_trigger) * 1000, 3)
        verdict = dataclasses.replace(verdict, routing=routing, timings_ms=timings)
        self._remember_pending(trigger, verdict)
        self.counters["inspected"] += 1
        self._records.put(dataclasses.replace(inspected, verdict=verdict))

    def _route(self, trigger: Trigger, disposition: Disposition) -> Routing:
        if trigger.item_id is None or self.conveyor is None:
            return Routing()
        if self.routing_blocked is not None:
            logger.warning("no DIVERT for item %s: %s", trigger.item_id, self.routing_blocked)
            return Routing(lane_commanded=None)
        lane = self.lanes.get(disposition.value, self.lanes.get("manual", 0))
        if trigger.deadline is not None and time.monotonic() >= trigger.deadline:
            self.counters["late"] += 1
            logger.warning("decision for item %s came after its deadline: manual lane", trigger.item_id)
            return Routing(lane_commanded=None, late=True)
        self.conveyor.divert(trigger.item_id, lane)
        self.counters["diverts"] += 1
        return Routing(lane_commanded=lane)

    def _remember_pending(self, trigger: Trigger, verdict: Verdict) -> None:
        if trigger.item_id is not None and self.conveyor is not None:
            self._records.put(_PendingNote(trigger.item_id, verdict.verdict_id, verdict.routing))

    def _record_loop(self) -> None:
        while True:
            entry = self._records.get()
            try:
                if entry is None:
                    return
                if isinstance(entry, _PendingNote):
                    self._note_pending(entry)
                elif isinstance(entry, _RoutingUpdate):
                    self._apply_routing(entry)
                else:
                    self._record(entry)
            except Exception:
                self.counters["record_errors"] += 1
                logger.exception("recording failed")
            finally:
                self._records.task_done()

    def _note_pending(self, note: _PendingNote) -> None:
        self._pending[note.item_id] = _Pending(note.verdict_id, note.routing)

    def _record(self, inspected: Inspected) -> None:
        verdict = inspected.verdict
        early = None
        if verdict.item.controller_item_id is not None:
            early = self._early.pop(verdict.item.controller_item_id, None)
        self.recorder.record_verdict(verdict, inspected.frames)
        t_done = time.monotonic()
        self.counters["recorded"] += 1
        total = verdict.timings_ms.get("total")
        if total is not None:
            self.latencies_ms.append(total)
        view = dataclasses.replace(inspected.view, verdict=verdict.to_json())
        self.state.add_item(view)
        if self.on_recorded is not None:
            self.on_recorded(verdict, t_done)
        if early is not None:
            self._apply_routing(early)

    def _apply_routing(self, update: _RoutingUpdate) -> None:
        if update.item_id == -1:  # flush
            for stale in list(self._pending.values()):
                self._write_routing(stale, dataclasses.replace(stale.routing, lost=True))
            self._pending.clear()
            return
        pending = self._pending.pop(update.item_id, None)
        if pending is None:
            # The verdict is not recorded yet (a confirmation overtook it) or unknown.
            self._early[update.item_id] = update
            if len(self._early) > 1000:
                self._early.pop(next(iter(self._early)))
            return
        routing = pending.routing
        if update.late:
            # Refused as too late: the controller's default lane takes the item; its
            # DIVERTED report is still to come, so keep waiting for it.
            routing = dataclasses.replace(routing, late=True)
            self.counters["late"] += 1
            self._pending[update.item_id] = _Pending(pending.verdict_id, routing)
            self._write_routing(pending, routing)
            return
        if update.lane_confirmed is not None:
            routing = dataclasses.replace(routing, lane_confirmed=update.lane_confirmed)
            self.counters["confirmed"] += 1
            expected = routing.lane_commanded
            if expected is None or routing.late:
                expected = self.lanes.get("manual", 0)
            if update.lane_confirmed != expected:
                self.counters["misrouted"] += 1
                logger.error("item %s went to lane %s, expected %s", update.item_id,
                             update.lane_confirmed, expected)
        if update.lost:
            routing = dataclasses.replace(routing, lost=True)
            self.counters["lost"] += 1
        self._write_routing(pending, routing)

    def _write_routing(self, pending: _Pending, routing: Routing) -> None:
        updated = self.recorder.update_routing(pending.verdict_id, routing)
        if updated is not None:
            self.state.update_item(updated.to_json())
