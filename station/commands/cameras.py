"""`station cameras list` / `station cameras test NAME`: what the installer checks at the dock.

`list` shows the cameras the config describes and what is connected to this PC (video devices,
GigE Vision cameras when Aravis is installed). `test NAME` opens one camera as the station does
(its own capture thread, the same watchdog) for a few seconds and measures what it delivers:
frames per second, resolution, sharpness and exposure of the frames, with what to do when a
figure is off. Exit status 0 when the camera is fit for use, 1 when it is not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.config import CameraConfig, Config

if TYPE_CHECKING:
    from calibration.quality import FrameQuality
    from vision.camera import Camera, Frame

logger = logging.getLogger(__name__)

# What OpenCV writes a frame as, by the file name's ending.
_FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("cameras", help="list the cameras and test one (frames/s, sharpness, exposure)")
    steps = parser.add_subparsers(dest="step", metavar="STEP", required=True)
    listing = steps.add_parser("list", help="the cameras of the config and the ones connected to this PC")
    listing.add_argument("--json", action="store_true", help="one JSON object on stdout")
    listing.set_defaults(handler=run_list)
    test = steps.add_parser("test", help="open one camera for a few seconds and measure its frames")
    test.add_argument("name", help="the camera's name: [camera] name, or NAME of [cameras.NAME]")
    test.add_argument("--seconds", type=float, default=5.0, help="how long to measure (1 to 600, default 5)")
    test.add_argument("--save", type=Path, default=None, metavar="PNG",
                      help="write the last frame here (.png, or .jpg, .bmp, .tif, .webp)")
    test.add_argument("--json", action="store_true", help="one JSON object on stdout")
    test.set_defaults(handler=run_test)


def shown_device(device: str) -> str:
    """The device as it may be printed: an address without its user name and password."""
    from vision.camera import mask_url

    return mask_url(device) if "://" in device else device


def _configured(config: Config) -> list[dict[str, Any]]:
    return [{"name": name, "source": cam.source, "device": shown_device(cam.device),
             "size": f"{cam.width}x{cam.height}", "fps": cam.fps, "offset_m": cam.offset_m,
             "checks": list(cam.checks)} for name, cam in config.all_cameras.items()]


def _connected() -> dict[str, Any]:
    """Video devices and GigE Vision cameras seen from this PC."""
    found: dict[str, Any] = {"video_devices": sorted(str(p) for p in Path("/dev").glob("video*"))}
    try:
        from vision.camera.aravis import list_gige_cameras
    except ImportError:  # pragma: no cover - the module is part of the station
        found["gige"] = "GigE Vision support is not part of this installation"
        return found
    try:
        found["gige"] = list_gige_cameras()
    except Exception as exc:  # Aravis missing or the network scan failed: say so, list the rest
        found["gige"] = str(exc)
    return found


def run_list(args: argparse.Namespace, config: Config) -> int:
    configured, connected = _configured(config), _connected()
    if args.json:
        print(json.dumps({"configured": configured, "connected": connected}))
        return 0
    print(f"{'camera':10} {'source':10} {'device':40} {'size':10} {'fps':>6} {'offset m':>9}  checks")
    for cam in configured:
        print(f"{cam['name']:10} {cam['source']:10} {cam['device']:40} {cam['size']:10} {cam['fps']:>6g} "
              f"{cam['offset_m']:>9g}  {', '.join(cam['checks'])}")
    print()
    devices = connected["video_devices"]
    print("video devices on this PC: " + (", ".join(devices) if devices else "none"))
    gige = connected["gige"]
    if isinstance(gige, str):
        print(f"GigE Vision cameras: not searched ({gige})")
    elif not gige:
        print("GigE Vision cameras: none answered (check the network cable, the camera's power and that "
              "this PC has an address in the camera's subnet)")
    else:
        print("GigE Vision cameras:")
        for cam in gige:
            print("  " + "  ".join(f"{k} {v}" for k, v in cam.items()))
    return 0


def _open(config: Config, name: str, cam: CameraConfig) -> tuple[Camera, Any]:
    """The camera as the station opens it; for the demo line, with its renderer and items passing."""
    from vision.camera import Camera, open_source

    demo = None
    render = None
    if cam.source == "synthetic":
        from station.demo_line import DemoLine

        demo = DemoLine(views=tuple(n for n, c in config.all_cameras.items() if c.source == "synthetic"))
        demo.start()
        render = demo.renderer(name)
    source = open_source(cam.source, cam.device, cam.width, cam.height, cam.fps, cam.exposure, cam.focus,
                         name=name, render=render, gain=cam.gain, pixel_format=cam.pixel_format,
                         trigger_mode=cam.trigger_mode, transport=cam.transport)
    return Camera(source, cam.frozen_after_s, cam.reopen_backoff_s, cam.reopen_backoff_max_s), demo


# How long `test` waits, beyond --seconds, for a camera still opening to give its first frame or say
# why not: a stream takes up to 5 s to open, an absent GigE camera a few seconds to be given up.
_OPENING_ALLOWANCE_S = 10.0


def _first_frame(camera: Camera, seconds: float) -> Frame | None:
    """The camera's first frame, so that the measurement starts when the camera delivers.

    None when it gave none within `seconds`, or, when it was still opening by then, once its first
    opening ended without a frame (the reason is then in its health) or after the allowance.
    """
    from vision.camera import CameraState

    started = time.monotonic()
    while True:
        frame = camera.wait_frame(started, timeout=0.25)
        if frame is not None:
            return frame
        elapsed = time.monotonic() - started
        if elapsed >= seconds + _OPENING_ALLOWANCE_S:
            return None
        if elapsed >= seconds and camera.state is not CameraState.STARTING:
            return None


class _Problems:
    """The quality problems of the frames judged: one line per kind, however many frames showed it.

    Each frame's sentence carries its own figures ("over-exposed (11% ...", "(12% ..."), so the
    sentences alone would list one problem many times; the last frame's sentence stands for its kind.
    """

    def __init__(self) -> None:
        self.judged = 0
        self._seen: dict[str, tuple[str, int]] = {}

    def add(self, quality: FrameQuality) -> None:
        self.judged += 1
        for finding in quality.findings:
            _, count = self._seen.get(finding.code.value, ("", 0))
            self._seen[finding.code.value] = (finding.text, count + 1)

    def lines(self) -> list[str]:
        return sorted(f"{text} (in {count} of {self.judged} frames judged)"
                      for text, count in self._seen.values())


class _Pace:
    """The camera's frame rate from the frames' own capture times, while it delivered.

    A stream hands over at once the pictures it buffered while it opened: counting those would
    make a 15 fps camera look like a 20 fps one, so each opening's count starts `settle_s` after its
    first frame. A reopening (the frame numbers start again) starts a new count; the time the
    camera was down counts in none.
    """

    def __init__(self, settle_s: float) -> None:
        self._settle_s = settle_s
        self._frames = 0
        self._seconds = 0.0
        self._start: Frame | None = None  # the first frame of this opening
        self._ref: Frame | None = None  # the first frame counted from
        self._last: Frame | None = None

    def add(self, frame: Frame) -> None:
        newest = self._last or self._ref or self._start
        if newest is None or frame.seq < newest.seq:  # the first frame, or the camera was reopened
            self._close()
            self._start = frame
        elif self._ref is None:
            if self._start is not None and frame.t_capture - self._start.t_capture >= self._settle_s:
                self._ref = frame
        else:
            self._last = frame

    def _close(self) -> None:
        ref, last = self._ref, self._last
        if ref is not None and last is not None and last.t_capture > ref.t_capture:
            self._frames += last.seq - ref.seq
            self._seconds += last.t_capture - ref.t_capture
        self._start = self._ref = self._last = None

    def fps(self, fallback: float) -> float:
        """Frames a second over the counted spans; `fallback` when too few frames came for one."""
        self._close()
        return round(self._frames / self._seconds if self._seconds > 0 else fallback, 1)


def run_test(args: argparse.Namespace, config: Config) -> int:
    import cv2

    from calibration.quality import QualityThresholds, assess
    from station.commands._outputs import OutputError, check_file, write_file
    from vision.camera import CameraState, SourceError

    cameras = config.all_cameras
    if args.save is not None:  # before the camera is opened: the frame's name and folder are usable
        check_file(args.save, suffixes=_FRAME_SUFFIXES, kind="picture", example="frame.png")
    if args.name not in cameras:
        print(f"station cameras test: no camera {args.name!r} in {config.source}: use one of "
              f"{', '.join(cameras)}", file=sys.stderr)
        return 2
    if not 1.0 <= args.seconds <= 600.0:
        print("station cameras test: --seconds must be between 1 and 600", file=sys.stderr)
        return 2
    cam = cameras[args.name]
    try:
        camera, demo = _open(config, args.name, cam)
    except SourceError as exc:
        print(f"station cameras test: {exc}", file=sys.stderr)
        return 1
    thresholds = QualityThresholds(min_sharpness=config.calibration.min_sharpness)
    sharpness: list[float] = []
    means: list[float] = []
    clipped: list[float] = []
    problems = _Problems()
    camera.start()
    opened = time.monotonic()
    try:
        if demo is not None:
            demo.show_all({args.name: camera}, 1)
        last = _first_frame(camera, args.seconds)
        # Measured from the first frame: opening a stream takes seconds that are no frame rate.
        started = time.monotonic()
        first_count = camera.health().frames
        seen = last.seq if last is not None else -1
        pace = _Pace(settle_s=min(1.0, args.seconds / 2))
        if last is not None:
            pace.add(last)
        tag = 1
        while last is not None and time.monotonic() - started < args.seconds:
            if demo is not None and tag % 10 == 0:  # an item under the demo camera every 10 frames
                demo.show_all({args.name: camera}, tag + 1)
            tag += 1
            frame = camera.wait_frame(time.monotonic(), timeout=min(2.0, args.seconds))
            if frame is None or frame.seq == seen:
                continue
            seen, last = frame.seq, frame
            pace.add(frame)
            if len(sharpness) < 200 and frame.seq % 3 == 0:  # judging every frame would slow a fast camera
                quality = assess(frame.image, thresholds, region=cam.roi_box)
                sharpness.append(quality.sharpness)
                means.append(quality.mean)
                clipped.append(quality.clipped_fraction)
                problems.add(quality)
        health = camera.health()
        measured = time.monotonic() - started
    finally:
        camera.stop()
        if demo is not None:
            demo.stop()
    result: dict[str, Any] = {
        "camera": args.name, "source": cam.source, "device": shown_device(cam.device),
        "state": health.state.value, "frames": health.frames,
        "fps": pace.fps(fallback=(health.frames - first_count) / measured if measured > 0 else 0.0),
        "reopens": health.reopens,
        "size": f"{last.image.shape[1]}x{last.image.shape[0]}" if last is not None else None,
        "sharpness_median": round(statistics.median(sharpness), 1) if sharpness else None,
        "mean_grey_median": round(statistics.median(means), 1) if means else None,
        "clipped_median": round(statistics.median(clipped), 4) if clipped else None,
        "problems": problems.lines(),
    }
    fit = health.state is CameraState.LIVE and last is not None
    if not fit:
        why = health.detail if health.state is not CameraState.STARTING else (
            f"no frame and no error within {time.monotonic() - opened:.0f} s of opening: the camera may "
            "still be connecting; run the test again with more --seconds")
        # A camera that delivered and then went down is not one that never gave a frame.
        lead = "no frames" if last is None else f"stopped delivering after {health.frames} frames"
        result["problems"].insert(0, f"{lead}: {why or 'the camera did not deliver'}")
    if last is not None and args.save is not None:
        encoded, data = cv2.imencode(args.save.suffix.lower(), last.image)
        if not encoded:
            raise OutputError(args.save, f"OpenCV could not encode the frame as {args.save.suffix}",
                              "save it as .png")
        write_file(args.save, data.tobytes())
        result["saved"] = str(args.save)
    if args.json:
        print(json.dumps(result))
    else:
        for key in ("camera", "source", "device", "state", "frames", "fps", "reopens", "size",
                    "sharpness_median", "mean_grey_median", "clipped_median"):
            print(f"{key:18} {result[key]}")
        for problem in result["problems"]:
            print(f"problem            {problem}")
        if "saved" in result:
            print(f"saved              {result['saved']}")
        print("fit for use" if fit and not result["problems"] else
              "not fit for use: see the problems above" if not fit else
              "delivers frames, but see the problems above")
    return 0 if fit else 1
