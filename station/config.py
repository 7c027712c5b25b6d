"""One station's settings: `config.toml` loaded once into frozen, typed dataclasses.

Every section is a frozen dataclass whose field defaults are the embedded defaults, so
the station starts with no file at all. A file may set any subset of keys; unknown
keys, wrong types and out-of-range values refuse to start with the file, the line, the
key and what to do (`ConfigError`). Secrets can come from the environment instead of
the file (`STATION_MQTT_PASSWORD`, see `ENV_OVERRIDES`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hardware.link import LinkSettings
from hardware.modbus.settings import ModbusSettings
from sync.metrics import MetricsSettings
from sync.settings import SyncSettings
from vision.barcode.formats import BARCODE_FORMATS
from vision.stream_address import stream_address_problem

__all__ = [
    "ENV_OVERRIDES",
    "BarcodeConfig",
    "CalibrationConfig",
    "CameraConfig",
    "Config",
    "ConfigError",
    "HardwareConfig",
    "ModelsConfig",
    "PolicyConfig",
    "StationConfig",
    "StorageConfig",
    "UiConfig",
    "key_range",
    "load_config",
]


class _KeyError(ValueError):
    """A cross-key check that can name the key at fault (for the line in the message).

    Settings types of other packages (hardware/, sync/) raise their own `ValueError`
    with a `key` attribute: the loader reports those on the key's line the same way.
    """

    def __init__(self, key: str, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.fix = fix


FLAT = {"flat": True}
"""Field metadata: a settings dataclass whose keys sit directly in the section's table.

`link: LinkSettings = field(default_factory=LinkSettings, metadata=FLAT)` reads
`[hardware] port = ...` into `config.hardware.link.port`: the part takes the type the
config holds, and the file keeps one flat section per subject.
"""


# Station and site ids are MQTT topic segments and parts of file names: no "/", "+", "#",
# spaces or empty names.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class ConfigError(Exception):
    """A config file the station refuses to start with; the message says where and why."""

    def __init__(self, file: str, key: str, line: int | None, problem: str, fix: str) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: [{key}] {problem} — {fix}")
        self.file = file
        self.key = key
        self.line = line
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class StationConfig:
    """Identity of this station and where it keeps its files."""

    id: str = "dock-01"
    site: str = "site-01"
    # Relative paths are resolved against the folder holding config.toml (or the
    # working directory when running on embedded defaults).
    data_dir: Path = Path("var")
    mode: Literal["conveyor", "bench"] = "conveyor"
    # Bench mode: an item put down in view (motion, then stillness) triggers an inspection.
    motion_trigger: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_max_bytes: int = 5_000_000
    log_backups: int = 5


CameraCheck = Literal["codes", "defect", "conformity"]

# What `device` names for each source that cannot do without one (a GigE camera may be "": the first
# one found; the synthetic camera needs none).
_DEVICE_NEEDED = {
    "device": "the camera's index (0 for the first) or its path (/dev/video0)",
    "video": "the path of the video file",
    "folder": "the folder holding the frames",
    "stream": "the stream's address (rtsp://..., http://...)",
}


@dataclass(frozen=True)
class CameraConfig:
    """One camera: where its frames come from, where it sits, and what is judged on its view.

    `[camera]` is the first camera (the one the trigger is timed for); every `[cameras.NAME]`
    table is one more, with the same keys. One item is one set of views, one per camera.
    """

    # The camera's name in verdicts, image files and the status bar ("top", "left", ...).
    name: str = "top"
    source: Literal["synthetic", "device", "video", "folder", "gige", "stream"] = "synthetic"
    # Device index ("0"), device path ("/dev/video2"), video file, image folder, GigE Vision
    # camera id or address ("" = the first found), or stream URL (rtsp://, http://).
    device: str = "0"
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    # -1 leaves exposure (µs for GigE Vision) / focus / gain (dB) to the camera's automatic control.
    exposure: float = -1.0
    focus: float = -1.0
    gain: float = -1.0
    # GigE Vision: the camera's pixel format ("" = as configured in the camera) and trigger
    # mode ("free-run": the camera streams; "software": one exposure per item).
    pixel_format: str = ""
    trigger_mode: Literal["free-run", "software"] = "free-run"
    # IP cameras: RTSP over "tcp" (reliable through switches and firewalls) or "udp".
    transport: Literal["tcp", "udp"] = "tcp"
    frozen_after_s: float = 2.0
    reopen_backoff_s: float = 0.5
    reopen_backoff_max_s: float = 10.0
    # Region of interest [x, y, width, height] in pixels; all zeros = the whole frame.
    roi: tuple[int, ...] = (0, 0, 0, 0)
    # How far past the first camera along the belt this one sees the item, in metres: its
    # frame is taken when the item gets there (belt speed from [hardware]).
    offset_m: float = 0.0
    # What is judged on this view: barcodes, damage, and whether it is the expected product
    # (the views that see the label).
    checks: tuple[CameraCheck, ...] = ("codes", "defect", "conformity")
    # This camera's calibration file; none = [calibration] file for the first camera, no
    # calibration (no sizes measured) for the others.
    calibration: Path | None = None

    def __post_init__(self) -> None:
        if len(self.roi) != 4:
            raise _KeyError("roi", f"roi has {len(self.roi)} numbers; it needs 4: [x, y, width, height]")
        if not ID_PATTERN.fullmatch(self.name):
            raise _KeyError("name", f"camera name {self.name!r} is not a valid name")
        if len(set(self.checks)) != len(self.checks):
            raise _KeyError("checks", "checks lists a check twice")
        if not self.device.strip() and self.source in _DEVICE_NEEDED:
            raise _KeyError("device", f"source = {self.source!r} but device is empty",
                            f"set device to {_DEVICE_NEEDED[self.source]}")
        if self.source == "stream":
            problem = stream_address_problem(self.device)
            if problem is not None:
                raise _KeyError("device", problem, f"set device to {_DEVICE_NEEDED['stream']}")

    @property
    def roi_box(self) -> tuple[int, int, int, int] | None:
        """The region of interest as (x, y, width, height); None for the whole frame."""
        if not any(self.roi[2:]):
            return None
        x, y, w, h = self.roi
        return x, y, w, h


@dataclass(frozen=True)
class BarcodeConfig:
    """Which codes to read and how hard to try."""

    formats: tuple[str, ...] = BARCODE_FORMATS
    engines: tuple[str, ...] = ("zxing", "zbar")
    # Spend rotation / scaling / contrast retries only when the fast path reads nothing.
    try_harder: bool = True
    # Budget for the slow path per frame on the line, in milliseconds (files: a work budget).
    slow_path_budget_ms: float = 60.0
    # Hand scanner: "" = none, "keyboard" = keyboard wedge, or a serial port name.
    scanner_port: str = ""
    scanner_baud: int = 9600

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in BARCODE_FORMATS]
        if unknown:
            raise ValueError(f"unknown formats {unknown}; known: {', '.join(BARCODE_FORMATS)}")
        bad = [e for e in self.engines if e not in ("zxing", "zbar")]
        if bad or not self.engines:
            raise ValueError(f"engines must be some of \"zxing\", \"zbar\", got {list(self.engines)}")
        if self.slow_path_budget_ms < 0:
            raise ValueError(f"slow_path_budget_ms must be 0 or more, got {self.slow_path_budget_ms}")
        if self.scanner_baud <= 0:
            raise ValueError(f"scanner_baud must be positive, got {self.scanner_baud}")


@dataclass(frozen=True)
class ModelsConfig:
    """The ONNX models the station runs."""

    defect_dir: Path = Path("models/defect")
    conformity_dir: Path = Path("models/conformity")
    # Enrolled SKUs' reference embeddings, relative to [station].data_dir.
    gallery: Path = Path("gallery.npz")
    intra_op_threads: int = 1
    inter_op_threads: int = 1
    timeout_ms: float = 500.0
    # Frames of items whose product an operator confirmed, enrolled as the SKU's references while
    # the station runs, at most this many per SKU (0 = none; station/site_references.py).
    site_references: int = 2


@dataclass(frozen=True)
class PolicyConfig:
    """Thresholds of the decision policy (each documented in config.toml)."""

    defect_repair: float = 0.5
    defect_recycle: float = 0.85
    grade_a_max: float = 0.2
    conformity_min_similarity: float = 0.6
    min_confidence: float = 0.6
    decision_margin: float = 0.15
    require_rma: bool = True
    require_conformity: bool = True
    fraud_review: bool = True
    min_sharpness: float = 0.0
    dimension_tolerance: float = 0.15

    def __post_init__(self) -> None:
        # Cross-key rules: the grade bands and dispositions only make sense in this order.
        if not self.defect_repair < self.defect_recycle:
            raise ValueError(
                f"defect_repair ({self.defect_repair}) must be below defect_recycle ({self.defect_recycle})"
            )
        if not self.grade_a_max <= self.defect_repair:
            raise ValueError(
                f"grade_a_max ({self.grade_a_max}) must not be above defect_repair ({self.defect_repair})"
            )


@dataclass(frozen=True)
class HardwareConfig:
    """The conveyor: the serial link to its controller, its lanes, the built-in simulator."""

    # port ("sim" = the simulator on a pseudo-terminal), usb_id, baudrate, heartbeat_ms,
    # ack_timeout_ms, retries, silence_ms, reconnect back-off: keys of [hardware] itself.
    link: LinkSettings = field(default_factory=LinkSettings, metadata=FLAT)
    # "protocol": our controller on `link`; "modbus": a PLC or remote I/O, [hardware.modbus].
    controller: Literal["protocol", "modbus"] = "protocol"
    modbus: ModbusSettings = field(default_factory=ModbusSettings)
    confirm_timeout_s: float = 10.0
    # The belt's speed: a camera [cameras.NAME] offset_m past the first takes its frame
    # offset_m / belt_speed_m_s after the trigger (the simulator uses sim_speed_m_s).
    belt_speed_m_s: float = 0.5
    # The built-in simulator (port = "sim"): belt speed, item spacing or pace, positions.
    sim_speed_m_s: float = 2.0
    sim_spacing_m: float = 0.5
    sim_items_per_s: float = 0.0
    sim_camera_pos_m: float = 0.5
    sim_divert_pos_m: float = 2.0
    lanes: dict[str, int] = field(
        default_factory=lambda: {
            "manual": 0,
            "restock": 1,
            "repair": 2,
            "recycle": 3,
            "quarantine": 4,
        }
    )

    def __post_init__(self) -> None:
        if "manual" not in self.lanes:
            raise _KeyError("lanes", "[hardware.lanes] has no manual lane (the controller's default lane)")
        seen: dict[int, str] = {}
        for name, lane in self.lanes.items():
            if lane in seen:
                raise _KeyError(
                    f"lanes.{name}",
                    f"{name} and {seen[lane]} are both on lane {lane}; each disposition needs its own lane",
                )
            seen[lane] = name


@dataclass(frozen=True)
class StorageConfig:
    """The local SQLite record and the image files."""

    db_path: Path = Path("station.db")
    images_dir: Path = Path("images")
    jpeg_quality: int = 90
    image_retention_days: int = 30
    personal_retention_days: int = 90
    min_free_disk_mb: int = 2048
    stop_free_disk_mb: int = 200
    blur_labels: bool = False
    sync_images: bool = False

    def __post_init__(self) -> None:
        # Old images are deleted to free space before the reserve is reached, not after the line stopped.
        if 0 < self.min_free_disk_mb < self.stop_free_disk_mb:
            raise _KeyError("stop_free_disk_mb",
                            f"stop_free_disk_mb = {self.stop_free_disk_mb} MB is above min_free_disk_mb = "
                            f"{self.min_free_disk_mb} MB: the station would stop inspecting before it "
                            "deleted old images to free space",
                            "set stop_free_disk_mb below min_free_disk_mb (200 and 2048 MB by default)")


@dataclass(frozen=True)
class CalibrationConfig:
    """Camera calibration and the ChArUco board."""

    file: Path = Path("calibration.toml")
    board_squares_x: int = 7
    board_squares_y: int = 5
    board_square_mm: float = 30.0
    board_marker_mm: float = 22.0
    board_dictionary: str = "DICT_5X5_100"
    colour_check_every: int = 200
    colour_tolerance_de: float = 5.0
    intrinsics_min_views: int = 10
    intrinsics_max_rms_px: float = 1.0
    min_sharpness: float = 40.0
    dimension_tolerance_mm: float = 10.0
    dimension_tolerance_rel: float = 0.05


@dataclass(frozen=True)
class UiConfig:
    """The desktop app."""

    fullscreen: bool = False
    # The window sounds the alert tone (station/alert_sound.py) on a quarantined item or a part turning red.
    beep: bool = True
    # The operator's language: the window, reasons, status lines and the report ("fr" or "en").
    language: Literal["en", "fr"] = "en"
    font_scale: float = 1.0
    recent_items: int = 200
    supervisor_required_for: tuple[str, ...] = ("restock",)
    supervisor_pin: str = ""
    # Each default is a catalogue entry (station.i18n.OVERRIDE_REASON_WORDS): shown in the operator's
    # language, recorded in English. Reasons a site writes in config.toml are shown as written.
    override_reasons: tuple[str, ...] = (
        "damage not seen by the camera",
        "damage is only packaging",
        "wrong product in the box",
        "missing parts or accessories",
        "item is fine, model too strict",
        "label or code unreadable",
    )
    kpi_refresh_s: float = 10.0
    # Headless with stderr not a terminal (a log file, the journal): one plain status line
    # this often instead of a line redrawn in place.
    log_status_every_s: float = 30.0


@dataclass(frozen=True)
class Config:
    """All sections; `source` is the file it came from ("<defaults>" when none)."""

    station: StationConfig = field(default_factory=StationConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    # More cameras, by name: [cameras.left], [cameras.right], ...
    cameras: dict[str, CameraConfig] = field(default_factory=dict)
    barcode: BarcodeConfig = field(default_factory=BarcodeConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    # sync/ cannot import the station's config, so [sync] is sync's own settings type: its
    # fields are the section's keys.
    sync: SyncSettings = field(default_factory=SyncSettings)
    storage: StorageConfig = field(default_factory=StorageConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    # The Prometheus endpoint (sync/metrics.py): `listen`, default this computer only.
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    source: str = "<defaults>"
    base_dir: Path = Path()

    @property
    def all_cameras(self) -> dict[str, CameraConfig]:
        """Every camera by name, the first ([camera]) first."""
        return {self.camera.name: self.camera, **{c.name: c for c in self.cameras.values()}}

    def resolve(self, path: Path) -> Path:
        """A path from the config, made absolute against the config file's folder."""
        path = path.expanduser()
        return path if path.is_absolute() else self.base_dir / path

    @property
    def data_dir(self) -> Path:
        """The folder holding the database, images and logs."""
        return self.resolve(self.station.data_dir)

    def in_data_dir(self, path: Path) -> Path:
        """A storage path, made absolute against the data directory."""
        path = path.expanduser()
        return path if path.is_absolute() else self.data_dir / path


# Environment variables that override keys without editing the file (secrets).
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "STATION_MQTT_USERNAME": ("sync", "username"),
    "STATION_MQTT_PASSWORD": ("sync", "password"),
    "STATION_SUPERVISOR_PIN": ("ui", "supervisor_pin"),
}

# Every int / float key has a range here (tests/faults/test_fault_config.py checks that none
# is missing); entries of a list or table key are checked one by one.
RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("station", "log_max_bytes"): (10_000, 10_000_000_000),
    ("station", "log_backups"): (0, 1000),
    ("camera", "exposure"): (-1.0, 1_000_000.0),
    ("camera", "focus"): (-1.0, 100_000.0),
    ("camera", "frozen_after_s"): (0.1, 3600.0),
    ("camera", "reopen_backoff_s"): (0.01, 3600.0),
    ("camera", "reopen_backoff_max_s"): (0.01, 3600.0),
    ("camera", "roi"): (0, 16384),
    ("camera", "gain"): (-1.0, 1000.0),
    ("camera", "offset_m"): (0.0, 100.0),
    ("barcode", "slow_path_budget_ms"): (0.0, 10_000.0),
    ("barcode", "scanner_baud"): (300, 4_000_000),
    ("models", "timeout_ms"): (1.0, 60_000.0),
    ("models", "site_references"): (0, 100),
    ("hardware", "baudrate"): (300, 4_000_000),
    ("hardware", "ack_timeout_ms"): (1, 10_000),
    ("hardware", "retries"): (0, 100),
    ("hardware", "silence_ms"): (20, 600_000),
    ("hardware", "reconnect_backoff_s"): (0.01, 3600.0),
    ("hardware", "reconnect_backoff_max_s"): (0.01, 3600.0),
    ("hardware", "hello_warning_s"): (0.1, 3600.0),
    ("hardware", "confirm_timeout_s"): (0.1, 3600.0),
    ("hardware", "sim_speed_m_s"): (0.01, 20.0),
    ("hardware", "belt_speed_m_s"): (0.01, 20.0),
    ("hardware", "sim_spacing_m"): (0.01, 100.0),
    ("hardware", "sim_items_per_s"): (0.0, 1000.0),
    ("hardware", "sim_camera_pos_m"): (0.0, 100.0),
    ("hardware", "sim_divert_pos_m"): (0.0, 1000.0),
    ("hardware", "lanes"): (0, 255),
    ("sync", "ack_timeout_s"): (0.1, 3600.0),
    ("sync", "stats_interval_s"): (1.0, 86_400.0),
    ("sync", "reconnect_backoff_max_s"): (0.1, 3600.0),
    ("sync", "reconnect_backoff_min_s"): (0.01, 3600.0),
    ("sync", "keepalive_s"): (1, 65535),
    ("sync", "poll_interval_s"): (0.01, 60.0),
    ("calibration", "board_squares_x"): (3, 100),
    ("calibration", "board_squares_y"): (3, 100),
    ("calibration", "board_square_mm"): (1.0, 1000.0),
    ("calibration", "board_marker_mm"): (1.0, 1000.0),
    ("calibration", "colour_check_every"): (1, 1_000_000),
    ("calibration", "colour_tolerance_de"): (0.1, 100.0),
    ("calibration", "intrinsics_min_views"): (3, 1000),
    ("calibration", "intrinsics_max_rms_px"): (0.01, 100.0),
    ("calibration", "min_sharpness"): (0.0, 100_000.0),
    ("calibration", "dimension_tolerance_mm"): (0.0, 1000.0),
    ("calibration", "dimension_tolerance_rel"): (0.0, 1.0),
    ("ui", "log_status_every_s"): (0.1, 3600.0),
    ("camera", "width"): (16, 16384),
    ("camera", "height"): (16, 16384),
    ("camera", "fps"): (0.1, 1000),
    ("models", "intra_op_threads"): (0, 64),
    ("models", "inter_op_threads"): (0, 64),
    ("policy", "defect_repair"): (0.0, 1.0),
    ("policy", "defect_recycle"): (0.0, 1.0),
    ("policy", "conformity_min_similarity"): (-1.0, 1.0),
    ("policy", "min_confidence"): (0.0, 1.0),
    ("policy", "grade_a_max"): (0.0, 1.0),
    ("policy", "decision_margin"): (0.01, 1.0),
    ("policy", "min_sharpness"): (0.0, 100000.0),
    ("policy", "dimension_tolerance"): (0.0, 1.0),
    ("storage", "image_retention_days"): (0, 36500),
    ("storage", "personal_retention_days"): (0, 36500),
    ("storage", "min_free_disk_mb"): (0, 10_000_000),
    ("storage", "stop_free_disk_mb"): (1, 10_000_000),
    ("sync", "port"): (1, 65535),
    ("sync", "inflight_window"): (1, 65535),
    ("sync", "image_max_bytes"): (1_000, 100_000_000),
    ("sync", "image_window"): (1, 1000),
    ("storage", "jpeg_quality"): (1, 100),
    ("hardware", "heartbeat_ms"): (10, 1000),
    ("hardware.modbus", "unit_id"): (1, 247),
    ("hardware.modbus", "baudrate"): (300, 4_000_000),
    ("hardware.modbus", "stopbits"): (1, 2),
    ("hardware.modbus", "poll_ms"): (1, 10_000),
    ("hardware.modbus", "timeout_ms"): (1, 60_000),
    ("hardware.modbus", "retries"): (0, 100),
    ("hardware.modbus", "ack_timeout_ms"): (1, 60_000),
    ("hardware.modbus", "heartbeat_ms"): (10, 60_000),
    ("hardware.modbus", "silence_ms"): (100, 600_000),
    ("hardware.modbus", "reconnect_backoff_s"): (0.01, 3600.0),
    ("hardware.modbus", "reconnect_backoff_max_s"): (0.01, 3600.0),
    ("hardware.modbus", "hr_base"): (0, 65535),
    ("hardware.modbus", "ir_base"): (0, 65535),
    ("hardware.modbus", "ring_slots"): (1, 2000),
    ("ui", "font_scale"): (0.5, 3.0),
    ("ui", "recent_items"): (10, 10000),
    ("ui", "kpi_refresh_s"): (1.0, 3600.0),
}



def key_range(section: str, key: str) -> tuple[float, float] | None:
    """The allowed range of a number key (None for keys that are not numbers)."""
    return RANGES.get((section, key))


# String keys that must match a pattern: (pattern, what to write in the fix).
_ID_RULE = "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
_PATTERNS: dict[tuple[str, str], tuple[re.Pattern[str], str]] = {
    ("station", "id"): (ID_PATTERN, _ID_RULE),
    ("station", "site"): (ID_PATTERN, _ID_RULE),
}


CONFIG_ENV = "STATION_CONFIG"
# Where a new config file's keys are found, for the fix of a missing one.
EVERY_KEY = ("every key, with its default and meaning, is in the project's config.toml, "
             "and in config.reference.toml beside an installed station's config")
"""The environment variable naming the config file when there is no `--config`."""


def load_config(path: Path | None = None, env: typing.Mapping[str, str] | None = None,
                from_option: bool | None = None) -> Config:
    """Load `path` (or the embedded defaults when None) and apply environment overrides.

    `from_option` says where `path` came from, for the fix of a file that is not there: True
    `--config`, False not the command line ($STATION_CONFIG, else ./config.toml); None (not
    known) takes it for $STATION_CONFIG when that names `path`, else for `--config`.
    """
    env = os.environ if env is None else env
    if path is None:
        raw: dict[str, Any] = {}
        text = ""
        source = "<defaults>"
        base_dir = Path.cwd()
    else:
        source = str(path)
        from_env = from_option is not True and bool(env.get(CONFIG_ENV)) and Path(env[CONFIG_ENV]) == path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            problem, fix = "file not found", f"create it ({EVERY_KEY})"
            if from_env:
                problem = f"{CONFIG_ENV} points to this file, which does not exist"
                fix = f"fix or unset {CONFIG_ENV}, or create the file ({EVERY_KEY})"
            elif from_option is not False:
                fix += " or leave out --config"
            raise ConfigError(source, "-", None, problem, fix) from None
        except PermissionError:
            where = f" ({CONFIG_ENV} points to it)" if from_env else ""
            raise ConfigError(source, "-", None, f"this user may not read it{where}",
                              "run the command with sudo, or as a user of the file's group (an installed "
                              "station's config is readable by root and the station group)") from None
        except (OSError, UnicodeDecodeError) as exc:
            where = f" ({CONFIG_ENV} points to it)" if from_env else ""
            fix = f"check the file, or fix or unset {CONFIG_ENV}" if from_env else "check the file"
            raise ConfigError(source, "-", None, f"cannot read it ({exc}){where}", fix) from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            raise ConfigError(
                source, "-", int(match.group(1)) if match else None,
                f"not valid TOML ({exc})", "fix the syntax at that line",
            ) from None
        base_dir = path.resolve().parent

    locator = _Locator(source, text)
    sections: dict[str, Any] = {}
    hints = typing.get_type_hints(Config)
    known = {f.name for f in dataclasses.fields(Config) if f.name not in ("source", "base_dir")}
    for name, table in raw.items():
        if name not in known:
            raise ConfigError(
                source, name, locator.line(name, None), "unknown section",
                f"remove it or use one of: {', '.join(sorted(known))}",
            )
        if not isinstance(table, dict):
            raise ConfigError(
                source, name, locator.line(name, None), "must be a table",
                f"write it as a [{name}] section",
            )
    for name in known:
        table = dict(raw.get(name, {}))
        for var, (section, key) in ENV_OVERRIDES.items():
            if section == name and env.get(var):
                table[key] = env[var]
        if name == "cameras":
            sections[name] = _build_cameras(table, sections, locator)
        else:
            sections[name] = _build(hints[name], name, table, locator)
    _check_camera_set(sections["camera"], sections["cameras"], locator)
    return Config(**sections, source=source, base_dir=base_dir)


# Sources that open a device of their own: a camera takes orders from one program at a time.
_OWN_DEVICE = ("device", "gige", "stream")


def _check_camera_set(first: CameraConfig, others: dict[str, CameraConfig], locator: _Locator) -> None:
    """What no single camera's table shows: the first camera is where the trigger is timed (its
    offset is 0), and no two cameras open the same device."""
    if first.offset_m != 0:
        raise ConfigError(locator.source, "camera.offset_m", locator.line("camera", "offset_m"),
                          f"{first.offset_m:g} m: [camera] is the camera the trigger is timed for, at 0",
                          "remove offset_m from [camera]; give it to the [cameras.NAME] farther down the "
                          "belt")
    taken: dict[tuple[str, str], str] = {}
    for section, camera in (("camera", first), *((f"cameras.{n}", c) for n, c in others.items())):
        if camera.source not in _OWN_DEVICE:
            continue
        key = (camera.source, camera.device)
        if key in taken:
            shown = "the first one found" if camera.device == "" else repr(camera.device)
            raise ConfigError(locator.source, f"{section}.device", locator.line(section, "device"),
                              f"{shown} is the device of camera {taken[key]!r} too: a camera takes orders "
                              "from one program at a time, and one of the two would stay down",
                              f"give [{section}] its own camera's device")
        taken[key] = camera.name


def _build_cameras(
    tables: dict[str, Any], sections: dict[str, Any], locator: _Locator
) -> dict[str, CameraConfig]:
    """`[cameras.NAME]` tables: one more camera each, named by its table."""
    first = sections.get("camera") or _build(CameraConfig, "camera", {}, locator)
    cameras: dict[str, CameraConfig] = {}
    for name, table in tables.items():
        section = f"cameras.{name}"
        if not isinstance(table, dict):
            raise ConfigError(locator.source, section, locator.line("cameras", name), "must be a table",
                              f"write it as a [{section}] section")
        if "name" in table:
            raise ConfigError(locator.source, f"{section}.name", locator.line(section, "name"),
                              "a camera of [cameras] is named by its table", f"remove name from [{section}]")
        if name == first.name or not ID_PATTERN.fullmatch(name):
            problem = (f"{name!r} is already the name of [camera]" if name == first.name
                       else f"{name!r} is not a valid camera name")
            raise ConfigError(locator.source, section, locator.line(section, None), problem,
                              f"name the table [cameras.<name>] with {_ID_RULE}, other than {first.name!r}")
        cameras[name] = _build(CameraConfig, section, {**table, "name": name}, locator)
    return cameras


class _Locator:
    """Finds the line of a key in the TOML text, for error messages; `base_dir` is the folder
    relative paths of the file are resolved against (as `Config.base_dir`)."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines = text.splitlines()
        self.base_dir = Path.cwd() if source == "<defaults>" else Path(source).resolve().parent

    def line(self, section: str, key: str | None) -> int | None:
        if key is not None and "." in key:  # a key of a sub-table: [section.table] key = ...
            table, key = key.rsplit(".", 1)
            section = f"{section}.{table}"
        in_section = False
        for number, line in enumerate(self.lines, start=1):
            stripped = line.strip()
            if stripped.startswith("["):
                header = stripped.strip("[]").strip()
                in_section = header == section
                if in_section and key is None:
                    return number
                continue
            if in_section and key is not None and re.match(rf'"?{re.escape(key)}"?\s*=', stripped):
                return number
        return None


def section_keys(cls: Any) -> list[str]:
    """The keys a section's table may hold, flat settings types included."""
    keys: list[str] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        keys.extend(section_keys(hints[f.name]) if f.metadata.get("flat") else [f.name])
    return keys


def _build(cls: Any, section: str, table: dict[str, Any], locator: _Locator, strict: bool = True) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    flat = {name: hints[name] for name, f in fields.items() if f.metadata.get("flat")}
    values: dict[str, Any] = {}
    for name, sub in flat.items():
        own = {k: v for k, v in table.items() if k in section_keys(sub)}
        values[name] = _build(sub, section, own, locator, strict=False)
    for key, value in table.items():
        if key in flat or key not in fields:
            if strict and not any(key in section_keys(sub) for sub in flat.values()):
                raise ConfigError(
                    locator.source, f"{section}.{key}", locator.line(section, key), "unknown key",
                    f"remove it or use one of: {', '.join(section_keys(cls))}",
                )
            continue
        values[key] = _coerce(hints[key], value, section, key, locator)
    try:
        built = cls(**values)
        if isinstance(built, SyncSettings):
            _check_sync_files(built, locator.base_dir)
        return built
    except ValueError as exc:
        named = getattr(exc, "key", None)
        if isinstance(named, str):  # a cross-key check that names the key at fault
            raise ConfigError(
                locator.source, f"{section}.{named}", locator.line(section, named), str(exc),
                getattr(exc, "fix", None) or f"fix [{section}] {named}",
            ) from None
        # a section's own cross-key check (__post_init__)
        raise ConfigError(
            locator.source, section, locator.line(section, None), str(exc), f"fix the [{section}] values"
        ) from None


# The files of [sync] a TLS connection opens, and what each one is (for the fix).
_TLS_FILES = {
    "ca_file": "the CA certificate that signed the broker's certificate",
    "cert_file": "this station's client certificate",
    "key_file": "the private key of this station's client certificate",
}


def _check_sync_files(settings: SyncSettings, base_dir: Path) -> None:
    """With `tls = true` and a broker, each of ca_file / cert_file / key_file that is set must be
    a readable file: found when the config loads rather than when the publisher connects, so the
    station refuses to start (and `station doctor` lists it) with the key at fault."""
    if not settings.tls or not settings.broker:
        return  # the files are opened for a TLS connection to a broker only
    resolved = settings.resolved(base_dir)
    for key, what in _TLS_FILES.items():
        path: Path | None = getattr(resolved, key)
        if path is None:
            continue
        fix = (f"set [sync] {key} to the path of {what} (a relative path is relative to {base_dir}), "
               f"or to \"\" for none")
        if not path.exists():
            raise _KeyError(key, f"tls = true but {key} {path} does not exist", fix)
        if not path.is_file():
            raise _KeyError(key, f"tls = true but {key} {path} is not a file", fix)
        if not os.access(path, os.R_OK):
            raise _KeyError(key, f"tls = true but {key} {path} cannot be read by this user",
                            f"let the station's user read {path} (chmod / chown), or set [sync] {key}")


def _coerce(hint: Any, value: Any, section: str, key: str, locator: _Locator) -> Any:
    def fail(expected: str) -> ConfigError:
        return ConfigError(
            locator.source, f"{section}.{key}", locator.line(section, key),
            f"expected {expected}, got {value!r}", f"set {key} to {expected}",
        )

    origin = typing.get_origin(hint)
    result: Any
    if hint is bool:
        if not isinstance(value, bool):
            raise fail("true or false")
        result = value
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail("a whole number")
        result = value
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail("a number")
        result = float(value)
    elif hint is str:
        if not isinstance(value, str):
            raise fail("a string in quotes")
        result = value
    elif hint is Path:
        if not isinstance(value, str) or not value:
            raise fail("a path in quotes")
        result = Path(value)
    elif origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise fail("one of " + ", ".join(repr(c) for c in choices))
        result = value
    elif origin is tuple:
        (item_hint, *_rest) = typing.get_args(hint)
        if not isinstance(value, list):
            raise fail("a list like [...]")
        result = tuple(_coerce(item_hint, v, section, key, locator) for v in value)
    elif origin is dict:
        _key_hint, value_hint = typing.get_args(hint)
        if not isinstance(value, dict):
            raise fail("a table like { name = value }")
        result = {k: _coerce(value_hint, v, section, f"{key}.{k}", locator) for k, v in value.items()}
    elif origin in (types.UnionType, typing.Union) and set(typing.get_args(hint)) == {Path, type(None)}:
        if not isinstance(value, str):
            raise fail("a path in quotes, or \"\" for none")
        result = Path(value) if value else None
    elif origin in (types.UnionType, typing.Union):
        raise fail(str(hint))  # no other union-typed keys; refuse rather than guess
    elif dataclasses.is_dataclass(hint):  # a sub-table of the section: [section.key]
        if not isinstance(value, dict):
            raise fail(f"a table [{section}.{key}]")
        result = _build(hint, f"{section}.{key}", value, locator)
    else:  # pragma: no cover - a new field type needs a branch above
        raise TypeError(f"config field {section}.{key} has unsupported type {hint!r}")
    # [cameras.NAME] tables take the ranges of [camera].
    bounds = RANGES.get(("camera" if section.startswith("cameras.") else section, key.split(".", 1)[0]))
    numeric = isinstance(result, int | float) and not isinstance(result, bool)
    if bounds is not None and numeric and not bounds[0] <= result <= bounds[1]:
        raise ConfigError(
            locator.source, f"{section}.{key}", locator.line(section, key),
            f"{result!r} is out of range", f"set it between {bounds[0]} and {bounds[1]}",
        )
    pattern = _PATTERNS.get((section, key))
    if pattern is not None and isinstance(result, str) and not pattern[0].fullmatch(result):
        raise ConfigError(
            locator.source, f"{section}.{key}", locator.line(section, key),
            f"{result!r} is not a valid name (it is an MQTT topic segment and part of file names)",
            f"use {pattern[1]}",
        )
    return result
