"""The item pipeline: trigger → capture → inspect → decide → route → record.

Three stages joined by bounded queues (docs/architecture.md):

- the **capture stage** takes each trigger as it comes and picks the sharpest frame of
  the item while it is still under each camera — even when inspection is busy with the
  item before, the frame is the one of this item. Each camera has its own capture thread
  and takes its picture when the item reaches it: a camera farther down the belt than the
  gap between two items pictures this item while the first camera already pictures the
  next. The item goes on, in trigger order, when every camera has had its turn;
- the **inspection worker** runs the `Inspector` (codes, models, policy) on those
  frames and sends the DIVERT before the controller's deadline — or, when the deadline
  has passed, sends nothing: the controller's default lane (manual review) takes the
  item, and the verdict says `late`;
- the **recorder** commits each verdict with its frames and its outbox row in one
  SQLite transaction (the store), then shows it (`StationState`) and tells the router
  the verdict id of the item (`Router.recorded`). The conveyor's outcome of an item
  (diverted, lost, too late) is a new revision of its verdict, written as soon as the
  item is both recorded and closed: by the recorder at once when the item closed first,
  otherwise when the router reports it (`routed`) through the same queue — so every
  database write happens on one thread, in order, and never before its verdict. An
  operator's revision (confirm, override, call for a supervisor) takes the same queue
  (`Pipeline.write`).

A trigger that finds the inspection queue full is not silently dropped: it is counted
and recorded as a manual-review verdict ("station overloaded"), and the item, which gets
no DIVERT, goes to the controller's default lane. The same happens to every item while the
data folder's disk is nearly full (`DiskGuard`): the station stops taking items, and each
one still gets a small record without images. An item whose record cannot be written at
all is named in `unrecorded` and in the log, never dropped without a word.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar, cast, get_args

from station.diskguard import DiskGuard
from station.state import ItemView, StationState
from station.store.images import FrameImage
from station.verdict import Disposition, Routing, Verdict
from sync.metrics import Histogram, HistogramSnapshot
from vision.camera import Camera, CameraState, Frame

logger = logging.getLogger(__name__)


ItemKey = tuple[int, int]  # (controller boot id, item id)
T = TypeVar("T")


# A belt item is pictured when it reaches the camera; the capture that gets to it this long after
# that moment (s) does not wait for its picture: the camera keeps its last 8 frames (a quarter of a
# second at 30 frames/s), so the frames of that moment are gone, and the next item may be in view.
PICTURE_LATE_S = 0.25
BEHIND = "station behind: the item passed the camera before its picture was taken, sent to the manual lane"


@dataclass(frozen=True)
class Trigger:
    """Something says an item is ready to be inspected."""

    source: str  # "conveyor", "scan", "key", "motion"
    t_trigger: float = field(default_factory=time.monotonic)
    item_id: int | None = None  # the controller's item id (conveyor mode)
    boot_id: int | None = None  # the controller boot the item id belongs to
    deadline: float | None = None  # monotonic time after which a DIVERT is too late
    scanned: tuple[str, ...] = ()  # lines from a hand scanner, parsed by the inspector

    @property
    def item_key(self) -> ItemKey | None:
        """The conveyor's (boot id, item id) of the item; None off the conveyor."""
        return None if self.item_id is None or self.boot_id is None else (self.boot_id, self.item_id)


@dataclass(frozen=True)
class Inspected:
    """What the inspector made of one item, before routing."""

    verdict: Verdict
    frames: tuple[FrameImage, ...]  # what the store writes to disk
    view: ItemView  # what the operator sees (its verdict replaced by the recorded one)
    t_trigger: float | None = None  # set by the pipeline: monotonic time of the trigger
    item_key: ItemKey | None = None  # set by the pipeline: the conveyor's (boot id, item id)


class Inspector(Protocol):
    """Turns a trigger and its frames into a verdict (codes, models, policy)."""

    def inspect(self, trigger: Trigger, frames: Mapping[str, Frame | None], seq: int) -> Inspected: ...

    def overloaded(self, trigger: Trigger, seq: int, reason: str | None = None) -> Inspected: ...


class Router(Protocol):
    """The conveyor, as far as the pipeline is concerned."""

    def route(self, trigger: Trigger, disposition: Disposition) -> Routing:
        """Send the DIVERT when still in time; say what was commanded (or that it was late)."""
        ...

    def recorded(self, key: ItemKey, verdict_id: str) -> Routing | None:
        """The item's verdict is committed; its outcome when the item's journey is already over."""
        ...


class Recorder(Protocol):
    """The store, as far as the pipeline is concerned (one writer thread)."""

    def record_verdict(self, verdict: Verdict, frames: Sequence[FrameImage] = ()) -> Verdict: ...

    def record_routing(self, verdict_id: str, routing: Routing) -> Verdict | None: ...

    def reclaim_space(self) -> None: ...


class _Shot:
    """One item's pictures: each camera's capture thread adds its own, on its own schedule."""

    def __init__(self, trigger: Trigger, cameras: int) -> None:
        self.trigger = trigger
        self.frames: dict[str, Frame | None] = {}
        # Cameras the item had passed before their turn came while they were live: the station fell behind.
        self.behind: list[str] = []
        self._lock = threading.Lock()
        self._left = cameras
        self.taken = threading.Event()
        if cameras == 0:
            self.taken.set()

    def add(self, camera: str, frame: Frame | None, behind: bool = False) -> None:
        """Camera `camera`'s picture of the item (None: none could be taken)."""
        with self._lock:
            self.frames[camera] = frame
            if behind:
                self.behind.append(camera)
            self._left -= 1
            if self._left == 0:
                self.taken.set()


@dataclass(frozen=True)
class _Write:
    """A write asked by another thread (an operator's revision), done on the recorder's thread in turn."""

    fn: Callable[[], object]
    result: Future[object]


@dataclass(frozen=True)
class _Routed:
    """The conveyor's outcome of an item whose verdict is recorded: the next revision's routing."""

    verdict_id: str
    routing: Routing


# "views": the camera pictures the inspected items were judged on (several per item with several cameras).
CounterName = Literal["triggers", "inspected", "views", "recorded", "overloaded", "routed", "record_errors",
                      "disk_full", "unrecorded"]

# Trigger -> verdict committed, in ms: fine steps over the usual 10-200 ms, coarse ones beyond for
# what the belt's deadline cannot wait for (a busy disk, a stall).
LATENCY_BUCKETS_MS = (5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 125, 150, 200, 250, 300, 400, 500, 750,
                      1000, 2000, 5000)


class PipelineCounters:
    """What the pipeline did since start. Its threads and the link's add to it at once,
    so every change and every read holds one lock; readers take a `snapshot()`."""

    def __init__(self, latencies_kept: int = 2000) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(get_args(CounterName), 0)
        self._dispositions: dict[str, int] = {}  # first decisions recorded since start
        self._latencies_ms: deque[float] = deque(maxlen=latencies_kept)  # trigger -> verdict committed
        # Every latency since start, counted once as it is recorded (the deque keeps only the latest).
        self._latency_histogram = Histogram(LATENCY_BUCKETS_MS)

    def increment(self, name: CounterName, by: int = 1) -> None:
        """Count `by` more `name`."""
        with self._lock:
            self._counts[name] += by

    def recorded(self, disposition: str, latency_ms: float | None) -> None:
        """One more verdict committed: its first decision and how long it took from its trigger."""
        with self._lock:
            self._counts["recorded"] += 1
            self._dispositions[disposition] = self._dispositions.get(disposition, 0) + 1
            if latency_ms is not None:
                self._latencies_ms.append(latency_ms)
                self._latency_histogram.observe(latency_ms)

    def snapshot(self) -> dict[str, int]:
        """Every count, all taken at the same moment."""
        with self._lock:
            return dict(self._counts)

    def dispositions(self) -> dict[str, int]:
        """Verdicts recorded since start, by first decision."""
        with self._lock:
            return dict(self._dispositions)

    def latencies_ms(self) -> list[float]:
        """Trigger-to-commit times of the latest verdicts, oldest first."""
        with self._lock:
            return list(self._latencies_ms)

    def latency_histogram(self) -> HistogramSnapshot:
        """Trigger-to-commit times of every verdict since start, in ms buckets."""
        return self._latency_histogram.snapshot()


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
        delays: Mapping[str, float] | None = None,
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
        # How long after the trigger each camera sees the item (its offset along the belt).
        self.delays = dict(delays or {})
        self.on_recorded = on_recorded
        self.disk = disk
        self._reclaimed = False  # the WAL was truncated since the disk last ran short
        self._triggers: queue.Queue[Trigger | None] = queue.Queue(maxsize=queue_size)
        # Items being pictured, in trigger order, and each camera's share of them.
        self._shots: queue.Queue[_Shot | None] = queue.Queue(maxsize=queue_size)
        self._camera_turns: dict[str, queue.Queue[_Shot | None]] = {name: queue.Queue()
                                                                     for name in self.cameras}
        self._captured: queue.Queue[tuple[Trigger, dict[str, Frame | None]] | None] = queue.Queue(queue_size)
        # Large enough never to fill while the recorder lives; bounded so a dead disk is seen.
        self._records: queue.Queue[Inspected | _Routed | _Write | None] = queue.Queue(1024)
        self._threads: dict[str, threading.Thread] = {}
        self._stopping = threading.Event()
        self._warned_far: set[str] = set()  # cameras said to see items only after their DIVERT deadline
        self._seq = 0
        self._seq_lock = threading.Lock()
        self.counters = PipelineCounters()
        # Items the conveyor reported whose verdict could not be written at all: (item id, verdict id).
        self.unrecorded: list[tuple[int | None, str]] = []

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the capture stage (one thread per camera), the inspection worker and the recorder."""
        stages: dict[str, Callable[[], None]] = {"capture": self._capture_loop, "frames": self._frames_loop}
        for name in self.cameras:
            stages[f"capture-{name}"] = functools.partial(self._camera_loop, name)
        stages.update(inspect=self._inspect_loop, record=self._record_loop)
        for name, target in stages.items():
            thread = threading.Thread(target=target, name=f"pipeline-{name}", daemon=True)
            thread.start()
            self._threads[name] = thread

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the items already triggered, commit them, and stop."""
        self._stopping.set()
        self._triggers.put(None)  # the capture thread passes the word on to the cameras' and the frames'
        for name in ("capture", *(f"capture-{camera}" for camera in self.cameras), "frames"):
            self._threads[name].join(timeout)
        self._captured.put(None)
        self._threads["inspect"].join(timeout)
        self._records.put(None)
        self._threads["record"].join(timeout)

    def queue_depths(self) -> dict[str, int]:
        """Items waiting before each stage ("capture": not yet pictured by every camera)."""
        return {"capture": self._triggers.qsize() + self._shots.qsize(), "inspect": self._captured.qsize(),
                "record": self._records.qsize()}

    def idle(self) -> bool:
        """True when no item is waiting to be pictured, inspected or recorded."""
        stages = (self._triggers, self._shots, self._captured, self._records)
        return all(q.unfinished_tasks == 0 for q in stages)

    # -- inputs -----------------------------------------------------------------------
    def submit(self, trigger: Trigger, wait: bool = False) -> bool:
        """Queue an item for capture and inspection; False (and a manual-review verdict) when full.

        `wait` blocks until there is room instead (bench mode and benchmarks: no belt to miss).
        """
        self.counters.increment("triggers")
        if self.disk is not None and self.disk.check().full:
            self.counters.increment("disk_full")
            self._not_inspected(trigger, "disk full: not inspected, sent to the manual lane")
            return False
        try:
            self._triggers.put(trigger, block=wait)
        except queue.Full:
            self._overloaded(trigger)
            return False
        return True

    def _overloaded(self, trigger: Trigger) -> None:
        self.counters.increment("overloaded")
        logger.warning("station overloaded: item %s goes to manual review", trigger.item_id)
        self._not_inspected(trigger, None)

    def _not_inspected(self, trigger: Trigger, reason: str | None) -> None:
        """Record the item as manual review without inspecting it; it gets no DIVERT."""
        inspected = self.inspector.overloaded(trigger, self._next_seq(), reason)
        self._records.put(self._for_record(inspected, trigger))

    def routed(self, verdict_id: str, routing: Routing) -> None:
        """The conveyor's last word on a recorded item (diverted, lost, flushed): a new revision."""
        # Called on the link's thread: never block it (heartbeats must go on).
        try:
            self._records.put_nowait(_Routed(verdict_id, routing))
        except queue.Full:
            self.counters.increment("record_errors")
            logger.error("recorder is not keeping up: routing of verdict %s not recorded", verdict_id)

    def write(self, fn: Callable[[], T]) -> T:
        """Run `fn` (a write to the record) on the recorder's thread, in turn with the verdicts and
        the conveyor's outcomes, and return what it returned (or raise what it raised).

        So an operator's revision and the conveyor's never race: each reads the revision the
        other wrote. Before the pipeline starts or after it stopped, `fn` runs here.
        """
        recorder = self._threads.get("record")
        if recorder is None or not recorder.is_alive() or recorder is threading.current_thread():
            return fn()  # not running, or asked by the recorder itself (which must not wait for itself)
        future: Future[object] = Future()
        self._records.put(_Write(fn, future))
        while True:
            try:
                return cast(T, future.result(timeout=1.0))
            except FutureTimeout:
                # The recorder stopped with this write still queued: nobody else will do it.
                if not recorder.is_alive() and future.cancel():
                    return fn()

    # -- the workers ------------------------------------------------------------------
    def _next_seq(self) -> int:
        with self._seq_lock:
            self._seq += 1
            return self._seq

    def _capture_loop(self) -> None:
        """Hand each item to every camera's capture thread, and to the frames thread that waits for them."""
        while True:
            trigger = self._triggers.get()
            try:
                if trigger is not None:
                    self._warn_past_deadline(trigger)
                shot = _Shot(trigger, len(self.cameras)) if trigger is not None else None
                # Blocks while `queue_size` items are being pictured: later triggers wait in theirs, and
                # one that finds it full too is recorded as overloaded (submit).
                self._shots.put(shot)
                for turns in self._camera_turns.values():
                    turns.put(shot)
                if shot is None:
                    return
            except Exception:
                logger.exception("capturing item %s failed", trigger.item_id if trigger else None)
            finally:
                self._triggers.task_done()

    def _warn_past_deadline(self, trigger: Trigger) -> None:
        """Say once per camera that it sees belt items only after their DIVERT deadline (too far down)."""
        if trigger.deadline is None:
            return
        budget = trigger.deadline - trigger.t_trigger
        for name in self.cameras:
            delay = self.delays.get(name, 0.0)
            if name not in self._warned_far and delay + self.frame_window_s > budget:
                self._warned_far.add(name)
                logger.warning("camera %s sees an item %.2f s after its trigger, when its DIVERT is "
                               "already too late (%.2f s): every item goes to the manual lane. Move the "
                               "camera up the belt ([cameras.%s] offset_m) or the divert point down it",
                               name, delay, budget, name)

    def _camera_loop(self, name: str) -> None:
        """Camera `name`'s pictures of the items, one after the other, each when the item is there."""
        camera, turns = self.cameras[name], self._camera_turns[name]
        while True:
            shot = turns.get()
            if shot is None:
                return
            frame: Frame | None = None
            behind = False
            try:
                if self._passed(shot.trigger, name):
                    # Not waited for: a wait that cannot succeed would put every later item behind too. With
                    # the camera down, the item's reason is the camera ("no picture from camera ..."), not
                    # the station being behind.
                    behind = camera.state is CameraState.LIVE
                else:
                    frame = self._grab(shot.trigger, name, camera)
            except Exception:
                logger.exception("camera %s: picturing item %s failed", name, shot.trigger.item_id)
            finally:
                shot.add(name, frame, behind)

    def _grab(self, trigger: Trigger, name: str, camera: Camera) -> Frame | None:
        if self._stopping.is_set() and trigger.deadline is not None and time.monotonic() > trigger.deadline:
            # A belt item queued past its deadline at a stop went to the manual lane, and the conveyor is
            # stopped: its frame is there now or never. Waiting seconds for each would hold a service stop.
            return camera.wait_frame(trigger.t_trigger, 0.0, tag=trigger.item_id)
        after = trigger.t_trigger + self.delays.get(name, 0.0)
        if self.frame_window_s > 0:
            return camera.best_frame(after, self.frame_window_s, tag=trigger.item_id)
        return camera.wait_frame(after, self.frame_timeout_s, tag=trigger.item_id)

    def _passed(self, trigger: Trigger, camera: str) -> bool:
        """A belt item whose moment under `camera` ended PICTURE_LATE_S before the camera's capture got
        to it (the station fell behind: a camera outage, a burst of items after a link outage): its
        picture can no longer be taken, and the camera's newest frame shows another moment."""
        if trigger.deadline is None or self._stopping.is_set():  # a bench item waits; a stop has its own rule
            return False
        now = time.monotonic()
        if now > trigger.deadline:  # an event replayed after an outage: the item is past the gate already
            return True
        return now > trigger.t_trigger + self.delays.get(camera, 0.0) + self.frame_window_s + PICTURE_LATE_S

    def _frames_loop(self) -> None:
        """Each item, in trigger order, once every camera has had its turn: to inspection."""
        while True:
            shot = self._shots.get()
            try:
                if shot is None:
                    return
                shot.taken.wait()
                trigger = shot.trigger
                if shot.behind:
                    self.counters.increment("overloaded")
                    logger.warning("station behind: item %s had passed camera %s before its picture was "
                                   "taken; it goes to manual review", trigger.item_id, ", ".join(shot.behind))
                    self._not_inspected(trigger, BEHIND)
                    continue
                frames = {name: shot.frames.get(name) for name in self.cameras}
                try:
                    # Items on a belt cannot wait; a bench item (no deadline) can.
                    self._captured.put((trigger, frames), block=trigger.deadline is None)
                except queue.Full:
                    self._overloaded(trigger)
            except Exception:
                logger.exception("capturing item %s failed", shot.trigger.item_id if shot else None)
            finally:
                self._shots.task_done()

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
        self.counters.increment("inspected")
        self.counters.increment("views", len(captured))
        self._records.put(self._for_record(dataclasses.replace(inspected, verdict=verdict), trigger))

    def _route(self, trigger: Trigger, disposition: Disposition) -> Routing:
        if trigger.item_id is None or self.router is None:
            return Routing()
        return self.router.route(trigger, disposition)

    @staticmethod
    def _for_record(inspected: Inspected, trigger: Trigger) -> Inspected:
        """What the recorder needs of the trigger: its time (latency) and the conveyor's item."""
        return dataclasses.replace(inspected, t_trigger=trigger.t_trigger, item_key=trigger.item_key)

    def _record_loop(self) -> None:
        while True:
            entry = self._records.get()
            try:
                if entry is None:
                    return
                if isinstance(entry, _Write):
                    if entry.result.set_running_or_notify_cancel():
                        try:
                            entry.result.set_result(entry.fn())
                        except BaseException as exc:  # the caller raises it, on its own thread
                            entry.result.set_exception(exc)
                elif isinstance(entry, _Routed):
                    self._write_routing(entry.verdict_id, entry.routing)
                else:
                    self._record(entry)
            except Exception:
                self.counters.increment("record_errors")
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
        latency_ms = (t_done - inspected.t_trigger) * 1000 if inspected.t_trigger is not None else None
        self.counters.recorded(verdict.decision.disposition.value, latency_ms)
        self.state.add_item(dataclasses.replace(inspected.view, verdict=verdict))
        if self.on_recorded is not None:
            self.on_recorded(verdict)
        if inspected.item_key is not None and self.router is not None:
            outcome = self.router.recorded(inspected.item_key, verdict.verdict_id)
            if outcome is not None:  # the item's journey ended before its verdict was written
                self._write_routing(verdict.verdict_id, outcome)

    def _unrecorded(self, verdict: Verdict, exc: Exception) -> None:
        """The verdict could not be written: stop taking items and name the item, once, plainly."""
        if self.disk is not None:
            self.disk.out_of_space()
        self.counters.increment("unrecorded")
        self.unrecorded.append((verdict.item.controller_item_id, verdict.verdict_id))
        logger.error("ALARM item %s (verdict %s, %s) has NO record: %s. It went to the %s; find it there.",
                     verdict.item.controller_item_id, verdict.verdict_id, verdict.decision.disposition.value,
                     exc, "manual lane" if verdict.routing.lane_commanded is None else
                     f"lane {verdict.routing.lane_commanded}")

    def _write_routing(self, verdict_id: str, routing: Routing) -> None:
        self.counters.increment("routed")
        try:
            updated = self.recorder.record_routing(verdict_id, routing)
        except (OSError, sqlite3.OperationalError) as exc:
            # The item has its record; only the conveyor's confirmation of it is missing.
            self.counters.increment("record_errors")
            if self.disk is not None:
                self.disk.out_of_space()
            logger.error("verdict %s: the conveyor's outcome (%s) could not be recorded: %s",
                         verdict_id, routing, exc)
            return
        if updated is not None:
            self.state.update_item(updated)
