"""The conveyor's outcome of an item reaches its verdict once, whichever comes first: the
verdict's commit or the item's closing. Real pipeline, store and bridge; the link is a
recorder of DIVERTs and the inspector a stub that decides restock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from hardware import events as ev
from hardware.item_tracker import ItemState, LaneMap
from hardware.link import LinkHealth
from station.conveyor_bridge import ConveyorBridge
from station.pipeline import Inspected, Pipeline, Trigger
from station.state import Health, ItemView, Level, StationState
from station.store import Store
from station.store.images import FrameImage
from station.verdict import Routing, Verdict
from vision.camera import Frame

LANES = LaneMap({"manual": 0, "restock": 1, "repair": 2, "recycle": 3, "quarantine": 4})
BOOT = 7


class _Link:
    """Takes the bridge's DIVERTs."""

    def __init__(self) -> None:
        self.diverts: list[tuple[int, int, int]] = []

    def divert(self, item_id: int, lane: int, boot_id: int) -> None:
        self.diverts.append((boot_id, item_id, lane))


class _Inspector:
    def __init__(self, make_verdict: Callable[..., Verdict]) -> None:
        self.make_verdict = make_verdict

    def inspect(self, trigger: Trigger, frames: Mapping[str, Frame | None], seq: int) -> Inspected:
        verdict = self.make_verdict(seq)
        return Inspected(verdict, (), ItemView(verdict.to_json(), None))

    def overloaded(self, trigger: Trigger, seq: int, reason: str | None = None) -> Inspected:
        return self.inspect(trigger, {}, seq)


class _GatedStore:
    """The store, whose verdict commits wait until the test opens the gate (or fail)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.gate = threading.Event()
        self.waiting = threading.Event()
        self.fail = False

    def record_verdict(self, verdict: Verdict, frames: Sequence[FrameImage] = ()) -> Verdict:
        self.waiting.set()
        self.gate.wait(30)
        if self.fail:
            raise OSError(28, "No space left on device")
        return self.store.record_verdict(verdict, frames)

    def record_routing(self, verdict_id: str, routing: Routing) -> Verdict | None:
        return self.store.record_routing(verdict_id, routing)

    def reclaim_space(self) -> None:
        self.store.reclaim_space()


class _Line:
    def __init__(self, store: _GatedStore, make_verdict: Callable[..., Verdict]) -> None:
        self.store = store
        self.link = _Link()
        self.recorded: list[Verdict] = []
        self.pipeline = Pipeline(_Inspector(make_verdict), store, StationState(), {}, frame_window_s=0.0,
                                 on_recorded=self.recorded.append)
        self.bridge = ConveyorBridge(LANES, on_trigger=self.pipeline.submit, on_routed=self.pipeline.routed,
                                     on_health=lambda _h: None)
        self.bridge.link = self.link  # type: ignore[assignment]
        self.pipeline.router = self.bridge

    def item_at_camera(self, item_id: int) -> None:
        self.bridge.on_event(ev.ItemAtCamera(BOOT, item_id, time.monotonic() + 30, 30_000))

    def settle(self) -> None:
        _wait(self.pipeline.idle, "the pipeline to write everything queued")

    def routings(self) -> list[Routing]:
        """The routing block of each revision of the one recorded verdict."""
        (verdict,) = self.recorded
        return [v.routing for v in self.store.store.history(verdict.verdict_id)]


@pytest.fixture
def line(store: Store, make_verdict: Callable[..., Verdict]) -> Iterator[_Line]:
    built = _Line(_GatedStore(store), make_verdict)
    built.bridge.on_event(ev.LinkUp(BOOT, True, "/dev/pty", 5, 0, 15))
    built.pipeline.start()
    yield built
    built.store.gate.set()
    built.pipeline.stop()


def _wait(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < end, f"waited 30 s for {what}"
        time.sleep(0.01)


def test_an_outcome_after_its_verdict_is_the_next_revision(line: _Line) -> None:
    line.store.gate.set()
    line.item_at_camera(1)
    line.settle()
    assert line.link.diverts == [(BOOT, 1, 1)]
    assert line.bridge.tracker.state_of(BOOT, 1) is ItemState.RECORDED

    line.bridge.on_event(ev.Diverted(BOOT, 1, 1, True))
    line.settle()

    assert line.routings() == [Routing(lane_commanded=1), Routing(1, 1, False, False)]
    assert line.bridge.tracker.state_of(BOOT, 1) is None
    counts = line.bridge.counters
    assert (counts.at_camera, counts.diverts_sent, counts.confirmed, counts.misrouted) == (1, 1, 1, 0)


def test_an_outcome_before_its_verdict_is_written_right_after_the_verdict(line: _Line) -> None:
    line.item_at_camera(1)
    assert line.store.waiting.wait(30)  # routed and on its way to the store, not committed yet
    line.bridge.on_event(ev.Diverted(BOOT, 1, 1, True))
    assert line.bridge.tracker.state_of(BOOT, 1) is ItemState.CLOSED

    line.store.gate.set()
    line.settle()

    assert line.routings() == [Routing(lane_commanded=1), Routing(1, 1, False, False)]
    assert line.pipeline.counters.snapshot()["routed"] == 1
    assert line.bridge.tracker.state_of(BOOT, 1) is None


def test_an_item_whose_verdict_cannot_be_written_gets_no_outcome_and_is_dropped(line: _Line) -> None:
    line.store.fail = True
    line.store.gate.set()
    line.item_at_camera(1)
    line.settle()
    assert [item for item, _verdict in line.pipeline.unrecorded] == [1]

    line.bridge.on_event(ev.Diverted(BOOT, 1, 1, True))
    line.settle()

    assert line.pipeline.counters.snapshot()["routed"] == 0
    assert line.bridge.tracker.state_of(BOOT, 1) is ItemState.CLOSED
    tracker = line.bridge.tracker
    assert tracker.expire(time.monotonic() + tracker.verdict_timeout_s + 1) == []
    assert tracker.state_of(BOOT, 1) is None


class _ConnectedLink(_Link):
    def health(self) -> LinkHealth:
        return LinkHealth(connected=True, port="/dev/ttyUSB0", boot_id=7, last_frame_age_s=0.1, crc_errors=0,
                          frame_errors=0, retransmits=0, duplicates=0, reconnects=0, sessions=1,
                          commands_sent=0, commands_rejected=0, rtt_ms_p50=None, rtt_ms_p99=None)


def test_a_controller_whose_default_lane_is_not_the_manual_lane_turns_the_conveyor_red() -> None:
    """Items the station sends no DIVERT for (decided late, not inspected) go to the controller's
    default lane: when that is not [hardware.lanes] manual they would go there unchecked."""
    seen: list[Health] = []
    bridge = ConveyorBridge(LANES, on_trigger=lambda _t: True, on_routed=lambda _v, _r: None,
                            on_health=seen.append)
    bridge.attach(_ConnectedLink())  # type: ignore[arg-type]
    bridge.on_event(ev.LinkUp(boot_id=7, new_boot=True, port="/dev/ttyUSB0", lane_count=5, default_lane=1,
                              capabilities=0))
    assert seen[-1].level is Level.ERROR
    assert seen[-1].summary == "conveyor's default lane is not the manual lane"
    assert "go to lane 1, unchecked" in seen[-1].detail and "to the manual lane (0)" in seen[-1].detail
    assert bridge.health().level is Level.ERROR  # and it stays red in the monitor's status
    bridge.on_event(ev.LinkUp(boot_id=8, new_boot=True, port="/dev/ttyUSB0", lane_count=5, default_lane=0,
                              capabilities=0))
    assert seen[-1].level is Level.OK and bridge.health().level is Level.OK
