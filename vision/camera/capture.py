"""The capture thread: one per camera, keeps the newest frame, reopens a dead camera.

A camera that raises, or delivers no new frame for `frozen_after_s`, is closed and
reopened with exponential back-off; every change of state is reported through
`on_health` so the UI and the `status` topic show it, and `latest()` meanwhile returns
nothing fresh — the pipeline sends those items to manual review.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vision.camera.frame import Frame, sharpness
from vision.camera.sources import FrameSource, SourceError

logger = logging.getLogger(__name__)


class CameraState(enum.Enum):
    """Where the camera is in its life."""

    STARTING = "starting"
    LIVE = "live"
    FROZEN = "frozen"  # open but no new frame
    DOWN = "down"  # failed to open or read; reopening with back-off
    STOPPED = "stopped"


# A camera that delivers no new frame for `frozen_after_s` (English; its values: `seconds`).
FROZEN = ("no new frame for {seconds} s (camera frozen): check its power and network, or, for a camera "
          "slower than that, raise frozen_after_s")


@dataclass(frozen=True)
class CameraHealth:
    """What the camera thread reports. `detail` is English (the log's); when the camera is down,
    `problem` is the error it met (its `template` and `values` say it again in another language)
    and `retry_s` when the thread tries again."""

    camera: str
    state: CameraState
    detail: str
    frames: int
    reopens: int
    fps: float
    problem: SourceError | None = None
    retry_s: float | None = None


class Camera:
    """Owns one `FrameSource` on its own thread."""

    def __init__(
        self,
        source: FrameSource,
        frozen_after_s: float = 2.0,
        backoff_s: float = 0.5,
        backoff_max_s: float = 10.0,
        on_health: Callable[[CameraHealth], None] | None = None,
    ) -> None:
        self.name = source.name
        self.source = source
        # Only a source that knows which item it shows (the demo's synthetic camera) tags its frames;
        # a real camera's frames are matched to an item by time alone.
        self._tagged = bool(getattr(source, "tags_frames", False))
        self.frozen_after_s = frozen_after_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._on_health = on_health
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._recent: list[Frame] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = CameraState.STARTING
        self._detail = ""
        self._problem: SourceError | None = None
        self._retry_s: float | None = None
        self._frames = 0
        self._reopens = 0
        self._fps = 0.0

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the capture thread."""
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the capture thread and close the source."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._set_state(CameraState.STOPPED, "stopped")

    @property
    def state(self) -> CameraState:
        """The current state."""
        return self._state

    def health(self) -> CameraHealth:
        """A snapshot of the camera's state and counters."""
        return CameraHealth(self.name, self._state, self._detail, self._frames, self._reopens, self._fps,
                            self._problem, self._retry_s)

    # -- frames for the pipeline ------------------------------------------------------
    def latest(self, max_age_s: float | None = None) -> Frame | None:
        """The newest frame, or None when there is none (younger than `max_age_s`)."""
        with self._cond:
            frame = self._latest
        if frame is None or self._state is not CameraState.LIVE:
            return None
        if max_age_s is not None and time.monotonic() - frame.t_capture > max_age_s:
            return None
        return frame

    def wait_frame(self, after: float, timeout: float, tag: int | None = None) -> Frame | None:
        """The first frame captured after monotonic time `after` (and showing `tag`, when given)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                frame = self._latest
                if (
                    frame is not None
                    and frame.t_capture >= after
                    and self._shows(frame, tag)
                    and self._state is CameraState.LIVE
                ):
                    return frame
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(remaining)

    def best_frame(self, after: float, window_s: float, tag: int | None = None) -> Frame | None:
        """The sharpest frame captured in [after, after + window_s] (motion blur, focus hunting)."""
        first = self.wait_frame(after, window_s + self.frozen_after_s, tag)
        if first is None:
            return None
        end = after + window_s
        remaining = end - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        with self._cond:
            since = [f for f in self._recent if f.t_capture >= after and self._shows(f, tag)]
        in_window = [f for f in since if f.t_capture <= end]
        if in_window:
            return max(in_window, key=lambda f: sharpness(f.image)) if len(in_window) > 1 else in_window[0]
        # None in the window (a camera slower than it, or a call that came late): the frame nearest
        # the moment, never a sharper one of a later moment, which may show the next item.
        return min(since, key=lambda f: f.t_capture, default=first)

    def _shows(self, frame: Frame, tag: int | None) -> bool:
        """Whether `frame` may show item `tag` (None: any item)."""
        return tag is None or not self._tagged or frame.tag == tag

    # -- the thread -------------------------------------------------------------------
    def _set_state(self, state: CameraState, detail: str, problem: SourceError | None = None,
                   retry_s: float | None = None) -> None:
        if state is self._state and detail == self._detail:
            return
        self._state, self._detail = state, detail
        self._problem, self._retry_s = problem, retry_s
        if state in (CameraState.LIVE, CameraState.STOPPED):  # stopped: asked for, nothing wrong
            logger.info("camera %s: %s", self.name, detail)
        else:
            logger.warning("camera %s: %s", self.name, detail)
        if self._on_health is not None:
            self._on_health(self.health())

    def _run(self) -> None:
        backoff = self.backoff_s
        while not self._stop.is_set():
            try:
                self.source.open()
            except SourceError as exc:
                self._set_state(CameraState.DOWN, f"{exc}; retrying in {backoff:.1f} s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
                self._reopens += 1
                continue
            ended = self._capture_until_failure()
            try:
                self.source.close()
            except Exception:  # a dying device may fail to close; we reopen anyway
                logger.debug("closing %s failed", self.name, exc_info=True)
            if self._stop.is_set() or ended is None:
                break
            state, problem = ended
            said = f"error: {problem}" if state is CameraState.DOWN else str(problem)
            self._set_state(state, f"{said}; reopening in {backoff:.1f} s", problem, backoff)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.backoff_max_s)
            self._reopens += 1
        self.source.close()

    def _capture_until_failure(self) -> tuple[CameraState, SourceError] | None:
        """Frames until the source fails (DOWN) or freezes (FROZEN), with why; None when asked to stop."""
        last_new = time.monotonic()
        window_start, window_frames = last_new, 0
        seq = 0
        while not self._stop.is_set():
            try:
                got = self.source.read()
            except SourceError as exc:
                return CameraState.DOWN, exc
            now = time.monotonic()
            if got is None:
                if now - last_new > self.frozen_after_s:
                    return CameraState.FROZEN, SourceError.said(FROZEN, seconds=round(now - last_new, 1))
                self._stop.wait(0.01)
                continue
            image, tag = got
            seq += 1
            frame = Frame(image=image, camera=self.name, seq=seq, t_capture=now, tag=tag)
            last_new = now
            self._frames += 1
            window_frames += 1
            if now - window_start >= 1.0:
                self._fps = window_frames / (now - window_start)
                window_start, window_frames = now, 0
            with self._cond:
                self._latest = frame
                self._recent.append(frame)
                if len(self._recent) > 8:
                    del self._recent[0]
                self._cond.notify_all()
            if self._state is not CameraState.LIVE:
                self._set_state(CameraState.LIVE, "delivering frames")
        return None
