"""The bench's dialogs in French show their whole hints and reasons: the fields are as wide as the
words they show in the window's language (French ones are longer)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from station.state import StationState
from station.ui.dialogs import NoteDialog, OverrideDialog, SignInDialog
from station.ui.translation import install
from tests.ui.feeder import make_item
from tests.ui.ui_window import dialog_of, open_window

pytestmark = pytest.mark.gui


def _whole(field: QLineEdit, text: str) -> bool:
    return field.fontMetrics().horizontalAdvance(text) <= field.contentsRect().width()


def test_the_override_and_note_dialogs_show_their_whole_words(french: QApplication, qtbot: QtBot) -> None:
    state = StationState()
    state.add_item(make_item(3))
    window, _actions = open_window(qtbot, state)

    qtbot.keyClick(window.inspect_page, Qt.Key.Key_2)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    field = dialog.reason.lineEdit()
    assert field is not None
    assert field.placeholderText() == "choisissez un motif (flèches) ou tapez-le"
    assert _whole(field, field.placeholderText())
    for index in range(dialog.reason.count()):
        assert _whole(field, dialog.reason.itemText(index)), dialog.reason.itemText(index)
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.active_dialog is None)

    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_S)
    note = dialog_of(qtbot, window)
    assert isinstance(note, NoteDialog)
    assert note.note.placeholderText() == "ce que le superviseur doit regarder (facultatif)"
    assert _whole(note.note, note.note.placeholderText())


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_sign_in_dialog_shows_its_whole_hint(lang: str, qapp: QApplication, qtbot: QtBot) -> None:
    install(qapp, lang)
    try:
        window, _actions = open_window(qtbot, signed_in=None)  # asked at start, as on the dock
        dialog = dialog_of(qtbot, window)
        assert isinstance(dialog, SignInDialog)
        field = dialog.operator
        assert field.placeholderText() == {
            "en": "badge or operator id, e.g. op-7", "fr": "badge ou identifiant, par exemple op-7"}[lang]
        assert _whole(field, field.placeholderText())
    finally:
        install(qapp, "en")
