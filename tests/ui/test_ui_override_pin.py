"""An override that needs the supervisor's PIN, typed the way it happens at the bench: the operator
picks a reason and presses Enter, the dialog asks for the PIN, the supervisor types it and Enter."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from station.state import StationState
from station.ui.dialogs import OverrideDialog
from station.ui.main_window import MainWindow
from tests.ui.feeder import RecordingActions, make_item
from tests.ui.ui_window import dialog_of, open_window

pytestmark = pytest.mark.gui


def _restock_dialog(qtbot: QtBot) -> tuple[MainWindow, RecordingActions, OverrideDialog]:
    """Key 1 (restock, which needs the PIN) on the item shown, and a reason typed."""
    state = StationState()
    state.add_item(make_item(7))
    window, actions = open_window(qtbot, state)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_1)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog) and dialog.needs_pin()
    qtbot.keyClicks(dialog.reason, "hinge cracked")
    return window, actions, dialog


def _typed_where_the_keys_go(qtbot: QtBot, dialog: OverrideDialog, text: str) -> None:
    """Keys go to the field that has the focus, as on the dock's keyboard."""
    field = dialog.focusWidget()
    assert field is not None
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def test_the_pin_asked_for_goes_into_the_pin_field_not_the_reason(language: str, qtbot: QtBot) -> None:
    window, actions, dialog = _restock_dialog(qtbot)
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)  # Enter after the reason: no PIN yet
    assert dialog.isVisible()
    assert dialog.error.text() == {
        "en": "Ask the supervisor to type their PIN, then press Enter.",
        "fr": "Demandez au superviseur de taper son code, puis appuyez sur Entrée.",
    }[language]
    _typed_where_the_keys_go(qtbot, dialog, "2468")  # the supervisor types the PIN
    qtbot.waitUntil(lambda: len(actions.named("override")) == 1)
    verdict_id, disposition, reason, pin = actions.named("override")[0]
    assert (verdict_id, disposition, pin) == (window.card.verdict_id, "restock", "2468")
    assert reason == "hinge cracked"  # never the PIN, on the screen or in the audit log


def test_a_wrong_pin_is_typed_again_in_the_pin_field(qtbot: QtBot) -> None:
    _window, actions, dialog = _restock_dialog(qtbot)
    dialog.pin.setFocus()
    _typed_where_the_keys_go(qtbot, dialog, "1111")
    assert "Wrong supervisor PIN" in dialog.error.text()
    _typed_where_the_keys_go(qtbot, dialog, "2468")
    qtbot.waitUntil(lambda: len(actions.named("override")) == 1)
    assert actions.named("override")[0][2:] == ("hinge cracked", "2468")


def _squashed(dialog: QWidget) -> list[str]:
    """The dialog's visible parts shown shorter than they need to be read."""
    short = []
    for child in dialog.findChildren(QWidget):
        if not child.isVisible() or child.parent() is not dialog:
            continue
        hint = child.minimumSizeHint()
        need = child.heightForWidth(child.width()) if child.hasHeightForWidth() else hint.height()
        if child.height() < need:
            short.append(f"{type(child).__name__} {child.objectName()!r}: {child.height()} < {need}")
    return short


def test_the_refusal_makes_room_for_itself(language: str, qtbot: QtBot) -> None:
    _window, _actions, dialog = _restock_dialog(qtbot)
    dialog.pin.setFocus()
    _typed_where_the_keys_go(qtbot, dialog, "1111")
    assert dialog.error.text()
    qtbot.waitUntil(lambda: not _squashed(dialog))
    assert _squashed(dialog) == []
