"""The station's default override reasons are offered in the operator's language and recorded in English
(the same sentence central reads from every site); a reason the site wrote, or one the operator types,
is shown and recorded as written."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from station.config import UiConfig
from station.i18n import OVERRIDE_REASON_WORDS, render_reason
from station.state import StationState
from station.ui.dialogs import OverrideDialog
from station.ui.main_window import MainWindow
from station.verdict import Reason
from tests.ui.feeder import RecordingActions, make_item
from tests.ui.ui_window import dialog_of, open_window

pytestmark = pytest.mark.gui


def _window(qtbot: QtBot, **settings: object) -> tuple[MainWindow, RecordingActions]:
    state = StationState()
    state.add_item(make_item(3))
    return open_window(qtbot, state, **settings)


def _listed(dialog: OverrideDialog) -> list[str]:
    return [dialog.reason.itemText(i) for i in range(dialog.reason.count())]


def test_every_default_reason_is_a_catalogue_entry() -> None:
    assert set(UiConfig().override_reasons) <= set(OVERRIDE_REASON_WORDS)


def test_an_override_reason_in_the_verdicts_reasons_is_said_in_french_too() -> None:
    said = Reason("operator_override", {"operator": "op-7", "previous": "manual_review", "new": "repair",
                                        "reason": "damage is only packaging"})
    assert render_reason(said, "en") == (
        "operator op-7 changed manual review to repair: damage is only packaging")
    assert render_reason(said, "fr").endswith(" : seul l'emballage est abîmé")
    typed = Reason("operator_override", {**said.values, "reason": "coque fendue"})
    assert render_reason(typed, "fr").endswith(" : coque fendue")


def test_a_default_reason_is_picked_in_french_and_recorded_in_english(
    french: QApplication, qtbot: QtBot
) -> None:
    window, actions = _window(qtbot)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_2)  # repair
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    assert _listed(dialog) == [
        "dommage non vu par la caméra", "seul l'emballage est abîmé", "mauvais produit dans le carton",
        "pièces ou accessoires manquants", "article en bon état, modèle trop sévère",
        "étiquette ou code illisible",
    ]
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Down)  # the second: packaging only
    assert dialog.reason.currentText() == "seul l'emballage est abîmé"
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.named("override")) == 1)
    _verdict_id, disposition, reason, _pin = actions.named("override")[0]
    assert (disposition, reason) == ("repair", "damage is only packaging")
    # The card reads the recorded reason back in French.
    qtbot.waitUntil(lambda: window.card.disposition.text() == "RÉPARATION")
    assert "Motif de l'opérateur : seul l'emballage est abîmé" in window.card.reasons.text().splitlines()


def test_the_sites_own_reasons_and_a_typed_one_are_kept_as_written(
    french: QApplication, qtbot: QtBot
) -> None:
    window, actions = _window(qtbot, override_reasons=("seal broken", "damage is only packaging"))
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_2)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    assert _listed(dialog) == ["seal broken", "seul l'emballage est abîmé"]
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.named("override")) == 1)
    assert actions.named("override")[0][2] == "seal broken"

    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_3)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    qtbot.keyClicks(dialog.reason, "coque fendue")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(actions.named("override")) == 2)
    assert actions.named("override")[1][2] == "coque fendue"
