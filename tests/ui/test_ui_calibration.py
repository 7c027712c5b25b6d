"""The calibration wizard page, driven by keys and buttons with views of the board rendered through a
known camera (calibration.synthetic), as the station's camera would deliver them."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from calibration.board import BoardSpec
from calibration.colour import calibrate_colour
from calibration.files import load_calibration, merged, save_calibration, utc_now
from calibration.synthetic import (
    BELT_GREY,
    BELT_ORIGIN,
    BELT_PX_PER_MM,
    Camera,
    belt_with_board,
    board_views,
    degrade,
    render_plane,
    top_camera_pose,
)
from station.config import CalibrationConfig, CameraConfig, Config
from station.ui.calibration_page import (
    CalibrationPage,
    WizardSettings,
    board_from_config,
    wizard_settings_from_config,
)
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui

SPEC = BoardSpec()
CAMERA = Camera()
PATCH = (100, 100, 80, 80)


class FakeCamera:
    """The station's "latest frame": whatever the test puts in front of the camera."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self.reads = 0

    def show(self, frame: np.ndarray | None) -> None:
        with self._lock:
            self._frame = frame

    def __call__(self) -> np.ndarray | None:
        with self._lock:
            self.reads += 1
            return self._frame


def _grey_card_frame() -> np.ndarray:
    """A 1280x720 frame with an 18 % grey card seen under a warm lamp."""
    frame = np.full((CAMERA.height, CAMERA.width, 3), 90, np.uint8)
    x, y, w, h = PATCH
    frame[y:y + h, x:x + w] = (96, 119, 150)
    return frame


def _belt_frame() -> np.ndarray:
    scene = belt_with_board(SPEC, np.random.default_rng(1))
    rot, t = top_camera_pose()
    image, _mask = render_plane(CAMERA, rot, t, scene, BELT_PX_PER_MM, BELT_ORIGIN, fill=BELT_GREY)
    return degrade(image, np.random.default_rng(2), blur_sigma=0.8, noise=2.0)


def _capture_by_key(qtbot: QtBot, page: CalibrationPage, camera: FakeCamera, frame: np.ndarray) -> None:
    camera.show(frame)
    before = page.captures
    qtbot.keyClick(page, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: page.captures == before + 1, timeout=15_000)


def _shown_fx(page: CalibrationPage) -> float:
    found = re.search(r"fx (\d+\.\d)", page.intrinsics_step.result_label.text())
    assert found, page.intrinsics_step.result_label.text()
    return float(found.group(1))


def test_capture_by_key_calibrate_when_ready_and_save_keeping_the_other_sections(
    qtbot: QtBot, tmp_path: Path
) -> None:
    # The file already holds a colour calibration, made by `station calibrate colour` for camera cam-1.
    path = tmp_path / "calibration.toml"
    colour = calibrate_colour(_grey_card_frame(), PATCH)
    save_calibration(path, merged(None, camera_id="cam-1", image_size=CAMERA.size, created_at=utc_now(),
                                  colour=colour))
    camera = FakeCamera()
    window, _actions = open_window(qtbot, window_kwargs={
        "calibration_frames": camera, "calibration_file": path, "board": SPEC,
        "calibration_settings": WizardSettings(min_views=10, max_rms_px=1.0, camera_id="cam-1"),
    })
    page = window.calibration_page
    assert page.has_wizard
    qtbot.keyClick(window, Qt.Key.Key_F4)
    assert window.tabs.currentWidget() is page

    views = board_views(SPEC, CAMERA)
    # The live view shows the board's corners found in the camera's frame.
    camera.show(views[8])
    qtbot.waitUntil(lambda: len(page.view.corners) >= SPEC.corner_count // 2, timeout=10_000)
    assert not page.intrinsics_step.calibrate_button.isEnabled()

    enabled_when = []
    for view in views:
        _capture_by_key(qtbot, page, camera, view)
        assert page.guidance is not None
        assert page.intrinsics_step.calibrate_button.isEnabled() == page.guidance.ready
        enabled_when.append(page.intrinsics_step.calibrate_button.isEnabled())
    assert page.captures == len(views) >= 12
    assert not any(enabled_when[:10]), "Calibrate must wait for enough views, coverage and tilts"
    assert enabled_when[-1]
    assert page.view.coverage.shape == (9, 16) and page.view.coverage.mean() >= 0.45
    assert "views kept" in page.intrinsics_step.progress.text()
    tilts = page.intrinsics_step.tilt_label.text()
    assert "left" in tilts or "right" in tilts

    # A shaky view is rejected as blurred and counted.
    shaky = degrade(views[3], np.random.default_rng(5), blur_sigma=6.0, noise=1.0)
    _capture_by_key(qtbot, page, camera, shaky)
    assert page.last_feedback is not None and page.last_feedback.status == "blurred"
    assert "blurred" in page.intrinsics_step.feedback_label.text()
    assert "Blurred views rejected: 1" in page.intrinsics_step.rejected_label.text()

    with qtbot.waitSignal(page.calibrated, timeout=30_000):
        qtbot.mouseClick(page.intrinsics_step.calibrate_button, Qt.MouseButton.LeftButton)
    assert abs(_shown_fx(page) - CAMERA.fx) / CAMERA.fx < 0.01
    assert "RMS reprojection error" in page.intrinsics_step.result_label.text()
    assert page.intrinsics_step.view_errors.count() == page.guidance.views
    assert not page.busy_bar.isVisible()

    with qtbot.waitSignal(page.saved, timeout=15_000):
        qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert str(path) in page.save_label.text()
    assert "kept colour" in page.save_label.text()
    loaded = load_calibration(path, live_resolution=CAMERA.size, camera_id="cam-1")
    assert loaded.intrinsics is not None
    assert abs(loaded.intrinsics.fx - CAMERA.fx) / CAMERA.fx < 0.01
    assert loaded.colour is not None and loaded.colour.gains_bgr == pytest.approx(colour.gains_bgr)


def test_a_calibration_above_the_error_limit_is_refused_with_its_reason(qtbot: QtBot, tmp_path: Path) -> None:
    camera = FakeCamera()
    page = CalibrationPage(1.0, camera, tmp_path / "calibration.toml", SPEC,
                           WizardSettings(min_views=10, max_rms_px=0.01))
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)
    for view in board_views(SPEC, CAMERA)[:18]:
        camera.show(view)
        before = page.captures
        page.capture()
        qtbot.waitUntil(lambda: page.captures == before + 1, timeout=15_000)  # noqa: B023 - waited at once
    assert page.intrinsics_step.calibrate_button.isEnabled()
    page.calibrate()
    assert page.busy_bar.isVisible()  # shown while the worker solves
    qtbot.waitUntil(lambda: page.error_label.text() != "", timeout=30_000)
    assert "reprojection error" in page.error_label.text() and "above 0.01 px" in page.error_label.text()
    assert page.intrinsics is None
    assert not page.save_button.isEnabled()
    assert not (tmp_path / "calibration.toml").exists()
    qtbot.mouseClick(page.intrinsics_step.restart_button, Qt.MouseButton.LeftButton)
    assert page.guidance is not None and page.guidance.views == 0
    assert not page.intrinsics_step.calibrate_button.isEnabled()
    page.shutdown()


def test_plane_and_colour_steps_are_saved_into_the_file(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "calibration.toml"
    camera = FakeCamera()
    page = CalibrationPage(1.0, camera, path, SPEC, WizardSettings(camera_id="cam-2"))
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)

    camera.show(_belt_frame())
    page.measure_plane()
    qtbot.waitUntil(lambda: page.plane is not None, timeout=15_000)
    measured = page.plane_step.plane_label.text()
    assert "px/mm" in measured and "raw pixels" in measured

    camera.show(_grey_card_frame())
    page.colour_step.patch_edit.setText("100,100,80")
    page.measure_colour()
    assert "not x,y,w,h" in page.error_label.text()
    page.colour_step.patch_edit.setText("100, 100, 80, 80")
    page.measure_colour()
    qtbot.waitUntil(lambda: page.colour is not None, timeout=15_000)
    assert "Gains B" in page.colour_step.colour_label.text()

    with qtbot.waitSignal(page.saved, timeout=15_000):
        page.save()
    loaded = load_calibration(path, live_resolution=CAMERA.size, camera_id="cam-2")
    assert loaded.intrinsics is None
    assert loaded.plane is not None and page.plane is not None
    assert loaded.plane.px_per_mm == pytest.approx(page.plane.px_per_mm)
    assert loaded.colour is not None and loaded.colour.patch == PATCH
    assert "Saved plane, colour to" in page.save_label.text()

    # The file now belongs to cam-2: another camera's wizard does not write its numbers into it.
    other = CalibrationPage(1.0, camera, path, SPEC, WizardSettings(camera_id="cam-3"))
    qtbot.addWidget(other)
    other.colour_step.patch_edit.setText("100,100,80,80")
    other.measure_colour()
    qtbot.waitUntil(lambda: other.colour is not None, timeout=15_000)
    other.save()
    qtbot.waitUntil(lambda: other.error_label.text() != "", timeout=15_000)
    assert "for camera 'cam-2', this is 'cam-3'" in other.error_label.text()
    assert load_calibration(path, camera_id="cam-2").plane is not None
    other.shutdown()
    page.shutdown()


def test_settings_and_board_come_from_the_config() -> None:
    config = Config(calibration=CalibrationConfig(intrinsics_min_views=14, board_squares_x=9),
                    camera=CameraConfig(device="/dev/video2"))
    assert wizard_settings_from_config(config) == WizardSettings(14, 1.0, 40.0, "/dev/video2")
    assert board_from_config(config).squares_x == 9


def test_without_a_camera_the_page_shows_the_status_only(qtbot: QtBot) -> None:
    window, _actions = open_window(qtbot)
    page = window.calibration_page
    assert not page.has_wizard
    page.capture()  # nothing to capture from: ignored, no error
    assert page.captures == 0
