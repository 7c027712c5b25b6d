"""The calibration wizard (F4) in French: what calibration found about each view and what to do next
come as codes and values (calibration/ has no catalogue) and the window says them in its language —
in English exactly the sentences `station calibrate` prints — and again after a switch (F3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from calibration.board import BoardSpec
from calibration.synthetic import Camera, board_views, degrade
from station.i18n import tr
from station.state import Health, Level
from station.ui.calibration_page import CalibrationPage, WizardSettings
from station.ui.main_window import MainWindow
from tests.ui.test_ui_calibration import FakeCamera
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui

SPEC = BoardSpec()
CAMERA = Camera()


def _capture(qtbot: QtBot, page: CalibrationPage, camera: FakeCamera, frame: np.ndarray) -> None:
    camera.show(frame)
    before = page.captures
    qtbot.keyClick(page, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: page.captures == before + 1, timeout=15_000)


def _switch(qtbot: QtBot, window: MainWindow, language: str) -> None:
    qtbot.keyClick(window, Qt.Key.Key_F3)
    page = window.settings_page
    qtbot.waitUntil(page.isVisible)
    qtbot.mouseClick(page.french if language == "fr" else page.english, Qt.MouseButton.LeftButton)
    qtbot.keyClick(window, Qt.Key.Key_F4)
    qtbot.waitUntil(window.calibration_page.isVisible)


def test_the_wizard_says_what_it_found_in_french_and_in_english_after_a_switch(
    french: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    camera = FakeCamera()
    window, _actions = open_window(qtbot, window_kwargs={
        "calibration_frames": camera, "calibration_file": tmp_path / "calibration.toml", "board": SPEC,
        "calibration_settings": WizardSettings(min_views=10, max_rms_px=1.0, camera_id="cam-1"),
    })
    page = window.calibration_page
    step = page.intrinsics_step
    qtbot.keyClick(window, Qt.Key.Key_F4)
    qtbot.waitUntil(page.isVisible)
    assert step.title() == "1 · Caméra : montrez la mire partout dans l'image, à plat et inclinée"
    assert step.feedback_label.text() == (
        "Montrez la mire à la caméra et appuyez sur Espace pour prendre une vue.")

    views = board_views(SPEC, CAMERA)
    _capture(qtbot, page, camera, views[0])
    feedback = page.last_feedback
    assert feedback is not None and feedback.accepted
    assert step.feedback_label.text().startswith("Vue 1 : gardée (")
    assert " coins, inclinaison " in step.feedback_label.text()
    hints = step.hints.text()
    assert "• 1 sur 10 vues gardées : montrez la mire à d'autres endroits." in hints
    assert "• La mire a couvert " in hints and " de l'image (il faut 45 %) : amenez-la " in hints
    assert "views" not in hints and "board" not in hints

    shaky = degrade(views[3], np.random.default_rng(5), blur_sigma=6.0, noise=1.0)
    _capture(qtbot, page, camera, shaky)
    assert step.feedback_label.text().startswith("Vue 2 : floue, non utilisée (")
    assert step.feedback_label.text().endswith(") : tenez la mire immobile")
    rejected = "• 1 vues floues refusées : tenez la mire immobile, vérifiez la mise au point."
    assert rejected in step.hints.text()

    no_board = np.random.default_rng(7).integers(0, 256, (CAMERA.height, CAMERA.width, 3), dtype=np.uint8)
    _capture(qtbot, page, camera, no_board)  # sharp, but nothing of the board in it
    assert step.feedback_label.text() == ("Vue 3 : mire introuvable : aucun marqueur : la mire est hors "
                                          "champ, trop petite, trop sombre ou floue")

    # In English the window says exactly what calibration said (the sentences of `station calibrate`).
    _switch(qtbot, window, "en")
    qtbot.waitUntil(lambda: step.title().startswith("1 · Camera"), timeout=5000)
    guidance = page.guidance
    assert guidance is not None and page.last_feedback is not None
    assert step.feedback_label.text() == f"View 3: {page.last_feedback.message}"
    assert step.hints.text() == "\n".join(f"• {h[0].upper()}{h[1:]}." for h in guidance.hints)

    _switch(qtbot, window, "fr")
    qtbot.waitUntil(lambda: step.title().startswith("1 · Caméra"), timeout=5000)
    assert step.feedback_label.text().startswith("Vue 3 : mire introuvable")
    assert "• 1 sur 10 vues gardées" in step.hints.text()


def test_a_refused_calibration_says_why_in_french(french: QApplication, qtbot: QtBot, tmp_path: Path) -> None:
    camera = FakeCamera()
    page = CalibrationPage(1.0, camera, tmp_path / "calibration.toml", SPEC,
                           WizardSettings(min_views=10, max_rms_px=0.01))
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)
    step = page.intrinsics_step
    for view in board_views(SPEC, CAMERA)[:18]:
        camera.show(view)
        before = page.captures
        qtbot.mouseClick(step.capture_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.captures == before + 1, timeout=15_000)  # noqa: B023 - waited at once
    assert step.calibrate_button.isEnabled()
    qtbot.mouseClick(step.calibrate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.error_label.text() != "", timeout=30_000)
    refusal = page.error_label.text()
    assert refusal.startswith("Étalonnage refusé : erreur de reprojection de ")
    assert " px au-dessus de 0,01 px (pires vues : Vue " in refusal
    assert refusal.endswith("dimensions de la mire dans la configuration")
    assert step.result_label.text() == "Non étalonné."
    page.shutdown()


def test_the_french_steps_keep_every_line_whole_on_a_1366x768_screen(
    french: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    """A new dock as it starts (not calibrated, no broker, no references: problem lines at the bottom,
    the calibration's words at the top): squeezed into what was left, step 1's wrapped lines were
    drawn over one another. Each keeps the height its words need; the column scrolls instead."""
    camera = FakeCamera()
    window, _actions = open_window(qtbot, window_kwargs={
        "calibration_frames": camera, "calibration_file": tmp_path / "calibration.toml", "board": SPEC,
        "calibration_settings": WizardSettings(min_views=10, max_rms_px=1.0, camera_id="cam-1"),
    })
    window.state.set_health(Health("calibration", Level.WARNING, tr("Health", "not calibrated", "fr"),
                                   "Pas encore de fichier d'étalonnage (/var/lib/returns-station/"
                                   "calibration.toml) : les dimensions des articles ne sont pas contrôlées "
                                   "tant que la caméra n'est pas étalonnée, depuis la page Étalonnage (F4)."))
    window.state.set_health(Health("mqtt", Level.WARNING, "aucun serveur MQTT configuré",
                                   "Les verdicts attendent dans la file d'envoi."))
    window.state.set_health(Health("models", Level.WARNING, "modèles : defect, conformity",
                                   "Aucune image de référence enregistrée."))
    page = window.calibration_page
    qtbot.keyClick(window, Qt.Key.Key_F4)
    qtbot.waitUntil(page.isVisible)
    qtbot.waitUntil(window.status_panel.problem.isVisible)
    qtbot.wait(100)
    step = page.intrinsics_step
    for label in (step.progress, step.tilt_label, step.feedback_label, step.hints):
        assert label.height() >= label.heightForWidth(label.width()), label.text()[:40]
    for button in (step.capture_button, step.calibrate_button, step.restart_button):
        assert button.geometry().right() <= step.width()  # nothing cut at the column's side
