"""The item pipeline: trigger → capture → inspect → decide → route → record.

Three worker threads joined by bounded queues (DESIGN §3):

- the **capture stage** takes each trigger as it comes and picks the sharpest frame of
  the item while it is still under the camera — even when inspection is busy with the
  item before, the frame is the one of this item;
- the **inspection worker** runs the `Inspector` (codes, models, policy) on those
  frames and sends the DIVERT before the controller's deadline — or, when the deadline
  has passed, sends nothing: the controller's default lane (manual review) takes the
  item, and the verdict says `late`;
- the **recorder** commits each verdict with its frames and its outbox row in one
  SQLite transaction (the store), then shows it (`StationState`). Routing confirmations
  from the controller (diverted, lost, too late) go through the same queue, so every
  database write happens on one thread, in order.

A trigger that finds the inspection queue full is not silently dropped: it is counted
and recorded as a manual-review verdict ("station overloaded"), and the item, which gets
no DIVERT, goes to the controller's default lane. The same happens to every item while the
data folder's disk is nearly full (`DiskGuard`): the station stops taking items, and each
one still gets a small record without images. An item whose record cannot be written at
all is named in `unrecorded` and in the log, never dropped without a word.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from station.diskguard import DiskGuard
from station.state import ItemView, StationState
from station.store.images import FrameImage
from station.verdict import Disposition, Routing, Verdict
from vision.camera import Camera, Frame

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trigger:
    """Something says an item is ready to be inspected."""

    source: str  # "conveyor", "scan", "key", "motion"
    t_trigger: float = field(default_factory=time.monotonic)
    item_id: int | None = None  # the controller's item id (conveyor mode)
    boot_id: int | None = None  # the controller boot the item id belongs to
    deadline: float | None = None  # monotonic time after which a DIVERT is too late
    scanned: tuple[str, ...] = ()  # lines from a hand scanner, parsed by the inspector


@dataclass(frozen=True)
class Inspected:
    """What the inspector made of one item, before routing."""

    verdict: Verdict
    frames: tuple[FrameImage, ...]  # what the store writes to disk
    view: ItemView  # what the operator sees (verdict JSON filled in later)
    t_trigger: float | None = None  # set by the pipeline: monotonic time of the trigger


class Inspector(Protocol):
    """Turns a trigger and its frames into a verdict (codes, models, policy)."""

    def inspect(self, trigger: Trigger, frames: Mapping[str, Frame | None], seq: int) -> Inspected: ...

    def overloaded(self, trigger: Trigger, seq: int, reason: str | None = None) -> Inspected: ...


class Router(Protocol):
    """The conveyor, as far as the pipeline is concerned."""

    def route(self, trigger: Trigger, disposition: Disposition) -> Routing:
        """Send the DIVERT when still in time; say what was commanded (or that it was late)."""
        ...


class Recorder(Protocol):
    """The store, as far as the pipeline is concerned (one writer thread)."""

    def record_verdict(self, verdict: Verdict, frames: Sequence[FrameImage] = ()) -> Verdict: ...

    def record_routing(self, verdict_id: str, routing: Routing) -> Verdict | None: ...

    def reclaim_space(self) -> None: ...


ItemKey = tuple[int, int]  # (controller boot id, item id)


@dataclass(frozen=True)
class _PendingNote:
    """Sent by the inspection worker before its verdict, so the routing outcome finds it."""

    key: ItemKey
    verdict_id: str
    routing: Routing  # what the inspection worker commanded (or that it was late)


@dataclass(frozen=True)
class _Routed:
    key: ItemKey
    routing: Routing


class Pipeline:
    """Runs items from trigger to a recorded, routed verdict."""

    def __init__(
        self,
        inspector: Inspector,
        recorder: Recorder,
        state: StationState,
        cameras: Mapping[str, Camera],
        router: Router | None = None,
        queue_size: int = 8,
        frame_window_s: float = 0.03,
        frame_timeout_s: float = 0.25,
        on_recorded: Callable[[Verdict], None] | None = None,
        disk: DiskGuard | None = None,
    ) -> None:
        self.inspector = inspector
        self.recorder = recorder
        self.state = state
        self.cameras = dict(cameras)
        self.router = router
        self.frame_window_s = frame_window_s
        self.frame_timeout_s = frame_timeout_s
        self.on_recorded = on_recorded
        self.disk = disk
        self._reclaimed = False  # the WAL was truncated since the disk last ran short
        self._triggers: queue.Queue[Trigger | None] = queue.Queue(maxsize=queue_size)
        self._captured: queue.Queue[tuple[Trigger, dict[str, Frame | None]] | None] = queue.Queue(queue_size)
        # Large enough never to fill while the recorder lives; bounded so a dead disk is seen.
        self._records: queue.Queue[Inspected | _PendingNote | _Routed | None] = queue.Queue(1024)
        self._threads: list[threading.Thread] = []
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._pending: dict[ItemKey, _PendingNote] = {}  # items awaiting their routing outcome
        self._early: dict[ItemKey, Routing] = {}  # outcomes that overtook their verdict
        self._deferred: dict[str, list[Routing]] = {}  # outcomes whose verdict is still queued
        self.counters: dict[str, int] = {
            "triggers": 0, "inspected": 0, "recorded": 0, "overloaded": 0, "routed": 0, "record_errors": 0,
            "disk_full": 0, "unrecorded": 0,
        }
        # Items the conveyor reported whose verdict could not be written at all: (item id, verdict id).
        self.unrecorded: list[tuple[int | None, str]] = []
        self.latencies_ms: deque[float] = deque(maxlen=2000)  # trigger -> verdict committed
        self.dispositions: dict[str, int] = {}  # first decisions recorded since start

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the capture stage, the inspection worker and the recorder."""
        stages = (self._capture_loop, self._inspect_loop, self._record_loop)
        for target, name in zip(stages, ("capture", "inspect", "record"), strict=True):
            thread = threading.Thread(target=target, name=f"pipeline-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the items already triggered, commit them, and stop."""
        self._triggers.put(None)
        self._threads[0].join(timeout)
        self._captured.put(None)
        self._threads[1].join(timeout)
        self._records.put(None)
        self._threads[2].join(timeout)

    def queue_depths(self) -> dict[str, int]:
        """Items waiting before each stage."""
        return {"capture": self._triggers.qsize(), "inspect": self._captured.qsize(),
                "record": self._records.qsize()}

    def idle(self) -> bool:
        """True when no item is waiting to be inspected or recorded."""
        return all(q.unfinished_tasks == 0 for q in (self._triggers, self._captured, self._records))

    # -- inputs -----------------------------------------------------------------------
    def submit(self, trigger: Trigger, wait: bool = False) -> bool:
        """Queue an item for capture and inspection; False (and a manual-review verdict) when full.

        `wait` blocks until there is room instead (bench mode and benchmarks: no belt to miss).
        """
        self.counters["triggers"] += 1
        if self.disk is not None and self.disk.check().full:
            self.counters["disk_full"] += 1
            self._not_inspected(trigger, "disk full: not inspected, sent to the manual lane")
            return False
        try:
            self._triggers.put(trigger, block=wait)
        except queue.Full:
            self._overloaded(trigger)
            return False
        return True

    def _overloaded(self, trigger: Trigger) -> None:
        self.counters["overloaded"] += 1
        logger.warning("station overloaded: item %s goes to manual review", trigger.item_id)
        self._not_inspected(trigger, None)

    def _not_inspected(self, trigger: Trigger, reason: str | None) -> None:
        """Record the item as manual review without inspecting it; it gets no DIVERT."""
        inspected = self.inspector.overloaded(trigger, self._next_seq(), reason)
        self._remember_pending(trigger, inspected.verdict)
        self._records.put(dataclasses.replace(inspected, t_trigger=trigger.t_trigger))

    def routed(self, boot_id: int, item_id: int, routing: Routing) -> None:
        """The conveyor's last word on an item (diverted, lost, flushed): a new revision."""
        # Called on the link's thread: never block it (heartbeats must go on).
        try:
            self._records.put_nowait(_Routed((boot_id, item_id), routing))
        except queue.Full:
            self.counters["record_errors"] += 1
            logger.error("recorder is not keeping up: routing of item %s not recorded", item_id)

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

    def _capture_loop(self) -> None:
        while True:
            trigger = self._triggers.get()
            try:
                if trigger is None:
                    return
                frames = self._grab(trigger)
                try:
                    # Items on a belt cannot wait; a bench item (no deadline) can.
                    self._captured.put((trigger, frames), block=trigger.deadline is None)
                except queue.Full:
                    self._overloaded(trigger)
            except Exception:
                logger.exception("capturing item %s failed", trigger.item_id if trigger else None)
            finally:
                self._triggers.task_done()

    def _inspect_loop(self) -> None:
        while True:
            job = self._captured.get()
            try:
                if job is None:
                    return
                self._inspect_one(*job)
            except Exception:
                logger.exception("inspecting item %s failed", job[0].item_id if job else None)
            finally:
                self._captured.task_done()

    def _inspect_one(self, trigger: Trigger, frames: dict[str, Frame | None]) -> None:
        t_frames = time.monotonic()
        inspected = self.inspector.inspect(trigger, frames, self._next_seq())
        verdict = inspected.verdict
        timings = dict(verdict.timings_ms)
        captured = [f.t_capture for f in frames.values() if f is not None]
        timings["capture"] = round((max(captured, default=t_frames) - trigger.t_trigger) * 1000, 3)
        timings["queued"] = round((t_frames - max(captured, default=t_frames)) * 1000, 3)
        t_route = time.monotonic()
        routing = self._route(trigger, verdict.decision.disposition)
        t_routed = time.monotonic()
        timings["route"] = round((t_routed - t_route) * 1000, 3)
        timings["total"] = round((t_routed - trigger.t_trigger) * 1000, 3)
        verdict = dataclasses.replace(verdict, routing=routing, timings_ms=timings)
        self._remember_pending(trigger, verdict)
        self.counters["inspected"] += 1
        self._records.put(dataclasses.replace(inspected, verdict=verdict, t_trigger=trigger.t_trigger))

    def _route(self, trigger: Trigger, disposition: Disposition) -> Routing:
        if trigger.item_id is None or self.router is None:
            return Routing()
        return self.router.route(trigger, disposition)

    def _remember_pending(self, trigger: Trigger, verdict: Verdict) -> None:
        if trigger.item_id is not None and trigger.boot_id is not None and self.router is not None:
            key = (trigger.boot_id, trigger.item_id)
            self._records.put(_PendingNote(key, verdict.verdict_id, verdict.routing))

    def _record_loop(self) -> None:
        while True:
            entry = self._records.get()
            try:
                if entry is None:
                    return
                if isinstance(entry, _PendingNote):
                    self._pending[entry.key] = entry
                    early = self._early.pop(entry.key, None)
                    if early is not None:
                        self._pending.pop(entry.key)
                        self._write_routing(entry.verdict_id, _merge(entry.routing, early), after_record=True)
                elif isinstance(entry, _Routed):
                    self._apply_routing(entry)
                else:
                    self._record(entry)
            except Exception:
                self.counters["record_errors"] += 1
                logger.exception("recording failed")
            finally:
                self._records.task_done()

    def _record(self, inspected: Inspected) -> None:
        frames = inspected.frames
        if self.disk is not None and self.disk.check().full:
            frames = ()  # the reserve is for records, not images
            if not self._reclaimed:
                self._reclaimed = True
                self.recorder.reclaim_space()
        elif self._reclaimed:
            self._reclaimed = False
        try:
            verdict = self.recorder.record_verdict(inspected.verdict, frames)
        except (OSError, sqlite3.OperationalError) as exc:
            self._unrecorded(inspected.verdict, exc)
            return
        t_done = time.monotonic()
        self.counters["recorded"] += 1
        name = verdict.decision.disposition.value
        self.dispositions[name] = self.dispositions.get(name, 0) + 1
        if inspected.t_trigger is not None:
            self.latencies_ms.append((t_done - inspected.t_trigger) * 1000)
        self.state.add_item(dataclasses.replace(inspected.view, verdict=verdict))
        if self.on_recorded is not None:
            self.on_recorded(verdict)
        for routing in self._deferred.pop(verdict.verdict_id, []):
            self._write_routing(verdict.verdict_id, routing)

    def _apply_routing(self, routed: _Routed) -> None:
        note = self._pending.pop(routed.key, None)
        if note is None:
            # The outcome overtook the note of its verdict (or belongs to no verdict of ours).
            self._early[routed.key] = routed.routing
            if len(self._early) > 1000:
                self._early.pop(next(iter(self._early)))
            return
        self._write_routing(note.verdict_id, _merge(note.routing, routed.routing))

    def _unrecorded(self, verdict: Verdict, exc: Exception) -> None:
        """The verdict could not be written: stop taking items and name the item, once, plainly."""
        if self.disk is not None:
            self.disk.out_of_space()
        self.counters["unrecorded"] += 1
        self.unrecorded.append((verdict.item.controller_item_id, verdict.verdict_id))
        logger.error("ALARM item %s (verdict %s, %s) has NO record: %s. It went to the %s; find it there.",
                     verdict.item.controller_item_id, verdict.verdict_id, verdict.decision.disposition.value,
                     exc, "manual lane" if verdict.routing.lane_commanded is None else
                     f"lane {verdict.routing.lane_commanded}")

    def _write_routing(self, verdict_id: str, routing: Routing, after_record: bool = False) -> None:
        if after_record:
            # The note precedes its verdict in the queue: write once the verdict is recorded.
            self._deferred.setdefault(verdict_id, []).append(routing)
            return
        self.counters["routed"] += 1
        try:
            updated = self.recorder.record_routing(verdict_id, routing)
        except (OSError, sqlite3.OperationalError) as exc:
            # The item has its record; only the conveyor's confirmation of it is missing.
            self.counters["record_errors"] += 1
            if self.disk is not None:
                self.disk.out_of_space()
            logger.error("verdict %s: the conveyor's outcome (%s) could not be recorded: %s",
                         verdict_id, routing, exc)
            return
        if updated is not None:
            self.state.update_item(updated)


def _merge(decided: Routing, outcome: Routing) -> Routing:
    """The conveyor's outcome, keeping what only the station knows: a decision that came too
    late for its DIVERT is late even when the controller closed the item before hearing it."""
    commanded = outcome.lane_commanded if outcome.lane_commanded is not None else decided.lane_commanded
    return Routing(
        lane_commanded=commanded,
        lane_confirmed=outcome.lane_confirmed,
        late=outcome.late or decided.late,
        lost=outcome.lost,
    )
