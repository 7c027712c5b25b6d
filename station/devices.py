"""The station's devices built from the config: the camera with its calibration, the
conveyor (controller link, or the simulator on a pseudo-terminal), and the bench triggers
(hand scanner, keyboard wedge, motion in view).

Each builder takes the settings it needs and the callbacks it reports to; each device has
`start()` and `stop()`, called by `Station` in order.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from calibration.colour import ColourDriftMonitor
from calibration.errors import CalibrationError
from calibration.files import load_calibration
from calibration.plane import PlaneCalibration
from hardware.controller import Controller
from hardware.item_tracker import LaneMap
from hardware.link import ConveyorLink
from hardware.simulator import SimSettings, SimulatorRunner
from station.config import CameraConfig, Config, HardwareConfig
from station.conveyor_bridge import ConveyorBridge
from station.i18n import DEFAULT_LANGUAGE, QT_TRANSLATE_NOOP, SOURCE_LANGUAGE
from station.i18n import tr as words_in  # not named tr: lupdate would take it for a window text
from station.options import RunOptions
from station.pipeline import Pipeline
from station.state import Health, Level
from vision.camera import Camera, CameraHealth, CameraState, mask_url, open_source
from vision.camera.errors import Phrase

if TYPE_CHECKING:
    from hardware.modbus.plc_sim import PlcSimRunner
    from station.demo_line import DemoLine

__all__ = ["BenchTriggers", "CameraCalibration", "ConveyorDevice", "camera_delays", "camera_health",
           "camera_id", "load_camera_calibration", "load_camera_calibrations", "open_cameras",
           "unused_scanner"]

logger = logging.getLogger(__name__)


def open_cameras(
    config: Config, demo: DemoLine | None, on_health: Callable[[Health], None]
) -> dict[str, Camera]:
    """Every camera of the config, by name, the first first (the demo line renders the synthetic ones)."""
    cameras: dict[str, Camera] = {}
    for name, cam in config.all_cameras.items():
        render = demo.renderer(name) if demo is not None and cam.source == "synthetic" else None
        source = open_source(cam.source, cam.device, cam.width, cam.height, cam.fps, cam.exposure, cam.focus,
                             name=name, render=render, gain=cam.gain, pixel_format=cam.pixel_format,
                             trigger_mode=cam.trigger_mode, transport=cam.transport)

        def report(health: CameraHealth) -> None:
            shown = camera_health(health, config.ui.language)
            if shown is not None:
                on_health(shown)

        cameras[name] = Camera(source, cam.frozen_after_s, cam.reopen_backoff_s, cam.reopen_backoff_max_s,
                               on_health=report)
    return cameras


def camera_delays(config: Config, options: RunOptions) -> dict[str, float]:
    """How long after the trigger each camera sees the item: its offset along the belt / the belt's speed."""
    hw = config.hardware
    simulated = (hw.modbus.port if hw.controller == "modbus" else hw.link.port) == "sim"
    speed = (options.sim_speed_m_s or hw.sim_speed_m_s) if simulated else hw.belt_speed_m_s
    return {name: cam.offset_m / speed for name, cam in config.all_cameras.items()}


# What a camera met, as vision/camera says it in English (SourceError.said): the same words for the
# operator's language. tests/station/test_camera_problem_words.py holds the two lists together.
CAMERA_PROBLEMS = (
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "no video device '{path}' on this PC: unplugged, or it has another number"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "camera '{device}' could not be opened: this user may not use {path} (add it to "
        "the video group)"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "camera '{device}' could not be opened: another program may hold it, or it is no "
        "camera"),
    QT_TRANSLATE_NOOP("CameraProblem", "camera '{device}' stopped delivering frames: check the cable"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "stream {url} did not answer: check the address, the camera's power and that port"
        " {port} is open"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "stream {url} answered but sent no picture: check the path and the user name and "
        "password in the address (over UDP the pictures also need a way in through the "
        "firewall: try transport tcp)"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "stream {url} answered but sent no picture: check the path and the user name and "
        "password in the address"),
    QT_TRANSLATE_NOOP("CameraProblem", "stream {url} ended"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "{camera} stopped answering: check its power and network cable, and that no other"
        " program took it ({why})"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "no new frame for {seconds} s (camera frozen): check its power and network, or, "
        "for a camera slower than that, raise frozen_after_s"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "{camera} could not be opened: check its power and network cable, that it is on this "
        "PC's subnet (`arv-tool-0.8` lists the cameras it sees) and that no other program "
        "holds it ({why})"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "{camera} is held by another program: close the vendor's viewer, arv-viewer-0.8 or "
        "any other program or station using it"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "{camera} refused its settings: check the section of camera '{name}' ({why})"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "{camera} has no pixel format '{format}': it offers {offered}; set pixel_format of "
        "camera '{name}' to one of them"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "{camera} sends {format}, which cannot be turned into a colour image here: set "
        "pixel_format of camera '{name}' to one of {offered}"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "{camera} has no software trigger: set trigger_mode of camera '{name}' to free-run"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "{camera} gave no image stream: check that no other program is streaming"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "{camera} answers but none of its frames arrived since it was opened: check that the "
        "firewall lets in UDP from the camera and that it streams to this PC (docs/cameras.md, "
        "\"Network\")"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "GigE Vision support is not installed: install the `gige` extra and Debian's "
        "gir1.2-aravis-0.8 (see docs/cameras.md) ({why})"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "stream {url} stopped sending pictures: check the camera's power and the network"),
    QT_TRANSLATE_NOOP("CameraProblem", "video file {path} not found: check [camera].device"),
    QT_TRANSLATE_NOOP(
        "CameraProblem",
        "video file {path} cannot be decoded: convert it to MP4/H.264 or MJPEG"),
    QT_TRANSLATE_NOOP("CameraProblem", "video file {path} has no readable frame"),
    QT_TRANSLATE_NOOP("CameraProblem", "image folder {folder} not found: check [camera].device"),
    QT_TRANSLATE_NOOP("CameraProblem", "image folder {folder} holds no images ({suffixes})"),
    QT_TRANSLATE_NOOP("CameraProblem", "no image in {folder} could be read"),
)
# Words inside those problems' values (vision.camera.errors.Phrase): how a GigE camera is named.
CAMERA_PHRASES = (
    QT_TRANSLATE_NOOP("CameraProblem", "GigE camera {id}"),
    QT_TRANSLATE_NOOP("CameraProblem", "the first GigE camera found"),
    QT_TRANSLATE_NOOP("CameraProblem", "none"),
)

_CAMERA_STATES = {
    CameraState.LIVE: QT_TRANSLATE_NOOP("Health", "camera {camera} live"),
    CameraState.STARTING: QT_TRANSLATE_NOOP("Health", "camera {camera} starting"),
    CameraState.FROZEN: QT_TRANSLATE_NOOP("Health", "camera {camera} frozen"),
    CameraState.DOWN: QT_TRANSLATE_NOOP("Health", "camera {camera} down"),
}


def camera_id(cam: CameraConfig) -> str:
    """The camera as calibration files and messages name it: its device, a stream's address without
    its user name and password."""
    return mask_url(cam.device) if cam.source == "stream" else cam.device


def camera_health(health: CameraHealth, language: str = DEFAULT_LANGUAGE) -> Health | None:
    """A camera's state in the status bar's words, in `language` (None: a stopped camera says nothing)."""
    component = f"camera:{health.camera}"
    if health.state is CameraState.STOPPED:
        return None
    summary = _CAMERA_STATES.get(health.state, QT_TRANSLATE_NOOP("Health", "camera {camera} down"))
    # The usual camera names in the operator's words ("top" is "dessus"); a site's own as written.
    camera = words_in("View", health.camera, language)
    if health.state is CameraState.LIVE:
        return Health(component, Level.OK, summary.render(language, camera=camera), "",
                      {"fps": round(health.fps, 1), "frames": health.frames})
    return Health(component, Level.ERROR, summary.render(language, camera=camera),
                  QT_TRANSLATE_NOOP("Health", "{problem}. Items go to manual review until it is back; "
                                    "check the camera's cable and power.")
                  .render(language, problem=_camera_problem(health, language)),
                  {"reopens": health.reopens})


def _camera_problem(health: CameraHealth, language: str) -> str:
    """What the camera met, in `language`: its English detail (the log's) when that is the language or
    the problem has no words of its own (CAMERA_PROBLEMS)."""
    problem = health.problem
    if language == SOURCE_LANGUAGE or problem is None or problem.template is None:
        return health.detail
    values = {key: _phrase_in(value, language) for key, value in problem.values.items()}
    said = words_in("CameraProblem", problem.template, language, **values)
    if health.retry_s is None:
        return said
    return QT_TRANSLATE_NOOP("Health", "{problem}; trying again in {seconds} s").render(
        language, problem=said, seconds=round(health.retry_s, 1))


def _phrase_in(value: object, language: str) -> object:
    """A problem's value in `language` when it is words (a `Phrase`, listed in CAMERA_PHRASES); any
    other value (a path, an address, a number) as it is."""
    if not isinstance(value, Phrase):
        return value
    return words_in("CameraProblem", value.template, language, **value.values)


@dataclass(frozen=True)
class CameraCalibration:
    """What the calibration file gives the inspector: the belt plane and the colour check."""

    plane: PlaneCalibration | None = None
    colour: ColourDriftMonitor | None = None


def load_camera_calibration(config: Config) -> tuple[CameraCalibration, Health]:
    """The first camera's calibration (item sizes in mm, the colour reference) and its status line."""
    cam = config.camera
    return _load_calibration(config, cam, config.resolve(cam.calibration or config.calibration.file),
                             "calibration")


def load_camera_calibrations(config: Config) -> tuple[dict[str, CameraCalibration], list[Health]]:
    """Every camera's calibration by name, with their status lines: the first camera's from its own file
    or [calibration] file; another camera's only when it names its own (its colour reference is then
    checked on its view too)."""
    first, health = load_camera_calibration(config)
    calibrations, lines = {config.camera.name: first}, [health]
    for name, cam in config.cameras.items():
        if cam.calibration is not None:
            calibrations[name], line = _load_calibration(config, cam, config.resolve(cam.calibration),
                                                         f"calibration:{name}")
            lines.append(line)
    return calibrations, lines


def _load_calibration(config: Config, cam: CameraConfig, path: Path, component: str
                      ) -> tuple[CameraCalibration, Health]:
    language = config.ui.language
    if cam.source == "synthetic":
        return CameraCalibration(), Health(component, Level.OK, QT_TRANSLATE_NOOP(
            "Health", "synthetic camera: no calibration needed").render(language))
    try:
        # A stream's address may hold its password: the file names the camera without it.
        calibration = load_calibration(path, (cam.width, cam.height), camera_id(cam))
    except CalibrationError as exc:
        if not path.exists():  # a new dock: said whole in the operator's words
            return CameraCalibration(), Health(
                component, Level.WARNING, QT_TRANSLATE_NOOP("Health", "not calibrated").render(language),
                QT_TRANSLATE_NOOP("Health", "No calibration file yet ({file}): item sizes are not checked "
                                  "until the camera is calibrated, on the Calibration page (F4) or with "
                                  "`station calibrate`.").render(language, file=str(path)))
        return CameraCalibration(), Health(
            component, Level.ERROR, QT_TRANSLATE_NOOP("Health", "calibration refused").render(language),
            QT_TRANSLATE_NOOP("Health", "{problem}. Item sizes are not checked until `station calibrate` "
                              "has been run for this camera.").render(language, problem=str(exc)))
    colour = None
    if calibration.colour is not None:
        colour = ColourDriftMonitor(calibration.colour, config.calibration.colour_check_every,
                                    config.calibration.colour_tolerance_de)
    parts = [name for name in ("intrinsics", "plane", "colour") if getattr(calibration, name) is not None]
    summary = (QT_TRANSLATE_NOOP("Health", "calibrated (lens, belt plane and colour)") if len(parts) == 3
               else QT_TRANSLATE_NOOP("Health", "calibrated in part: run the missing steps"))
    return CameraCalibration(calibration.plane, colour), Health(
        component, Level.OK, summary.render(language), "",
        {"created_at": calibration.created_at, "parts": ", ".join(parts)})


def sim_settings(hw: HardwareConfig, options: RunOptions) -> SimSettings:
    """The simulated belt of `[hardware] port = "sim"`, with the run's overrides."""
    rate = options.sim_rate_items_s if options.sim_rate_items_s is not None else hw.sim_items_per_s
    return SimSettings(
        speed_m_s=options.sim_speed_m_s if options.sim_speed_m_s is not None else hw.sim_speed_m_s,
        spacing_m=options.sim_spacing_m if options.sim_spacing_m is not None else hw.sim_spacing_m,
        rate_items_s=rate or None, items=options.items,
        camera_pos_m=hw.sim_camera_pos_m, divert_pos_m=hw.sim_divert_pos_m,
        lane_count=max(hw.lanes.values()) + 1, default_lane=hw.lanes.get("manual", 0),
    )


class ConveyorDevice:
    """The belt: the controller link (or the simulator behind a pseudo-terminal) and the bridge
    that turns its events into triggers and routing outcomes for `pipeline`."""

    def __init__(
        self,
        hw: HardwareConfig,
        options: RunOptions,
        pipeline: Pipeline,
        on_health: Callable[[Health], None],
        on_item_at_camera: Callable[[int], None] | None = None,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        self.hw = hw
        self.options = options
        self.bridge = ConveyorBridge(
            LaneMap(hw.lanes), on_trigger=pipeline.submit, on_routed=pipeline.routed,
            on_health=on_health, on_item_at_camera=on_item_at_camera, confirm_timeout_s=hw.confirm_timeout_s,
            language=language,
        )
        self.simulator: SimulatorRunner | PlcSimRunner | None = None
        self.link: Controller | None = None

    def start(self) -> None:
        """Start the simulator when asked for, then the link."""
        if self.hw.controller == "modbus":
            self._start_modbus()
            return
        port = self.hw.link.port
        if port == "sim":
            self.simulator = SimulatorRunner(sim_settings(self.hw, self.options))
            port = self.simulator.start()
        # On `port`: the simulator's when it was started.
        self.link = ConveyorLink(port, self.hw.link, self.bridge.on_event)
        self.bridge.attach(self.link)
        self.link.start()

    def _start_modbus(self) -> None:
        """A PLC over Modbus ([hardware.modbus]); port "sim" starts the simulated PLC first."""
        from hardware.modbus.driver import ModbusLink
        from hardware.modbus.plc_sim import PlcSimRunner

        settings = self.hw.modbus
        if settings.port == "sim":
            plc = PlcSimRunner(sim_settings(self.hw, self.options), settings.transport,
                               registers=settings.register_map(), unit_id=settings.unit_id,
                               baudrate=settings.baudrate)
            self.simulator = plc
            plc.start()
            settings = plc.link_settings(settings)
        self.link = ModbusLink(settings, self.bridge.on_event, port=settings.port)
        self.bridge.attach(self.link)
        self.link.start()

    def stop(self) -> None:
        """Stop the link, then the simulator."""
        if self.link is not None:
            self.link.stop()
        if self.simulator is not None:
            self.simulator.stop()


def unused_scanner(config: Config) -> str | None:
    """Why `[barcode] scanner_port` is not read in this config, or None when it is (or unset).

    The hand scanner is one of the bench's triggers (`BenchTriggers`): on the conveyor the
    controller triggers each item and a scan could not be matched to one, so the port is
    not opened there (the window says so for each keyboard-wedge scan too).
    """
    port = config.barcode.scanner_port
    if not port or config.station.mode != "conveyor":
        return None
    return (f"[barcode] scanner_port = {port!r} is not used: the hand scanner is read in bench mode only, "
            "and [station] mode is \"conveyor\" (the conveyor's controller triggers each item) — "
            "set [station] mode = \"bench\" to use it, or scanner_port = \"\" to silence this warning")


class BenchTriggers:
    """Bench mode: a hand scan, a key or an item put down in view triggers an inspection."""

    def __init__(
        self,
        config: Config,
        camera: Camera,
        headless: bool,
        on_scan: Callable[[str], None],
        on_motion: Callable[[], None],
        on_health: Callable[[Health], None],
    ) -> None:
        self.config = config
        self.camera = camera
        self.headless = headless
        self.on_scan = on_scan
        self.on_motion = on_motion
        self.on_health = on_health
        self._stoppers: list[Callable[[], None]] = []
        self._stopped = threading.Event()

    def start(self) -> None:
        """Start the scanner port, the keyboard wedge on stdin and the motion trigger, as configured."""
        from hardware.scanner_port import ScannerPort
        from station.triggers import MotionTrigger

        port = self.config.barcode.scanner_port
        if port == "keyboard" and self.headless and self.config.camera.source != "synthetic":
            # A keyboard-wedge scanner types each code and Enter; headless, that is stdin
            # (the desktop app reads the keys itself).
            threading.Thread(target=self._read_wedge, name="keyboard-wedge", daemon=True).start()
        if port and port != "keyboard":
            language = self.config.ui.language

            def scanner_down(exc: Exception) -> None:
                self.on_health(Health(
                    "scanner", Level.ERROR,
                    QT_TRANSLATE_NOOP("Health", "hand scanner not answering").render(language),
                    QT_TRANSLATE_NOOP("Health", "{problem}. Check its cable; scans meanwhile need the T key.")
                    .render(language, problem=str(exc))))

            scanner = ScannerPort(port, self.on_scan, baudrate=self.config.barcode.scanner_baud,
                                  on_error=scanner_down)
            scanner.start()
            self._stoppers.append(scanner.stop)
        if self.config.station.motion_trigger:
            motion = MotionTrigger(self.camera, self.on_motion, roi=self.config.camera.roi_box)
            motion.start()
            self._stoppers.append(motion.stop)

    def stop(self) -> None:
        """Stop what `start` started."""
        self._stopped.set()
        for stop in reversed(self._stoppers):
            stop()

    def _read_wedge(self) -> None:
        for line in sys.stdin:
            if self._stopped.is_set():
                return
            if line.strip():
                self.on_scan(line)

