"""The window on the real station actions: keys write the right revision and audit row in the SQLite file."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import random
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from station.app import Station
from station.catalog import CatalogEntry
from station.config import load_config
from station.state import ItemView
from station.ui.dialogs import OverrideDialog, SignInDialog
from station.ui.main_window import MainWindow
from station.ui.settings import ui_settings_from_config
from station.verdict import Verdict
from sync.loadgen import make_verdict
from tests.ui.feeder import make_item
from tests.ui.ui_window import dialog_of, show_window

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    """A station on its own SQLite file, not started (no camera, conveyor or broker threads)."""
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[station]\ndata_dir = "{tmp_path / "var"}"\nmode = "bench"\n'
        '[sync]\nbroker = ""\n[ui]\nsupervisor_pin = "2468"\n',
        encoding="utf-8",
    )
    station = Station(load_config(config_file, env={}))
    try:
        yield station
    finally:
        station.store.close()


def _decide(station: Station, seq: int) -> Verdict:
    """A verdict recorded by the store and shown in the state, as the pipeline does."""
    data = make_verdict("dock-01", "site-01", station.identity.session, seq, random.Random(seq))
    data["decision"]["disposition"] = "recycle"
    verdict = station.store.record_verdict(Verdict.from_json(data))
    picture = make_item(seq)
    station.state.add_item(ItemView(verdict=verdict, frame=picture.frame, overlay=picture.overlay))
    return verdict


def _window(qtbot: QtBot, station: Station) -> MainWindow:
    # No undo time: these tests look at what the station recorded (test_ui_intent_undo.py has the undo).
    window = MainWindow(station.state, station.actions, ui_settings_from_config(station.config), undo_s=0.0)
    show_window(qtbot, window, ask_sign_in=True)
    return window


def _sign_in(qtbot: QtBot, window: MainWindow, operator: str) -> None:
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, SignInDialog)
    qtbot.keyClicks(dialog.operator, operator)
    qtbot.keyClick(dialog.operator, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.operator_id == operator)
    qtbot.waitUntil(window.isActiveWindow)


def _audit(station: Station, action: str) -> list[tuple[str, dict[str, object]]]:
    return [(e.actor, json.loads(e.detail)) for e in station.store.audit_log(action=action)]


def test_sign_in_then_enter_confirms_with_an_audit_row(qtbot: QtBot, station: Station) -> None:
    verdict = _decide(station, 1)
    window = _window(qtbot, station)
    _sign_in(qtbot, window, "op-7")
    assert [actor for actor, _ in _audit(station, "sign_in")] == ["op-7"]
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Confirmed by op-7" in window.card.status.text())
    assert _audit(station, "confirm") == [("op-7", {"verdict_id": verdict.verdict_id, "revision": 2})]
    confirmed = station.store.history(verdict.verdict_id)[-1]  # a revision central receives too
    assert (confirmed.revision, confirmed.change.value, confirmed.changed_by) == (2, "confirmed", "op-7")
    window.close()


def test_override_by_keys_writes_revision_two_and_its_audit_row(qtbot: QtBot, station: Station) -> None:
    verdict = _decide(station, 2)
    window = _window(qtbot, station)
    _sign_in(qtbot, window, "op-7")
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_2)  # repair
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    qtbot.keyClicks(dialog.reason, "hinge cracked, repairable")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.card.disposition.text() == "REPAIR")
    history = station.store.history(verdict.verdict_id)
    assert [v.revision for v in history] == [1, 2]
    latest = history[-1].decision
    assert (latest.disposition.value, latest.operator_id, latest.override_reason) == (
        "repair", "op-7", "hinge cracked, repairable")
    (actor, detail), = _audit(station, "override")
    assert actor == "op-7"
    assert detail["revision"] == 2 and detail["to"] == "repair" and detail["from"] == "recycle"
    window.close()


def test_restock_override_with_the_supervisor_pin_is_recorded(qtbot: QtBot, station: Station) -> None:
    verdict = _decide(station, 3)
    window = _window(qtbot, station)
    _sign_in(qtbot, window, "op-9")
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_1)  # restock: needs the supervisor
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog) and dialog.needs_pin()
    qtbot.keyClicks(dialog.reason, "damage is only packaging")
    dialog.pin.setFocus()
    qtbot.keyClicks(dialog.pin, "2468")
    qtbot.keyClick(dialog.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(station.store.history(verdict.verdict_id)) == 2)
    assert station.store.history(verdict.verdict_id)[-1].decision.disposition.value == "restock"
    window.close()


def test_search_finds_an_item_in_the_record_and_opens_its_history(qtbot: QtBot, station: Station) -> None:
    from station.store.queries import RecordQueries
    from station.ui.item_dialog import ItemDialog

    first = _decide(station, 4)
    for seq in range(5, 8):
        _decide(station, seq)
    rma = first.item.rma
    assert rma is not None

    # The product's catalogue picture, as the card of a new item shows it.
    sku = first.item.expected_sku or first.item.observed_sku
    assert sku is not None
    picture = station.config.data_dir / "catalogue.png"
    cv2.imwrite(str(picture), np.full((60, 80, 3), (40, 160, 220), np.uint8))
    station.store.upsert_catalog([CatalogEntry(sku, "Vortex Blender", (), reference_image=str(picture))])
    station.inspector.use_catalog(station._catalog())

    queries = RecordQueries(station.db_path)
    window = MainWindow(station.state, station.actions, ui_settings_from_config(station.config),
                        search_source=station.search_record, history_source=queries.history)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.recent.search.setText(rma)
    window.recent.search_entered()
    qtbot.waitUntil(lambda: window.recent.results is not None)
    assert window.recent.results is not None
    results = window.recent.results
    assert [results.verdict_at(r).item.rma for r in range(results.rowCount())] == [rma]
    window.recent.open_selected()
    qtbot.waitUntil(lambda: len(window.findChildren(ItemDialog)) == 1)
    dialog = window.findChildren(ItemDialog)[0]
    qtbot.waitUntil(lambda: dialog.history.rowCount() == 1)
    assert dialog.history.item(0, 0).text() == "1"
    # An item found in the record shows its product's picture too, not "No catalogue picture".
    qtbot.waitUntil(lambda: dialog.card.reference_image.pixmap() is not None
                    and not dialog.card.reference_image.pixmap().isNull())
    dialog.close()
    window.close()
