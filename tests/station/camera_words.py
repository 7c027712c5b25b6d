"""A camera's first DOWN report from a real capture thread, and its status line in French and English."""

from __future__ import annotations

import time

from station.devices import camera_health
from station.state import Health
from vision.camera import Camera, CameraHealth, CameraState
from vision.camera.sources import FrameSource


def first_down(source: FrameSource) -> CameraHealth:
    """The first DOWN report of a real capture thread on `source` (retrying every 0.2 s)."""
    seen: list[CameraHealth] = []
    camera = Camera(source, backoff_s=0.2, on_health=seen.append)
    camera.start()
    try:
        give_up = time.monotonic() + 10
        while not any(h.state is CameraState.DOWN for h in seen) and time.monotonic() < give_up:
            time.sleep(0.01)
    finally:
        camera.stop()
    return next(h for h in seen if h.state is CameraState.DOWN)


def lines(health: CameraHealth) -> tuple[Health, Health]:
    """The status line in French and in English."""
    french, english = camera_health(health, "fr"), camera_health(health, "en")
    assert french is not None and english is not None
    return french, english
