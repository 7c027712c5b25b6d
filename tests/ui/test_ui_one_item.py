"""Counts of one are said in the singular ("1 items … match", "+1 autres" read wrong), and the bench's
lane line reads as French."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from station.state import Health, Level, StationState
from station.ui.card_words import lane_words
from station.ui.main_window import MainWindow
from station.verdict import Routing, Verdict
from tests.ui.feeder import from_worker, healthy, make_item
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui


def _three_problems(qtbot: QtBot) -> MainWindow:
    """Camera and conveyor down, calibration to check: two lines shown, one more on hover."""
    window, _ = open_window(qtbot)
    from_worker(lambda: healthy(window.state))
    for health in (Health("camera:top", Level.ERROR, "no frames", "No frame from camera 'top' for 5 s."),
                   Health("conveyor", Level.ERROR, "link down", "No answer from the controller."),
                   Health("calibration", Level.WARNING, "not calibrated", "Calibrate the camera (F4).")):
        from_worker(lambda health=health: window.state.set_health(health))
    qtbot.waitUntil(lambda: window.status_panel.problem.text().count("\n") == 1
                    and "(+" in window.status_panel.problem.text())
    return window


def test_one_more_problem_is_one(qtbot: QtBot) -> None:
    window = _three_problems(qtbot)
    assert window.status_panel.problem.text().endswith("(+1 more, hover for all)")


def test_one_more_problem_is_one_in_french(french: QApplication, qtbot: QtBot) -> None:
    window = _three_problems(qtbot)
    assert window.status_panel.problem.text().endswith("(+1 autre, survolez pour tout voir)")


def _one_found(qtbot: QtBot) -> MainWindow:
    state = StationState()
    state.add_item(make_item(1))
    old = make_item(901, frame=False).verdict

    def search(_text: str) -> list[Verdict]:
        return [old]

    window, _actions = open_window(qtbot, state, window_kwargs={"search_source": search})
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(window.recent.search, "R-1901")
    qtbot.keyClick(window.recent.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.recent.results is not None)
    return window


def test_one_item_found_in_the_record(qtbot: QtBot) -> None:
    window = _one_found(qtbot)
    assert window.recent.count.text() == "1 found in the record (Esc: back)"
    qtbot.waitUntil(lambda: "« R-1901 »" in window.top.message_label.text())
    assert window.top.message_label.text().endswith("One item in the record matches « R-1901 ».")


def test_one_item_found_in_the_record_in_french(french: QApplication, qtbot: QtBot) -> None:
    window = _one_found(qtbot)
    assert window.recent.count.text() == "1 trouvé dans l'historique (Échap : retour)"
    qtbot.waitUntil(lambda: "« R-1901 »" in window.top.message_label.text())
    assert window.top.message_label.text().endswith("1 article de l'historique correspond à « R-1901 ».")


def test_the_bench_lane_line_in_french(french: QApplication) -> None:
    verdict = make_item(1, frame=False).verdict
    assert lane_words(dataclasses.replace(verdict, routing=Routing()), None, {}) == (
        "Au poste manuel : pas de voie")
