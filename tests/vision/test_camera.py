"""The capture thread: newest frame, a frozen or unplugged camera reopened and reported,
the sharpest frame chosen, and the file-based sources on real files."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.camera import (
    Camera,
    CameraHealth,
    CameraState,
    FolderSource,
    SourceError,
    SyntheticSource,
    VideoFileSource,
    open_source,
    sharpness,
)


def checkerboard(tag: int | None, blur: int = 0) -> np.ndarray:
    image = np.zeros((120, 160, 3), np.uint8)
    image[::2, ::2] = 255 if tag is not None else 40
    image[1::2, 1::2] = 255 if tag is not None else 40
    if blur:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    return image


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_synthetic_frames_follow_the_presented_item() -> None:
    source = SyntheticSource(checkerboard, fps=100)
    camera = Camera(source, frozen_after_s=1.0)
    camera.start()
    try:
        t0 = time.monotonic()
        source.present(7)
        frame = camera.wait_frame(t0, timeout=2.0, tag=7)
        assert frame is not None and frame.tag == 7 and frame.t_capture >= t0
        assert camera.state is CameraState.LIVE
    finally:
        camera.stop()
    assert camera.state is CameraState.STOPPED


def test_a_real_cameras_frames_are_matched_to_an_item_by_time_alone(tmp_path: Path) -> None:
    """A camera that cannot know which item it shows (every real one) serves an item's trigger with
    the first frame after it; only the demo's synthetic frames must carry the item's tag."""
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), checkerboard(i))
    camera = Camera(FolderSource(tmp_path, fps=50), frozen_after_s=1.0)
    camera.start()
    try:
        t0 = time.monotonic()
        frame = camera.wait_frame(t0, timeout=2.0, tag=7)
        assert frame is not None and frame.tag is None and frame.t_capture >= t0
        assert camera.best_frame(time.monotonic(), 0.05, tag=8) is not None
    finally:
        camera.stop()


def test_unplugged_camera_is_reported_and_reopened_with_backoff() -> None:
    reports: list[CameraHealth] = []
    source = SyntheticSource(checkerboard, fps=200)
    source.fail_after = 5
    camera = Camera(source, frozen_after_s=1.0, backoff_s=0.05, backoff_max_s=0.2, on_health=reports.append)
    camera.start()
    try:
        assert wait_until(lambda: any(r.state is CameraState.DOWN for r in reports))
        down = next(r for r in reports if r.state is CameraState.DOWN)
        assert "unplugged" in down.detail and "reopening" in down.detail
        assert camera.latest() is None or camera.state is CameraState.LIVE
        # replugged: the next open works again (fail_after counts per open)
        assert wait_until(lambda: camera.health().reopens >= 2)
        source.fail_after = None
        assert wait_until(lambda: camera.state is CameraState.LIVE)
    finally:
        camera.stop()


def test_frozen_camera_is_detected_and_gives_no_fresh_frame() -> None:
    reports: list[CameraHealth] = []
    source = SyntheticSource(checkerboard, fps=200)
    camera = Camera(source, frozen_after_s=0.2, backoff_s=0.05, on_health=reports.append)
    camera.start()
    try:
        assert wait_until(lambda: camera.state is CameraState.LIVE)
        source.freeze = True
        assert wait_until(lambda: any(r.state is CameraState.FROZEN for r in reports))
        frozen = next(r for r in reports if r.state is CameraState.FROZEN).detail
        # says what to check, not only that the frames stopped
        assert "frozen" in frozen and "check its power" in frozen and "frozen_after_s" in frozen
        assert camera.wait_frame(time.monotonic(), timeout=0.3) is None
        source.freeze = False
        assert wait_until(lambda: camera.state is CameraState.LIVE)
    finally:
        camera.stop()


class SequenceSource:
    """Frames from a list, one every `period` seconds, then the last one again."""

    name = "seq"

    def __init__(self, images: list[np.ndarray], period: float) -> None:
        self.images = images
        self.period = period
        self.index = 0

    def open(self) -> None:
        pass

    def read(self) -> tuple[np.ndarray, int | None] | None:
        time.sleep(self.period)
        image = self.images[min(self.index, len(self.images) - 1)]
        self.index += 1
        return image, None

    def close(self) -> None:
        pass


def test_best_frame_is_the_sharpest_in_the_window() -> None:
    blurred, sharp = checkerboard(1, 3), checkerboard(1, 0)
    source = SequenceSource([blurred] * 3 + [sharp] + [blurred] * 100, period=0.02)
    camera = Camera(source)
    camera.start()
    try:
        best = camera.best_frame(time.monotonic(), window_s=0.15)
        assert best is not None
        assert sharpness(best.image) == pytest.approx(sharpness(sharp))
        assert sharpness(sharp) > 2 * sharpness(blurred)
    finally:
        camera.stop()


def test_a_late_call_takes_the_frame_of_its_moment_not_a_sharper_later_one() -> None:
    """Asked after its window ended (the station behind), the camera still picks among the frames of
    the window, or the first after the moment: a sharp frame of a later moment shows the next item."""
    blurred, sharp = checkerboard(1, 3), checkerboard(1, 0)
    source = SequenceSource([blurred] * 200, period=0.02)
    camera = Camera(source)
    camera.start()
    try:
        assert camera.wait_frame(time.monotonic(), timeout=5.0) is not None
        moment = time.monotonic()
        time.sleep(0.15)  # the item's window is over when the station asks
        source.images[source.index + 1:] = [sharp] * (len(source.images) - source.index - 1)  # the next item
        time.sleep(0.06)
        best = camera.best_frame(moment, window_s=0.03)
        assert best is not None and best.t_capture >= moment
        assert sharpness(best.image) == pytest.approx(sharpness(blurred))
    finally:
        camera.stop()


def test_folder_source_reads_real_files_and_skips_broken_ones(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), checkerboard(1))
    (tmp_path / "b.jpg").write_bytes(b"not a jpeg")
    cv2.imwrite(str(tmp_path / "c.png"), checkerboard(None))
    source = FolderSource(tmp_path, fps=0, loop=False)
    source.open()
    first = source.read()
    second = source.read()
    assert first is not None and second is not None
    assert first[0].shape == (120, 160, 3)
    assert source.read() is None  # end of folder, no loop


def test_folder_source_refuses_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="holds no images"):
        FolderSource(tmp_path).open()


def test_video_file_source_decodes_and_loops(tmp_path: Path) -> None:
    path = tmp_path / "belt.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 120))
    for i in range(3):
        writer.write(checkerboard(i))
    writer.release()
    source = VideoFileSource(path, loop=True, realtime=False)
    source.open()
    frames = [source.read() for _ in range(5)]
    assert all(f is not None and f[0].shape == (120, 160, 3) for f in frames)
    source.close()


def test_missing_device_names_the_setting() -> None:
    with pytest.raises(SourceError, match=r"\[camera\].device"):
        open_source("video", "/nonexistent/belt.mp4", 640, 480, 30).open()
    with pytest.raises(SourceError, match="unknown camera source"):
        open_source("laser", "0", 640, 480, 30)


def test_a_video_device_that_does_not_open_says_whether_it_is_there(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no video device '/dev/video97' on this PC: unplugged, or it has "
                                          "another number"):
        open_source("device", "97", 640, 480, 30).open()
    with pytest.raises(SourceError, match=r"no video device '/dev/v4l/by-id/usb-belt-cam' on this PC"):
        open_source("device", "/dev/v4l/by-id/usb-belt-cam", 640, 480, 30).open()
    not_a_camera = tmp_path / "video0"
    not_a_camera.write_bytes(b"")
    with pytest.raises(SourceError, match="another program may hold it, or it is no camera"):
        open_source("device", str(not_a_camera), 640, 480, 30).open()
