"""An item opened with O (a past one, from the list or the record) takes the keys, and gives them back to
the bench when it closes: the kiosk's X has no window manager to do either, and Qt's offscreen platform
leaves no window active after a dialog closes, as the kiosk did."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from station.state import StationState
from station.ui.dialogs import OverrideDialog
from station.ui.item_dialog import ItemDialog
from station.ui.main_window import MainWindow
from tests.ui.feeder import RecordingActions, make_item
from tests.ui.ui_window import dialog_of, open_window

pytestmark = pytest.mark.gui


def _opened(qtbot: QtBot) -> tuple[ItemDialog, MainWindow, RecordingActions, str]:
    state = StationState()
    older, newest = make_item(1), make_item(2)
    state.add_item(older)
    state.add_item(newest)
    window, actions = open_window(qtbot, state)
    window.recent.table.selectRow(1)  # the older item
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_O)
    qtbot.waitUntil(lambda: len(window.findChildren(ItemDialog)) == 1)
    dialog = window.findChildren(ItemDialog)[0]
    assert dialog.view.verdict.verdict_id == older.verdict.verdict_id
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog, window, actions, newest.verdict.verdict_id


@pytest.mark.parametrize("how", ["close button", "Esc"])
def test_after_closing_an_item_the_bench_keys_work_at_once(qtbot: QtBot, how: str) -> None:
    dialog, window, actions, newest = _opened(qtbot)
    if how == "Esc":
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    else:
        qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: actions.named("confirm") == [(newest,)])


def test_an_override_asked_from_the_item_gives_the_keys_back_to_the_item(qtbot: QtBot) -> None:
    dialog, window, actions, newest = _opened(qtbot)
    qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_O)  # Override… (O) of the item shown
    qtbot.waitUntil(lambda: window.active_dialog is not None)  # the button's shortcut clicks it shortly
    override = dialog_of(qtbot, window)
    assert isinstance(override, OverrideDialog)
    qtbot.keyClicks(override.reason, "2hinge cracked")  # to repair, with a reason
    qtbot.keyClick(override.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.named("override")) == 1)
    assert actions.named("override")[0][:3] == (dialog.view.verdict.verdict_id, "repair", "hinge cracked")
    # The item is still open on top: Esc closes it (before, Esc went to the window behind and cleared
    # its search, and Enter would have confirmed the card's item under the dialog).
    qtbot.waitUntil(dialog.isActiveWindow)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: actions.named("confirm") == [(newest,)])


def test_a_second_override_asked_while_one_is_open_brings_the_open_one_back(qtbot: QtBot) -> None:
    """Override in the item window while the override of another item waits: a second dialog hid the
    first, whose item the operator then answered without seeing it. One override at a time."""
    dialog, window, _actions, _newest = _opened(qtbot)
    window.override_item(window.current_item() or dialog.view)  # the card's item, from the bench
    qtbot.waitUntil(lambda: window.active_dialog is not None)
    first = dialog_of(qtbot, window)
    assert isinstance(first, OverrideDialog)
    qtbot.mouseClick(dialog.override_button, Qt.MouseButton.LeftButton)  # the older item's Override…
    qtbot.wait(100)
    shown = [d for d in window.findChildren(OverrideDialog) if d.isVisible()]
    assert shown == [first] and window.active_dialog is first
    qtbot.waitUntil(first.isActiveWindow)
