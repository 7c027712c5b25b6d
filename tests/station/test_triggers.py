"""The bench's motion trigger: one inspection per item placed, none when it is taken away."""

from __future__ import annotations

import time

import numpy as np

from station.triggers import MotionTrigger
from vision.camera import Camera, SyntheticSource


def scene(tag: int | None) -> np.ndarray:
    image = np.full((360, 640, 3), 70, np.uint8)
    if tag is not None:
        image[100:260, 200 + 20 * (tag % 3) : 420 + 20 * (tag % 3)] = (30, 160, 230)
    return image


def test_one_trigger_per_placed_item_and_none_on_removal() -> None:
    source = SyntheticSource(scene, fps=60)
    camera = Camera(source)
    fired: list[float] = []
    trigger = MotionTrigger(camera, lambda: fired.append(time.monotonic()), settle_s=0.2, period_s=0.02)
    camera.start()
    trigger.start()
    try:
        time.sleep(0.4)
        assert fired == []  # an empty bench never fires
        source.present(1)  # an item is put down
        time.sleep(0.8)
        assert len(fired) == 1
        time.sleep(0.5)
        assert len(fired) == 1  # a still item does not fire again
        source.present(None)  # taken away
        time.sleep(0.8)
        assert len(fired) == 1
        source.present(2)  # the next item
        time.sleep(0.8)
        assert len(fired) == 2
    finally:
        trigger.stop()
        camera.stop()
