"""End-to-end delivery through a real Mosquitto to the real central receiver: a row is marked
delivered only on central's ack, unacked rows are resent (after the ack timeout and after a
restart), central stores each verdict revision once."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sync import outbox
from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.loadgen import make_verdict, uuid7
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings
from tests.sync.conftest import Probe, broker_settings, fill_outbox, wait_for

pytestmark = pytest.mark.broker

SESSION = str(uuid7())
IDENTITY = StationIdentity(session=SESSION)


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_rows_are_delivered_only_when_central_acks(
    tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver]
) -> None:
    db = tmp_path / "station.db"
    fill_outbox(db, 50, SESSION)
    publisher = OutboxPublisher(db, broker_settings(broker), IDENTITY)
    publisher.start()
    try:
        # No central yet: the broker takes the messages (PUBACK) but nobody acks them.
        wait_for(lambda: _rows(db, "SELECT COUNT(*) FROM outbox WHERE published_at IS NOT NULL")[0][0] == 50,
                 10, "all rows published")
        wait_for(lambda: publisher.stats().in_flight == 50, 10, "50 in flight")
        assert _rows(db, "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL") == [(0,)]
        receiver = start_receiver(broker)
        # Published before central subscribed, so only a resend can deliver them: after a
        # publisher restart (the next test) or the ack timeout (the one after).
        publisher.stop()
        publisher = OutboxPublisher(db, broker_settings(broker), IDENTITY)
        publisher.start()
        assert publisher.wait_drained(20), publisher.stats()
        central_db = receiver.db_path
        assert _rows(central_db, "SELECT COUNT(*), COUNT(DISTINCT verdict_id) FROM verdicts") == [(50, 50)]
        wait_for(lambda: publisher.stats().backlog == 0, 5, "backlog shown as empty")
        # Each row went out once per publisher, and both sends are counted.
        counts = _rows(db, "SELECT MIN(attempts), MAX(attempts), COUNT(published_at) FROM outbox")
        assert counts == [(2, 2, 50)]
    finally:
        publisher.stop()


def test_unacked_rows_are_resent_after_the_ack_timeout(
    tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver]
) -> None:
    db = tmp_path / "station.db"
    fill_outbox(db, 20, SESSION)
    publisher = OutboxPublisher(db, broker_settings(broker, ack_timeout_s=0.5), IDENTITY)
    publisher.start()
    try:
        wait_for(lambda: publisher.stats().published_total == 20, 10, "first publish")
        receiver = start_receiver(broker)
        assert publisher.wait_drained(20), publisher.stats()
        stats = publisher.stats()
        assert stats.resent_total >= 20 and stats.reconnects == 0
        wait_for(lambda: receiver.stats().stored == 20, 5, "central counted 20")
        attempts = _rows(db, "SELECT MIN(attempts) FROM outbox")[0][0]
        assert attempts >= 2
    finally:
        publisher.stop()


def test_rows_published_but_unacked_before_a_crash_are_sent_again_after_restart(
    tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver]
) -> None:
    db = tmp_path / "station.db"
    keys = fill_outbox(db, 30, SESSION)
    receiver = start_receiver(broker)
    # A previous run published every row (attempts > 0) and died before any ack came.
    conn = sqlite3.connect(db)
    outbox.mark_published(conn, [r[0] for r in conn.execute("SELECT id FROM outbox")], 1.0)
    conn.commit()
    conn.close()
    publisher = OutboxPublisher(db, broker_settings(broker), IDENTITY)
    publisher.start()
    try:
        assert publisher.wait_drained(20), publisher.stats()
    finally:
        publisher.stop()
    stored = {f"{v}:{r}" for v, r in _rows(receiver.db_path, "SELECT verdict_id, revision FROM verdicts")}
    assert stored == set(keys)


def _handled(receiver: CentralReceiver) -> int:
    stats = receiver.stats()
    return stats.stored + stats.duplicates + stats.invalid


def test_receiver_stores_each_revision_once_and_acks_every_copy(
    tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
    probe: Callable[[list[str]], Probe],
) -> None:
    receiver = start_receiver(broker)
    watcher = probe(["returns/v1/site-01/dock-01/ack"])
    verdict = make_verdict("dock-01", "site-01", SESSION, 1, random.Random(1))
    revised = {**verdict, "revision": 2,
               "decision": {**verdict["decision"], "source": "operator", "operator_id": "op-7",
                            "override_reason": "scratch is cosmetic", "disposition": "restock"}}
    topic = "returns/v1/site-01/dock-01/verdict"
    for body in (verdict, verdict, revised, verdict, revised):
        watcher.publish(topic, json.dumps(body))
    watcher.publish(topic, json.dumps({**verdict, "verdict_id": "nope"}))  # invalid: stored aside, no ack
    watcher.publish(topic, b"{not json")
    wait_for(lambda: _handled(receiver) == 7, 10, "all 7 messages stored, counted as repeats or rejected")
    rows = _rows(receiver.db_path, "SELECT verdict_id, revision, disposition FROM verdicts ORDER BY revision")
    assert rows == [(verdict["verdict_id"], 1, verdict["decision"]["disposition"]),
                    (verdict["verdict_id"], 2, "restock")]
    stats = receiver.stats()
    assert (stats.stored, stats.duplicates, stats.invalid) == (2, 3, 2)
    assert _rows(receiver.db_path, "SELECT COUNT(*) FROM rejected") == [(2,)]

    def acked_keys() -> list[str]:
        out = []
        for body in watcher.json_on("returns/v1/site-01/dock-01/ack"):
            out += [a["key"] for a in (body if isinstance(body, list) else [body])]
        return out

    wait_for(lambda: len(acked_keys()) == 5, 10, "5 acks")
    assert sorted(set(acked_keys())) == sorted({f"{verdict['verdict_id']}:1", f"{verdict['verdict_id']}:2"})


def test_status_online_then_stopped_and_periodic_stats(
    tmp_path: Path, broker: LocalBroker, probe: Callable[[list[str]], Probe]
) -> None:
    db = tmp_path / "station.db"
    fill_outbox(db, 3, SESSION)
    watcher = probe(["returns/v1/site-01/dock-01/status", "returns/v1/site-01/dock-01/stats"])
    models = ({"name": "defect", "version": "2026.11.24", "sha256": "ab" * 32},)
    publisher = OutboxPublisher(
        db, broker_settings(broker, stats_interval_s=0.3),
        StationIdentity(session=SESSION, versions={"station": "0.1.0"}, models=models),
        stats_source=lambda: {"items": 3},
    )
    publisher.start()
    status = "returns/v1/site-01/dock-01/status"
    wait_for(lambda: any(m["state"] == "online" for m in watcher.json_on(status)), 10, "online status")
    online = next(m for m in watcher.json_on(status) if m["state"] == "online")
    assert online["session"] == SESSION and online["models"] == list(models)
    assert online["versions"] == {"station": "0.1.0"}
    wait_for(lambda: len(watcher.json_on("returns/v1/site-01/dock-01/stats")) >= 1, 10, "a stats message")
    stats = watcher.json_on("returns/v1/site-01/dock-01/stats")[-1]
    assert stats["station"] == {"items": 3} and stats["outbox"]["backlog"] == 3
    publisher.stop()
    wait_for(lambda: watcher.json_on(status)[-1]["state"] == "stopped", 10, "stopped status")
    # retained: a newcomer sees "stopped", not a stale "online"
    late = probe([status])
    wait_for(lambda: bool(late.json_on(status)), 10, "retained status")
    assert late.json_on(status)[-1]["state"] == "stopped"


def test_no_broker_configured_keeps_everything_in_the_outbox(tmp_path: Path) -> None:
    db = tmp_path / "station.db"
    fill_outbox(db, 5, SESSION)
    publisher = OutboxPublisher(db, SyncSettings(broker="", poll_interval_s=0.05), IDENTITY)
    publisher.start()
    try:
        wait_for(lambda: publisher.stats().backlog == 5, 5, "backlog counted")
        stats = publisher.stats()
        assert not stats.connected and stats.published_total == 0
        assert stats.oldest_undelivered_age_s is not None
    finally:
        publisher.stop()


def test_auto_broker_survives_a_restart_on_the_same_port_with_retained_status(tmp_path: Path) -> None:
    from sync.broker import start_auto_broker

    broker = start_auto_broker(tmp_path / "auto")
    assert broker is not None
    try:
        port = broker.port
        publisher = OutboxPublisher(tmp_path / "station.db", broker_settings(broker), IDENTITY)
        publisher.start()
        wait_for(lambda: publisher.stats().connected, 10, "connected")
        publisher.stop()
        broker.restart()
        assert broker.port == port and broker.running
        late = Probe(port, ["returns/v1/site-01/dock-01/status"])
        try:
            wait_for(lambda: bool(late.json_on("returns/v1/site-01/dock-01/status")), 10, "retained status")
            assert late.json_on("returns/v1/site-01/dock-01/status")[-1]["state"] == "stopped"
        finally:
            late.close()
    finally:
        broker.close()
    assert not broker.running


def test_a_verdict_sent_once_central_says_it_is_subscribed_is_acknowledged(
        tmp_path: Path, broker: LocalBroker) -> None:
    # A probe publishes one verdict once, with no session of central's on the broker to hold it:
    # it is only acknowledged when central's subscription was granted first.
    from sync.broker import free_port
    from sync.mqtt import BrokerAddress
    from sync.probe import probe_broker

    nowhere = CentralReceiver(BrokerAddress("127.0.0.1", free_port()), tmp_path / "nowhere.db")
    nowhere.start()
    try:
        assert not nowhere.wait_subscribed(1.0)
    finally:
        nowhere.stop()

    receiver = CentralReceiver(BrokerAddress("127.0.0.1", broker.port), tmp_path / "central.db")
    receiver.start()
    try:
        assert receiver.wait_subscribed(10.0)
        verdict = make_verdict("dock-01", "site-01", SESSION, 0, random.Random(3))
        topics = SyncSettings().topics(IDENTITY)
        result = probe_broker(BrokerAddress("127.0.0.1", broker.port), "probe-once", topics.verdict,
                              json.dumps(verdict).encode(), reply_topic=topics.ack, timeout_s=10.0)
        assert result.reply_ms is not None
    finally:
        receiver.stop()
    stored = sqlite3.connect(tmp_path / "central.db").execute("SELECT verdict_id FROM verdicts").fetchall()
    assert stored == [(verdict["verdict_id"],)]
