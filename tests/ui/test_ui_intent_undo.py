"""Enter and 1-5 act on the item on the card when the key was pressed, wait their undo time, and Ctrl+Z
(or the Undo button) takes them back with nothing recorded."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from station.state import ItemView, StationState
from station.ui.dialogs import OverrideDialog, SignInDialog
from station.ui.main_window import MainWindow
from tests.ui.feeder import LANES, make_item
from tests.ui.ui_window import dialog_of, open_window

pytestmark = pytest.mark.gui

LONG_UNDO_S = 600.0  # never runs out during a test: what is sent, is sent by the window closing


def _state(*items: ItemView) -> StationState:
    state = StationState()
    for view in items:
        state.add_item(view)
    return state


def _shows(window: MainWindow, view: ItemView) -> bool:
    return window.card.verdict_id == view.verdict.verdict_id


def test_enter_confirms_the_item_shown_at_the_key_press_not_the_one_after(qtbot: QtBot) -> None:
    a, b = make_item(10), make_item(15)
    state = _state(a)
    window, actions = open_window(qtbot, state, window_kwargs={"undo_s": LONG_UNDO_S})
    assert _shows(window, a)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    state.add_item(b)  # the next item arrives during the undo time
    qtbot.waitUntil(lambda: _shows(window, b))
    assert actions.named("confirm") == []  # waiting in the window, nothing recorded yet
    rma_a = a.verdict.item.rma
    assert rma_a is not None and rma_a in window.top.message_label.text()
    assert "Undo (Ctrl+Z)" in window.top.message_label.text()
    assert window.undo_bar.isVisible() and rma_a in window.undo_bar.text.text()
    # Enter again now confirms B, as its own waiting intent.
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    assert [h.verdict_id for h in window._intents.held()] == [a.verdict.verdict_id, b.verdict.verdict_id]
    window.close()  # the window closing sends what waits: nothing is lost
    assert actions.named("confirm") == [(a.verdict.verdict_id,), (b.verdict.verdict_id,)]


def test_a_held_confirm_is_sent_once_its_undo_time_has_passed(qtbot: QtBot) -> None:
    a = make_item(20)
    window, actions = open_window(qtbot, _state(a), window_kwargs={"undo_s": 0.3})
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: actions.named("confirm") == [(a.verdict.verdict_id,)])
    qtbot.waitUntil(lambda: "Confirmed by op-7" in window.card.status.text())
    qtbot.waitUntil(lambda: not window.undo_bar.isVisible())
    assert "recorded" in window.top.message_label.text()


def test_ctrl_z_takes_the_confirm_back_and_nothing_is_recorded(qtbot: QtBot) -> None:
    a = make_item(30)
    window, actions = open_window(qtbot, _state(a), window_kwargs={"undo_s": LONG_UNDO_S})
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: actions.named("withdraw") == [(a.verdict.verdict_id, "confirm")])
    rma = a.verdict.item.rma
    assert f"Confirm of {rma} undone: nothing was recorded." in window.top.message_label.text()
    assert not window.undo_bar.isVisible()
    window.close()
    assert actions.named("confirm") == []


def test_ctrl_z_with_nothing_waiting_says_so(qtbot: QtBot) -> None:
    window, actions = open_window(qtbot, _state(make_item(31)), window_kwargs={"undo_s": LONG_UNDO_S})
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "Nothing to undo" in window.top.message_label.text()
    assert actions.named("withdraw") == []


def test_override_is_pinned_at_the_key_press_and_undone_with_the_button(qtbot: QtBot) -> None:
    a, b = make_item(40), make_item(41)
    state = _state(a)
    window, actions = open_window(qtbot, state, window_kwargs={"undo_s": LONG_UNDO_S})
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_2)  # repair, for A
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    state.add_item(b)  # B arrives while the operator types the reason
    qtbot.waitUntil(lambda: _shows(window, b))
    qtbot.keyClicks(dialog.reason, "hinge cracked, repairable")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(window.undo_bar.isVisible)
    (held,) = window._intents.held()
    assert (held.name, held.verdict_id) == ("override", a.verdict.verdict_id)
    qtbot.mouseClick(window.undo_bar.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: actions.named("withdraw") == [(a.verdict.verdict_id, "override")])
    window.close()
    assert actions.named("override") == []


def test_override_sent_after_its_undo_time_goes_to_the_pinned_item(qtbot: QtBot) -> None:
    a, b = make_item(50), make_item(51)
    state = _state(a)
    window, actions = open_window(qtbot, state, window_kwargs={"undo_s": 0.3})
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_3)  # recycle, for A
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    state.add_item(b)
    qtbot.waitUntil(lambda: _shows(window, b))
    qtbot.keyClicks(dialog.reason, "box crushed in transit")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.named("override")) == 1)
    assert actions.named("override")[0][:2] == (a.verdict.verdict_id, "recycle")
    assert _shows(window, b)  # B stays on the card, untouched


def test_a_change_of_operator_sends_what_the_operator_before_pressed_first(qtbot: QtBot) -> None:
    a = make_item(60)
    window, actions = open_window(qtbot, _state(a), window_kwargs={"undo_s": LONG_UNDO_S})
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)  # op-7 confirms A
    qtbot.keyClick(window, Qt.Key.Key_F9)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, SignInDialog)
    qtbot.keyClicks(dialog.operator, "op-9")
    qtbot.keyClick(dialog.operator, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.operator_id == "op-9")
    # Recorded in that order, so the station still had op-7 signed in for A's confirm.
    assert [name for name, _args in actions.calls] == ["confirm", "sign_in"]
    assert window._intents.held() == []


def test_override_of_a_searched_item_in_another_lane_says_where_to_move_it(qtbot: QtBot) -> None:
    from station.verdict import Routing

    old = make_item(70)  # found in the record: no longer in the recent items
    routed = dataclasses.replace(old.verdict, routing=Routing(lane_commanded=1, lane_confirmed=1))
    old = dataclasses.replace(old, verdict=routed)
    lane_names = {number: name for name, number in LANES.items()}
    window, actions = open_window(qtbot, _state(make_item(71)), window_kwargs={"undo_s": 0.0},
                                  lane_names=lane_names)
    window.override_item(old, "quarantine")
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    qtbot.keyClicks(dialog.reason, "battery swollen")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.named("override")) == 1)
    expected = f"Take {old.verdict.item.rma} out of lane 1 (restock) and put it in quarantine."
    qtbot.waitUntil(lambda: window.hand_moves.pending() == [expected])
