"""What the window said about something that happened — the last notice at the top, the undo countdown,
the card's "Confirmed by …" / "Overridden to … by …" line, a move by hand still to make — is said again
in the new language after the operator switches it on the Settings page (F3)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from station.state import StationState
from station.ui.dialogs import OverrideDialog
from station.ui.main_window import MainWindow
from station.ui.translation import install
from station.verdict import Routing
from tests.ui.feeder import LANES, make_item
from tests.ui.ui_window import dialog_of, open_window

pytestmark = pytest.mark.gui


@pytest.fixture
def english(qapp: QApplication) -> Iterator[QApplication]:
    install(qapp, "en")
    yield qapp
    install(qapp, "en")  # whatever the test switched to, the next one starts in English


def _switch(qtbot: QtBot, window: MainWindow, language: str) -> None:
    """F3, a click on the language, F1 back to the bench — as the operator does."""
    qtbot.keyClick(window, Qt.Key.Key_F3)
    page = window.settings_page
    qtbot.waitUntil(page.isVisible)
    qtbot.mouseClick(page.french if language == "fr" else page.english, Qt.MouseButton.LeftButton)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(window.inspect_page.isVisible)


def test_a_recorded_confirm_is_said_again_in_french_and_back(english: QApplication, qtbot: QtBot) -> None:
    item = make_item(3)
    state = StationState()
    state.add_item(item)
    window, actions = open_window(qtbot, state, window_kwargs={"undo_s": 0.2})
    rma = item.verdict.item.rma
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: actions.named("confirm") == [(item.verdict.verdict_id,)])
    qtbot.waitUntil(lambda: window.card.status.text() == "Confirmed by op-7")
    qtbot.waitUntil(lambda: f"Confirmed {rma}: Manual review — recorded." in window.top.message_label.text())
    stamp = window.top.message_label.text().split()[0]

    _switch(qtbot, window, "fr")
    qtbot.waitUntil(lambda: window.card.status.text() == "Confirmé par op-7", timeout=5000)
    # Same notice, same time, new words.
    assert window.top.message_label.text() == f"{stamp}  {rma} confirmé : Contrôle manuel — enregistré."

    _switch(qtbot, window, "en")
    qtbot.waitUntil(lambda: window.card.status.text() == "Confirmed by op-7", timeout=5000)
    assert window.top.message_label.text() == f"{stamp}  Confirmed {rma}: Manual review — recorded."


def test_the_undo_countdown_and_its_notice_follow_the_switch(english: QApplication, qtbot: QtBot) -> None:
    item = make_item(3)
    state = StationState()
    state.add_item(item)
    window, actions = open_window(qtbot, state, window_kwargs={"undo_s": 600.0})
    rma = item.verdict.item.rma
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)  # waits for its undo time
    qtbot.waitUntil(lambda: len(window._intents.held()) == 1)
    assert "Undo (Ctrl+Z)" in window.top.message_label.text()

    _switch(qtbot, window, "fr")
    qtbot.waitUntil(lambda: window.undo_bar.button.text() == "Annuler (Ctrl+Z)", timeout=5000)
    assert window.undo_bar.whole_text().startswith(f"{rma} confirmé : Contrôle manuel — enregistré dans ")
    assert window.undo_bar.text.text().endswith(" s sauf si vous annulez.")  # shortened, if ever, before
    assert window.top.message_label.text().endswith(f"{rma} confirmé : Contrôle manuel — Annuler (Ctrl+Z)")

    # Taken back in French: the notice says so in French, and a switch back says it in English.
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: actions.named("withdraw") == [(item.verdict.verdict_id, "confirm")])
    assert window.top.message_label.text().endswith(
        f"Confirmation de {rma} annulée : rien n'a été enregistré.")
    _switch(qtbot, window, "en")
    qtbot.waitUntil(lambda: window.top.message_label.text().endswith(
        f"Confirm of {rma} undone: nothing was recorded."), timeout=5000)
    assert actions.named("confirm") == []


def test_an_override_and_its_move_by_hand_are_said_in_the_new_language(
    english: QApplication, qtbot: QtBot
) -> None:
    item = make_item(3)
    routed = dataclasses.replace(item.verdict, routing=Routing(lane_commanded=1, lane_confirmed=1))
    item = dataclasses.replace(item, verdict=routed)
    state = StationState()
    state.add_item(item)
    lane_names = {number: name for name, number in LANES.items()}
    window, actions = open_window(qtbot, state, window_kwargs={"undo_s": 0.0}, lane_names=lane_names)
    rma = item.verdict.item.rma
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_5)  # quarantine
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    qtbot.keyClicks(dialog.reason, "battery swollen")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.named("override")) == 1)
    english_move = f"Take {rma} out of lane 1 (restock) and put it in quarantine."
    qtbot.waitUntil(lambda: window.hand_moves.pending() == [english_move])
    assert window.card.status.text() == english_move
    qtbot.waitUntil(window.isActiveWindow)  # the dialog gave the keys back to the window

    _switch(qtbot, window, "fr")
    french_move = f"Sortez {rma} de la voie 1 (Remise en stock) et mettez-le en Quarantaine."
    qtbot.waitUntil(lambda: window.hand_moves.text.text() == french_move, timeout=5000)
    assert window.hand_moves.pending() == [french_move]
    assert window.card.status.text() == french_move
    assert window.top.message_label.text().endswith(french_move)
