"""Merging newly measured sections into a calibration file: what is replaced, kept, dropped and dated."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from calibration.colour import ColourCalibration
from calibration.errors import CalibrationError
from calibration.files import CalibrationFile, update_calibration
from calibration.intrinsics import Intrinsics
from calibration.plane import PlaneCalibration

SIZE = (1280, 720)
OLD = "2026-11-20T08:00:00Z"


def _intrinsics(fx: float = 1000.0) -> Intrinsics:
    matrix = np.array([[fx, 0.0, 640.0], [0.0, fx, 360.0], [0.0, 0.0, 1.0]])
    return Intrinsics(matrix, np.zeros(5), SIZE, 0.2, (("v00", 0.2),))


def _file(intrinsics: Intrinsics | None = None, plane: PlaneCalibration | None = None,
          colour: ColourCalibration | None = None) -> CalibrationFile:
    """A file for camera cam-1 with these sections, each calibrated at OLD."""
    sections = {"intrinsics": intrinsics, "plane": plane, "colour": colour}
    dates = {name: OLD for name, value in sections.items() if value is not None}
    return CalibrationFile("cam-1", SIZE, OLD, intrinsics, plane, colour, board="old board",
                           section_dates=dates)


PLANE = PlaneCalibration(np.eye(3), 1.5, 0.03, SIZE)
COLOUR = ColourCalibration((40, 40, 80, 80), (1.1, 1.0, 0.9), (50.0, 0.0, 0.0), 50.0)


def test_new_sections_replace_the_files_and_the_others_are_kept_with_their_dates() -> None:
    old = _file(intrinsics=_intrinsics(900.0), plane=PLANE, colour=COLOUR)
    new = _intrinsics()
    update = update_calibration(old, SIZE, board="new board", intrinsics=new)
    cal = update.calibration
    assert (update.written, update.kept, update.replaced_size) == (("intrinsics",), ("plane", "colour"), None)
    assert cal.intrinsics is new and cal.plane is PLANE and cal.colour is COLOUR
    assert cal.calibrated_at("plane") == cal.calibrated_at("colour") == OLD
    assert cal.calibrated_at("intrinsics") == cal.created_at != OLD
    assert (cal.camera_id, cal.board) == ("cam-1", "new board")
    assert update.stale_plane  # the kept plane was measured with the replaced intrinsics


def test_a_new_plane_with_the_intrinsics_is_not_stale_and_the_board_is_kept_unless_given() -> None:
    update = update_calibration(_file(intrinsics=_intrinsics()), SIZE, plane=PLANE)
    assert (update.written, update.kept, update.stale_plane) == (("plane",), ("intrinsics",), False)
    assert update.calibration.board == "old board"
    both = update_calibration(_file(plane=PLANE), SIZE, intrinsics=_intrinsics(), plane=PLANE)
    assert (both.written, both.kept, both.stale_plane) == (("intrinsics", "plane"), (), False)


def test_a_file_of_another_resolution_is_replaced_as_a_whole() -> None:
    old = dataclasses.replace(_file(plane=PLANE, colour=COLOUR), image_size=(1920, 1080))
    update = update_calibration(old, SIZE, intrinsics=_intrinsics())
    assert (update.replaced_size, update.kept, update.stale_plane) == ((1920, 1080), (), False)
    cal = update.calibration
    assert (cal.image_size, cal.plane, cal.colour, cal.board, cal.camera_id) == (SIZE, None, None, "", "")


def test_the_camera_id_given_wins_else_the_files_is_kept() -> None:
    assert update_calibration(_file(), SIZE, colour=COLOUR).calibration.camera_id == "cam-1"
    given = update_calibration(_file(), SIZE, camera_id="cam-2", colour=COLOUR)
    assert given.calibration.camera_id == "cam-2"
    fresh = update_calibration(None, SIZE, camera_id="cam-3", colour=COLOUR)
    assert (fresh.calibration.camera_id, fresh.kept, fresh.calibration.colour) == ("cam-3", (), COLOUR)


def test_nothing_measured_is_refused() -> None:
    with pytest.raises(CalibrationError, match="nothing calibrated yet"):
        update_calibration(_file(plane=PLANE), SIZE)
