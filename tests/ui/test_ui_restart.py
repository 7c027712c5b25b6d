"""Switch mode, then "Restart now": the window closes and asks `station run` to start the station again
in the saved mode; "Later" (or a window not under `station run`) keeps the old words: saved for the
next start."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from station.ui.dialogs import RestartDialog
from station.ui.main_window import MainWindow
from tests.ui.feeder import RecordingActions
from tests.ui.ui_window import dialog_of, open_window

pytestmark = pytest.mark.gui


def _switch_to_bench(qtbot: QtBot, offered: bool) -> tuple[MainWindow, RecordingActions]:
    """F3, the Bench button, Switch mode: as the operator does it."""
    window, actions = open_window(qtbot)
    window.restart_offered = offered
    qtbot.keyClick(window, Qt.Key.Key_F3)
    page = window.settings_page
    qtbot.waitUntil(page.isVisible)
    qtbot.mouseClick(page.bench, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.switch, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: actions.named("set_mode") == [("bench",)])
    return window, actions


def test_restart_now_closes_the_window_and_asks_for_a_restart(qtbot: QtBot) -> None:
    window, _ = _switch_to_bench(qtbot, offered=True)
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, RestartDialog))
    dialog = dialog_of(qtbot, window)
    words = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "Bench mode is saved." in words and "default lane" in words
    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # the focus is on "Restart now"
    qtbot.waitUntil(lambda: not window.isVisible())
    assert window.restart_requested


def test_later_keeps_the_station_running_and_says_when_the_mode_applies(qtbot: QtBot) -> None:
    window, _ = _switch_to_bench(qtbot, offered=True)
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, RestartDialog))
    dialog = dialog_of(qtbot, window)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: "bench mode from the next start" in window.top.message_label.toolTip()
                    + window.top.message_label.text())
    assert window.isVisible() and not window.restart_requested
    assert "Conveyor mode" in window.top.mode_label.text()  # this run goes on as it started


def test_without_station_run_to_start_it_again_no_restart_is_offered(qtbot: QtBot) -> None:
    window, _ = _switch_to_bench(qtbot, offered=False)
    qtbot.waitUntil(lambda: "bench mode from the next start" in window.top.message_label.toolTip()
                    + window.top.message_label.text())
    assert window.active_dialog is None and window.isVisible()


def test_in_french_the_dialog_asks_in_french_and_its_buttons_show_their_words(
    french: QApplication, qtbot: QtBot,
) -> None:
    window, _ = _switch_to_bench(qtbot, offered=True)
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, RestartDialog))
    dialog = dialog_of(qtbot, window)
    words = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert words.startswith("Le mode poste manuel est enregistré. Redémarrer le poste maintenant")
    assert "voie par défaut de l'automate" in words
    buttons = {button.text(): button for button in dialog.findChildren(QPushButton)}
    assert set(buttons) == {"Redémarrer maintenant", "Plus tard"}
    for text, button in buttons.items():
        assert button.fontMetrics().horizontalAdvance(text) < button.width(), text
