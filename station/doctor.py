"""`station doctor`'s checks: is this dock PC ready to run the station, without starting the line?

Each check gives one or more `CheckResult`s: ok, warn (the station runs, but something is
worth knowing) or fail (the station cannot do its job), in plain words with what to do.
The installer and the supervisor run them; nobody at the dock reads a traceback, so every
check catches what it can meet and says it.

The checks hold the data folder's lock while they run (a station started meanwhile would
fight them for the camera and the port); when a station already holds it, the camera and
conveyor checks are skipped, since that station has them open. The doctor creates no folder.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.config import CameraConfig, Config, ConfigError
from station.datadir import nearest_existing, unwritable, unwritable_data
from station.datalock import DataLock, DataLockError

if TYPE_CHECKING:
    from vision.inference import ConformityModel

__all__ = ["CheckResult", "Status", "build_date", "config_results", "give_to_folder_owner", "run_checks"]

logger = logging.getLogger(__name__)

MB = 1_000_000
# What a demo-line device is replaced with before production (docs/deployment.md, "Before production").
BEFORE_PRODUCTION = "docs/deployment.md, \"Before production\""


class Status(enum.Enum):
    """How a check went: `warn` still counts as passing."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    """One line of the doctor's answer."""

    check: str
    status: Status
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        """The `--json` object: check, status, message and (when there is something to do) fix."""
        data = {"check": self.check, "status": self.status.value, "message": self.message}
        if self.fix:
            data["fix"] = self.fix
        return data

    def line(self) -> str:
        """One line of text: status, check, what was seen, what to do."""
        text = f"{self.status.value.upper():4}  {self.check:11} {self.message}"
        return f"{text} — {self.fix}" if self.fix else text


def ok(check: str, message: str) -> CheckResult:
    """A passing check."""
    return CheckResult(check, Status.OK, message)


def warn(check: str, message: str, fix: str = "") -> CheckResult:
    """A check that passes with something worth knowing."""
    return CheckResult(check, Status.WARN, message, fix)


def fail(check: str, message: str, fix: str) -> CheckResult:
    """A check that fails, with what to do."""
    return CheckResult(check, Status.FAIL, message, fix)


# -- config -------------------------------------------------------------------------------


def config_results(problems: list[ConfigError], source: str) -> list[CheckResult]:
    """One result per problem of the config file (or one ok)."""
    if not problems:
        return [ok("config", f"{source}: every key is valid" if source != "<defaults>"
                   else "no config file: the embedded defaults (the demo line)")]
    return [fail("config", f"{p.file}:{p.line or '-'}: [{p.key}] {p.problem}", p.fix) for p in problems]


# -- data folder: lock, disk space -----------------------------------------------------------


@dataclass(frozen=True)
class LockResult(CheckResult):
    """The lock check, and what it means for the checks that open the cameras and the conveyor port."""

    # A station holds the folder: it has the cameras and the port open, they are not touched.
    station_running: bool = False
    # The lock could not be taken (a folder this user cannot write): a station on it is not ruled out.
    unknown: bool = False


def _file_in_the_way(folder: Path) -> Path | None:
    """`folder`, or the nearest of its parents that exists, when that is a file rather than a folder."""
    existing = nearest_existing(folder)
    return existing if existing.exists() and not existing.is_dir() else None


def _data_dir_is_a_file(config: Config, check: str) -> CheckResult | None:
    found = _file_in_the_way(config.data_dir)
    if found is None:
        return None
    where = f"data_dir {config.data_dir} is a file" if found == config.data_dir else \
        f"data_dir {config.data_dir} is inside {found}, which is a file"
    return fail(check, f"{where}, not a folder: the station cannot keep its database and images there",
                "set [station] data_dir to a folder")


@contextmanager
def held_lock(config: Config) -> Iterator[LockResult]:
    """Take the data folder's lock for the checks; the result says whether a station holds it."""
    folder = config.data_dir
    if (is_file := _data_dir_is_a_file(config, "lock")) is not None:
        # No station can run on a file: the devices may be checked.
        yield LockResult(is_file.check, is_file.status, is_file.message, is_file.fix)
        return
    if not folder.exists():
        yield LockResult("lock", Status.OK, f"no station has used the data folder {folder} yet")
        return
    lock = DataLock(folder)
    try:
        lock.acquire()
    except DataLockError as exc:
        yield LockResult("lock", Status.FAIL,
                         f"a station is running on the data folder {folder} ({exc.holder.describe()})",
                         "stop that station (or its service) before checking, or check another data folder",
                         station_running=True)
        return
    except OSError as exc:
        # The lock file itself may be the one not writable (left by another user), not the folder.
        target = lock.path if lock.path.exists() else folder
        why, fix = unwritable(target) or (str(exc.strerror or exc), "check that it is writable")
        yield LockResult("lock", Status.FAIL, f"cannot lock the data folder {folder}: {why}",
                         f"{fix}, or set [station] data_dir", unknown=True)
        return
    # Run as root on the service's folder, the doctor must not leave a lock file the service cannot open.
    give_to_folder_owner(folder, lock.path)
    try:
        yield LockResult("lock", Status.OK, f"no station is running on the data folder {folder}")
    finally:
        lock.release()


def give_to_folder_owner(folder: Path, *paths: Path) -> None:
    """Run as root, give `paths` (made in `folder`) to the owner of `folder`.

    The technician runs `station doctor` or `station restore` as root, the service runs as its own
    user: a lock file or a database left owned by root would stop that service at its next start.
    """
    if not _as_root():
        return
    try:
        owner = folder.stat()
    except OSError:
        return
    if owner.st_uid == 0:
        return
    for path in paths:
        for item in (path, *(path.rglob("*") if path.is_dir() and not path.is_symlink() else ())):
            try:
                os.chown(item, owner.st_uid, owner.st_gid, follow_symlinks=False)
            except OSError as exc:
                logger.warning("cannot give %s to the owner of %s: %s", item, folder, exc)


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _user_name(uid: int) -> str:
    import pwd  # POSIX only, as root is

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _not_the_owners(folder: Path) -> CheckResult | None:
    """Run as root: the data folder's own entries that its owner (the service's user) may not write."""
    if not _as_root() or not folder.is_dir():
        return None
    owner = folder.stat().st_uid
    if owner == 0:
        return None
    foreign = sorted(p.name for p in folder.iterdir() if p.lstat().st_uid != owner)
    if not foreign:
        return None
    user = _user_name(owner)
    return fail("disk", f"{', '.join(foreign[:5])}{', …' if len(foreign) > 5 else ''} in the data folder "
                f"{folder} belong to another user than {user}, who owns the folder: the station run as "
                f"{user} (the service) cannot write them (its database or lock file: it does not start)",
                f"give them back: chown -R {user}: {folder}")


def check_disk(config: Config, free_bytes: Callable[[Path], int] | None = None,
               total_bytes: Callable[[Path], int] | None = None) -> CheckResult:
    """Free space of the data folder's disk against [storage] stop_free_disk_mb and min_free_disk_mb."""
    if (is_file := _data_dir_is_a_file(config, "disk")) is not None:
        return is_file
    problem = unwritable_data(config.data_dir, config.in_data_dir(config.storage.db_path))
    if problem:
        why, fix = problem
        return fail("disk", f"data folder {config.data_dir} is not writable ({why}): the station cannot "
                    "record items there", f"{fix}, or set [station] data_dir to a folder it may write")
    if (foreign := _not_the_owners(config.data_dir)) is not None:
        return foreign
    where = nearest_existing(config.data_dir)
    free_mb = (free_bytes or (lambda p: shutil.disk_usage(p).free))(where) / MB
    total_mb = (total_bytes or (lambda p: shutil.disk_usage(p).total))(where) / MB
    stop, low = config.storage.stop_free_disk_mb, config.storage.min_free_disk_mb
    if stop >= total_mb:
        # No cleaning can ever free that much: the setting is what is wrong (MB, not bytes or KB).
        return fail("disk", f"[storage] stop_free_disk_mb = {stop} MB is more than the whole disk of "
                    f"{config.data_dir} holds ({total_mb:.0f} MB): the station would send every item to the "
                    "manual lane", f"set [storage] stop_free_disk_mb in MB, well below {total_mb:.0f} "
                    "(200 by default), and min_free_disk_mb above it")
    if free_mb < stop:
        return fail("disk", f"{free_mb:.0f} MB free on the disk of {config.data_dir}, below the {stop} MB "
                    "the station keeps in reserve ([storage] stop_free_disk_mb): it would send every item to "
                    "the manual lane",
                    "free space on that disk (old images, logs) or move [station] data_dir to a larger one")
    if low >= total_mb:
        return warn("disk", f"[storage] min_free_disk_mb = {low} MB is more than the whole disk of "
                    f"{config.data_dir} holds ({total_mb:.0f} MB): the station would warn of low space "
                    "all the time", f"set [storage] min_free_disk_mb in MB, below {total_mb:.0f} (2048 by "
                    "default)")
    if free_mb < low:
        return warn("disk", f"{free_mb:.0f} MB free on the disk of {config.data_dir}, below the {low} MB "
                    "the station asks for ([storage] min_free_disk_mb)",
                    "free space soon, or shorten [storage] image_retention_days")
    return ok("disk", f"{free_mb:.0f} MB free on the disk of {config.data_dir} (reserve {stop} MB)")


# -- clock --------------------------------------------------------------------------------


def build_date() -> datetime:
    """When this installation of the station was made: its newest program file.

    A clock before it is certainly wrong (a dead RTC battery boots the PC in 1970 or 2000),
    and every verdict, retention period and certificate check would follow it.
    """
    package = Path(__file__).resolve().parent
    newest = max(p.stat().st_mtime for p in package.rglob("*.py"))
    return datetime.fromtimestamp(newest, UTC)


def _ntp_state() -> str | None:
    """timedatectl's NTPSynchronized ("yes"/"no"), or None when it cannot say."""
    if shutil.which("timedatectl") is None:
        return None
    try:
        done = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                              capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value in ("yes", "no") else None


def check_clock(now: datetime | None = None, built: datetime | None = None,
                ntp: Callable[[], str | None] = _ntp_state) -> CheckResult:
    """The clock is not before the build date, and NTP keeps it right when timedatectl can say."""
    now = now or datetime.now(UTC)
    built = built or build_date()
    if now < built:
        return fail("clock", f"the clock says {now:%Y-%m-%d %H:%M} UTC, before this software was installed "
                    f"({built:%Y-%m-%d}): every record would carry a wrong date",
                    "set the date and time (timedatectl set-time, or the BIOS) and check the PC's clock "
                    "battery")
    state = ntp()
    if state == "yes":
        return ok("clock", f"{now:%Y-%m-%d %H:%M} UTC, kept in time by NTP")
    if state == "no":
        return warn("clock", f"{now:%Y-%m-%d %H:%M} UTC, but NTP has not synchronised the clock: records "
                    "may carry a wrong time, and central's model offers and actions are refused once the "
                    "clocks disagree by more than 5 minutes",
                    "check the time server (timedatectl timesync-status) or the network")
    return warn("clock", f"{now:%Y-%m-%d %H:%M} UTC; whether NTP keeps it right is unknown "
                "(timedatectl cannot say on this system)",
                "make sure the PC's time is kept by NTP")


# -- models -------------------------------------------------------------------------------


def check_models(config: Config) -> list[CheckResult]:
    """The defect and conformity models load and match their manifest's sha256."""
    from station.live_models import active_folders
    from vision.inference import ConformityModel, DefectModel, ModelError

    folders = active_folders(config)
    results = []
    threads = (config.models.intra_op_threads, config.models.inter_op_threads)
    for name, loader in (("defect", DefectModel.load), ("conformity", ConformityModel.load)):
        folder = folders[name]
        try:
            model = loader(folder, *threads)
        except ModelError as exc:
            # The error's own advice (after " — ") is said better by the fix below.
            results.append(fail("models", f"the {name} model does not load: {str(exc).split(' — ')[0]}",
                                "copy its folder (model.onnx and manifest.json) again from the installation, "
                                f"or set [models] {name}_dir; meanwhile every item goes to manual review"))
            continue
        results.append(ok("models", f"{name} model {model.info.version} loads and matches its manifest "
                          f"(sha256 {model.info.sha256[:12]}…, {folder})"))
        if isinstance(model, ConformityModel):
            results.append(check_gallery(config, model))
    return results


def check_gallery(config: Config, model: ConformityModel) -> CheckResult:
    """The SKU references the conformity model is matched against: enrolled, readable, and
    either made by this model or with the pictures to embed them again."""
    from vision.inference import Gallery, GalleryError

    path = config.in_data_dir(config.models.gallery)
    enrol = ("enrol every SKU the dock receives from its own camera: station enroll SKU PICTURE... "
             f"--crop item ({BEFORE_PRODUCTION})")
    demo = config.camera.source == "synthetic"
    try:
        gallery = Gallery.load(path) if path.is_file() else Gallery()
    except GalleryError as exc:
        return warn("models", f"SKU references: {str(exc).split(' — ')[0]}",
                    "move it aside and enrol the SKUs again: station enroll SKU PICTURE... --crop item")
    if not gallery.skus:
        if demo:
            return ok("models", "SKU references: none yet; the demo line enrols its SKUs at start")
        return warn("models", f"no SKU references enrolled ({path}): every item goes to manual review "
                    "(product check failed) until they are", enrol)
    counts = f"{len(gallery.skus)} SKUs, {len(gallery)} references ({path})"
    from station.site_references import listed_per_sku

    site = listed_per_sku(path, gallery)
    if site:
        counts += (f", {sum(site.values())} of them from items confirmed at this dock, for {len(site)} "
                   f"SKU(s) ([models] site_references = {config.models.site_references})")
    if gallery.model_sha256 in ("", model.info.sha256):
        return ok("models", f"SKU references: {counts}, enrolled with this conformity model")
    missing = gallery.skus_without_pictures(path)
    if demo:
        # The demo line renders its own SKUs' references again at start.
        from station.demo_line import DemoLine

        missing = [sku for sku in missing if sku not in DemoLine(seed=7).skus]
    if missing:
        return warn("models", f"SKU references: {counts}, enrolled with another conformity model; "
                    f"these SKUs ({len(missing)}) have no picture to embed them again with this one: "
                    f"{', '.join(missing[:5])}{', …' if len(missing) > 5 else ''}",
                    "enrol those SKUs again: station enroll SKU PICTURE... --crop item --replace")
    return ok("models", f"SKU references: {counts}, enrolled with another conformity model; the station "
              "embeds them again from their pictures at start")


# -- calibration ----------------------------------------------------------------------------


def calibration_file(config: Config, name: str, cam: CameraConfig) -> Path | None:
    """The calibration file of camera `name`: its own, the [calibration] file for the first, else none."""
    if cam.calibration is not None:
        return config.resolve(cam.calibration)
    return config.resolve(config.calibration.file) if name == config.camera.name else None


def check_calibration(config: Config) -> list[CheckResult]:
    """Each camera's calibration file is there and was made for this camera at this resolution."""
    from calibration.errors import CalibrationError
    from calibration.files import load_calibration
    from station.devices import camera_id

    results = []
    for name, cam in config.all_cameras.items():
        if cam.source == "synthetic":
            results.append(ok("calibration", f"camera {name}: synthetic, no calibration needed"))
            continue
        path = calibration_file(config, name, cam)
        if path is None:
            results.append(ok("calibration", f"camera {name}: no calibration file set: item sizes are "
                              "measured on the first camera only"))
            continue
        if not path.exists():
            results.append(warn("calibration", f"camera {name}: not calibrated ({path} is missing): item "
                                "sizes are not checked", f"run `station calibrate` for camera {name}"))
            continue
        try:
            calibration = load_calibration(path, (cam.width, cam.height), camera_id(cam))
        except CalibrationError as exc:
            results.append(fail("calibration", f"camera {name}: {exc}",
                                f"calibrate camera {name} again (`station calibrate`), or point its "
                                "calibration at the right file"))
            continue
        parts = [p for p in ("intrinsics", "plane", "colour") if getattr(calibration, p) is not None]
        results.append(ok("calibration", f"camera {name}: calibrated on {calibration.created_at} for "
                          f"{cam.width}x{cam.height} ({', '.join(parts) or 'no parts yet'})"))
    return results


# -- cameras --------------------------------------------------------------------------------


def check_cameras(config: Config, seconds: float = 2.0) -> list[CheckResult]:
    """Every camera opens and delivers frames; their sharpness, as `station cameras test` measures it."""
    return [_check_camera(config, name, cam, seconds) for name, cam in config.all_cameras.items()]


def _check_camera(config: Config, name: str, cam: CameraConfig, seconds: float) -> CheckResult:
    from calibration.quality import QualityThresholds, assess
    from station.commands.cameras import _open, shown_device
    from vision.camera import CameraState, SourceError

    where = f"camera {name} ({cam.source} {shown_device(cam.device)})"
    fix = ("check its cable or network and power, and [camera] source / device "
           f"(`station cameras list` shows what is connected; `station cameras test {name}` measures it)")
    try:
        camera, demo = _open(config, name, cam)
    except (SourceError, OSError, ValueError) as exc:
        return fail("camera", f"{where} cannot be opened: {exc}", fix)
    thresholds = QualityThresholds(min_sharpness=config.calibration.min_sharpness)
    sharpness: list[float] = []
    last = None
    camera.start()
    started = time.monotonic()
    try:
        seen, tag = -1, 0
        while time.monotonic() - started < seconds:
            if demo is not None and tag % 10 == 0:  # an item under the demo camera every 10 frames
                demo.show_all({name: camera}, tag + 1)
            tag += 1
            frame = camera.wait_frame(time.monotonic(), timeout=min(1.0, seconds))
            if frame is None or frame.seq == seen:
                continue
            seen, last = frame.seq, frame
            if frame.seq % 3 == 0 and len(sharpness) < 50:
                sharpness.append(assess(frame.image, thresholds, region=cam.roi_box).sharpness)
        health = camera.health()
    finally:
        camera.stop()
        if demo is not None:
            demo.stop()
    elapsed = time.monotonic() - started
    if health.state is not CameraState.LIVE or last is None:
        # The capture thread's detail ends with when it retries: the doctor does not.
        detail = (health.detail or "nothing came in").split("; retrying")[0]
        return fail("camera", f"{where} delivers no frames: {detail}", fix)
    size = f"{last.image.shape[1]}x{last.image.shape[0]}"
    rate = health.frames / elapsed
    sharp = statistics.median(sharpness) if sharpness else None
    seen_text = f"{where}: {rate:.1f} frames/s at {size}"
    if sharp is not None:
        seen_text += f", sharpness {sharp:.0f}"
    if (last.image.shape[1], last.image.shape[0]) != (cam.width, cam.height) and cam.roi_box is None:
        return warn("camera", f"{seen_text}, not the {cam.width}x{cam.height} the config asks for",
                    "set [camera] width and height to what the camera delivers, or set the camera's mode")
    if sharp is not None and sharp < config.calibration.min_sharpness:
        return warn("camera", f"{seen_text}, below the {config.calibration.min_sharpness:g} wanted",
                    "focus the lens on the belt, clean it, or add light")
    if cam.source == "synthetic":
        return warn("camera", f"{seen_text}: drawn by the demo line, not a real camera",
                    f"set [camera] source and device to the dock's camera ({BEFORE_PRODUCTION})")
    return ok("camera", seen_text)


# -- conveyor -------------------------------------------------------------------------------


def check_conveyor(config: Config) -> CheckResult:
    """The controller (or the simulator of `port = "sim"`) says HELLO and takes our WELCOME."""
    from hardware.hello_probe import HelloProbeError, probe_hello
    from hardware.simulator import SimulatorRunner

    if config.station.mode == "bench":
        return ok("conveyor", "bench mode: no conveyor controller")
    if config.hardware.controller == "modbus":
        return _check_plc(config)
    link = config.hardware.link
    simulator = None
    port = link.port
    if port == "sim":
        from station.devices import sim_settings
        from station.options import RunOptions

        simulator = SimulatorRunner(sim_settings(config.hardware, RunOptions(items=0)))
        port = simulator.start()
    what = ("the built-in controller simulator" if simulator is not None
            else f"the controller on {port or link.usb_id}")
    try:
        seen = probe_hello(port, link.baudrate, link.usb_id, heartbeat_ms=link.heartbeat_ms)
    except HelloProbeError as exc:
        if exc.refused:
            return fail("conveyor", f"{what}: {exc}",
                        "set the controller's lane count, default lane and watchdog as hardware/PROTOCOL.md "
                        "says (§12, rule S1), or the station's [hardware] heartbeat_ms")
        return fail("conveyor", f"{what}: {exc}",
                    "check the cable, [hardware] port (or usb_id) and baudrate, that the controller has "
                    "power, and that this user may use the port (dialout group)")
    finally:
        if simulator is not None:
            simulator.stop()
    said = (f"{what} said HELLO on {seen.path}: {seen.lane_count} lanes, default lane {seen.default_lane}, "
            f"watchdog {seen.watchdog_ms} ms")
    if not seen.session:
        return warn("conveyor", f"{said}, but sent no heartbeat after our WELCOME",
                    "run `station hw selftest --port PORT` to see which rule the controller breaks")
    if (lanes := _lanes_problem(config, said, seen.lane_count, seen.default_lane)) is not None:
        return lanes
    if simulator is not None:
        return warn("conveyor", f"{said}; session up, nothing diverted; a simulated belt, no real conveyor",
                    f"set [hardware] port (or usb_id) to the controller's, or mode = \"bench\" "
                    f"({BEFORE_PRODUCTION})")
    return ok("conveyor", f"{said}; session up, nothing diverted")


def _lanes_problem(config: Config, what: str, lane_count: int, default_lane: int) -> CheckResult | None:
    """The controller's lanes against [hardware.lanes]: its default lane (where every item the
    station says nothing about goes) must be the manual lane, and the lane counts must agree."""
    lanes = config.hardware.lanes
    manual = lanes.get("manual")
    if manual is not None and default_lane != manual:
        return fail("conveyor", f"{what}: its default lane is {default_lane}, but [hardware.lanes] manual = "
                    f"{manual}: every item the station says nothing about (in time) would go to lane "
                    f"{default_lane}, unchecked",
                    f"set the controller's default lane to the manual-review lane ({manual}), or "
                    "[hardware.lanes] "
                    f"manual = {default_lane} if that is the manual lane")
    if lane_count != max(lanes.values()) + 1:
        return warn("conveyor", f"{what}: {lane_count} lanes; [hardware.lanes] uses lanes up to "
                    f"{max(lanes.values())}",
                    "make [hardware.lanes] match the controller's lanes")
    return None


def _check_plc(config: Config, timeout_s: float = 6.0) -> CheckResult:
    """A PLC over Modbus ([hardware.modbus], or the simulated PLC of port "sim") answers its registers
    and its heartbeat moves: the driver's own session comes up. Nothing is written but the station's
    heartbeat; nothing is diverted."""
    import threading

    from hardware import events as ev
    from hardware.modbus.driver import ModbusLink
    from hardware.modbus.plc_sim import PlcSimRunner
    from station.devices import sim_settings
    from station.options import RunOptions

    settings = config.hardware.modbus
    plc = None
    if settings.port == "sim":
        plc = PlcSimRunner(sim_settings(config.hardware, RunOptions(items=0)), settings.transport,
                           registers=settings.register_map(), unit_id=settings.unit_id,
                           baudrate=settings.baudrate)
        plc.start()
        settings = plc.link_settings(settings)
    what = "the simulated PLC" if plc is not None else f"the PLC on {settings.port} ({settings.transport})"
    up = threading.Event()
    downs: list[str] = []
    session: list[ev.LinkUp] = []

    def seen(event: ev.Event) -> None:
        if isinstance(event, ev.LinkUp):
            session.append(event)
            up.set()
        elif isinstance(event, ev.LinkDown):
            downs.append(event.reason)

    link = ModbusLink(settings, seen, port=settings.port)
    link.start()
    try:
        answered = up.wait(timeout_s)
    finally:
        link.stop()
        if plc is not None:
            plc.stop()
    if not answered:
        why = downs[-1] if downs else link.last_problem
        return fail("conveyor", f"{what} did not answer over Modbus in {timeout_s:.0f} s"
                    + (f": {why}" if why else ""),
                    "check the cable or network, [hardware.modbus] port, unit id and baud rate, that the "
                    "PLC has power and its program is running (hardware/MODBUS.md)")
    said = f"{what} answered over Modbus and its heartbeat moves; session up, nothing diverted"
    header = session[0]
    if (lanes := _lanes_problem(config, what, header.lane_count, header.default_lane)) is not None:
        return lanes
    if plc is not None:
        return warn("conveyor", f"{said}; a simulated PLC, no real conveyor",
                    f"set [hardware.modbus] port to the PLC's ({BEFORE_PRODUCTION})")
    return ok("conveyor", said)


# -- broker and central ---------------------------------------------------------------------


def _probe_verdict(config: Config) -> dict[str, Any]:
    """A verdict central accepts and acknowledges, marked as the doctor's."""
    from station.verdict import Decision, Disposition, Grade, Inspection, ItemInfo, Verdict, new_verdict_id

    now = datetime.now(UTC)
    verdict = Verdict(
        verdict_id=new_verdict_id(), revision=1, station_id=config.station.id, site_id=config.station.site,
        session=str(uuid.uuid4()), seq=0, item=ItemInfo(), inspection=Inspection(),
        decision=Decision(Grade.D, Disposition.MANUAL_REVIEW, ("station doctor probe, not an item",)),
        created_at=now, decided_at=now,
    )
    return verdict.to_json()


def check_broker(config: Config) -> CheckResult:
    """The broker takes a message (PUBACK) and, where the reference central runs, acknowledges a verdict."""
    from sync.broker import BrokerError, LocalBroker, demo_credentials, find_mosquitto
    from sync.central import CentralReceiver
    from sync.mqtt import BrokerAddress
    from sync.probe import BrokerProbeError, probe_broker
    from sync.settings import AUTO_BROKER, StationIdentity

    settings = config.sync.resolved(config.base_dir)
    topics = settings.topics(StationIdentity(config.station.id, config.station.site))
    client_id = f"doctor-{config.station.site}-{config.station.id}-{os.getpid()}"
    if not settings.broker:
        return warn("broker", "no broker configured: verdicts wait in the outbox",
                    "set [sync] broker to send them to central")
    if settings.broker == AUTO_BROKER:
        if find_mosquitto() is None:
            return warn("broker", "[sync] broker is \"auto\" but mosquitto is not installed: verdicts would "
                        "wait in the outbox",
                        "install mosquitto (apt install mosquitto), or set [sync] broker")
        # The demo line's own broker and central, started for the probe in a folder of their own.
        with tempfile.TemporaryDirectory(prefix="station-doctor-") as folder:
            try:  # with a password, as the station's own (`demo_credentials`)
                user, password, passwd = demo_credentials(Path(folder) / "mosquitto")
                broker = LocalBroker(folder=Path(folder) / "mosquitto", persistence=False,
                                     password_file=passwd)
                broker.start()
            except BrokerError as exc:
                return fail("broker", f"the local broker does not start: {exc}",
                            "check the mosquitto installation, or set [sync] broker")
            login = BrokerAddress(broker.host, broker.port, username=user, password=password)
            central = CentralReceiver(login, Path(folder) / "central.db",
                                      client_id=f"doctor-central-{os.getpid()}")
            try:
                central.start()
                if not central.wait_subscribed(10.0):
                    return fail("broker", "the reference central did not subscribe on the local broker in "
                                f"10 s: {central.stats().last_error or 'no answer'}",
                                "check the mosquitto installation")
                result = probe_broker(login, client_id, topics.verdict,
                                      json.dumps(_probe_verdict(config)).encode(), reply_topic=topics.ack)
            except (BrokerProbeError, RuntimeError) as exc:
                return fail("broker", f"local broker with the reference central: {exc}",
                            "check the mosquitto installation")
            finally:
                central.stop()
                broker.close()
        return warn("broker", f"local broker (\"auto\") and the reference central: a probe verdict was "
                    f"acknowledged by central in {result.reply_ms:.0f} ms, on this PC only: verdicts "
                    "acknowledged here never reach the site's central",
                    f"set [sync] broker, port and tls to the site's broker ({BEFORE_PRODUCTION})")
    address = BrokerAddress(settings.broker, settings.port, settings.tls, settings.username,
                            settings.password, settings.ca_file, settings.cert_file, settings.key_file)
    where = f"{settings.broker}:{settings.port}"
    try:
        result = probe_broker(address, client_id, topics.prefix + "doctor", b'{"probe": "station doctor"}')
    except BrokerProbeError as exc:
        return fail("broker", f"broker {where}: {exc}",
                    "check the network, [sync] broker / port / tls and the credentials "
                    "(STATION_MQTT_USERNAME / STATION_MQTT_PASSWORD)")
    # Central acknowledges verdicts only, and would record a probe verdict as an item: the round
    # trip through central is proved by the outbox draining once the station runs.
    return ok("broker", f"broker {where}: connected and a probe message was confirmed (PUBACK in "
              f"{result.puback_ms:.0f} ms); central's acknowledgement is not tested here "
              "(central acknowledges verdicts only)")


# How long the oldest verdict revision may have waited for central's ack before the doctor says so.
OUTBOX_STALE_S = 3600.0


def check_outbox(config: Config, now: float | None = None) -> CheckResult:
    """What waits in the outbox for central's acknowledgement, and since when (read only)."""
    import sqlite3

    from sync import outbox

    db = config.in_data_dir(config.storage.db_path)
    if not db.is_file():
        return ok("outbox", "no database yet: nothing waits for central")
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
        try:
            count, oldest = outbox.lane_backlog(conn, images=False)
            pictures = outbox.lane_backlog(conn, images=True)[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return warn("outbox", f"cannot read the outbox of {db}: {exc}",
                    "run `station migrate` if the station was upgraded, else check the file")
    also = f" ({pictures} picture(s) wait behind them)" if pictures else ""
    if not count:
        return ok("outbox", f"every verdict revision was acknowledged by central{also}")
    age = (now if now is not None else time.time()) - (oldest or 0.0)
    since = datetime.fromtimestamp(oldest or 0.0, UTC).astimezone().strftime("%Y-%m-%d %H:%M")
    waiting = f"{count} verdict revision(s) and purge(s) wait for central's acknowledgement{also}"
    if age < OUTBOX_STALE_S:
        return ok("outbox", f"{waiting}, the oldest since {since}: sent as the station runs")
    return warn("outbox", f"{waiting}, the oldest since {since} ({age / 3600:.1f} h): central has not "
                "acknowledged them; they are kept, and sent again until it does",
                "check the broker check below, and that central is running and subscribed to this "
                "station's topics (docs/sync.md)")


def check_sound(config: Config) -> CheckResult:
    """Whether the operator hears the window's alert: `aplay` and a sound card; the tone is played once."""
    from station.alert_sound import AlertSound, sound_cards

    if not config.ui.beep:
        return ok("sound", "the alert tone is off ([ui] beep = false)")
    cards = sound_cards()
    if cards is None:
        return warn("sound", "aplay is not installed: the window falls back to the desktop's bell, which "
                    "most PCs do not sound, so the operator hears no alert",
                    "install Debian's alsa-utils (scripts/setup.sh does)")
    if not cards:
        return warn("sound", "no sound card found (aplay -l): the operator will not hear the alert of a "
                    "quarantined item or of a part turning red",
                    "fit or enable the PC's sound card and speakers; or set [ui] beep = false if this dock "
                    "does without")
    with tempfile.TemporaryDirectory(prefix="station-doctor-") as folder:
        alert = AlertSound.find(Path(folder))
        if alert is None:
            return warn("sound", "the alert tone could not be prepared (see the log)", "check the log above")
        alert.play()
        code = alert.wait()
    if code:
        return warn("sound", f"{cards[0]}: aplay could not play the alert tone (exit status {code})",
                    "check the card's mixer (alsamixer) and that no other program holds it")
    return ok("sound", f"the alert tone was played now on {cards[0]}: if you did not hear it, check the "
              "speakers and the volume (alsamixer)")


# -- all ------------------------------------------------------------------------------------


def run_checks(config: Config, show: Callable[[CheckResult], None],
               camera_seconds: float = 2.0) -> list[CheckResult]:
    """Every check after the config's, each result given to `show` as soon as it is known."""
    results: list[CheckResult] = []

    def add(*found: CheckResult) -> None:
        for result in found:
            results.append(result)
            show(result)

    def guarded(check: str, run: Callable[[], list[CheckResult] | CheckResult]) -> None:
        try:
            found = run()
        except Exception as exc:  # a check that breaks says so instead of ending the others
            logger.exception("check %s failed unexpectedly", check)
            found = fail(check, f"the check itself failed: {type(exc).__name__}: {exc}",
                         "send this output and the log to support")
        add(*(found if isinstance(found, list) else [found]))

    with held_lock(config) as lock:
        add(lock)
        guarded("disk", lambda: check_disk(config))
        guarded("clock", check_clock)
        guarded("models", lambda: check_models(config))
        guarded("calibration", lambda: check_calibration(config))
        if lock.station_running:
            add(warn("camera", "not checked: the running station has the cameras open"),
                warn("conveyor", "not checked: the running station has the conveyor port open"))
        elif lock.unknown:
            why = "the data folder could not be locked, so a station running on it is not ruled out"
            add(warn("camera", f"not checked: {why}", "fix the lock failure above, then check again"),
                warn("conveyor", f"not checked: {why}", "fix the lock failure above, then check again"))
        else:
            guarded("camera", lambda: check_cameras(config, camera_seconds))
            guarded("conveyor", lambda: check_conveyor(config))
        guarded("outbox", lambda: check_outbox(config))
        guarded("broker", lambda: check_broker(config))
        guarded("sound", lambda: check_sound(config))
    return results

