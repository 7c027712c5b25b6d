"""GigE Vision through Aravis: frames from Aravis' own fake GigE Vision camera over GVSP on the
loopback interface, through the real capture thread; a killed camera reported and reconnected;
pixel formats turned into BGR; and a clear sentence when Aravis is not installed."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from vision.camera import AravisSource, Camera, CameraHealth, CameraState, SourceError, open_source
from vision.camera.aravis import PIXEL_FORMATS_BY_NAME, list_gige_cameras, to_bgr

FAKE_CAMERA = "arv-fake-gv-camera-0.8"
ADDRESS = "127.0.0.1"
# Every fake camera on this PC listens on 127.0.0.1:3956 (GVCP's port): test runs of other
# checkouts take this lock too, so only one fake camera runs at a time.
LOCK_PATH = Path(tempfile.gettempdir()) / "arv-fake-gv-camera-lo.lock"


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def aravis_missing() -> str | None:
    """Why Aravis cannot be used from Python here, or None."""
    try:
        import gi

        gi.require_version("Aravis", "0.8")
        from gi.repository import Aravis  # noqa: F401
    except (ImportError, ValueError) as exc:
        return f"Aravis through PyGObject not installed: {exc} (the gige extra and gir1.2-aravis-0.8)"
    return None


def fake_camera_missing() -> str | None:
    """Why the fake GigE camera cannot run here, or None."""
    reason = aravis_missing()
    if reason is None and shutil.which(FAKE_CAMERA) is None:
        reason = f"{FAKE_CAMERA} not installed: apt install aravis-tools"
    return reason


class FakeCamera:
    """Aravis' fake GigE Vision camera as a subprocess on the loopback interface."""

    def __init__(self, serial: str) -> None:
        self.serial = serial
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start it; a port still held by a fake camera that is going away is waited for."""
        end = time.monotonic() + timeout
        while True:
            process = subprocess.Popen([FAKE_CAMERA, "-i", "lo", "-s", self.serial],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                # It exits at once ("Failed to start camera") when it cannot bind its port.
                _, err = process.communicate(timeout=0.5)
            except subprocess.TimeoutExpired:
                self.process = process
                return
            if time.monotonic() > end:
                pytest.skip(f"the fake GigE camera cannot listen on {ADDRESS}:3956 "
                            f"(another program holds the port): {err.decode().strip()}")
            time.sleep(0.5)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def fake_camera() -> Iterator[FakeCamera]:
    reason = fake_camera_missing()
    if reason is not None:
        pytest.skip(reason)
    with LOCK_PATH.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        camera = FakeCamera(serial=f"T{os.getpid() % 100000}")
        camera.start()
        try:
            yield camera
        finally:
            camera.kill()


def buffers_in_stream(source: AravisSource) -> int:
    """Buffers the stream holds, waiting to be filled or filled and waiting to be read."""
    assert source._stream is not None
    waiting, filled = source._stream.get_n_buffers()
    return int(waiting + filled)


def first_frame(source: AravisSource, timeout: float = 10.0) -> np.ndarray:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = source.read()
        if got is not None:
            image, tag = got
            assert tag is None
            return image
    raise AssertionError("no frame from the fake camera")


# -- through the capture thread, over the network stack ------------------------------------

def test_gige_frames_arrive_live_through_the_capture_thread(fake_camera: FakeCamera) -> None:
    camera = Camera(AravisSource(ADDRESS, fps=30, pixel_format="Mono8", name="top"), frozen_after_s=2.0)
    camera.start()
    try:
        assert wait_until(lambda: camera.state is CameraState.LIVE)
        t0 = time.monotonic()
        frame = camera.wait_frame(t0, timeout=5.0)
        assert frame is not None and frame.camera == "top"
        assert frame.image.shape == (512, 512, 3) and frame.image.dtype == np.uint8
        # the fake camera's grey ramp: the three channels are equal
        assert np.array_equal(frame.image[..., 0], frame.image[..., 2])
        frames = camera.health().frames
        assert wait_until(lambda: camera.health().frames >= frames + 10)
        later = camera.wait_frame(time.monotonic(), timeout=5.0)
        assert later is not None and later.seq > frame.seq
    finally:
        camera.stop()
    assert camera.state is CameraState.STOPPED


@pytest.mark.slow
def test_killed_camera_goes_down_and_reconnects_when_back(fake_camera: FakeCamera) -> None:
    reports: list[CameraHealth] = []
    camera = Camera(AravisSource(ADDRESS, fps=30, pixel_format="Mono8"), frozen_after_s=2.0,
                    backoff_s=0.2, backoff_max_s=1.0, on_health=reports.append)
    camera.start()
    try:
        assert wait_until(lambda: camera.state is CameraState.LIVE)
        fake_camera.kill()
        # GVCP's own timeouts take a few seconds to declare the camera gone.
        assert wait_until(lambda: camera.state in (CameraState.DOWN, CameraState.FROZEN), timeout=30.0)
        assert camera.latest() is None
        gone = next(r for r in reports if r.state in (CameraState.DOWN, CameraState.FROZEN))
        assert "check" in gone.detail and "reopening" in gone.detail
        down_at = len(reports)
        fake_camera.start()
        assert wait_until(lambda: camera.state is CameraState.LIVE, timeout=30.0)
        assert any(r.state is CameraState.LIVE for r in reports[down_at:])
        assert camera.health().reopens >= 1
        assert camera.wait_frame(time.monotonic(), timeout=5.0) is not None
    finally:
        camera.stop()


def test_software_trigger_takes_one_frame_per_read_in_the_region_asked(fake_camera: FakeCamera) -> None:
    source = AravisSource(ADDRESS, width=320, height=240, trigger_mode="software", pixel_format="Mono8")
    source.open()
    try:
        for _ in range(5):
            got = source.read()
            assert got is not None  # each read fires its own exposure and waits for it
            assert got[0].shape == (240, 320, 3)
        assert buffers_in_stream(source) == source.buffers  # every buffer went back to the ring
    finally:
        source.close()


def test_free_run_reads_give_every_buffer_back_to_the_ring(fake_camera: FakeCamera) -> None:
    source = AravisSource(ADDRESS, fps=200, pixel_format="Mono8", buffers=4)
    source.open()
    try:
        for _ in range(40):
            first_frame(source)
        time.sleep(0.2)  # the camera fills the whole ring meanwhile; one read drains it
        first_frame(source)
        # A buffer the camera is filling at that instant is in neither of the stream's queues; it
        # comes back with its frame (at the latest when the ring is full again and the camera has
        # nothing to fill). A buffer the source kept would never come back.
        assert wait_until(lambda: buffers_in_stream(source) == 4, timeout=2.0)
    finally:
        source.close()


def test_an_explicit_region_of_the_sensor_is_what_arrives(fake_camera: FakeCamera) -> None:
    source = AravisSource(ADDRESS, region=(64, 32, 128, 96), pixel_format="Mono8")
    source.open()
    try:
        assert first_frame(source).shape == (96, 128, 3)
    finally:
        source.close()


@pytest.mark.parametrize("pixel_format", ["BayerRG8", "RGB8", "Mono16"])
def test_pixel_formats_arrive_as_8_bit_bgr(fake_camera: FakeCamera, pixel_format: str) -> None:
    source = AravisSource(ADDRESS, pixel_format=pixel_format)
    source.open()
    try:
        image = first_frame(source)
        assert image.shape == (512, 512, 3) and image.dtype == np.uint8
        assert image.max() > image.min()  # the ramp, not an empty frame
    finally:
        source.close()


def test_a_pixel_format_the_camera_lacks_is_refused_with_the_ones_it_has(fake_camera: FakeCamera) -> None:
    source = AravisSource(ADDRESS, pixel_format="BayerBG12")
    with pytest.raises(SourceError, match=r"no pixel format 'BayerBG12'.*Mono8.*set pixel_format of camera"):
        source.open()
    # nothing held: the camera opens again at once
    ok = AravisSource(ADDRESS, pixel_format="Mono8")
    ok.open()
    try:
        assert first_frame(ok).shape == (512, 512, 3)
    finally:
        ok.close()


def test_settings_beyond_the_cameras_limits_are_logged_naming_the_key(
    fake_camera: FakeCamera, caplog: pytest.LogCaptureFixture
) -> None:
    """The fake camera's sensor is 2048x2048, its exposure 10 µs at least and its gain 10 at most:
    frames come at what it allows, and the log says which setting it did not take."""
    caplog.set_level(logging.WARNING, logger="vision.camera.aravis")
    source = AravisSource(ADDRESS, width=4000, height=3000, exposure=5, gain=50, pixel_format="Mono8")
    source.open()
    try:
        assert first_frame(source).shape == (2048, 2048, 3)
    finally:
        source.close()
    logged = caplog.text
    assert "width x height 4000x3000 is larger than its sensor (2048x2048); it sends 2048x2048" in logged
    assert "exposure 5 µs is outside what it allows (10 to" in logged and "it uses 10" in logged
    assert "gain 50 dB is outside what it allows (0 to 10 dB); it uses 10" in logged


def test_settings_within_the_limits_log_nothing(
    fake_camera: FakeCamera, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="vision.camera.aravis")
    source = AravisSource(ADDRESS, width=640, height=480, exposure=2000, gain=3, pixel_format="Mono8")
    source.open()
    try:
        assert first_frame(source).shape == (480, 640, 3)
    finally:
        source.close()
    assert "outside what it allows" not in caplog.text and "larger than its sensor" not in caplog.text


def test_a_camera_whose_frames_never_arrive_says_to_check_the_firewall(fake_camera: FakeCamera) -> None:
    """The camera answers its control channel but its frames go where nothing reads them (as when a
    firewall drops them): a reason to act on, not a camera that looks merely slow."""
    source = AravisSource(ADDRESS, trigger_mode="software", pixel_format="Mono8")
    source.open()
    try:
        assert source._camera is not None
        # No frame is sent before the first trigger; the stream channel's host port (GigE Vision
        # register SCP0) is pointed at a socket of ours that never reads.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
            sink.bind((ADDRESS, 0))
            source._camera.get_device().write_register(0x0D00, sink.getsockname()[1])
            with pytest.raises(SourceError, match=r"answers but none of its frames arrived.*firewall"):
                for _ in range(5):
                    source.read()
    finally:
        source.close()


def test_a_camera_another_program_holds_says_so_and_opens_once_it_is_free(fake_camera: FakeCamera) -> None:
    """A second program gets the camera only to watch: its settings would time out, which must not
    read as a wrong setting of this camera's section."""
    holder = AravisSource(ADDRESS, pixel_format="Mono8", name="viewer")
    holder.open()
    try:
        second = AravisSource(ADDRESS, pixel_format="Mono8", name="top")
        with pytest.raises(SourceError, match=r"held by another program: close the vendor's viewer") as no:
            second.open()
        assert "refused its settings" not in str(no.value)
    finally:
        holder.close()
    second.open()  # the control channel is free again
    try:
        assert first_frame(second).shape == (512, 512, 3)
    finally:
        second.close()


def test_the_fake_camera_is_listed_and_opened_by_its_device_id(fake_camera: FakeCamera) -> None:
    cameras = list_gige_cameras()
    ours = [c for c in cameras if c["serial"] == fake_camera.serial]
    assert ours, cameras
    assert ours[0]["address"] == ADDRESS and ours[0]["protocol"] == "GigEVision"
    assert ours[0]["vendor"] == "Aravis" and ours[0]["model"] == "Fake"
    source = open_source("gige", ours[0]["id"], 0, 0, 30.0, pixel_format="Mono8")
    assert isinstance(source, AravisSource)
    source.open()
    try:
        assert first_frame(source).shape == (512, 512, 3)
    finally:
        source.close()


def test_no_camera_at_the_address_says_what_to_check() -> None:
    reason = aravis_missing()
    if reason is not None:
        pytest.skip(reason)
    with pytest.raises(SourceError, match=r"could not be opened.*check its power and network cable"):
        AravisSource("No-Such-Camera-0000").open()


# -- without Aravis -------------------------------------------------------------------------

def test_without_pygobject_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import gi` raise ImportError, as on a PC without PyGObject.
    for name in [m for m in sys.modules if m == "gi" or m.startswith("gi.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "gi", None)
    with pytest.raises(SourceError, match=r"GigE Vision support is not installed: install the `gige` extra "
                                          r"and Debian's gir1.2-aravis-0.8 \(see docs/cameras.md\)"):
        AravisSource(ADDRESS).open()
    with pytest.raises(SourceError, match="GigE Vision support is not installed"):
        list_gige_cameras()


def test_open_source_builds_a_gige_source_from_the_camera_section() -> None:
    source = open_source("gige", "Basler-21234567", 1024, 768, 20.0, exposure=5000, name="side",
                         gain=3.0, pixel_format="BayerRG8", trigger_mode="software")
    assert isinstance(source, AravisSource)
    assert (source.camera_id, source.width, source.height, source.fps) == ("Basler-21234567", 1024, 768, 20.0)
    assert (source.exposure, source.gain, source.pixel_format, source.trigger_mode) == (
        5000, 3.0, "BayerRG8", "software")
    assert source.name == "side"
    # refused before any camera is opened, naming the camera and its key
    with pytest.raises(SourceError, match="set trigger_mode of camera 'left' to free-run or software"):
        open_source("gige", "", 640, 480, 30, trigger_mode="hardware", name="left")
    with pytest.raises(SourceError, match=r"cannot be turned into a colour image.*"
                                          r"set pixel_format of camera 'left' to one of .*Mono8"):
        open_source("gige", "", 640, 480, 30, pixel_format="Mono12Packed", name="left")


# -- pixel formats, on made-up frames -------------------------------------------------------

COLOUR = (30, 120, 220)  # B, G, R


def mosaic(pattern: str, height: int = 8, width: int = 8) -> np.ndarray:
    """A flat COLOUR frame as a sensor with the GenICam Bayer `pattern` (top-left 2x2 cell) sees it."""
    channel = {"B": 0, "G": 1, "R": 2}
    out = np.zeros((height, width), np.uint8)
    for dy in range(2):
        for dx in range(2):
            out[dy::2, dx::2] = COLOUR[channel[pattern[dy * 2 + dx]]]
    return out


@pytest.mark.parametrize("pattern", ["RGGB", "GRBG", "GBRG", "BGGR"])
def test_bayer_patterns_come_out_in_their_true_colour(pattern: str) -> None:
    raw = mosaic(pattern)
    image = to_bgr(raw.tobytes(), 8, 8, PIXEL_FORMATS_BY_NAME[f"Bayer{pattern[:2]}8"])
    assert image is not None and tuple(image[4, 4]) == COLOUR
    wide = (raw.astype("<u2") << 4).tobytes()  # the same frame in 12 bits
    image = to_bgr(wide, 8, 8, PIXEL_FORMATS_BY_NAME[f"Bayer{pattern[:2]}12"])
    assert image is not None and tuple(image[4, 4]) == COLOUR


def test_rgb_mono_yuv_and_padded_rows() -> None:
    bgr = np.zeros((4, 6, 3), np.uint8)
    bgr[...] = COLOUR
    image = to_bgr(np.ascontiguousarray(bgr[..., ::-1]).tobytes(), 6, 4, PIXEL_FORMATS_BY_NAME["RGB8"])
    assert image is not None and tuple(image[1, 1]) == COLOUR
    image = to_bgr(bgr.tobytes(), 6, 4, PIXEL_FORMATS_BY_NAME["BGR8"])
    assert image is not None and np.array_equal(image, bgr)
    # Mono12 in 16-bit words, 2 bytes of padding after each 4-pixel row
    rows = [np.array([4095, 2048, 16, 0], "<u2").tobytes() + b"\xff\xff" for _ in range(3)]
    image = to_bgr(b"".join(rows), 4, 3, PIXEL_FORMATS_BY_NAME["Mono12"], row_padding=2)
    assert image is not None and image.shape == (3, 4, 3)
    assert image[2, :, 1].tolist() == [255, 128, 1, 0]
    # YUV 4:2:2 with no chroma (U = V = 128) is grey: the three channels equal everywhere
    for name in ("YUV422_8", "YUV422_8_UYVY"):
        image = to_bgr(bytes([128] * 4 * 2 * 2), 4, 2, PIXEL_FORMATS_BY_NAME[name])
        assert image is not None and image.shape == (2, 4, 3) and len(set(image.ravel().tolist())) == 1
    # a frame cut short is no frame
    assert to_bgr(b"\x00" * 10, 4, 3, PIXEL_FORMATS_BY_NAME["Mono8"]) is None


def test_pixel_format_numbers_are_aravis_own() -> None:
    reason = aravis_missing()
    if reason is not None:
        pytest.skip(reason)
    import gi

    gi.require_version("Aravis", "0.8")
    from gi.repository import Aravis

    names = {
        "Mono8": "MONO_8", "Mono10": "MONO_10", "Mono12": "MONO_12", "Mono14": "MONO_14", "Mono16": "MONO_16",
        "RGB8": "RGB_8_PACKED", "BGR8": "BGR_8_PACKED", "YUV422_8_UYVY": "YUV_422_PACKED",
        "YUV422_8": "YUV_422_YUYV_PACKED",
    }
    for pattern in ("GR", "RG", "GB", "BG"):
        for bits in (8, 10, 12, 16):
            names[f"Bayer{pattern}{bits}"] = f"BAYER_{pattern}_{bits}"
    assert set(names) == set(PIXEL_FORMATS_BY_NAME)
    for ours, theirs in names.items():
        assert PIXEL_FORMATS_BY_NAME[ours].code == getattr(Aravis, f"PIXEL_FORMAT_{theirs}"), ours
