"""`station central` storing into PostgreSQL (a throwaway local cluster): each verdict
revision once, rejected messages kept aside. Skipped where PostgreSQL or psycopg is absent."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest

from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.loadgen import make_verdict, uuid7
from sync.mqtt import BrokerAddress
from tests.sync.conftest import Probe, wait_for

pytestmark = pytest.mark.broker


def test_central_dedupes_into_postgres(postgres_url: str, broker: LocalBroker,
                                       probe: Callable[[list[str]], Probe]) -> None:
    import psycopg

    receiver = CentralReceiver(BrokerAddress("127.0.0.1", broker.port), postgres_url)
    receiver.start()
    try:
        wait_for(lambda: receiver.stats().connected, 10, "central connected")
        sender = probe(["returns/v1/site-01/dock-01/ack"])
        verdict = make_verdict("dock-01", "site-01", str(uuid7()), 1, random.Random(1))
        topic = "returns/v1/site-01/dock-01/verdict"
        for body in (verdict, verdict, {**verdict, "revision": 2}, {**verdict, "seq": -1}):
            sender.publish(topic, json.dumps(body))
        def handled() -> int:
            stats = receiver.stats()
            return stats.stored + stats.duplicates + stats.invalid

        wait_for(lambda: handled() == 4, 10, "4 messages stored, counted as repeats or rejected")
        stats = receiver.stats()
        assert (stats.stored, stats.duplicates, stats.invalid) == (2, 1, 1)
        wait_for(lambda: len(sender.json_on("returns/v1/site-01/dock-01/ack")) >= 1, 10, "acks")
    finally:
        receiver.stop()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT verdict_id, revision, payload->>'station_id' FROM verdicts"
                            " ORDER BY revision").fetchall()
        assert rows == [(verdict["verdict_id"], 1, "dock-01"), (verdict["verdict_id"], 2, "dock-01")]
        assert conn.execute("SELECT COUNT(*) FROM rejected").fetchone() == (1,)


def test_receivers_starting_together_all_open_the_same_database(postgres_url: str) -> None:
    """A fleet's receivers start in the same instant after a reboot; none may fail creating tables."""
    import threading

    from sync.central_evidence import PostgresEvidenceStore
    from sync.central_store import PostgresVerdictStore

    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def open_both() -> None:
        start.wait()
        try:
            PostgresVerdictStore(postgres_url).close()
            PostgresEvidenceStore(postgres_url).close()
        except BaseException as exc:  # every failure is the finding
            failures.append(exc)

    threads = [threading.Thread(target=open_both) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
