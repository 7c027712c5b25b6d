"""The undo countdown at the right of the top line is read whole: the item, what will be recorded and
the seconds left, at 1366x768 and 1920x1080, in English and in French (whose words are longer)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from station.state import StationState
from station.ui.main_window import MainWindow
from tests.ui.feeder import make_item
from tests.ui.ui_window import dialog_of, open_window

pytestmark = pytest.mark.gui

LONG_UNDO_S = 600.0  # never runs out during a test
COUNTDOWN_END = {"en": " s unless you undo it.", "fr": " s sauf si vous annulez."}


def _held_window(qtbot: QtBot, size: tuple[int, int]) -> tuple[MainWindow, str]:
    """A window at `size` with an override waiting for its undo time (the longest notice)."""
    item = make_item(5)
    state = StationState()
    state.add_item(item)
    window, _actions = open_window(qtbot, state, window_kwargs={"undo_s": LONG_UNDO_S})
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_2)  # repair
    dialog = dialog_of(qtbot, window)
    qtbot.keyClicks(dialog.reason, "hinge cracked")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(window.undo_bar.isVisible)
    rma = item.verdict.item.rma
    assert rma is not None
    return window, rma


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_countdown_is_never_cut_off(language: str, size: tuple[int, int], qtbot: QtBot) -> None:
    window, rma = _held_window(qtbot, size)
    label = window.undo_bar.text
    qtbot.waitUntil(
        lambda: label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width())
    shown = label.text()
    assert shown.endswith(COUNTDOWN_END[language]), shown  # the seconds left and what they mean
    assert rma in shown  # which item
    # The whole sentence is one hover away when the notice had to be shortened.
    assert label.toolTip() in ("", window.undo_bar.whole_text())
    # The operator and the mode at the left of the line stay whole, beside the countdown.
    top = window.top
    assert top.operator_label.width() >= top.operator_label.sizeHint().width()
    assert top.mode_label.width() >= top.mode_label.sizeHint().width()
    assert top.mode_label.mapTo(window, top.mode_label.rect().topRight()).x() < window.undo_bar.x()


def test_the_whole_sentence_shows_when_there_is_room(qtbot: QtBot) -> None:
    window, rma = _held_window(qtbot, (1920, 1080))
    assert window.undo_bar.text.text() == window.undo_bar.whole_text()
    assert window.undo_bar.text.text().startswith(f"Override of {rma}")
