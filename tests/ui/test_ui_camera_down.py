"""A camera down before any picture came: the empty view says which camera and what is wrong in large
red words, with what to do under them, in the operator's language (it was one small grey paragraph,
its problem in English on a French screen)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from station.devices import camera_health
from tests.ui.feeder import from_worker
from tests.ui.ui_window import open_window
from vision.camera import CameraHealth, CameraState, SourceError

pytestmark = pytest.mark.gui


def test_a_camera_down_before_its_first_picture_heads_the_empty_view(french: QApplication,
                                                                     qtbot: QtBot) -> None:
    window, _ = open_window(qtbot, language="fr")
    problem = SourceError.said("no video device '{path}' on this PC: unplugged, or it has another number",
                               path="/dev/video99")
    health = camera_health(CameraHealth("top", CameraState.DOWN, f"{problem}; retrying in 10.0 s", 0, 3, 0.0,
                                        problem, 10.0), "fr")
    assert health is not None
    from_worker(lambda: window.state.set_health(health))
    view = window.inspect_page.camera
    qtbot.waitUntil(lambda: view.placeholder()[0] != "")
    heading, words = view.placeholder()
    assert heading == "Caméra dessus hors service"
    assert words.startswith("pas de caméra '/dev/video99' sur ce PC : débranchée, ou elle a pris un autre "
                            "numéro ; nouvel essai dans 10,0 s. ")
