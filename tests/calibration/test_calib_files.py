"""Calibration files: written, read back exactly, and refused for another camera or resolution."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from calibration.colour import ColourCalibration
from calibration.errors import CalibrationError
from calibration.files import CalibrationFile, load_calibration, save_calibration
from calibration.intrinsics import Intrinsics
from calibration.plane import PlaneCalibration

MATRIX = np.array([[1000.5, 0.0, 652.25], [0.0, 1004.125, 351.0], [0.0, 0.0, 1.0]])
DIST = np.array([-0.28, 0.11, 0.0008, -0.0006, 0.001])


def _calibration() -> CalibrationFile:
    intr = Intrinsics(MATRIX, DIST, (1280, 720), 0.061, (("v00.png", 0.05), ("v01.png", 0.07)))
    homography = np.array([[-0.68, -0.034, 566.5], [0.066, -0.67, 310.2], [1.1e-5, -2.0e-6, 1.0]])
    plane = PlaneCalibration(homography, 1.4736, 0.025, (1280, 720), intr, 649.7, (165.0, -75.8))
    colour = ColourCalibration((40, 40, 80, 80), (1.8, 1.25, 0.95), (50.0, 0.1, -0.2), 50.0)
    return CalibrationFile("cam-0042", (1280, 720), "2026-11-24T21:50:00Z", intr, plane, colour,
                           board="ChArUco 7x5 squares, square 30 mm, marker 22 mm, DICT_5X5_100")


def test_round_trip_keeps_every_number(tmp_path):
    path = tmp_path / "calibration.toml"
    save_calibration(path, _calibration())
    raw = tomllib.loads(path.read_text(encoding="utf-8"))  # plain TOML any tool can read
    assert raw["calibration"]["camera_id"] == "cam-0042"
    back = load_calibration(path, live_resolution=(1280, 720), camera_id="cam-0042")
    assert back.created_at == "2026-11-24T21:50:00Z"
    assert back.intrinsics is not None and back.plane is not None and back.colour is not None
    np.testing.assert_array_equal(back.intrinsics.matrix, MATRIX)
    np.testing.assert_array_equal(back.intrinsics.dist, DIST)
    assert back.intrinsics.per_view_errors == (("v00.png", 0.05), ("v01.png", 0.07))
    assert back.plane.px_per_mm == 1.4736
    assert back.plane.camera_foot_mm == (165.0, -75.8)
    assert back.plane.intrinsics is back.intrinsics  # the plane undistorts with the file's intrinsics
    assert back.colour == _calibration().colour


def test_refuses_a_file_made_at_another_resolution(tmp_path):
    path = tmp_path / "calibration.toml"
    save_calibration(path, _calibration())
    with pytest.raises(CalibrationError) as err:
        load_calibration(path, live_resolution=(1920, 1080), camera_id="cam-0042")
    message = str(err.value)
    assert "1280x720" in message and "1920x1080" in message
    assert "recalibrate" in message


def test_refuses_a_file_made_for_another_camera(tmp_path):
    path = tmp_path / "calibration.toml"
    save_calibration(path, _calibration())
    with pytest.raises(CalibrationError) as err:
        load_calibration(path, live_resolution=(1280, 720), camera_id="cam-0099")
    assert "'cam-0042'" in str(err.value) and "'cam-0099'" in str(err.value)


def test_missing_and_damaged_files_say_what_to_do(tmp_path):
    with pytest.raises(CalibrationError) as missing:
        load_calibration(tmp_path / "nope.toml")
    assert "station calibrate intrinsics" in str(missing.value)
    path = tmp_path / "calibration.toml"
    save_calibration(path, _calibration())
    text = path.read_text(encoding="utf-8").replace("matrix = [[", "matrix = [[1.0, ", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalibrationError) as damaged:
        load_calibration(path)
    assert "intrinsics.matrix" in str(damaged.value)


def test_a_partial_file_loads_with_the_missing_sections_empty(tmp_path):
    path = tmp_path / "calibration.toml"
    save_calibration(path, CalibrationFile("", (640, 480), "2026-11-24T21:50:00Z"))
    back = load_calibration(path, live_resolution=(640, 480), camera_id="any")  # no id recorded: accepted
    assert back.intrinsics is None and back.plane is None and back.colour is None
