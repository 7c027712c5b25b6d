"""Bench actions from the keyboard: the right intent, with the right arguments, and the PIN when required."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from station.state import StationState
from station.ui.dialogs import NoteDialog, OverrideDialog, SignInDialog
from station.ui.main_window import MainWindow
from tests.ui.feeder import make_item
from tests.ui.ui_window import dialog_of, open_window

pytestmark = pytest.mark.gui


def _with_items(count: int) -> StationState:
    state = StationState()
    for seq in range(1, count + 1):
        state.add_item(make_item(seq))
    return state


def test_enter_confirms_the_item_on_the_card(qtbot: QtBot) -> None:
    state = _with_items(3)
    window, actions = open_window(qtbot, state)
    newest = state.recent()[-1].verdict.verdict_id
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: actions.named("confirm") == [(newest,)])
    qtbot.waitUntil(lambda: "Confirmed by op-7" in window.card.status.text())


def test_number_key_overrides_with_a_picked_reason(qtbot: QtBot) -> None:
    state = _with_items(2)
    window, actions = open_window(qtbot, state)
    view = state.recent()[-1]
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_2)  # 2 = repair
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    assert dialog.chosen() == "repair"
    assert not dialog.pin.isVisible()  # repair needs no supervisor by default
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Down)  # first reason of the list
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.named("override")) == 1)
    verdict_id, disposition, reason, pin = actions.named("override")[0]
    assert (verdict_id, disposition, pin) == (view.verdict.verdict_id, "repair", None)
    assert reason == window.settings.override_reasons[0]
    # The station wrote revision 2; the card and the list show the operator's decision.
    qtbot.waitUntil(lambda: window.card.disposition.text() == "REPAIR")
    assert "op-7" in window.card.status.text()
    assert window.recent.model.verdict_at(0).revision == 2


def test_override_needs_a_typed_or_picked_reason(qtbot: QtBot) -> None:
    window, actions = open_window(qtbot, _with_items(1))
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_3)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert "reason" in dialog.error.text()
    assert dialog.isVisible()
    qtbot.keyClicks(dialog.reason, "box crushed in transit")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.named("override")) == 1)
    assert actions.named("override")[0][1:3] == ("recycle", "box crushed in transit")


def test_override_to_restock_asks_for_the_supervisor_pin(qtbot: QtBot) -> None:
    state = _with_items(1)
    window, actions = open_window(qtbot, state)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_1)  # 1 = restock, in supervisor_required_for
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    assert dialog.pin.isVisible()
    qtbot.keyClicks(dialog.reason, "damage is only packaging")
    dialog.pin.setFocus()
    qtbot.keyClicks(dialog.pin, "1111")
    qtbot.keyClick(dialog.pin, Qt.Key.Key_Return)
    assert "Wrong supervisor PIN" in dialog.error.text()
    assert actions.named("override") == []
    qtbot.keyClicks(dialog.pin, "2468")
    qtbot.keyClick(dialog.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.named("override")) == 1)
    assert actions.named("override")[0][1:] == ("restock", "damage is only packaging", "2468")


def test_restock_override_is_refused_when_no_pin_is_configured(qtbot: QtBot) -> None:
    window, actions = open_window(qtbot, _with_items(1), supervisor_pin="")
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_1)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    assert "STATION_SUPERVISOR_PIN" in dialog.pin_note.text()
    qtbot.keyClicks(dialog.reason, "fine")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert "none is configured" in dialog.error.text()
    assert actions.named("override") == []


def test_digits_in_the_dialog_switch_the_disposition(qtbot: QtBot) -> None:
    window, _actions = open_window(qtbot, _with_items(1))
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_2)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    qtbot.keyClick(dialog.reason, Qt.Key.Key_5)
    assert dialog.chosen() == "quarantine"


def test_r_s_and_t_send_reinspect_supervisor_and_trigger(qtbot: QtBot) -> None:
    state = _with_items(1)
    window, actions = open_window(qtbot, state, mode="bench")
    state.mode = "bench"
    window.mode = "bench"
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: actions.named("reinspect") == [()])
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_T)
    qtbot.waitUntil(lambda: actions.named("trigger") == [()])
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_S)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, NoteDialog)
    qtbot.keyClicks(dialog.note, "label torn, check serial")
    qtbot.keyClick(dialog.note, Qt.Key.Key_Return)
    verdict_id = state.recent()[-1].verdict.verdict_id
    qtbot.waitUntil(lambda: actions.named("needs_supervisor") == [(verdict_id, "label torn, check serial")])


def test_trigger_is_refused_in_conveyor_mode(qtbot: QtBot) -> None:
    window, actions = open_window(qtbot, _with_items(1))
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_T)
    assert "bench mode" in window.top.message_label.text()
    assert actions.named("trigger") == []


def test_sign_in_is_asked_at_start_and_gates_the_actions(qtbot: QtBot) -> None:
    window, actions = open_window(qtbot, _with_items(1), signed_in=None)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, SignInDialog)
    qtbot.keyClicks(dialog.operator, "bad id!")
    qtbot.keyClick(dialog.operator, Qt.Key.Key_Return)
    assert "operator id" in dialog.error.text()
    dialog.operator.clear()
    qtbot.keyClicks(dialog.operator, "op-12")
    qtbot.keyClick(dialog.operator, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: actions.named("sign_in") == [("op-12",)])
    qtbot.waitUntil(lambda: window.top.operator_label.text() == "Operator op-12")
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.named("confirm")) == 1)


def test_actions_wait_for_sign_in(qtbot: QtBot) -> None:
    window, actions = open_window(qtbot, _with_items(1), signed_in=None)
    first = window.active_dialog
    assert first is not None
    first.reject()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    assert actions.named("confirm") == []
    assert isinstance(window.active_dialog, SignInDialog)
    assert "Sign in first" in window.top.message_label.text()


def test_a_failed_intent_is_shown_in_red_words(qtbot: QtBot) -> None:
    window, actions = open_window(qtbot, _with_items(1))
    actions.fail_with = "database is locked (station.db): retry in a moment"
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Confirm failed: database is locked" in window.top.message_label.text())
    assert "Confirmed" not in window.card.status.text()


def test_digits_typed_in_search_do_not_override(qtbot: QtBot) -> None:
    state = _with_items(6)
    window, actions = open_window(qtbot, state)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.recent.search.hasFocus()
    qtbot.keyClicks(window.recent.search, "R-1004")
    assert window.active_dialog is None
    assert window.recent.proxy.rowCount() == 1
    qtbot.keyClick(window.recent.search, Qt.Key.Key_Return)  # goes to the results, confirms nothing
    assert actions.named("confirm") == []


GREEN = (40, 200, 40)  # BGR of the "camera" the live tests see: nothing else on the screen is this green


def _live_camera() -> np.ndarray:
    return np.full((180, 320, 3), GREEN, np.uint8)


def _picture_is_live(window: MainWindow) -> bool:
    camera = window.inspect_page.camera
    centre = camera.grab().toImage().pixelColor(camera.width() // 2, camera.height() // 3)
    return (centre.red(), centre.green(), centre.blue()) == GREEN[::-1]


def test_bench_mode_shows_the_camera_live_between_items(qtbot: QtBot) -> None:
    state = StationState()
    state.mode = "bench"
    window, actions = open_window(qtbot, state, window_kwargs={"live_frames": _live_camera, "undo_s": 60.0})
    qtbot.waitUntil(lambda: window.live_shown)  # no item yet: the operator places the first one
    assert _picture_is_live(window)
    assert window.inspect_page.camera.caption() == "Live: place the item, then scan it or press T"
    item = make_item(1)
    state.add_item(item)  # T pressed: the item's picture with what the decision used
    qtbot.waitUntil(lambda: window.card.verdict_id == item.verdict.verdict_id)
    qtbot.wait(400)  # three rounds of the live timer: the item stays on screen until dealt with
    assert not window.live_shown and not _picture_is_live(window)
    assert window.inspect_page.camera.caption() == ""
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)  # confirmed (in its undo time): next item
    qtbot.waitUntil(lambda: window.live_shown)
    assert window.card.verdict_id == item.verdict.verdict_id  # the card still shows what was confirmed
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undone
    qtbot.waitUntil(lambda: not window.live_shown)
    assert not _picture_is_live(window) and actions.named("confirm") == []


def test_conveyor_mode_shows_items_only(qtbot: QtBot) -> None:
    window, _actions = open_window(qtbot, StationState(), window_kwargs={"live_frames": _live_camera})
    qtbot.wait(400)
    assert not window.live_shown and not window.inspect_page.camera.has_frame()


def test_a_camera_that_stops_giving_frames_leaves_no_stale_live_picture(qtbot: QtBot) -> None:
    frames: list[np.ndarray | None] = [_live_camera()]
    state = StationState()
    state.mode = "bench"
    window, _actions = open_window(qtbot, state, window_kwargs={"live_frames": lambda: frames[0]})
    qtbot.waitUntil(lambda: _picture_is_live(window))
    frames[0] = None  # the camera is down: Camera.latest() gives no fresh frame
    camera = window.inspect_page.camera
    qtbot.waitUntil(lambda: not camera.has_frame())
    assert camera.caption() == "" and not _picture_is_live(window)
    frames[0] = _live_camera()  # back
    qtbot.waitUntil(lambda: _picture_is_live(window))
