"""The touch buttons under the card do in the window what their keys do, on the item on the card."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from station.state import StationState
from station.ui.dialogs import NoteDialog, OverrideDialog
from tests.ui.feeder import make_item
from tests.ui.ui_window import dialog_of, open_window

pytestmark = pytest.mark.gui


def _tap(qtbot: QtBot, button: QPushButton) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(button.width() // 2, button.height() // 2))


def test_each_touch_button_acts_on_the_item_on_the_card(qtbot: QtBot) -> None:
    item = make_item(31)
    state = StationState()
    state.add_item(item)
    window, actions = open_window(qtbot, state)
    page = window.inspect_page
    qtbot.waitUntil(lambda: window.card.verdict_id == item.verdict.verdict_id)

    _tap(qtbot, page.confirm_button)
    qtbot.waitUntil(lambda: actions.named("confirm") == [(item.verdict.verdict_id,)])

    _tap(qtbot, page.reinspect_button)
    qtbot.waitUntil(lambda: actions.named("reinspect") == [()])

    _tap(qtbot, page.override_button)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    rma = item.verdict.item.rma
    words = dialog.windowTitle() + " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert rma is not None and rma in words  # the dialog names the item it overrides
    dialog.reject()

    _tap(qtbot, page.supervisor_button)
    note = dialog_of(qtbot, window)
    assert isinstance(note, NoteDialog)
    note.reject()
    assert actions.named("override") == [] and actions.named("needs_supervisor") == []


def test_the_undo_countdown_appears_without_moving_the_picture(qtbot: QtBot) -> None:
    item = make_item(32)
    state = StationState()
    state.add_item(item)
    window, actions = open_window(qtbot, state, window_kwargs={"undo_s": 600.0})
    qtbot.waitUntil(lambda: window.card.verdict_id == item.verdict.verdict_id)
    before = (window.camera.mapTo(window, window.camera.rect().topLeft()), window.camera.size())
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.waitUntil(window.undo_bar.isVisible)
    assert (window.camera.mapTo(window, window.camera.rect().topLeft()), window.camera.size()) == before
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.undo_bar.isVisible())
    assert (window.camera.mapTo(window, window.camera.rect().topLeft()), window.camera.size()) == before
    assert actions.named("confirm") == []
