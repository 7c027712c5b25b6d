"""The key hints under the buttons wrap between two keys, never inside one: at 1920x1080 in English
they used to read "… S supervisor · T" on one line and "trigger · O open …" on the next."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextLayout
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui


def _lines(label: QLabel) -> list[str]:
    """The label's text as Qt breaks it into lines at the label's width."""
    text = label.text()
    layout = QTextLayout(text, label.font())
    layout.beginLayout()
    lines = []
    width = label.contentsRect().width()
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        lines.append(text[line.textStart():line.textStart() + line.textLength()].strip())
    layout.endLayout()
    return lines


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
@pytest.mark.parametrize(("mode", "scanner"), [("conveyor", False), ("bench", False), ("bench", True)])
def test_each_line_of_hints_ends_between_two_keys(
    language: str, size: tuple[int, int], mode: str, scanner: bool, qtbot: QtBot
) -> None:
    window, _actions = open_window(qtbot, mode=mode, keyboard_scanner=scanner)
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    hints = window.inspect_page.hints
    pairs = {pair.replace("\u00a0", " ") for pair in hints.text().replace("\u00a0·", " ·").split(" · ")}
    for line in _lines(hints):
        for part in line.replace("\u00a0", " ").strip(" ·").split(" · "):
            assert part in pairs, f"{part!r} is half of a key and its action: {_lines(hints)}"


@pytest.mark.parametrize(("mode", "trigger"), [("conveyor", False), ("bench", True)])
def test_t_is_hinted_only_where_it_triggers_an_item(language: str, mode: str, trigger: bool,
                                                    qtbot: QtBot) -> None:
    """On the conveyor the controller triggers each item and T only says so: the hint named a key that
    does nothing there."""
    window, _actions = open_window(qtbot, mode=mode, keyboard_scanner=True)
    hints = window.inspect_page.hints.text().replace("\u00a0", " ")
    assert ("T trigger" in hints or "T déclencher" in hints) is trigger
    assert ("scan a code" in hints or "scannez un code" in hints) is trigger
    assert "Ctrl+F" in hints
