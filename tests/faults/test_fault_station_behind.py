"""A belt item the capture gets to after it has passed the camera (the station fell behind: a camera
outage, a burst of items after a link outage) is sent to manual review at once, saying so, instead of
waiting seconds for a picture that cannot come: a wait per item would put every later item behind
too, and the camera's newest frame would show another moment."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from station.pipeline import BEHIND, PICTURE_LATE_S, Inspected, Pipeline, Trigger
from station.state import ItemView, StationState
from station.store import Store
from tests.station.conftest import CountingCamera, EmptyBelt, build_verdict
from vision.camera import CameraState, Frame, SourceError


class _Inspector:
    def __init__(self) -> None:
        self.make_verdict = build_verdict
        self.inspected: list[int | None] = []
        self.frames: list[Mapping[str, Frame | None]] = []
        self.not_inspected: list[tuple[int | None, str | None]] = []

    def inspect(self, trigger: Trigger, frames: Mapping[str, Frame | None], seq: int) -> Inspected:
        self.inspected.append(trigger.item_id)
        self.frames.append(frames)
        verdict = self.make_verdict(seq)
        return Inspected(verdict, (), ItemView(verdict, None))

    def overloaded(self, trigger: Trigger, seq: int, reason: str | None = None) -> Inspected:
        self.not_inspected.append((trigger.item_id, reason))
        verdict = self.make_verdict(seq)
        return Inspected(verdict, (), ItemView(verdict, None))


@dataclass
class _Line:
    """A running pipeline over a real store and real capture threads, its inspector noting each item."""

    pipeline: Pipeline
    store: Store
    inspector: _Inspector

    def finish(self, count: int) -> int:
        """Until `count` items are in the record (30 s at most; the assertions say what was missing), then
        stop the pipeline; the items recorded in the end."""
        give_up = time.monotonic() + 30.0
        while self.store.count_items() < count and time.monotonic() < give_up:
            time.sleep(0.05)
        self.pipeline.stop()
        return self.store.count_items()


@contextmanager
def _line(tmp_path: Path, cameras: Mapping[str, CountingCamera],
          delays: Mapping[str, float] | None = None) -> Iterator[_Line]:
    """`cameras` and a pipeline over them started; cameras stopped and the store closed after."""
    store = Store(tmp_path / "station.db", tmp_path / "images", 90)
    inspector = _Inspector()
    line = _Line(Pipeline(inspector, store, StationState(), cameras, delays=delays), store, inspector)
    for camera in cameras.values():
        camera.start()
    line.pipeline.start()
    try:
        yield line
    finally:
        for camera in cameras.values():
            camera.stop()
        store.close()


def _live(*cameras: CountingCamera) -> None:
    """Until every camera has delivered its first frame (10 s at most)."""
    give_up = time.monotonic() + 10.0
    while any(c.state is CameraState.STARTING for c in cameras) and time.monotonic() < give_up:
        time.sleep(0.01)


def test_a_belt_item_that_passed_the_camera_is_not_waited_for_and_the_next_one_is_inspected(
    tmp_path: Path,
) -> None:
    camera = CountingCamera(EmptyBelt(), frozen_after_s=3.0)
    with _line(tmp_path, {"top": camera}) as line:
        _live(camera)
        now = time.monotonic()
        # Reached the camera 2 s ago, its DIVERT still in time: queued behind a stalled capture.
        passed = Trigger("conveyor", t_trigger=now - 2.0, item_id=1, boot_id=7, deadline=now + 5.0)
        # Told late (replayed after a link outage): already past the gate when it comes in.
        replayed = Trigger("conveyor", t_trigger=now, item_id=3, boot_id=7, deadline=now - 0.5)
        on_time = Trigger("conveyor", t_trigger=now, item_id=2, boot_id=7, deadline=now + 5.0)
        # A bench item stands still: however late, its picture can still be taken.
        bench = Trigger("key", t_trigger=now - 10 * PICTURE_LATE_S)
        for trigger in (passed, replayed, on_time, bench):
            assert line.pipeline.submit(trigger)
        recorded = line.finish(4)
    inspector, pipeline = line.inspector, line.pipeline
    assert inspector.not_inspected == [(1, BEHIND), (3, BEHIND)]
    assert inspector.inspected == [2, None]
    assert [tag for tag, _ in camera.waits] == [2, None]  # the passed items never asked the camera
    assert pipeline.counters.snapshot()["overloaded"] == 2
    assert recorded == 4


class _Unplugged:
    name = "top"

    def open(self) -> None:
        raise SourceError("no such device")

    def read(self) -> tuple[np.ndarray, int | None] | None:
        return None

    def close(self) -> None:
        pass


def test_with_a_camera_down_a_passed_item_says_it_was_the_camera(tmp_path: Path) -> None:
    """Items that queued behind a camera that went down are the camera's doing: their verdicts say
    "no picture from camera ...", as the camera's outage has it, not that the station was behind."""
    camera = CountingCamera(_Unplugged(), frozen_after_s=3.0)
    with _line(tmp_path, {"top": camera}) as line:
        now = time.monotonic()
        late = Trigger("conveyor", t_trigger=now - 2.0, item_id=1, boot_id=7, deadline=now + 5)
        assert line.pipeline.submit(late)
        line.finish(1)
    inspector, pipeline = line.inspector, line.pipeline
    assert inspector.not_inspected == [] and inspector.inspected == [1]
    assert inspector.frames == [{"top": None}] and camera.waits == []
    assert pipeline.counters.snapshot()["overloaded"] == 0


class _EmptyBeltLeft(EmptyBelt):
    name = "left"


def test_a_camera_farther_down_the_belt_than_the_gap_between_items_pictures_every_item(
    tmp_path: Path,
) -> None:
    """Each camera takes its picture when the item reaches it: while the left camera, 0.6 s down the
    belt, waits for item 1, the top camera already pictures items 2, 3 and 4 (0.2 s apart). Taken one
    camera after the other, every item after the first went to manual review as "station behind"."""
    top, left = (CountingCamera(source, frozen_after_s=3.0) for source in (EmptyBelt(), _EmptyBeltLeft()))
    triggers = []
    with _line(tmp_path, {"top": top, "left": left}, delays={"left": 0.6}) as line:
        _live(top, left)
        for item in range(1, 7):
            now = time.monotonic()
            triggers.append(Trigger("conveyor", t_trigger=now, item_id=item, boot_id=7, deadline=now + 5.0))
            assert line.pipeline.submit(triggers[-1])
            time.sleep(0.2)
        line.finish(6)
    inspector, pipeline = line.inspector, line.pipeline
    assert inspector.not_inspected == []
    assert inspector.inspected == [1, 2, 3, 4, 5, 6]
    for trigger, frames in zip(triggers, inspector.frames, strict=True):
        top_frame, left_frame = frames["top"], frames["left"]
        assert top_frame is not None and left_frame is not None, trigger.item_id
        # Each the camera's frame of the moment the item was under it, not of the moment it was asked.
        assert trigger.t_trigger <= top_frame.t_capture < trigger.t_trigger + 0.6
        assert left_frame.t_capture >= trigger.t_trigger + 0.6
    assert pipeline.counters.snapshot()["overloaded"] == 0


def test_a_camera_that_sees_items_after_their_divert_deadline_is_named_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A camera placed past where the DIVERT is still in time makes every item late: the log says which
    camera and what to move, once, instead of a late item after another with no cause given."""
    top, left = (CountingCamera(source, frozen_after_s=3.0) for source in (EmptyBelt(), _EmptyBeltLeft()))
    with _line(tmp_path, {"top": top, "left": left}, delays={"left": 0.8}) as line:
        for item in (1, 2):
            now = time.monotonic()
            trigger = Trigger("conveyor", t_trigger=now, item_id=item, boot_id=7, deadline=now + 0.5)
            assert line.pipeline.submit(trigger)
        line.finish(2)
    named = [r.getMessage() for r in caplog.records if "DIVERT is already too late" in r.getMessage()]
    assert len(named) == 1
    assert named[0].startswith("camera left sees an item 0.80 s after its trigger") and "offset_m" in named[0]
