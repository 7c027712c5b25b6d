"""Where frames come from: OpenCV devices, video files, image folders, a synthetic feed.

A source is opened, read from and closed by exactly one thread (the `Camera` capture
thread); `read()` returns None when no frame is available right now and raises
`SourceError` when the source is gone (unplugged, file unreadable).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from vision.camera.aravis import AravisSource
from vision.camera.errors import SourceError as SourceError  # noqa: PLC0414 - re-exported, as before
from vision.camera.stream import StreamSource

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class FrameSource(Protocol):
    """A camera-like thing the capture thread reads from."""

    name: str

    def open(self) -> None: ...

    def read(self) -> tuple[np.ndarray, int | None] | None: ...

    def close(self) -> None: ...


class OpenCVSource:
    """A camera device by index ("0") or path ("/dev/video2"), with its settings applied."""

    def __init__(
        self,
        device: str,
        width: int = 1280,
        height: int = 720,
        fps: float = 30.0,
        exposure: float = -1.0,
        focus: float = -1.0,
        name: str = "camera",
    ) -> None:
        self.name = name
        self.device = device
        self.width, self.height, self.fps = width, height, fps
        self.exposure, self.focus = exposure, focus
        self._cap: cv2.VideoCapture | None = None

    def _why_not_opened(self) -> SourceError:
        """What a device that did not open most likely is: not there, not allowed, or taken."""
        path = Path(f"/dev/video{self.device}" if self.device.isdigit() else self.device)
        if path.is_absolute() and not path.exists():
            return SourceError.said("no video device '{path}' on this PC: unplugged, or it has another "
                                    "number", path=str(path))
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            return SourceError.said("camera '{device}' could not be opened: this user may not use {path} "
                                    "(add it to the video group)", device=self.device, path=str(path))
        return SourceError.said("camera '{device}' could not be opened: another program may hold it, or it "
                                "is no camera", device=self.device)

    def open(self) -> None:
        target: int | str = int(self.device) if self.device.isdigit() else self.device
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            raise self._why_not_opened()
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # we want the newest frame, not a backlog
        if self.exposure >= 0:
            cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 1)
            cap.set(cv2.CAP_PROP_EXPOSURE, self.exposure)
        if self.focus >= 0:
            cap.set(cv2.CAP_PROP_AUTOFOCUS, 0)
            cap.set(cv2.CAP_PROP_FOCUS, self.focus)
        self._cap = cap

    def read(self) -> tuple[np.ndarray, int | None] | None:
        if self._cap is None:
            raise SourceError(f"camera {self.device!r} is not open")
        ok, image = self._cap.read()
        if not ok or image is None:
            raise SourceError.said("camera '{device}' stopped delivering frames: check the cable",
                                   device=self.device)
        return image, None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileSource:
    """A video file played at its own frame rate, looping when `loop`."""

    def __init__(self, path: Path, loop: bool = True, name: str = "camera", realtime: bool = True) -> None:
        self.name = name
        self.path = path
        self.loop = loop
        self.realtime = realtime
        self._cap: cv2.VideoCapture | None = None
        self._period = 0.0
        self._next = 0.0

    def open(self) -> None:
        if not self.path.is_file():
            raise SourceError.said("video file {path} not found: check [camera].device", path=str(self.path))
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise SourceError.said("video file {path} cannot be decoded: convert it to MP4/H.264 or MJPEG",
                                   path=str(self.path))
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        self._period = 1.0 / fps if self.realtime else 0.0
        self._next = time.monotonic()
        self._cap = cap

    def read(self) -> tuple[np.ndarray, int | None] | None:
        if self._cap is None:
            raise SourceError(f"video file {self.path} is not open")
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
        self._next = max(self._next + self._period, time.monotonic() - self._period)
        ok, image = self._cap.read()
        if not ok:
            if not self.loop:
                return None
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
            if not ok:
                raise SourceError.said("video file {path} has no readable frame", path=str(self.path))
        return image, None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FolderSource:
    """The images of a folder in name order, at `fps`, looping when `loop`."""

    def __init__(self, folder: Path, fps: float = 10.0, loop: bool = True, name: str = "camera") -> None:
        self.name = name
        self.folder = folder
        self.period = 1.0 / fps if fps > 0 else 0.0
        self.loop = loop
        self._files: list[Path] = []
        self._index = 0
        self._next = 0.0

    def open(self) -> None:
        if not self.folder.is_dir():
            raise SourceError.said("image folder {folder} not found: check [camera].device",
                                   folder=str(self.folder))
        self._files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise SourceError.said("image folder {folder} holds no images ({suffixes})",
                                   folder=str(self.folder), suffixes=", ".join(IMAGE_SUFFIXES))
        self._index = 0
        self._next = time.monotonic()

    def read(self) -> tuple[np.ndarray, int | None] | None:
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
        self._next = max(self._next + self.period, time.monotonic() - self.period)
        for _ in range(len(self._files)):
            if self._index >= len(self._files):
                if not self.loop:
                    return None
                self._index = 0
            path = self._files[self._index]
            self._index += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                return image, None
            logger.warning("skipping unreadable image %s", path)
        raise SourceError.said("no image in {folder} could be read", folder=str(self.folder))

    def close(self) -> None:
        self._files = []


class SyntheticSource:
    """Frames rendered on demand: `present(tag)` puts an item under the camera.

    The demo renders the item the simulated conveyor says is at the camera, so the
    station sees what the controller reports, in step. With nothing presented it shows
    the empty belt. Rendering happens on the capture thread, like a real exposure.
    """

    tags_frames = True  # each frame says which item it shows: `Camera.wait_frame(tag=...)` matches on it

    def __init__(
        self,
        render: Callable[[int | None], np.ndarray],
        fps: float = 30.0,
        name: str = "camera",
    ) -> None:
        self.name = name
        self._render = render
        self._period = 1.0 / fps
        self._lock = threading.Lock()
        self._tag: int | None = None
        self._rendered: tuple[int | None, np.ndarray] | None = None
        self._changed = threading.Event()
        self.fail_after: int | None = None  # tests: raise SourceError after this many frames
        self.freeze = False  # tests: stop delivering frames (a frozen camera)
        self._count = 0

    def present(self, tag: int | None) -> None:
        """Put item `tag` (None = nothing) under the camera; the next frame shows it."""
        with self._lock:
            self._tag = tag
        self._changed.set()

    def open(self) -> None:
        self._count = 0

    def read(self) -> tuple[np.ndarray, int | None] | None:
        # Wake early when a new item is presented, so the frame follows the trigger closely.
        self._changed.wait(self._period)
        self._changed.clear()
        if self.freeze:
            return None
        self._count += 1
        if self.fail_after is not None and self._count > self.fail_after:
            raise SourceError("synthetic camera unplugged (test)")
        with self._lock:
            tag = self._tag
        if self._rendered is None or self._rendered[0] != tag:
            self._rendered = (tag, self._render(tag))
        return self._rendered[1], tag

    def close(self) -> None:
        self._rendered = None


def open_source(
    kind: str,
    device: str,
    width: int,
    height: int,
    fps: float,
    exposure: float = -1.0,
    focus: float = -1.0,
    name: str = "camera",
    render: Callable[[int | None], np.ndarray] | None = None,
    gain: float = -1.0,
    pixel_format: str = "",
    trigger_mode: str = "free-run",
    transport: str = "tcp",
) -> FrameSource:
    """The source a [camera] section describes (gain, pixel format and trigger mode are GigE
    Vision's, transport an IP camera's)."""
    if kind == "device":
        return OpenCVSource(device, width, height, fps, exposure, focus, name=name)
    if kind == "video":
        return VideoFileSource(Path(device), name=name)
    if kind == "folder":
        return FolderSource(Path(device), fps=fps, name=name)
    if kind == "synthetic":
        if render is None:
            raise SourceError("the synthetic camera needs a renderer (the demo generator)")
        return SyntheticSource(render, fps=fps, name=name)
    if kind == "gige":
        return AravisSource(device, width, height, fps, exposure, gain, pixel_format, trigger_mode, name=name)
    if kind == "stream":
        return StreamSource(device, transport=transport, name=name)
    raise SourceError(
        f"unknown camera source {kind!r}: use device, video, folder, synthetic, gige or stream"
    )


def list_images(paths: Sequence[Path]) -> list[Path]:
    """Image files among `paths`, folders expanded in name order."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(path)
    return out
