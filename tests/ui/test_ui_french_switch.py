"""Settings (F3) → Français / English: the whole window changes language at once, and keeps the items
shown, the operator signed in and a confirm still waiting for its undo time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from station.state import Health, Level, StationState
from station.ui.main_window import MainWindow
from station.ui.translation import current_language, install
from tests.ui.feeder import demo_kpi, make_item
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui


@pytest.fixture
def english(qapp: QApplication) -> Iterator[QApplication]:
    install(qapp, "en")
    yield qapp
    install(qapp, "en")  # whatever the test switched to, the next one starts in English


def _tabs(window: MainWindow) -> list[str]:
    return [window.tabs.tabText(i) for i in range(window.tabs.count())]


def _click_language(qtbot: QtBot, window: MainWindow, language: str) -> None:
    """F3, then a click on the language's radio button, as the operator does."""
    qtbot.keyClick(window, Qt.Key.Key_F3)
    page = window.settings_page
    qtbot.waitUntil(page.isVisible)
    button = page.french if language == "fr" else page.english
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_switching_to_french_and_back_keeps_items_operator_and_the_waiting_confirm(
    english: QApplication, qtbot: QtBot
) -> None:
    state = StationState()
    for seq in (1, 2, 3):
        state.add_item(make_item(seq))
    window, actions = open_window(qtbot, state, window_kwargs={"undo_s": 60.0, "kpi_source": demo_kpi})
    qtbot.waitUntil(lambda: window.kpi.loads > 0, timeout=10_000)
    assert _tabs(window)[0] == "Inspect (F1)"
    assert window.card.disposition.text() == "MANUAL REVIEW"
    shown = window.card.verdict_id

    # A failing camera: its banner over the picture is the window's words around the station's status.
    window.state.set_health(Health("camera:top", Level.ERROR, "camera top frozen"))
    qtbot.waitUntil(lambda: window.camera.banner() == "camera top frozen: the picture below is not live")

    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)  # confirm: waits 60 s for an undo
    qtbot.waitUntil(lambda: len(window._intents.held()) == 1, timeout=5000)

    _click_language(qtbot, window, "fr")
    qtbot.waitUntil(lambda: _tabs(window)[0] == "Contrôle (F1)", timeout=5000)
    assert current_language() == "fr"
    assert _tabs(window) == ["Contrôle (F1)", "Statistiques (F2)", "Réglages (F3)", "Étalonnage (F4)",
                             "À propos (F5)"]
    assert window.card.disposition.text() == "CONTRÔLE MANUEL"
    assert window.card.grade_caption.text() == "Note"
    assert window.inspect_page.confirm_button.text() == "Confirmer"
    assert window.top.operator_label.text() == "Opérateur op-7"
    assert window.recent.model.headerData(5, Qt.Orientation.Horizontal) == "Destination"
    assert window.recent.model.rowCount() == 3
    assert window.kpi.items_chart.title == "Articles par heure"
    assert window.settings_page.apply.text() == "Appliquer les seuils"
    assert window.settings_page.french.isChecked()
    assert window.undo_bar.button.text() == "Annuler (Ctrl+Z)"
    assert window.camera.banner() == "camera top frozen : l'image ci-dessous n'est pas en direct"
    assert "Contrôle manuel" in [window.recent.kind.itemText(i) for i in range(window.recent.kind.count())]
    # Nothing was lost or sent on the way.
    assert window.card.verdict_id == shown
    assert window.operator_id == "op-7"
    assert len(window._intents.held()) == 1
    assert actions.named("confirm") == []

    _click_language(qtbot, window, "en")
    qtbot.waitUntil(lambda: _tabs(window)[0] == "Inspect (F1)", timeout=5000)
    assert current_language() == "en"
    assert window.card.disposition.text() == "MANUAL REVIEW"
    assert window.top.operator_label.text() == "Operator op-7"
    assert window.settings_page.english.isChecked()
    assert window.recent.model.headerData(5, Qt.Orientation.Horizontal) == "Disposition"

    # The confirm pressed before both switches still waits, and Ctrl+Z still takes it back.
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window._intents.held(), timeout=5000)
    assert actions.named("confirm") == []
