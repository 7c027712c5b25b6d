"""The whole decision history reaches central: an operator's confirm, call for a supervisor, override
and PIN-approved override, the conveyor's outcome and a purge are each a revision that goes through
the station's outbox, over a real Mosquitto, to the reference receiver, which stores each one once —
also when the station sends them all again (its acks lost)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from station.actions import OperatorActions
from station.config import UiConfig
from station.pipeline import Pipeline
from station.state import ItemView, StationState
from station.store import Store
from station.verdict import Disposition, Routing
from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings
from tests.station.conftest import SESSION, build_verdict
from tests.sync.conftest import wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture
def station_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "station.db", tmp_path / "images", 90)
    yield store
    store.close()


def _publisher(store: Store, broker: LocalBroker) -> OutboxPublisher:
    publisher = OutboxPublisher(store.path, SyncSettings(broker="127.0.0.1", port=broker.port),
                                StationIdentity(station_id="dock-01", site_id="site-01", session=SESSION))
    publisher.start()
    return publisher


def _central(db: Path, verdict_id: str) -> list[tuple[int, dict[str, object]]]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        rows = conn.execute("SELECT revision, payload FROM verdicts WHERE verdict_id = ? ORDER BY revision",
                            (verdict_id,)).fetchall()
    finally:
        conn.close()
    return [(int(revision), json.loads(payload)) for revision, payload in rows]


def test_every_operator_action_reaches_central_once_as_a_revision(
    tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
    station_store: Store,
) -> None:
    store = station_store
    receiver = start_receiver(broker)
    publisher = _publisher(store, broker)
    state = StationState()
    pipeline = Pipeline(None, store, state, {})  # type: ignore[arg-type]  # no item is inspected here
    pipeline.start()
    actions = OperatorActions(state, store, pipeline, None,  # type: ignore[arg-type]
                              UiConfig(supervisor_pin="4321", supervisor_required_for=("restock",)),
                              session=SESSION, config_file=None, on_revision=publisher.wake)
    try:
        first = store.record_verdict(build_verdict(1, disposition=Disposition.REPAIR), [])
        state.add_item(ItemView(verdict=first, frame=None))
        publisher.wake()
        actions.sign_in("op-7")
        actions.confirm(first.verdict_id)
        actions.needs_supervisor(first.verdict_id, "serial label torn")
        pipeline.routed(first.verdict_id, Routing(1, 2))
        actions.override(first.verdict_id, "recycle", "battery swollen")
        actions.override(first.verdict_id, "restock", "only the box is torn", supervisor_pin="4321")
        wait_for(pipeline.idle, 30, "the recorder wrote every revision")
        store.purge_rma("R-1042", "dpo")
        publisher.wake()
        assert publisher.wait_drained(60), "the station's outbox did not drain"
    finally:
        pipeline.stop()
        publisher.stop()

    history = store.history(first.verdict_id)
    stored = _central(tmp_path / "central.db", first.verdict_id)
    assert [revision for revision, _ in stored] == [1, 2, 3, 4, 5, 6, 7]
    assert [payload for _, payload in stored] == [v.to_json() for v in history]  # as the station wrote them
    changes = [(p["change"], p["changed_by"], p["change_note"]) for _, p in stored]
    assert changes == [
        ("inspected", None, None),
        ("confirmed", "op-7", None),
        ("supervisor_requested", "op-7", "serial label torn"),
        ("routed", "conveyor", None),
        ("overridden", "op-7", None),
        ("supervisor_approved", "op-7", None),
        ("purged", "dpo", None),
    ]
    assert stored[5][1]["decision"]["override_reason"] == "only the box is torn"  # type: ignore[index]
    assert receiver.stats().stored == 7 and receiver.stats().invalid == 0

    # The acks lost: the station sends every revision again; central keeps one row of each.
    conn = sqlite3.connect(store.path, timeout=30)
    with conn:
        conn.execute("UPDATE outbox SET delivered_at = NULL")
    conn.close()
    publisher = _publisher(store, broker)
    try:
        assert publisher.wait_drained(60), "the resent revisions were not acknowledged"
    finally:
        publisher.stop()
    assert _central(tmp_path / "central.db", first.verdict_id) == stored
    wait_for(lambda: receiver.stats().duplicates >= 7, 10, "central counted the copies as duplicates")
    assert receiver.stats().stored == 7 and receiver.stats().conflicts == 0
