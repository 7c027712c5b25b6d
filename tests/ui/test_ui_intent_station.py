"""Pinned confirms and undo on the real station actions: what the SQLite record and its audit log hold."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from station.app import Station
from station.config import load_config
from station.state import ItemView
from station.ui.main_window import MainWindow
from station.ui.settings import ui_settings_from_config
from station.verdict import Verdict
from sync.loadgen import make_verdict
from tests.ui.feeder import make_item
from tests.ui.ui_window import show_window

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    """A station on its own SQLite file, not started (no camera, conveyor or broker threads)."""
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[station]\ndata_dir = "{tmp_path / "var"}"\nmode = "bench"\n[sync]\nbroker = ""\n',
        encoding="utf-8",
    )
    station = Station(load_config(config_file, env={}))
    station.state.operator_id = "op-7"
    try:
        yield station
    finally:
        station.store.close()


def _decide(station: Station, seq: int) -> Verdict:
    """A verdict recorded by the store and shown in the state, as the pipeline does."""
    data = make_verdict("dock-01", "site-01", station.identity.session, seq, random.Random(seq))
    verdict = station.store.record_verdict(Verdict.from_json(data))
    picture = make_item(seq)
    station.state.add_item(ItemView(verdict=verdict, frame=picture.frame, overlay=picture.overlay))
    return verdict


def _window(qtbot: QtBot, station: Station, undo_s: float) -> MainWindow:
    settings = ui_settings_from_config(station.config)
    window = MainWindow(station.state, station.actions, settings, undo_s=undo_s)
    show_window(qtbot, window, ask_sign_in=False)
    return window


def _audit(station: Station, action: str) -> list[tuple[str, dict[str, object]]]:
    return [(e.actor, json.loads(e.detail)) for e in station.store.audit_log(action=action)]


def _confirmed_by(station: Station, verdict_id: str) -> str | None:
    row = station.store.conn.execute(
        "SELECT confirmed_by FROM items WHERE verdict_id = ?", (verdict_id,)).fetchone()
    return None if row is None else row[0]


def test_the_confirm_recorded_is_the_item_shown_at_the_key_press(qtbot: QtBot, station: Station) -> None:
    a = _decide(station, 1)
    window = _window(qtbot, station, undo_s=1.0)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    b = _decide(station, 2)  # a new item arrives within the undo time
    qtbot.waitUntil(lambda: window.card.verdict_id == b.verdict_id)
    qtbot.waitUntil(lambda: _audit(station, "confirm") != [], timeout=15_000)
    assert _audit(station, "confirm") == [("op-7", {"verdict_id": a.verdict_id, "revision": 2})]
    assert (_confirmed_by(station, a.verdict_id), _confirmed_by(station, b.verdict_id)) == ("op-7", None)
    window.close()


def test_undo_records_nothing_and_the_audit_log_says_so(qtbot: QtBot, station: Station) -> None:
    a = _decide(station, 3)
    window = _window(qtbot, station, undo_s=600.0)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: _audit(station, "undo") != [])
    assert _audit(station, "undo") == [
        ("op-7", {"verdict_id": a.verdict_id, "intent": "confirm", "recorded": False})
    ]
    window.close()  # nothing waits any more: closing sends nothing
    assert _audit(station, "confirm") == []
    assert _confirmed_by(station, a.verdict_id) is None
    assert [v.revision for v in station.store.history(a.verdict_id)] == [1]  # no revision for central either


def test_a_confirm_still_waiting_is_recorded_when_the_window_closes(qtbot: QtBot, station: Station) -> None:
    a = _decide(station, 4)
    window = _window(qtbot, station, undo_s=600.0)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    assert _audit(station, "confirm") == []
    window.close()
    assert _audit(station, "confirm") == [("op-7", {"verdict_id": a.verdict_id, "revision": 2})]
    assert [v.change.value for v in station.store.history(a.verdict_id)] == ["inspected", "confirmed"]


def test_override_of_an_item_in_another_lane_says_to_move_it_by_hand(qtbot: QtBot, station: Station) -> None:
    from station.hand_move import MOVE_BY_HAND_FLAG
    from station.ui.dialogs import OverrideDialog
    from station.verdict import Routing
    from tests.ui.ui_window import dialog_of

    data = make_verdict("dock-01", "site-01", station.identity.session, 5, random.Random(5))
    data["decision"]["disposition"] = "recycle"
    first = station.store.record_verdict(Verdict.from_json(data))
    picture = make_item(5)
    station.state.add_item(ItemView(verdict=first, frame=picture.frame, overlay=picture.overlay))
    routed = station.store.record_routing(first.verdict_id, Routing(lane_commanded=3, lane_confirmed=3))
    assert routed is not None
    station.state.update_item(routed)  # the conveyor confirmed lane 3 (recycle)
    window = _window(qtbot, station, undo_s=0.0)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_2)  # repair
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    qtbot.keyClicks(dialog.reason, "hinge cracked, repairable")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    expected = f"Take {first.item.rma} out of lane 3 (recycle) and put it in repair."
    qtbot.waitUntil(lambda: expected in window.top.message_label.text())
    assert expected in window.card.status.text()
    latest = station.store.history(first.verdict_id)[-1]
    assert latest.decision.disposition.value == "repair"
    assert MOVE_BY_HAND_FLAG in latest.decision.flags
    assert "moved by hand to repair (lane 2)" in latest.decision.reasons[-1]
    # The next items replace the card and the notice; the move stays in view until it is done.
    _decide(station, 6)
    qtbot.waitUntil(lambda: window.card.verdict_id != first.verdict_id)
    assert window.hand_moves.isVisible() and window.hand_moves.pending() == [expected]
    qtbot.mouseClick(window.hand_moves.button, Qt.MouseButton.LeftButton)
    assert not window.hand_moves.isVisible()
    window.close()


def test_enter_on_an_item_makes_its_frame_a_reference_of_its_sku(qtbot: QtBot, tmp_path: Path) -> None:
    from station.store import FrameImage
    from vision.inference import Gallery

    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[station]\ndata_dir = "{tmp_path / "var"}"\nmode = "bench"\n[sync]\nbroker = ""\n'
        '[models]\nsite_references = 1\n', encoding="utf-8")
    station = Station(load_config(config_file, env={}))
    station.state.operator_id = "op-7"
    try:
        data = make_verdict("dock-01", "site-01", station.identity.session, 7, random.Random(7))
        data["decision"]["disposition"] = "restock"
        picture = make_item(7)
        assert picture.frame is not None
        verdict = station.store.record_verdict(Verdict.from_json(data), [FrameImage("top", picture.frame)])
        sku = verdict.item.observed_sku or verdict.item.expected_sku
        assert sku
        station.state.add_item(ItemView(verdict=verdict, frame=picture.frame, overlay=picture.overlay))
        window = _window(qtbot, station, undo_s=0.0)
        qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: station.site_references.enrolled == 1, timeout=15_000)
        window.close()
        station.site_references.stop()
        gallery = station.config.in_data_dir(station.config.models.gallery)
        live = station.models.current().gallery
        assert live is not None and len(live.pictures_of(sku)) == 1
        assert Gallery.load(gallery).pictures_of(sku) == live.pictures_of(sku)  # on file too
        audited = station.store.audit_log(action="site_reference")
        assert [json.loads(e.detail)["verdict_id"] for e in audited] == [verdict.verdict_id]
    finally:
        station.store.close()
