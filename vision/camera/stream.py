"""IP cameras: an RTSP or HTTP (MJPEG) stream read through OpenCV's FFmpeg backend.

The station's `Camera` thread reads a source and reopens it with back-off when it dies
or freezes; this source adds what a network camera needs on top of that:

- A decoding thread of its own (the "grabber") reads the stream at the camera's pace and
  keeps only the newest decoded picture, so `read()` never returns a backlog and never
  blocks for long. Draining with `grab()` from the capture thread cannot do this: `grab()`
  blocks while nothing has arrived, so it cannot tell "queued" from "not sent yet", and
  the FFmpeg backend ignores `CAP_PROP_BUFFERSIZE`. H.264 must decode every frame anyway
  (each frame depends on the ones before), so reading continuously costs nothing more,
  and keeping the socket drained stops a queue from building in the camera or the kernel.
- Open and read timeouts (`CAP_PROP_OPEN_TIMEOUT_MSEC`, `CAP_PROP_READ_TIMEOUT_MSEC`):
  a read blocked on a dead network (cable pulled, no TCP reset) ends after
  `read_timeout_s`, and meanwhile the capture thread sees no new frame, calls the camera
  frozen and reopens it; the stuck grabber releases its capture when its read gives up.
- RTSP over TCP by default (no lost packets, crosses firewalls and NAT), UDP on request.
  OpenCV takes FFmpeg options only from the process-wide environment variable
  `OPENCV_FFMPEG_CAPTURE_OPTIONS`, read when a capture opens: each open sets it under a
  lock and puts it back, so sources with different transports never see each other's.
- One decoding thread by default: FFmpeg's frame threading holds one frame per extra
  thread before the first comes out (H.264 measured here: ~50 ms from picture to
  capture thread with one thread, ~90 ms with two; a dock PC with 8 cores would add
  seven frame periods). One thread decodes 1080p H.264 far faster than cameras send it;
  `decode_threads=0` gives OpenCV's default (one per core) for 4K streams on slow PCs.
- The address is never written whole to a log or a message: the user name and password
  in it, and credential-looking parameters (`password=...`), are masked.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from urllib.parse import urlsplit

import cv2
import numpy as np

from vision.camera.errors import SourceError
from vision.stream_address import mask_url, stream_address_problem

logger = logging.getLogger(__name__)

TRANSPORTS = ("tcp", "udp")
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
FFMPEG_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"

# One lock for the whole process: the options variable is global, and OpenCV reads it at
# the start of an open whose end we cannot see from outside, so the lock spans the open.
_ENV_LOCK = threading.Lock()


class StreamSource:
    """An IP camera's stream (`rtsp://`, `rtsps://`, `http(s)://` MJPEG), newest frame first."""

    def __init__(
        self,
        url: str,
        transport: str = "tcp",
        name: str = "camera",
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        decode_threads: int = 1,
    ) -> None:
        """`transport` tcp or udp (RTSP only); `decode_threads` 0 = one per core (see the module)."""
        self.name = name
        self._url = url
        self.shown_url = mask_url(url)
        problem = stream_address_problem(url)
        if problem is not None:
            raise SourceError(problem)
        parts = urlsplit(url)
        port = parts.port
        scheme = parts.scheme.lower()
        if transport not in TRANSPORTS:
            raise SourceError(f"stream transport {transport!r} is unknown: use tcp or udp")
        self.scheme = scheme
        self._host = parts.hostname
        self.port = port if port is not None else DEFAULT_PORTS[scheme]
        self.transport = transport
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.decode_threads = decode_threads
        self._grabber: _Grabber | None = None
        self._last_seq = 0

    def __repr__(self) -> str:
        return f"StreamSource({self.shown_url!r}, transport={self.transport!r}, name={self.name!r})"

    def ffmpeg_options(self) -> str:
        """The FFmpeg options this source opens with, in OpenCV's `key;value|key;value` form."""
        options: list[str] = []
        if self.scheme in ("rtsp", "rtsps"):
            options.append(f"rtsp_transport;{self.transport}")
        return "|".join(options)

    def open(self) -> None:
        """Connect, within `open_timeout_s`, and start decoding on the grabber thread."""
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, round(self.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC, round(self.read_timeout_s * 1000),
        ]
        if self.decode_threads > 0:
            params += [cv2.CAP_PROP_N_THREADS, self.decode_threads]
        ours = self.ffmpeg_options()
        with _ENV_LOCK:
            before = os.environ.get(FFMPEG_OPTIONS_ENV)
            # A site-wide setting stays; ours come last so they win on the same key.
            # Setting the variable at all replaces OpenCV's default (rtsp_flags;prefer_tcp),
            # which our explicit transport stands in for.
            os.environ[FFMPEG_OPTIONS_ENV] = "|".join(o for o in (before, ours) if o)
            try:
                cap = cv2.VideoCapture(self._url, cv2.CAP_FFMPEG, params)
            finally:
                if before is None:
                    del os.environ[FFMPEG_OPTIONS_ENV]
                else:
                    os.environ[FFMPEG_OPTIONS_ENV] = before
        if not cap.isOpened():
            cap.release()
            raise self._why_not_open()
        logger.info("stream %s opened (%s)", self.shown_url,
                    f"RTSP over {self.transport.upper()}" if self.scheme.startswith("rtsp") else "HTTP")
        self._last_seq = 0
        self._grabber = _Grabber(cap, self.shown_url, self.name)

    def _why_not_open(self) -> SourceError:
        """What to check, told apart by whether the camera's port takes a connection at all."""
        # OpenCV says only "not opened"; a plain connection to the port separates a camera
        # that is off or unreachable from one that answers but refuses the path or account.
        try:
            with socket.create_connection((self._host, self.port), timeout=1.0):
                answers = True
        except OSError:
            answers = False
        if not answers:
            return SourceError.said("stream {url} did not answer: check the address, the camera's power and "
                                    "that port {port} is open", url=self.shown_url, port=self.port)
        # Over UDP the pictures come on ports the camera picks, which firewalls block: the
        # RTSP connection works, no picture comes, and the open times out.
        if self.transport == "udp" and self.scheme.startswith("rtsp"):
            return SourceError.said("stream {url} answered but sent no picture: check the path and the user "
                                    "name and password in the address (over UDP the pictures also need a "
                                    "way in through the firewall: try transport tcp)", url=self.shown_url)
        return SourceError.said("stream {url} answered but sent no picture: check the path and the user name "
                                "and password in the address", url=self.shown_url)

    def read(self) -> tuple[np.ndarray, int | None] | None:
        """The newest frame not yet returned; None when none came within a moment."""
        grabber = self._grabber
        if grabber is None:
            raise SourceError(f"stream {self.shown_url} is not open")
        got = grabber.newest_after(self._last_seq, wait_s=0.1)
        if got is None:
            return None
        self._last_seq, image = got
        return image, None

    def close(self) -> None:
        """Stop the grabber; one stuck on a dead network releases the stream when its read gives up."""
        grabber, self._grabber = self._grabber, None
        if grabber is not None:
            grabber.stop(join_s=0.5)


class _Grabber:
    """The thread that owns one open capture: reads every frame, keeps the newest."""

    def __init__(self, cap: cv2.VideoCapture, shown_url: str, camera: str) -> None:
        self._cap = cap
        self._shown_url = shown_url
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._seq = 0
        self._image: np.ndarray | None = None
        self._failed = False  # a read failed: the camera stopped sending, or the network is down
        self._thread = threading.Thread(target=self._run, name=f"stream-{camera}", daemon=True)
        self._thread.start()

    def newest_after(self, seq: int, wait_s: float) -> tuple[int, np.ndarray] | None:
        """(sequence, image) of the newest frame when it is later than `seq`; raises when the stream ended."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            while self._seq <= seq and not self._failed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._seq > seq and self._image is not None:
                return self._seq, self._image
            if self._failed:
                raise SourceError.said("stream {url} stopped sending pictures: check the camera's power and "
                                       "the network", url=self._shown_url)
            raise SourceError.said("stream {url} ended", url=self._shown_url)

    def stop(self, join_s: float) -> None:
        self._stop.set()
        self._thread.join(join_s)
        if self._thread.is_alive():
            logger.debug("stream %s: the grabber is still in a read; it releases on its timeout",
                         self._shown_url)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                ok, image = self._cap.read()
                if self._stop.is_set():
                    break
                if not ok or image is None:
                    with self._cond:
                        self._failed = True
                        self._cond.notify_all()
                    break
                with self._cond:
                    self._seq += 1
                    self._image = image
                    self._cond.notify_all()
        finally:
            # Released here, on the thread that reads it: releasing from another thread
            # while a read is blocked inside FFmpeg is not safe.
            self._cap.release()
