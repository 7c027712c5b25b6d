"""Evidence pictures and purges when central writes to PostgreSQL (a throwaway local cluster):
the bytes in a BYTEA column, a tampered picture refused, a purge erasing pictures and personal
code texts. Skipped where PostgreSQL or psycopg is absent."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.central_evidence import read_image
from sync.evidence import purge_payload
from sync.mqtt import BrokerAddress
from tests.sync.conftest import Probe, verdict_with_picture, wait_for
from tests.sync.test_sync_images import Sender

pytestmark = pytest.mark.broker

PREFIX = "returns/v1/site-01/dock-01/"


def test_pictures_and_a_purge_in_postgres(postgres_url: str, broker: LocalBroker,
                                          probe: Callable[[list[str]], Probe]) -> None:
    import psycopg

    receiver = CentralReceiver(BrokerAddress("127.0.0.1", broker.port), postgres_url)
    receiver.start()
    acks = probe([PREFIX + "ack"])
    sender = Sender(broker.port)
    verdict, data, row = verdict_with_picture()
    try:
        wait_for(lambda: receiver.stats().connected, 10, "central connected")
        acks.publish(PREFIX + "verdict", json.dumps(verdict))
        sender.picture(PREFIX + "image", data + b"!", row.properties())  # tampered
        sender.picture(PREFIX + "image", data, row.properties())
        wait_for(lambda: {a.get("key") for a in acks.json_on(PREFIX + "ack")} >= {row.key}, 20, "picture ack")
        assert read_image(postgres_url, row.verdict_id, "top") == data
        acks.publish(PREFIX + "purge", purge_payload("p-1", "R-1001", [row.verdict_id], "dock-01", "site-01",
                                                     "2026-12-03T12:00:00.000Z"))
        wait_for(lambda: any(a.get("key") == "purge:p-1" for a in acks.json_on(PREFIX + "ack")), 20,
                 "purge ack")
    finally:
        sender.close()
        receiver.stop()
    assert read_image(postgres_url, row.verdict_id, "top") is None
    with psycopg.connect(postgres_url) as conn:
        codes = conn.execute("SELECT payload->'item'->'codes' FROM verdicts").fetchone()[0]
        assert [c["text"] for c in codes] == ["4006381333931", "[erased]"]
        assert conn.execute("SELECT purge_id, images_erased FROM purges").fetchall() == [("p-1", 1)]
        reasons = [r[0] for r in conn.execute("SELECT reason FROM rejected")]
        assert len(reasons) == 1 and "hash to" in reasons[0]
