"""When central cannot store a batch it acknowledges none of it: the station keeps those rows,
sends them again, and they arrive once the database takes writes again."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from sync.broker import LocalBroker
from sync.central import CentralReceiver, ensure_central_schema
from sync.loadgen import connect_station_db, make_verdict, record_verdict, uuid7
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings
from tests.sync.conftest import wait_for

pytestmark = pytest.mark.broker


def test_a_batch_central_cannot_store_is_not_acked_and_arrives_after_a_resend(
    tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver]
) -> None:
    central_db = tmp_path / "central.db"
    conn = sqlite3.connect(central_db)
    ensure_central_schema(conn)
    # The database refuses one verdict, as a full disk or a broken constraint would: the
    # whole batch's transaction fails.
    conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON verdicts WHEN NEW.seq = 7"
                 " BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    conn.commit()
    receiver = start_receiver(broker, db=central_db)

    station_db = tmp_path / "station.db"
    station = connect_station_db(station_db)
    rng, session = random.Random(1), str(uuid7())
    for seq in range(20):
        record_verdict(station, make_verdict("dock-01", "site-01", session, seq, rng))
    station.close()
    settings = SyncSettings(broker="127.0.0.1", port=broker.port, ack_timeout_s=0.5)
    publisher = OutboxPublisher(station_db, settings, StationIdentity(session=session))
    publisher.start()
    try:
        wait_for(lambda: "disk says no" in (receiver.stats().last_error or ""), 10, "the database error")
        wait_for(lambda: publisher.stats().backlog > 0, 5, "the refused batch still in the backlog")
        assert publisher.stats().delivered_total < 20
        stored = conn.execute("SELECT seq FROM verdicts ORDER BY seq").fetchall()
        assert (7,) not in stored

        conn.execute("DROP TRIGGER refuse")
        conn.commit()
        assert publisher.wait_drained(20), publisher.stats()
        rows = conn.execute("SELECT seq, COUNT(*) FROM verdicts GROUP BY seq ORDER BY seq").fetchall()
        assert rows == [(seq, 1) for seq in range(20)]
    finally:
        publisher.stop()
        conn.close()
