"""A keyboard-wedge scanner typing into the window: a fast burst + Enter is one scan, keys stay keys.

Keys go through QTest as real QKeyEvents (shortcut override, press, release). A burst is typed
with no event processing between its keys (as a scanner's 2–15 ms apart), slow typing with
`qtbot.wait(100)` between keys: twice the window's 50 ms gap, and the filter also measures the
gap on arrival, so a busy machine can only make slow keys look slower.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from station.app import Station
from station.config import load_config
from station.state import StationState
from station.ui.item_dialog import ItemDialog
from station.ui.main_window import MainWindow
from station.ui.settings import ui_settings_from_config
from station.verdict import CodeRead
from tests.ui.feeder import RecordingActions, make_item
from tests.ui.ui_window import open_window, show_window

pytestmark = pytest.mark.gui

EAN = "4006381333931"
SETTLE_MS = 200  # long enough for a held key (50 ms gap) to have been replayed, if it were to be


def _bench(qtbot: QtBot, items: int = 2, **settings: object) -> tuple[MainWindow, RecordingActions]:
    state = StationState()
    for seq in range(1, items + 1):
        state.add_item(make_item(seq))
    state.mode = "bench"
    values: dict[str, object] = {"mode": "bench", "keyboard_scanner": True}
    values.update(settings)
    window, actions = open_window(qtbot, state, **values)
    assert window.mode == "bench"
    return window, actions


def _focus(window: MainWindow) -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None and widget.window() is window
    return widget


def _names(actions: RecordingActions) -> list[str]:
    with actions.lock:
        return [name for name, _args in actions.calls]


def test_a_fast_burst_ending_with_enter_is_one_scan_and_fires_no_shortcut(qtbot: QtBot) -> None:
    window, actions = _bench(qtbot)
    target = _focus(window)
    qtbot.keyClicks(target, EAN)  # digits alone would open override dialogs, Enter would confirm
    qtbot.keyClick(target, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: actions.named("scan") == [(EAN,)])
    qtbot.waitUntil(lambda: f"Scanned {EAN}: inspecting." in window.top.message_label.text())
    qtbot.wait(SETTLE_MS)
    assert _names(actions) == ["scan"]
    assert window.active_dialog is None
    # Letters bound to bench keys (R re-inspect, T trigger, O open, S supervisor) inside a code, Tab suffix.
    qtbot.keyClicks(target, "RMA-STOR-77")
    qtbot.keyClick(target, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: len(actions.named("scan")) == 2)
    qtbot.wait(SETTLE_MS)
    assert actions.named("scan")[1] == ("RMA-STOR-77",)
    assert _names(actions) == ["scan", "scan"]
    assert window.active_dialog is None and not window.findChildren(ItemDialog)


def test_shift_for_capitals_and_ctrl_bracket_for_the_group_separator(qtbot: QtBot) -> None:
    window, actions = _bench(qtbot)
    target = _focus(window)
    qtbot.keyClicks(target, "]C1")  # AIM prefix of GS1-128
    qtbot.keyClicks(target, "0104006381333931")
    qtbot.keyClick(target, Qt.Key.Key_BracketRight, Qt.KeyboardModifier.ControlModifier)  # GS (FNC1)
    qtbot.keyClicks(target, "10")
    qtbot.keyClick(target, "A", Qt.KeyboardModifier.ShiftModifier)  # a Shift press and release around it
    qtbot.keyClick(target, "B", Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(target, Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: len(actions.named("scan")) == 1)
    assert actions.named("scan") == [("]C10104006381333931\x1d10AB",)]
    qtbot.waitUntil(lambda: "Scanned ]C10104006381333931<GS>10AB" in window.top.message_label.text())
    qtbot.wait(SETTLE_MS)
    assert _names(actions) == ["scan"]


def test_a_single_t_still_triggers(qtbot: QtBot) -> None:
    window, actions = _bench(qtbot)
    qtbot.keyClick(_focus(window), Qt.Key.Key_T)
    qtbot.waitUntil(lambda: actions.named("trigger") == [()])
    qtbot.wait(SETTLE_MS)
    assert _names(actions) == ["trigger"]


def test_slow_typing_fires_the_shortcuts_not_a_scan(qtbot: QtBot) -> None:
    window, actions = _bench(qtbot)
    target = _focus(window)
    for key in (Qt.Key.Key_T, Qt.Key.Key_R, Qt.Key.Key_T, Qt.Key.Key_Return):
        qtbot.keyClick(target, key)
        qtbot.wait(100)
    qtbot.waitUntil(lambda: len(actions.calls) == 4)
    qtbot.wait(SETTLE_MS)
    assert _names(actions) == ["trigger", "reinspect", "trigger", "confirm"]


def test_a_key_then_enter_at_once_is_the_key_then_confirm(qtbot: QtBot) -> None:
    """One character is no scan: held, then replayed before the Enter that followed it."""
    window, actions = _bench(qtbot)
    target = _focus(window)
    qtbot.keyClick(target, Qt.Key.Key_T)
    qtbot.keyClick(target, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.calls) == 2)
    assert _names(actions) == ["trigger", "confirm"]


def test_typing_into_the_search_box_is_untouched(qtbot: QtBot) -> None:
    window, actions = _bench(qtbot, items=6)
    qtbot.keyClick(_focus(window), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.recent.search.hasFocus()
    qtbot.keyClicks(window.recent.search, EAN)  # as fast as a scanner: it is typing all the same
    assert window.recent.search.text() == EAN
    qtbot.keyClick(window.recent.search, Qt.Key.Key_Return)
    qtbot.wait(SETTLE_MS)
    assert window.recent.search.text() == EAN
    assert _names(actions) == []
    assert window.active_dialog is None


def test_a_burst_without_enter_triggers_nothing_and_says_why(qtbot: QtBot) -> None:
    window, actions = _bench(qtbot)
    qtbot.keyClicks(_focus(window), "T1R2T")
    qtbot.waitUntil(lambda: "without Enter ignored" in window.top.message_label.text())
    assert "suffix" in window.top.message_label.text()
    qtbot.wait(SETTLE_MS)
    assert _names(actions) == []
    assert window.active_dialog is None


def test_without_a_keyboard_scanner_a_fast_burst_is_keys_as_before(qtbot: QtBot) -> None:
    window, actions = _bench(qtbot, keyboard_scanner=False)
    assert window.wedge is None
    target = _focus(window)
    qtbot.keyClicks(target, "TR")
    qtbot.keyClick(target, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.calls) == 3)
    assert _names(actions) == ["trigger", "reinspect", "confirm"]


def test_a_scan_in_conveyor_mode_is_refused_in_words(qtbot: QtBot) -> None:
    window, actions = _bench(qtbot, mode="conveyor")
    window.mode = "conveyor"
    target = _focus(window)
    qtbot.keyClicks(target, EAN)
    qtbot.keyClick(target, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "only in bench mode" in window.top.message_label.text())
    qtbot.wait(SETTLE_MS)
    assert _names(actions) == []


@pytest.fixture
def bench_station(tmp_path: Path) -> Iterator[Station]:
    """The real station in bench mode with a keyboard-wedge scanner, started (demo camera and models)."""
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[station]\ndata_dir = "{tmp_path / "var"}"\nmode = "bench"\nmotion_trigger = false\n'
        '[barcode]\nscanner_port = "keyboard"\n[sync]\nbroker = ""\n',
        encoding="utf-8",
    )
    station = Station(load_config(config_file, env={}))
    station.start()
    try:
        yield station
    finally:
        station.stop()


@pytest.mark.slow
def test_a_wedge_scan_in_the_window_gives_a_verdict_with_that_code(
    qtbot: QtBot, bench_station: Station
) -> None:
    bench_station.actions.sign_in("op-7")
    settings = ui_settings_from_config(bench_station.config)
    assert settings.keyboard_scanner
    window = MainWindow(bench_station.state, bench_station.actions, settings)
    show_window(qtbot, window, ask_sign_in=False)
    target = _focus(window)
    qtbot.keyClicks(target, EAN)
    qtbot.keyClick(target, Qt.Key.Key_Return)
    assert bench_station.wait_items(1, timeout_s=60)
    verdict = bench_station.state.recent()[-1].verdict
    assert CodeRead("EAN13", EAN) in verdict.item.codes
    qtbot.waitUntil(lambda: window.recent.model.rowCount() == 1, timeout=10_000)
    qtbot.wait(SETTLE_MS)
    assert bench_station.wait_items(1, timeout_s=0)
    assert len(bench_station.state.recent()) == 1  # one scan, one inspection: no key became a trigger
    window.close()
