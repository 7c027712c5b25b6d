"""A stop with belt items queued past their deadline commits them without waiting for frames that
cannot come (the conveyor is stopped), so a service stop is not held seconds per item."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import pytest

from station.pipeline import Inspected, Pipeline, Trigger
from station.state import ItemView, StationState
from station.store import Store
from station.verdict import Verdict
from tests.station.conftest import CountingCamera, EmptyBelt
from vision.camera import Frame

pytestmark = pytest.mark.slow

FROZEN_S = 3.0  # how long the capture waits for an item's own frame before it gives up


class _Inspector:
    def __init__(self, make_verdict: Callable[..., Verdict]) -> None:
        self.make_verdict = make_verdict
        self.frames: list[Mapping[str, Frame | None]] = []

    def inspect(self, trigger: Trigger, frames: Mapping[str, Frame | None], seq: int) -> Inspected:
        self.frames.append(frames)
        verdict = self.make_verdict(seq)
        return Inspected(verdict, (), ItemView(verdict, None))

    def overloaded(self, trigger: Trigger, seq: int, reason: str | None = None) -> Inspected:
        return self.inspect(trigger, {}, seq)


def test_stop_commits_late_belt_items_without_waiting_for_their_frames(
    store: Store, make_verdict: Callable[..., Verdict]
) -> None:
    camera = CountingCamera(EmptyBelt(), frozen_after_s=FROZEN_S)
    inspector = _Inspector(make_verdict)
    pipeline = Pipeline(inspector, store, StationState(), {"top": camera})
    camera.start()
    pipeline.start()
    try:
        for item_id in range(1, 5):  # a backlog: the line was overloaded when the stop came
            late = time.monotonic() - 1.0
            assert pipeline.submit(Trigger("conveyor", item_id=item_id, boot_id=7, deadline=late))
        pipeline.stop()
    finally:
        camera.stop()
    assert store.count_items() == 4  # every item in hand committed (as manual review, no frame)
    assert all(frame is None for frames in inspector.frames for frame in frames.values())
    # Every item asked the camera once; at most the one already waiting when the stop came waited
    # its full time, the others only took what was there (four full waits would hold the stop 12 s).
    assert sorted(tag for tag, _ in camera.waits) == [1, 2, 3, 4]
    assert sum(timeout > 0 for _, timeout in camera.waits) <= 1
