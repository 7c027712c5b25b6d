"""Bench triggers: motion in the region of interest, then stillness, means "inspect now".

An operator puts an item on the bench: the picture changes, then settles. The trigger
fires once when it has been still for `settle_s` and differs both from the last settled
scene and from the empty bench (the first settled scene): taking the item away does not
fire, nor does one item fire twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from vision.camera import Camera

logger = logging.getLogger(__name__)


def _small_grey(image: np.ndarray, roi: tuple[int, int, int, int] | None) -> np.ndarray:
    if roi is not None:
        x, y, w, h = roi
        image = image[y : y + h, x : x + w]
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (160, 90), interpolation=cv2.INTER_AREA).astype(np.int16)


class MotionTrigger:
    """Watches a camera and calls `on_trigger()` once per placed-and-settled item."""

    def __init__(
        self,
        camera: Camera,
        on_trigger: Callable[[], None],
        roi: tuple[int, int, int, int] | None = None,
        threshold: float = 6.0,
        settle_s: float = 0.4,
        period_s: float = 0.05,
    ) -> None:
        self.camera = camera
        self.on_trigger = on_trigger
        self.roi = roi
        self.threshold = threshold
        self.settle_s = settle_s
        self.period_s = period_s
        self.fired = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching."""
        self._thread = threading.Thread(target=self._run, name="motion-trigger", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        previous: np.ndarray | None = None
        settled_scene: np.ndarray | None = None
        empty_scene: np.ndarray | None = None
        moving = False
        still_since = time.monotonic()
        armed = False
        while not self._stop.wait(self.period_s):
            frame = self.camera.latest()
            if frame is None:
                continue
            current = _small_grey(frame.image, self.roi)
            if previous is None:
                previous = settled_scene = empty_scene = current
                continue
            change = float(np.abs(current - previous).mean())
            previous = current
            now = time.monotonic()
            if change > self.threshold:
                moving, still_since = True, now
                continue
            if moving and now - still_since >= self.settle_s:
                moving = False
                # Fire only when the settled scene differs from the last one (something was placed).
                assert settled_scene is not None and empty_scene is not None
                new = float(np.abs(current - settled_scene).mean()) > self.threshold
                empty = float(np.abs(current - empty_scene).mean()) <= self.threshold
                armed = new and not empty
                settled_scene = current
            if armed:
                armed = False
                self.fired += 1
                logger.info("motion trigger: item settled in view")
                self.on_trigger()
