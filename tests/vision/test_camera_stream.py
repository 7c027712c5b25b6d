"""IP cameras: HTTP MJPEG and RTSP streams from a local ffmpeg, read through a real `Camera`.

The server is Debian's ffmpeg on a generated test pattern (see stream_servers.py); killing
it is a camera losing power, pausing it (SIGSTOP) a network that stops answering without
closing the connection. Credentials put in the address never appear in what the camera
reports or logs.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from tests.vision.stream_servers import FFMPEG, MjpegServer, PlainMjpegServer, RtspServer, free_port
from vision.camera import Camera, CameraHealth, CameraState, SourceError, StreamSource, mask_url, open_source
from vision.stream_address import stream_address_problem

needs_ffmpeg = pytest.mark.skipif(
    FFMPEG is None, reason="needs Debian's ffmpeg to serve a local stream (apt install ffmpeg)"
)

SECRET = "s3cr3t-Pa55"


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Watched:
    """A camera on `source` with every health report kept."""

    def __init__(self, source: StreamSource, frozen_after_s: float = 1.5) -> None:
        self.reports: list[CameraHealth] = []
        self.camera = Camera(source, frozen_after_s=frozen_after_s, backoff_s=0.2, backoff_max_s=1.0,
                             on_health=self.reports.append)

    def __enter__(self) -> Camera:
        self.camera.start()
        return self.camera

    def __exit__(self, *exc: object) -> None:
        self.camera.stop()


@pytest.fixture
def no_secret_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    leaked = [r.getMessage() for r in caplog.records if SECRET in r.getMessage()]
    assert not leaked


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("stream-") and t.is_alive()]


# -- addresses ------------------------------------------------------------------------------
def test_addresses_are_shown_without_credentials() -> None:
    assert mask_url(f"rtsp://admin:{SECRET}@cam-3:554/Streaming/Channels/101") == (
        "rtsp://***@cam-3:554/Streaming/Channels/101"
    )
    assert mask_url(f"http://10.0.0.7/cgi-bin/api.cgi?cmd=Snap&user=admin&password={SECRET}") == (
        "http://10.0.0.7/cgi-bin/api.cgi?cmd=Snap&user=***&password=***"
    )
    # Cameras that take the login in the path.
    shown = mask_url(f"rtsp://10.0.0.9:554/user=admin_password={SECRET}_channel=1_stream=0.sdp")
    assert SECRET not in shown and shown.startswith("rtsp://10.0.0.9:554/user=***")
    assert SECRET not in repr(StreamSource(f"rtsp://admin:{SECRET}@cam-3/live"))


def test_stream_kind_from_the_camera_section() -> None:
    source = open_source("stream", "rtsp://cam-3/live", 1280, 720, 25.0, name="top")
    assert isinstance(source, StreamSource)
    assert (source.transport, source.port, source.name) == ("tcp", 554, "top")
    assert source.ffmpeg_options() == "rtsp_transport;tcp"
    udp = open_source("stream", "rtsp://cam-3/live", 1280, 720, 25.0, transport="udp")
    assert isinstance(udp, StreamSource) and udp.ffmpeg_options() == "rtsp_transport;udp"
    http = open_source("stream", "http://cam-4/mjpg/video.mjpg", 1280, 720, 25.0)
    assert isinstance(http, StreamSource) and (http.port, http.ffmpeg_options()) == (80, "")
    with pytest.raises(SourceError, match="must start with rtsp://"):
        open_source("stream", f"ftp://admin:{SECRET}@cam-3/x", 1280, 720, 25.0)
    with pytest.raises(SourceError, match="use tcp or udp"):
        open_source("stream", "rtsp://cam-3/live", 1280, 720, 25.0, transport="sctp")


def test_a_password_with_a_hash_or_slash_written_as_is_is_refused_saying_how_to_write_it() -> None:
    """`p#ss` or `p/ss` cut the address inside the password: every URL reader then sees another
    host, and the camera would be reported as not answering, far from the cause."""
    for password in ("Zq#cret9", "71#ab", "71/ab", "71?ab"):
        address = f"rtsp://station:{password}@127.0.0.1:8554/cam"
        with pytest.raises(SourceError, match=r"write them percent-encoded.*# is %23") as refused:
            StreamSource(address)
        assert password[:2] not in str(refused.value)  # not even the part before the cut
        # Nor where the address is shown (`station cameras list`, config errors): read as is, the
        # password's first characters were the "port" and the user name the "host".
        assert password[:2] not in mask_url(address) and "station" not in mask_url(address)
        assert stream_address_problem(address) == str(refused.value)  # refused at config load too
    # written percent-encoded, and an e-mail address as user name in a query, are addresses
    encoded = StreamSource("rtsp://station:se%23cr%40et9@127.0.0.1:8554/cam")
    assert encoded.shown_url == "rtsp://***@127.0.0.1:8554/cam" and encoded.port == 8554
    StreamSource("http://10.0.0.7/video.cgi?user=dock@example.com&pwd=x")


def test_a_camera_that_does_not_answer_says_what_to_check(no_secret_logged: None) -> None:
    port = free_port()  # nothing listens there
    watched = Watched(StreamSource(f"rtsp://admin:{SECRET}@127.0.0.1:{port}/live", open_timeout_s=2.0))
    with watched as camera:
        assert wait_until(lambda: camera.state is CameraState.DOWN and camera.health().reopens >= 2)
        detail = camera.health().detail
    assert detail.startswith(
        f"stream rtsp://***@127.0.0.1:{port}/live did not answer: check the address, the camera's power "
        f"and that port {port} is open; retrying in"
    )
    assert all(SECRET not in r.detail for r in watched.reports)


# -- HTTP MJPEG -----------------------------------------------------------------------------
def test_a_reader_that_was_busy_gets_the_newest_picture_not_a_backlog() -> None:
    """Pictures carry their number; after a pause of the reader the next one is the latest."""
    made: list[float] = []

    def numbered() -> np.ndarray:
        made.append(time.monotonic())
        image = np.zeros((120, 160, 3), np.uint8)
        image[:, :] = len(made) % 256  # the picture's number, as its grey level
        return image

    server = PlainMjpegServer(numbered, fps=25).start()
    source = StreamSource(server.url())
    try:
        source.open()
        assert wait_until(lambda: source.read() is not None)
        time.sleep(1.5)  # the capture thread busy elsewhere: ~37 pictures go by
        got = source.read()
        assert got is not None
        number = round(float(got[0].mean()))
        newest = len(made) % 256
        # The newest decoded picture (give or take the one on its way), not the one after
        # the last read, ~37 pictures back.
        assert (newest - number) % 256 <= 2
    finally:
        source.close()
        server.kill()


@needs_ffmpeg
def test_mjpeg_frames_arrive_and_a_restarted_camera_comes_back(no_secret_logged: None) -> None:
    server = MjpegServer(size=(320, 240)).start()
    url = server.url(userinfo=f"admin:{SECRET}@", query=f"?password={SECRET}")
    watched = Watched(StreamSource(url))
    try:
        with watched as camera:
            frame = camera.wait_frame(time.monotonic(), timeout=15.0)
            assert frame is not None and frame.image.shape == (240, 320, 3)
            assert camera.state is CameraState.LIVE

            server.kill()  # the camera loses power
            assert wait_until(lambda: camera.state in (CameraState.DOWN, CameraState.FROZEN))
            assert camera.latest() is None
            gone = camera.health()
            assert f"http://***@127.0.0.1:{server.port}/cam.mjpg?password=***" in gone.detail

            server.start()  # power back: the watchdog's reopen finds it
            assert wait_until(lambda: camera.state is CameraState.LIVE)
            after = camera.wait_frame(time.monotonic(), timeout=15.0)
            assert after is not None and after.image.shape == (240, 320, 3)
            assert camera.health().reopens >= 1
    finally:
        server.kill()
    assert [r.state for r in watched.reports].count(CameraState.LIVE) >= 2
    assert all(SECRET not in r.detail for r in watched.reports)


@needs_ffmpeg
def test_mjpeg_network_gone_silent_freezes_without_hanging_the_capture_thread() -> None:
    server = MjpegServer().start()
    watched = Watched(StreamSource(server.url(), read_timeout_s=2.0), frozen_after_s=1.0)
    try:
        with watched as camera:
            assert camera.wait_frame(time.monotonic(), timeout=15.0) is not None
            server.pause()  # the connection stays open, nothing comes: a read would block
            assert wait_until(lambda: camera.state is CameraState.FROZEN)
            assert "no new frame" in camera.health().detail
            # The capture thread goes on (reopening), and the grabber stuck in its read gives
            # up on the read timeout, the server still silent, instead of living on.
            assert wait_until(lambda: camera.health().reopens >= 2)
            assert wait_until(lambda: not stream_threads())
            assert server.proc is not None and server.proc.poll() is None  # still there, silent
    finally:
        server.kill()


# -- RTSP -----------------------------------------------------------------------------------
@needs_ffmpeg
def test_rtsp_over_tcp_delivers_frames_and_reconnects(no_secret_logged: None) -> None:
    server = RtspServer(size=(320, 240)).start()
    watched = Watched(StreamSource(server.url(userinfo=f"admin:{SECRET}@"), open_timeout_s=8.0))
    try:
        with watched as camera:
            frame = camera.wait_frame(time.monotonic(), timeout=15.0)
            assert frame is not None and frame.image.shape == (240, 320, 3)
            assert "TCP" in server.transports[-1] and "interleaved" in server.transports[-1]

            server.kill()
            assert wait_until(lambda: camera.state in (CameraState.DOWN, CameraState.FROZEN))
            assert f"rtsp://***@127.0.0.1:{server.port}/cam" in camera.health().detail

            server.start()
            assert wait_until(lambda: camera.state is CameraState.LIVE)
            assert camera.wait_frame(time.monotonic(), timeout=15.0) is not None
    finally:
        server.kill()
    assert all(SECRET not in r.detail for r in watched.reports)


@needs_ffmpeg
def test_rtsp_over_udp_when_the_section_asks_for_it() -> None:
    server = RtspServer(size=(320, 240)).start()
    source = open_source("stream", server.url(), 320, 240, 15.0, transport="udp")
    assert isinstance(source, StreamSource)
    source.open_timeout_s = 8.0
    watched = Watched(source)
    try:
        with watched as camera:
            frame = camera.wait_frame(time.monotonic(), timeout=15.0)
            assert frame is not None and frame.image.shape == (240, 320, 3)
    finally:
        server.kill()
    assert server.transports and all("client_port=" in t and "TCP" not in t for t in server.transports)


def test_a_camera_that_answers_but_refuses_the_stream_says_so(no_secret_logged: None) -> None:
    """Its port takes the connection, but no picture comes: the path or the account is wrong."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def refuse() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.0 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=refuse, daemon=True).start()
    try:
        http = StreamSource(f"http://admin:{SECRET}@127.0.0.1:{port}/video.mjpg", open_timeout_s=2.0)
        with pytest.raises(SourceError) as refused:
            http.open()
        assert str(refused.value) == (
            f"stream http://***@127.0.0.1:{port}/video.mjpg answered but sent no picture: check the path "
            "and the user name and password in the address"
        )
        udp = StreamSource(f"rtsp://127.0.0.1:{port}/live", transport="udp", open_timeout_s=2.0)
        with pytest.raises(SourceError, match=r"answered but sent no picture.*try transport tcp"):
            udp.open()
    finally:
        listener.close()
