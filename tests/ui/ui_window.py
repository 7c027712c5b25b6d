"""Opening the real main window for a test: offscreen, shown, active, with recording actions."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from typing import Any

from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from station.state import StationState
from station.ui.main_window import MainWindow
from station.ui.settings import ThresholdRange, UiSettings
from tests.ui.feeder import RecordingActions

THRESHOLDS = (
    ThresholdRange("defect_repair", "Defect score for repair", 0.0, 1.0, 0.5),
    ThresholdRange("conformity_min_similarity", "Minimum similarity", -1.0, 1.0, 0.6),
)


def open_window(
    qtbot: QtBot,
    state: StationState | None = None,
    *,
    signed_in: str | None = "op-7",
    window_kwargs: dict[str, Any] | None = None,
    **settings: Any,
) -> tuple[MainWindow, RecordingActions]:
    """A shown, active main window on `state`, with its actions recorded."""
    state = state or StationState()
    state.operator_id = signed_in
    actions = RecordingActions(state)
    values: dict[str, Any] = {"supervisor_pin": "2468", "thresholds": THRESHOLDS}
    values.update(settings)
    # No undo time unless a test asks for one: the other tests look at what an intent does once sent
    # (the undo time itself is tested in test_ui_intent_*.py).
    kwargs: dict[str, Any] = {"config_text": "[policy]\ndefect_repair = 0.5\n", "undo_s": 0.0}
    kwargs.update(window_kwargs or {})
    window = MainWindow(state, actions, UiSettings(**values), **kwargs)
    show_window(qtbot, window, ask_sign_in=signed_in is None)
    return window, actions


def show_window(qtbot: QtBot, window: MainWindow, *, ask_sign_in: bool) -> None:
    """Show `window` at the dock PC's size, make it the active window (where keys go), start it."""
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.start(ask_sign_in=ask_sign_in)


def dialog_of(qtbot: QtBot, window: MainWindow) -> QDialog:
    """The dialog the window just opened, once it is the active window (where the keys go)."""
    dialog = window.active_dialog
    assert dialog is not None, "no dialog open"
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog
