"""The item's history says each revision's change in words — who confirmed, who asked a supervisor
and why, an override a supervisor's PIN approved, the conveyor's outcome, a purge — in English and in
French, from the revisions the real store wrote; and an override stored before revisions said what
changed still reads as an override."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from station.state import ItemView
from station.store import Store
from station.ui.item_dialog import HISTORY_COLUMNS, ItemDialog, history_row
from station.ui.translation import install
from station.verdict import Disposition, Routing, Verdict
from tests.station.conftest import build_verdict

pytestmark = pytest.mark.gui


@pytest.fixture
def history(tmp_path: Path) -> Iterator[list[Verdict]]:
    """One item's revisions as the station writes them: every kind of change."""
    store = Store(tmp_path / "station.db", tmp_path / "images", 90)
    try:
        first = store.record_verdict(build_verdict(1, disposition=Disposition.REPAIR), [])
        store.record_routing(first.verdict_id, Routing(2, 2))
        store.confirm(first.verdict_id, "op-7")
        store.request_supervisor(first.verdict_id, "op-7", "serial label torn")
        store.record_override(first.verdict_id, Disposition.RECYCLE, "op-9", "battery swollen")
        store.record_override(first.verdict_id, Disposition.RESTOCK, "op-9", "only the box is torn",
                              supervisor_approved=True)
        store.purge_rma("R-1042", "dpo")
        yield store.history(first.verdict_id)
    finally:
        store.close()


def _table(qtbot: QtBot, revisions: list[Verdict]) -> list[dict[str, str]]:
    dialog = ItemDialog(ItemView(verdict=revisions[-1], frame=None), lambda _id: revisions, None, 1.0, {})
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.history.rowCount() == len(revisions), timeout=10_000)
    return [{name: dialog.history.item(r, c).text() for c, name in enumerate(HISTORY_COLUMNS)}
            for r in range(len(revisions))]


def test_the_history_says_each_change_in_words(qtbot: QtBot, history: list[Verdict]) -> None:
    rows = _table(qtbot, history)
    said = [(row["Revision"], row["Who"], row["What"], row["Why"]) for row in rows]
    assert said[1:] == [
        ("2", "conveyor", "Conveyor confirmed lane 2", ""),
        ("3", "op-7", "Confirmed: repair", ""),
        ("4", "op-7", "Supervisor asked to look", "serial label torn"),
        ("5", "op-9", "Overridden to recycle", "battery swollen"),
        ("6", "op-9", "Overridden to restock, approved with the supervisor's PIN", "only the box is torn"),
        ("7", "dpo", "Customer's personal data erased", ""),
    ]
    # An operator's change is shown at the time it was made, not the station's decision's.
    assert rows[2]["When"] == history[2].decided_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def test_the_history_says_each_change_in_french(qtbot: QtBot, qapp: QApplication,
                                                history: list[Verdict]) -> None:
    assert install(qapp, "fr")
    try:
        rows = _table(qtbot, history)
    finally:
        install(qapp, "en")
    whats = [row["What"] for row in rows[2:]]
    assert whats[0].startswith("Confirmé : ")
    assert whats[1] == "Avis du superviseur demandé"
    assert whats[3].startswith("Corrigé vers ") and whats[3].endswith(
        ", approuvé avec le code PIN du superviseur")
    assert whats[4] == "Données personnelles du client effacées"
    assert rows[1]["Who"] != "conveyor"  # the conveyor is named in French too
    # The operators' own words stay as they typed them.
    assert [row["Why"] for row in rows[3:5]] == ["serial label torn", "battery swollen"]


def test_an_override_stored_before_revisions_said_what_changed_still_reads_as_one() -> None:
    first = build_verdict(1)
    override = first.override(Disposition.REPAIR, "op-7", "hinge cracked",
                              at=datetime(2026, 11, 24, 14, 7, 0, tzinfo=UTC)).to_json()
    for name in ("change", "changed_by", "change_note"):
        del override[name]
    old = Verdict.from_json(override)
    row = dict(zip(HISTORY_COLUMNS, history_row(old, first), strict=True))
    assert (row["Who"], row["What"], row["Why"]) == ("op-7", "Overridden to repair", "hinge cracked")
