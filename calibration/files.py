"""Calibration files: one TOML file per camera with intrinsics, plane and colour sections.

Written by a small writer of our own (numbers at full precision, arrays as nested lists)
and read with tomllib. `load_calibration` refuses a file made for another camera or
another resolution, since its numbers would silently measure wrong.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from calibration.colour import ColourCalibration
from calibration.errors import CalibrationError
from calibration.intrinsics import Intrinsics
from calibration.plane import PlaneCalibration

__all__ = ["FORMAT", "SECTIONS", "CalibrationFile", "CalibrationUpdate", "load_calibration", "merged",
           "save_calibration", "update_calibration", "utc_now"]

logger = logging.getLogger(__name__)

FORMAT = "returns.calibration/1"
SECTIONS = ("intrinsics", "plane", "colour")


def utc_now() -> str:
    """The current time as ISO 8601 UTC, to the second."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, eq=False)
class CalibrationFile:
    """Everything calibrated for one camera; sections not yet done are None."""

    camera_id: str
    image_size: tuple[int, int]
    created_at: str
    intrinsics: Intrinsics | None = None
    plane: PlaneCalibration | None = None
    colour: ColourCalibration | None = None
    board: str = ""  # the board description used, for the record
    notes: Mapping[str, str] | None = None
    # When each section was last calibrated ("intrinsics", "plane", "colour" -> ISO 8601 UTC).
    section_dates: Mapping[str, str] | None = None

    def calibrated_at(self, section: str) -> str:
        """When `section` was calibrated (the file's date when not recorded)."""
        return (self.section_dates or {}).get(section, self.created_at)


# -- writing --------------------------------------------------------------------------------

def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")
        return repr(number)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, np.ndarray):
        return _value(value.tolist())
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _table(name: str, items: Mapping[str, Any]) -> str:
    lines = [f"[{name}]"]
    lines += [f"{key} = {_value(value)}" for key, value in items.items() if value is not None]
    return "\n".join(lines) + "\n"


def save_calibration(path: Path, calibration: CalibrationFile) -> None:
    """Write the file atomically (temporary file, then rename); an OSError leaves no temporary file."""
    parts = [
        "# Camera calibration of the returns inspection station, written by `station calibrate`.\n"
        "# Matrices are rows of numbers; the plane homography maps undistorted pixels to mm.\n",
        _table("calibration", {
            "format": FORMAT, "created_at": calibration.created_at, "camera_id": calibration.camera_id,
            "width": calibration.image_size[0], "height": calibration.image_size[1],
            "board": calibration.board,
        }),
    ]
    intr = calibration.intrinsics
    if intr is not None:
        parts.append(_table("intrinsics", {
            "calibrated_at": calibration.calibrated_at("intrinsics"),
            "matrix": intr.matrix, "dist": intr.dist, "rms_px": intr.rms_px,
            "views": [name for name, _e in intr.per_view_errors],
            "view_errors_px": [err for _n, err in intr.per_view_errors],
        }))
    plane = calibration.plane
    if plane is not None:
        parts.append(_table("plane", {
            "calibrated_at": calibration.calibrated_at("plane"),
            "homography": plane.homography, "px_per_mm": plane.px_per_mm, "rms_mm": plane.rms_mm,
            "camera_height_mm": plane.camera_height_mm,
            "camera_foot_mm": list(plane.camera_foot_mm) if plane.camera_foot_mm else None,
        }))
    colour = calibration.colour
    if colour is not None:
        parts.append(_table("colour", {
            "calibrated_at": calibration.calibrated_at("colour"),
            "patch": list(colour.patch), "gains_bgr": list(colour.gains_bgr),
            "reference_lab": list(colour.reference_lab), "target_lightness": colour.target_lightness,
        }))
    if calibration.notes:
        parts.append(_table("notes", dict(calibration.notes)))
    text = "\n".join(parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:  # the old file stays as it was, and no temporary file beside it
        temporary.unlink(missing_ok=True)
        raise
    logger.info("calibration written to %s", path)


# -- reading --------------------------------------------------------------------------------

class _Reader:
    def __init__(self, path: Path, data: Mapping[str, Any]) -> None:
        self.path = path
        self.data = data

    def fail(self, key: str, problem: str) -> CalibrationError:
        return CalibrationError(f"{self.path} [{key}]", problem,
                                "recalibrate with `station calibrate` or restore the file")

    def get(self, section: str, key: str, kind: type | tuple[type, ...]) -> Any:
        table = self.data.get(section)
        if not isinstance(table, dict) or key not in table:
            raise self.fail(f"{section}.{key}", "missing")
        value = table[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(f"{section}.{key}", f"has the wrong type ({type(value).__name__})")
        return value

    def number(self, section: str, key: str) -> float:
        return float(self.get(section, key, (int, float)))

    def matrix(self, section: str, key: str, shape: tuple[int, ...]) -> np.ndarray[Any, np.dtype[np.float64]]:
        raw = self.get(section, key, list)
        try:
            array = np.asarray(raw, np.float64)
        except (TypeError, ValueError):
            raise self.fail(f"{section}.{key}", "is not a matrix of numbers") from None
        if array.shape != shape:
            raise self.fail(f"{section}.{key}", f"has shape {array.shape}, expected {shape}")
        return array


def load_calibration(path: Path, live_resolution: tuple[int, int] | None = None,
                     camera_id: str | None = None) -> CalibrationFile:
    """Read a calibration file; refuses one made for another camera or resolution.

    `live_resolution` is (width, height) of the camera now; `camera_id` its serial or
    device name. Either may be None to skip that check (offline tools).
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(str(path), "calibration file not found",
                               "run `station calibrate intrinsics` (and `plane`, `colour`) first") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CalibrationError(str(path), f"cannot read it ({exc})",
                               "recalibrate with `station calibrate` or restore the file") from None
    read = _Reader(path, data)
    if read.get("calibration", "format", str) != FORMAT:
        raise read.fail("calibration.format", f"is not {FORMAT}")
    size = (int(read.get("calibration", "width", int)), int(read.get("calibration", "height", int)))
    file_camera = str(read.get("calibration", "camera_id", str))
    if live_resolution is not None and tuple(live_resolution) != size:
        raise CalibrationError(
            str(path), f"made for {size[0]}x{size[1]} but the camera now delivers "
            f"{live_resolution[0]}x{live_resolution[1]}",
            f"set the camera back to {size[0]}x{size[1]} ([camera] width/height) or recalibrate at the new "
            "resolution with `station calibrate intrinsics`",
        )
    if camera_id is not None and file_camera and camera_id != file_camera:
        raise CalibrationError(
            str(path), f"made for camera {file_camera!r}, but this camera is {camera_id!r}",
            "use that camera's calibration file ([calibration] file) or calibrate this camera",
        )
    intrinsics = None
    if "intrinsics" in data:
        dist = np.asarray(read.get("intrinsics", "dist", list), np.float64).reshape(-1)
        if dist.shape[0] not in (4, 5, 8, 12, 14):
            raise read.fail("intrinsics.dist", f"has {dist.shape[0]} coefficients")
        names = read.get("intrinsics", "views", list)
        errors = read.get("intrinsics", "view_errors_px", list)
        intrinsics = Intrinsics(read.matrix("intrinsics", "matrix", (3, 3)), dist, size,
                                read.number("intrinsics", "rms_px"),
                                tuple((str(n), float(e)) for n, e in zip(names, errors, strict=False)))
    plane = None
    if "plane" in data:
        height = data["plane"].get("camera_height_mm")
        foot = data["plane"].get("camera_foot_mm")
        plane = PlaneCalibration(
            read.matrix("plane", "homography", (3, 3)), read.number("plane", "px_per_mm"),
            read.number("plane", "rms_mm"), size, intrinsics,
            float(height) if isinstance(height, int | float) else None,
            (float(foot[0]), float(foot[1])) if isinstance(foot, list) and len(foot) == 2 else None,
        )
    colour = None
    if "colour" in data:
        patch = [int(v) for v in read.get("colour", "patch", list)]
        gains = [float(v) for v in read.get("colour", "gains_bgr", list)]
        ref = [float(v) for v in read.get("colour", "reference_lab", list)]
        if len(patch) != 4 or len(gains) != 3 or len(ref) != 3:
            raise read.fail("colour", "patch needs 4 numbers, gains_bgr and reference_lab 3")
        colour = ColourCalibration((patch[0], patch[1], patch[2], patch[3]), (gains[0], gains[1], gains[2]),
                                   (ref[0], ref[1], ref[2]), read.number("colour", "target_lightness"))
    notes = data.get("notes")
    dates = {name: str(data[name]["calibrated_at"]) for name in ("intrinsics", "plane", "colour")
             if isinstance(data.get(name), dict) and isinstance(data[name].get("calibrated_at"), str)}
    return CalibrationFile(
        camera_id=file_camera, image_size=size, created_at=str(read.get("calibration", "created_at", str)),
        intrinsics=intrinsics, plane=plane, colour=colour, board=str(data["calibration"].get("board", "")),
        notes={str(k): str(v) for k, v in notes.items()} if isinstance(notes, dict) else None,
        section_dates=dates,
    )


def merged(existing: CalibrationFile | None, **changes: Any) -> CalibrationFile:
    """`existing` with some sections replaced (or a new file when there is none).

    Sections passed in `changes` that are not None are stamped with `changes["created_at"]`.
    """
    dates = dict((existing.section_dates or {}) if existing is not None else {})
    stamp = changes.get("created_at")
    for section in SECTIONS:
        if section in changes and changes[section] is not None and isinstance(stamp, str):
            dates[section] = stamp
    changes["section_dates"] = dates
    if existing is None:
        return CalibrationFile(**changes)
    return replace(existing, **changes)


@dataclass(frozen=True, eq=False)
class CalibrationUpdate:
    """A calibration file with newly measured sections merged in, and what became of the old file's."""

    calibration: CalibrationFile
    written: tuple[str, ...]  # the sections this update measured, in SECTIONS order
    kept: tuple[str, ...]  # sections of the old file kept as they were
    replaced_size: tuple[int, int] | None = None  # the old file's resolution when it was dropped for another
    stale_plane: bool = False  # new intrinsics beside the old plane, which was measured with the old ones


def update_calibration(existing: CalibrationFile | None, image_size: tuple[int, int], *,
                       camera_id: str = "", board: str | None = None, intrinsics: Intrinsics | None = None,
                       plane: PlaneCalibration | None = None,
                       colour: ColourCalibration | None = None) -> CalibrationUpdate:
    """`existing` (None: no file yet) with the sections given here replaced, the others kept.

    A file made at another resolution is replaced as a whole: its numbers would not fit the new
    frames. The camera id given wins over the file's; the board description is kept unless one is
    given. Raises CalibrationError when no section is given.
    """
    new = {name: value for name, value in (("intrinsics", intrinsics), ("plane", plane), ("colour", colour))
           if value is not None}
    if not new:
        raise CalibrationError("save", "nothing calibrated yet", "calibrate at least one step first")
    replaced_size = None
    if existing is not None and existing.image_size != image_size:
        replaced_size, existing = existing.image_size, None
    kept = tuple(name for name in SECTIONS
                 if name not in new and existing is not None and getattr(existing, name) is not None)
    described = {"board": board} if board is not None else {}
    calibration = merged(existing, camera_id=camera_id or (existing.camera_id if existing else ""),
                         image_size=image_size, created_at=utc_now(), **described, **new)
    return CalibrationUpdate(calibration, tuple(new), kept, replaced_size,
                             stale_plane="intrinsics" in new and "plane" in kept)
