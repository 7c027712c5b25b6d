"""GigE Vision (and other GenICam) cameras through Aravis 0.8, reached with PyGObject.

Aravis is a C library; its Python binding comes from GObject introspection (Debian's
`gir1.2-aravis-0.8`) and PyGObject (the `gige` extra). Both are optional: `gi` is imported
only when a GigE camera is opened or listed, so the station runs without them, and the
error then says what to install.

The camera streams over GVSP (UDP) into a small ring of buffers; `read()` takes the
newest complete frame, gives every buffer back to the stream before it returns (a buffer
kept would starve the ring), and turns the camera's pixel format into BGR with OpenCV.
A camera that stops answering its control channel (unplugged, powered off, taken by
another program) raises `SourceError`, and the capture thread reopens it with back-off.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vision.camera.errors import Phrase, SourceError

logger = logging.getLogger(__name__)

TRIGGER_MODES = ("free-run", "software")


@dataclass(frozen=True)
class PixelFormat:
    """A GenICam pixel format this module turns into BGR."""

    name: str
    code: int  # the PFNC number the camera puts in each buffer's leader
    channels: int  # samples per pixel in the buffer
    depth: int  # bytes per sample (1 or 2, little-endian)
    shift: int  # right shift that brings a 16-bit sample to 8 bits
    cv_code: int | None  # the cv2.cvtColor conversion to BGR; None for BGR as it comes


def _formats() -> dict[int, PixelFormat]:
    # PFNC codes (GenICam Pixel Format Naming Convention): stable numbers every camera
    # uses, so they are written here rather than read from Aravis (which may be absent).
    # GenICam names Bayer patterns by the top-left 2x2 cell; OpenCV's BayerRGGB-style
    # aliases use the same convention (its older BayerRG names are shifted by one pixel).
    table = [
        ("Mono8", 0x01080001, 1, 1, 0, cv2.COLOR_GRAY2BGR),
        ("Mono10", 0x01100003, 1, 2, 2, cv2.COLOR_GRAY2BGR),
        ("Mono12", 0x01100005, 1, 2, 4, cv2.COLOR_GRAY2BGR),
        ("Mono14", 0x01100025, 1, 2, 6, cv2.COLOR_GRAY2BGR),
        ("Mono16", 0x01100007, 1, 2, 8, cv2.COLOR_GRAY2BGR),
        ("RGB8", 0x02180014, 3, 1, 0, cv2.COLOR_RGB2BGR),
        ("BGR8", 0x02180015, 3, 1, 0, None),
        ("YUV422_8_UYVY", 0x0210001F, 2, 1, 0, cv2.COLOR_YUV2BGR_UYVY),
        ("YUV422_8", 0x02100032, 2, 1, 0, cv2.COLOR_YUV2BGR_YUYV),
    ]
    bayer = {
        "GR": cv2.COLOR_BayerGRBG2BGR,
        "RG": cv2.COLOR_BayerRGGB2BGR,
        "GB": cv2.COLOR_BayerGBRG2BGR,
        "BG": cv2.COLOR_BayerBGGR2BGR,
    }
    bayer_codes = {
        # pattern: (8-bit, 10-bit, 12-bit, 16-bit) codes, samples unpacked in 16 bits
        "GR": (0x01080008, 0x0110000C, 0x01100010, 0x0110002E),
        "RG": (0x01080009, 0x0110000D, 0x01100011, 0x0110002F),
        "GB": (0x0108000A, 0x0110000E, 0x01100012, 0x01100030),
        "BG": (0x0108000B, 0x0110000F, 0x01100013, 0x01100031),
    }
    for pattern, (c8, c10, c12, c16) in bayer_codes.items():
        conv = bayer[pattern]
        table += [
            (f"Bayer{pattern}8", c8, 1, 1, 0, conv),
            (f"Bayer{pattern}10", c10, 1, 2, 2, conv),
            (f"Bayer{pattern}12", c12, 1, 2, 4, conv),
            (f"Bayer{pattern}16", c16, 1, 2, 8, conv),
        ]
    return {code: PixelFormat(name, code, ch, depth, shift, cv) for name, code, ch, depth, shift, cv in table}


PIXEL_FORMATS: dict[int, PixelFormat] = _formats()
PIXEL_FORMATS_BY_NAME: dict[str, PixelFormat] = {f.name: f for f in PIXEL_FORMATS.values()}


def to_bgr(data: bytes, width: int, height: int, fmt: PixelFormat, row_padding: int = 0) -> np.ndarray | None:
    """The BGR image of one frame's bytes; None when the bytes are too few for the size.

    `row_padding` is the number of bytes some cameras add after each line's pixels.
    """
    row = width * fmt.channels * fmt.depth
    stride = row + max(0, row_padding)
    if width <= 0 or height <= 0 or len(data) < stride * (height - 1) + row:
        return None
    flat = np.frombuffer(data, np.uint8, count=min(len(data), stride * height))
    if len(flat) < stride * height:  # the last line's padding may be left off
        flat = np.concatenate([flat, np.zeros(stride * height - len(flat), np.uint8)])
    raw = flat.reshape(height, stride)[:, :row]
    if fmt.depth == 2:
        wide = np.ascontiguousarray(raw).view("<u2")
        # Samples above their declared depth (noise in the unused bits) are clipped, not wrapped.
        samples = np.minimum(wide >> fmt.shift, 255).astype(np.uint8)
    else:
        samples = raw
    shape = (height, width, fmt.channels) if fmt.channels > 1 else (height, width)
    image = np.ascontiguousarray(samples).reshape(shape)
    if fmt.cv_code is None:
        return image.copy() if image.base is not None else image
    return cv2.cvtColor(image, fmt.cv_code)


def _load_aravis() -> tuple[Any, Any]:
    """The Aravis and GLib modules of PyGObject; `SourceError` saying what to install when absent."""
    try:
        import gi

        gi.require_version("Aravis", "0.8")
        from gi.repository import Aravis, GLib
    except (ImportError, ValueError) as exc:
        # ImportError: no PyGObject; ValueError: PyGObject without the Aravis typelib.
        raise SourceError.said(
            "GigE Vision support is not installed: install the `gige` extra and Debian's gir1.2-aravis-0.8 "
            "(see docs/cameras.md) ({why})", why=str(exc)) from exc
    return Aravis, GLib


def list_gige_cameras() -> list[dict[str, str]]:
    """The cameras Aravis finds on this PC's networks (and USB3 Vision ports).

    Each is a dict with `id` (what `[camera].device` takes), `vendor`, `model`, `serial`,
    `address` (the IP address of a GigE camera) and `protocol` ("GigEVision", "USB3Vision").
    Discovery broadcasts on every interface and waits for answers, about a second.
    """
    aravis, _ = _load_aravis()
    aravis.update_device_list()
    cameras: list[dict[str, str]] = []
    for i in range(aravis.get_n_devices()):
        cameras.append({
            "id": str(aravis.get_device_id(i) or ""),
            "vendor": str(aravis.get_device_vendor(i) or ""),
            "model": str(aravis.get_device_model(i) or ""),
            "serial": str(aravis.get_device_serial_nbr(i) or ""),
            "address": str(aravis.get_device_address(i) or ""),
            "protocol": str(aravis.get_device_protocol(i) or ""),
        })
    return cameras


class AravisSource:
    """A GenICam camera (GigE Vision through Aravis) as a `FrameSource`.

    `camera_id` is an Aravis device id ("Basler-21234567", as `arv-tool-0.8` prints it),
    an IP address, or "" for the first camera found. `exposure` is in microseconds and
    `gain` in dB, -1 leaving either to the camera's automatic control when it has one.
    `pixel_format` is a GenICam name ("Mono8", "BayerRG8", "RGB8"; "" keeps the camera's);
    every frame is handed on as BGR. `trigger_mode` "free-run" lets the camera expose
    continuously at `fps` and `read()` returns the newest frame; "software" fires one
    exposure per `read()` (at most `fps` a second), so every frame is taken on request.
    `width` and `height` set a centred region of the sensor (0 for one of them = the
    sensor's whole extent that way), or `region` (x, y, width, height) an explicit one,
    rounded to what the camera allows; with neither, the camera keeps the region it has.
    `packet_size` 0 lets Aravis find the largest GVSP packet the network carries.
    `read()` waits `frame_timeout_s` for a frame (longer for a long exposure or a slow rate).
    """

    def __init__(
        self,
        camera_id: str = "",
        width: int = 0,
        height: int = 0,
        fps: float = 0.0,
        exposure: float = -1.0,
        gain: float = -1.0,
        pixel_format: str = "",
        trigger_mode: str = "free-run",
        region: tuple[int, int, int, int] | None = None,
        packet_size: int = 0,
        frame_timeout_s: float = 1.0,
        buffers: int = 4,
        name: str = "camera",
    ) -> None:
        # Said before any camera is opened (the station refuses to start): the message names the
        # camera and the key, since the section may be [camera] or any [cameras.NAME].
        if trigger_mode not in TRIGGER_MODES:
            raise SourceError(
                f"unknown trigger mode {trigger_mode!r} for GigE camera {camera_id or '(first found)'}: "
                f"set trigger_mode of camera {name!r} to {' or '.join(TRIGGER_MODES)}"
            )
        if pixel_format and pixel_format not in PIXEL_FORMATS_BY_NAME:
            raise SourceError(
                f"pixel format {pixel_format!r} cannot be turned into a colour image here: set "
                f"pixel_format of camera {name!r} to one of {', '.join(sorted(PIXEL_FORMATS_BY_NAME))}"
            )
        self.name = name
        self.camera_id = camera_id
        self.width, self.height, self.fps = width, height, fps
        self.exposure, self.gain = exposure, gain
        self.pixel_format = pixel_format
        self.trigger_mode = trigger_mode
        self.region = region
        self.packet_size = packet_size
        self.frame_timeout_s = frame_timeout_s
        self.buffers = max(2, buffers)
        # Aravis objects: typed Any because PyGObject's classes are made at run time from
        # the typelib and carry no static types.
        self._aravis: Any = None
        self._glib: Any = None
        self._camera: Any = None
        self._stream: Any = None
        self._lost_handler: int | None = None
        self._lost = threading.Event()
        self._next_trigger = 0.0
        self._bad_frames = 0
        self._last_bad_log = 0.0
        self._opened_at = 0.0
        self._arrived = False  # a buffer (whole or not) came since the last opening

    @property
    def label(self) -> Phrase:
        """How messages name this camera (English in the log, the operator's language on screen)."""
        if self.camera_id:
            return Phrase("GigE camera {id}", id=self.camera_id)
        return Phrase("the first GigE camera found")

    # -- opening ---------------------------------------------------------------------
    def open(self) -> None:
        """Connect, configure and start streaming; `SourceError` saying what to check."""
        self._aravis, self._glib = _load_aravis()
        aravis, glib = self._aravis, self._glib
        self._lost.clear()
        try:
            self._camera = aravis.Camera.new(self.camera_id or None)
        except glib.Error as exc:
            self._camera = None
            raise SourceError.said(
                "{camera} could not be opened: check its power and network cable, that it is on this "
                "PC's subnet (`arv-tool-0.8` lists the cameras it sees) and that no other program holds "
                "it ({why})",
                camera=self.label, why=exc.message) from exc
        try:
            self._check_control()
            self._configure()
            self._start()
        except glib.Error as exc:
            self._release()
            raise SourceError.said(
                "{camera} refused its settings: check the section of camera '{name}' ({why})",
                camera=self.label, name=self.name, why=exc.message) from exc
        except SourceError:
            self._release()
            raise
        logger.info(
            "%s open: %s %s, %dx%d %s, %s", self.label, self._camera.get_vendor_name(),
            self._camera.get_model_name(), *self._camera.get_region()[2:],
            self._camera.get_pixel_format_as_string(), self.trigger_mode,
        )

    def _check_control(self) -> None:
        """`SourceError` when another program holds the camera's control channel.

        Aravis then still connects, as a monitor that may read but not write: every setting would
        fail with a timeout, which reads as a wrong setting rather than as a camera taken.
        """
        device = self._camera.get_device()
        if self._camera.is_gv_device() and hasattr(device, "is_controller") and not device.is_controller():
            raise SourceError.said(
                "{camera} is held by another program: close the vendor's viewer, arv-viewer-0.8 or any "
                "other program or station using it", camera=self.label)

    def _configure(self) -> None:
        cam, aravis = self._camera, self._aravis
        # Stop a previous session's acquisition (a camera left streaming by a crash).
        cam.stop_acquisition()
        if self.pixel_format:
            available = list(cam.dup_available_pixel_formats_as_strings() or [])
            if self.pixel_format not in available:
                raise SourceError.said(
                    "{camera} has no pixel format '{format}': it offers {offered}; set pixel_format of "
                    "camera '{name}' to one of them", camera=self.label, format=self.pixel_format,
                    offered=", ".join(available) or Phrase("none"), name=self.name)
            cam.set_pixel_format_from_string(self.pixel_format)
        current = cam.get_pixel_format()
        if current not in PIXEL_FORMATS:
            offered = [f for f in (cam.dup_available_pixel_formats_as_strings() or [])
                       if f in PIXEL_FORMATS_BY_NAME]
            raise SourceError.said(
                "{camera} sends {format}, which cannot be turned into a colour image here: set pixel_format "
                "of camera '{name}' to one of {offered}", camera=self.label,
                format=cam.get_pixel_format_as_string(), name=self.name,
                offered=", ".join(offered) or "Mono8")
        self._set_region()
        if cam.is_exposure_time_available():
            if self.exposure >= 0:
                if cam.is_exposure_auto_available():
                    cam.set_exposure_time_auto(aravis.Auto.OFF)
                cam.set_exposure_time(self._within("exposure", self.exposure, "µs",
                                                   *cam.get_exposure_time_bounds()))
            elif cam.is_exposure_auto_available():
                cam.set_exposure_time_auto(aravis.Auto.CONTINUOUS)
        if cam.is_gain_available():
            if self.gain >= 0:
                if cam.is_gain_auto_available():
                    cam.set_gain_auto(aravis.Auto.OFF)
                cam.set_gain(self._within("gain", self.gain, "dB", *cam.get_gain_bounds()))
            elif cam.is_gain_auto_available():
                cam.set_gain_auto(aravis.Auto.CONTINUOUS)
        if self.trigger_mode == "software":
            if not cam.is_software_trigger_supported():
                raise SourceError.said(
                    "{camera} has no software trigger: set trigger_mode of camera '{name}' to free-run",
                    camera=self.label, name=self.name)
            cam.set_trigger("Software")
        else:
            cam.clear_triggers()
            if self.fps > 0 and cam.is_frame_rate_available():
                cam.set_frame_rate(self._within("fps", self.fps, "frames/s", *cam.get_frame_rate_bounds()))
        if cam.is_gv_device():
            self._set_packet_size()

    def _set_region(self) -> None:
        cam = self._camera
        if self.region is None and self.width <= 0 and self.height <= 0:
            return  # the region the camera has (its saved user set, or the vendor tool's)
        if cam.is_region_offset_available():
            # Many cameras bound Width by SensorWidth - OffsetX: with the offsets at 0 the
            # bounds read next are the whole sensor's (at the current binning).
            cam.set_integer("OffsetX", 0)
            cam.set_integer("OffsetY", 0)
        sensor_w, sensor_h = cam.get_width_bounds()[1], cam.get_height_bounds()[1]
        if self.region is not None:
            x, y, w, h = self.region
        else:
            w = min(self.width or sensor_w, sensor_w)
            h = min(self.height or sensor_h, sensor_h)
            x, y = (sensor_w - w) // 2, (sensor_h - h) // 2
        w = _round_to(w, cam.get_width_increment(), *cam.get_width_bounds())
        h = _round_to(h, cam.get_height_increment(), *cam.get_height_bounds())
        if cam.is_region_offset_available():
            x = _round_to(x, cam.get_x_offset_increment(), 0, sensor_w - w)
            y = _round_to(y, cam.get_y_offset_increment(), 0, sensor_h - h)
        else:
            x = y = 0
        cam.set_region(x, y, w, h)
        got = tuple(cam.get_region())
        if got != (x, y, w, h):
            logger.info("%s: region %s asked, the camera set %s", self.label, (x, y, w, h), got)
        if self.region is None and (self.width > sensor_w or self.height > sensor_h):
            # The centred region was cut to the sensor: frames are not the size [camera] asks for.
            logger.warning(
                "%s: width x height %dx%d is larger than its sensor (%dx%d); it sends %dx%d: set width "
                "and height of this camera's section to at most the sensor's", self.label, self.width,
                self.height, sensor_w, sensor_h, got[2], got[3],
            )

    def _within(self, key: str, value: float, unit: str, low: float, high: float) -> float:
        """`value` clamped to the camera's [low, high], with a warning naming the key when it had to be."""
        clamped = min(max(value, low), high)
        if clamped != value:
            logger.warning(
                "%s: %s %g %s is outside what it allows (%g to %g %s); it uses %g: set %s of this "
                "camera's section within that range", self.label, key, value, unit, low, high, unit,
                clamped, key,
            )
        return clamped

    def _set_packet_size(self) -> None:
        cam, glib = self._camera, self._glib
        try:
            if self.packet_size > 0:
                cam.gv_set_packet_size(self.packet_size)
            else:
                # Probes the path with test packets: the largest size that arrives whole
                # (jumbo frames when every switch and NIC on the way carries them).
                cam.gv_auto_packet_size()
        except glib.Error as exc:
            logger.warning("%s: packet size not set (%s); keeping %d bytes", self.label, exc.message,
                           cam.gv_get_packet_size())

    def _start(self) -> None:
        cam, aravis = self._camera, self._aravis
        device = cam.get_device()
        # Emitted from Aravis' heartbeat thread when the camera stops answering: a flag the
        # capture thread checks, never a call into the camera from that thread.
        self._lost_handler = device.connect("control-lost", lambda _device: self._lost.set())
        stream = cam.create_stream(None, None)
        if stream is None:
            raise SourceError.said("{camera} gave no image stream: check that no other program is streaming",
                                   camera=self.label)
        payload = cam.get_payload()
        for _ in range(self.buffers):
            stream.push_buffer(aravis.Buffer.new_allocate(payload))
        self._stream = stream
        cam.set_acquisition_mode(aravis.AcquisitionMode.CONTINUOUS)
        cam.start_acquisition()
        self._next_trigger = time.monotonic()
        self._bad_frames = 0
        self._opened_at = time.monotonic()
        self._arrived = False

    # -- reading ---------------------------------------------------------------------
    def read(self) -> tuple[np.ndarray, int | None] | None:
        """The newest frame as BGR, None when none came in time, `SourceError` when the camera is gone."""
        if self._camera is None or self._stream is None:
            raise SourceError(f"{self.label} is not open")
        if self._lost.is_set():
            raise self._gone("its heartbeat went unanswered")
        glib = self._glib
        if self.trigger_mode == "software":
            self._requeue_ready()  # a late frame of an earlier trigger is not this request's
            if self.fps > 0:
                wait = self._next_trigger - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self._next_trigger = max(self._next_trigger + 1.0 / self.fps, time.monotonic())
            try:
                self._camera.software_trigger()
            except glib.Error as exc:
                self._lost.set()
                raise self._gone(exc.message) from exc
        # A long exposure or a slow frame rate is waited for: no frame yet is not a dead camera.
        wait_s = max(self.frame_timeout_s, 2 * max(self.exposure, 0.0) / 1e6,
                     2 / self.fps if self.fps > 0 else 0.0)
        buffer = self._stream.timeout_pop_buffer(int(wait_s * 1_000_000))
        if buffer is None:
            self._check_alive()
            if not self._arrived and time.monotonic() - self._opened_at >= wait_s:
                # It answers its control channel but none of its frames reach us: the frames
                # (UDP from the camera) are blocked or sent where this PC does not listen.
                raise SourceError.said(
                    "{camera} answers but none of its frames arrived since it was opened: check that the "
                    'firewall lets in UDP from the camera and that it streams to this PC (docs/cameras.md, '
                    '"Network")', camera=self.label)
            return None
        self._arrived = True
        if self.trigger_mode == "free-run":
            # Frames that queued while the pipeline was busy: keep only the newest.
            while (newer := self._stream.try_pop_buffer()) is not None:
                self._stream.push_buffer(buffer)
                buffer = newer
        try:
            return self._image(buffer)
        finally:
            self._stream.push_buffer(buffer)

    def _image(self, buffer: Any) -> tuple[np.ndarray, int | None] | None:
        status = buffer.get_status()
        if status != self._aravis.BufferStatus.SUCCESS:
            self._bad_frame(f"frame {status.value_nick}")
            return None
        fmt = PIXEL_FORMATS.get(buffer.get_image_pixel_format())
        if fmt is None:
            self._bad_frame(f"pixel format {buffer.get_image_pixel_format():#x}")
            return None
        data = buffer.get_image_data()
        if not data:  # a chunk-only or multi-part payload: no image part
            self._bad_frame("no image in the payload")
            return None
        padding_x, _ = buffer.get_image_padding()
        try:
            image = to_bgr(data, buffer.get_image_width(), buffer.get_image_height(), fmt, padding_x)
        except (cv2.error, ValueError) as exc:  # a size OpenCV refuses (a Bayer frame of odd width)
            self._bad_frame(str(exc).strip().splitlines()[-1])
            return None
        if image is None:
            self._bad_frame("frame shorter than its size")
            return None
        return image, None

    def _bad_frame(self, what: str) -> None:
        # Lost GVSP packets come in bursts on a congested link: one warning every 10 s.
        self._bad_frames += 1
        now = time.monotonic()
        if now - self._last_bad_log >= 10.0:
            logger.warning("%s: %d frames dropped (last: %s); check the packet size and the network "
                           "(docs/cameras.md)", self.label, self._bad_frames, what)
            self._last_bad_log = now

    def _requeue_ready(self) -> None:
        assert self._stream is not None
        while (stale := self._stream.try_pop_buffer()) is not None:
            self._stream.push_buffer(stale)

    def _check_alive(self) -> None:
        """No frame in time: a camera that still answers is only slow; one that does not is gone."""
        try:
            self._camera.get_device().read_register(0x0000)
        except self._glib.Error as exc:
            self._lost.set()
            raise self._gone(exc.message) from exc

    def _gone(self, why: str) -> SourceError:
        return SourceError.said("{camera} stopped answering: check its power and network cable, and that no "
                                "other program took it ({why})", camera=self.label, why=why)

    # -- closing ---------------------------------------------------------------------
    def close(self) -> None:
        """Stop streaming and let go of the camera (another program may then take it)."""
        if self._camera is None:
            return
        if not self._lost.is_set():
            try:
                self._camera.stop_acquisition()
            except self._glib.Error as exc:
                logger.debug("%s: stopping acquisition failed: %s", self.label, exc.message)
        self._release()

    def _release(self) -> None:
        if self._camera is not None and self._lost_handler is not None:
            self._camera.get_device().disconnect(self._lost_handler)
        self._lost_handler = None
        objects: list[Any] = [self._stream, self._camera]
        self._stream = self._camera = None
        if self._lost.is_set():
            # Dropping the last reference stops the stream's receiving thread and closes the
            # control channel; Aravis then tells the camera so and, the camera being gone,
            # waits for its GVCP timeouts (7-8 s). That wait happens on a thread of its own,
            # so the capture thread reports the camera down and starts reopening at once.
            threading.Thread(target=_drop, args=(objects,), name=f"release-{self.name}", daemon=True).start()
        else:
            _drop(objects)  # stops the stream and closes the control channel now


def _drop(objects: list[Any]) -> None:
    """Drop the last references to Aravis objects (on the calling thread)."""
    objects.clear()


def _round_to(value: int, increment: int, low: int, high: int) -> int:
    """`value` clamped to [low, high] and rounded down to a multiple of `increment` above `low`."""
    step = max(1, increment)
    value = min(max(value, low), high)
    return low + (value - low) // step * step

