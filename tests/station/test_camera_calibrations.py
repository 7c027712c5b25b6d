"""Each camera with its own calibration file: loaded and reported on its own status line, and a side
camera whose lamp drifted sends the item to manual review, as the first camera's does."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from calibration.colour import calibrate_colour
from calibration.files import CalibrationFile, save_calibration
from station.config import load_config
from station.devices import load_camera_calibrations
from station.inspector import Identity, StationInspector
from station.live_models import ModelSet
from station.lookup import CatalogLookup
from station.pipeline import Trigger
from station.state import Level
from station.verdict import Disposition
from vision.barcode import BarcodeReader

PATCH = (40, 40, 80, 80)


def scene(gain: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """A 1280x720 frame with the grey reference patch, under a lamp of per-channel `gain`."""
    frame = np.full((720, 1280, 3), 170, np.uint8)
    x, y, w, h = PATCH
    frame[y:y + h, x:x + w] = 119
    return np.clip(frame * np.array(gain), 0, 255).astype(np.uint8)


def config_with_a_calibrated_side_camera(tmp_path: Path) -> Path:
    frames = tmp_path / "frames"
    frames.mkdir()
    save_calibration(tmp_path / "left.toml", CalibrationFile(
        "/dev/video4", (1280, 720), "2026-12-03T10:00:00Z", colour=calibrate_colour(scene(), PATCH)))
    path = tmp_path / "config.toml"
    path.write_text(f"""
[station]
data_dir = "{tmp_path / 'var'}"
[camera]
source = "folder"
device = "{frames}"
[cameras.left]
source = "device"
device = "/dev/video4"
checks = ["defect"]
calibration = "left.toml"
[cameras.right]
source = "device"
device = "/dev/video5"
[calibration]
colour_check_every = 1
""", encoding="utf-8")
    return path


def test_each_camera_with_its_own_file_is_loaded_and_reported(tmp_path: Path) -> None:
    config = load_config(config_with_a_calibrated_side_camera(tmp_path), env={})
    calibrations, lines = load_camera_calibrations(config)
    assert set(calibrations) == {"top", "left"}  # right names no file: nothing to load
    assert calibrations["left"].colour is not None
    by_component = {line.component: line for line in lines}
    assert by_component["calibration:left"].level is Level.OK
    assert by_component["calibration"].level is Level.WARNING  # the first camera is not calibrated yet
    assert by_component["calibration"].detail.startswith("No calibration file yet (")
    assert "Calibration page (F4)" in by_component["calibration"].detail
    french = dataclasses.replace(config, ui=dataclasses.replace(config.ui, language="fr"))
    detail = {line.component: line for line in load_camera_calibrations(french)[1]}["calibration"].detail
    assert detail.startswith("Pas encore de fichier d'étalonnage (") and "page Étalonnage (F4)" in detail


def test_a_side_lamp_that_drifted_sends_the_item_to_manual_review(tmp_path: Path) -> None:
    config = load_config(config_with_a_calibrated_side_camera(tmp_path), env={})
    calibrations, _ = load_camera_calibrations(config)
    monitor = calibrations["left"].colour
    assert monitor is not None
    inspector = StationInspector(Identity("t", "t"), BarcodeReader(), ModelSet(),
                                 CatalogLookup.from_rows([], []), config.policy, cameras=config.all_cameras,
                                 colour_monitors={"left": monitor})
    steady = inspector.inspect_views({"top": scene(), "left": scene(), "right": scene()},
                                     Trigger(source="t"), 1)
    assert not any("colour reference" in r for r in steady.verdict.decision.reasons)
    drifted = inspector.inspect_views({"top": scene(), "left": scene((0.5, 0.9, 1.6)), "right": scene()},
                                      Trigger(source="t"), 2)
    # A camera failure holds the item for a person at least (this empty test belt is quarantined besides).
    assert drifted.verdict.decision.disposition in (Disposition.MANUAL_REVIEW, Disposition.QUARANTINE)
    reasons = drifted.verdict.decision.reasons
    assert any(r.startswith("camera failed: colour reference drifted") for r in reasons)
