"""Evidence pictures and purges end to end: the station's store queues them, the real publisher
sends them through a real Mosquitto, the real central receiver keeps, refuses and erases them."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station.store import FrameImage, Store
from station.verdict import CodeRead, Disposition, Verdict
from sync import outbox
from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.central_evidence import default_images_dir, read_image
from sync.evidence import ImageRow
from sync.loadgen import connect_station_db, make_verdict, record_verdict, uuid7
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings
from tests.station.conftest import build_verdict
from tests.sync.conftest import Probe, wait_for

pytestmark = pytest.mark.broker

IDENTITY = StationIdentity(session=str(uuid7()))
PREFIX = "returns/v1/site-01/dock-01/"


def frame(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((120, 160, 3), 200, np.uint8)
    image[30:90, 40:120] = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    return image


def rows(db: Path | str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "station.db", tmp_path / "images", 90, send_images="all")
    yield store
    store.close()


def publisher_for(db: Path, broker: LocalBroker) -> OutboxPublisher:
    publisher = OutboxPublisher(db, SyncSettings(broker="127.0.0.1", port=broker.port, ack_timeout_s=2.0),
                                IDENTITY)
    publisher.start()
    return publisher


def record(store: Store, seq: int, *, rma: str = "R-1042", disposition: Disposition = Disposition.REPAIR,
           codes: tuple[CodeRead, ...] | None = None) -> Verdict:
    return store.record_verdict(build_verdict(seq, rma=rma, disposition=disposition, codes=codes),
                                [FrameImage("top", frame(seq)), FrameImage("side", frame(seq + 1000))])


def test_pictures_arrive_once_with_their_sha256_through_a_broker_stop_and_a_station_restart(
    tmp_path: Path, broker: LocalBroker, station: Store, start_receiver: Callable[..., CentralReceiver]
) -> None:
    receiver = start_receiver(broker)
    central = receiver.db_path
    verdicts = [record(station, seq) for seq in range(6)]
    publisher = publisher_for(station.path, broker)
    try:
        wait_for(lambda: rows(central, "SELECT COUNT(*) FROM images")[0][0] >= 2, 30, "first pictures kept")
        broker.stop()
        verdicts += [record(station, seq) for seq in range(6, 10)]  # recorded while the broker is down
        publisher.stop()  # the station restarts while its backlog waits
        broker.start()
        publisher = publisher_for(station.path, broker)
        assert publisher.wait_drained(60), publisher.stats()
    finally:
        publisher.stop()
    expected = {(v.verdict_id, ref.camera): ref.sha256 for v in verdicts for ref in v.inspection.images}
    kept = rows(central, "SELECT verdict_id, camera, sha256, path FROM images")
    assert len(kept) == len(expected) == 20
    images_dir = default_images_dir(Path(central))
    for verdict_id, camera, sha256, path in kept:
        assert expected[(verdict_id, camera)] == sha256
        file = images_dir / path
        assert hashlib.sha256(file.read_bytes()).hexdigest() == sha256
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert read_image(central, verdict_id, camera) == file.read_bytes()
    # Every verdict is kept too, and each picture's row is linked to its verdict by id.
    assert rows(central, "SELECT COUNT(*) FROM images i JOIN verdicts v ON v.verdict_id = i.verdict_id") \
        == [(20,)]


def test_a_backlog_of_ten_thousand_pictures_does_not_hold_back_a_verdict(
    tmp_path: Path, broker: LocalBroker, probe: Callable[[list[str]], Probe]
) -> None:
    db = tmp_path / "station.db"
    picture = tmp_path / "picture.jpg"
    picture.write_bytes(b"\xff\xd8" + bytes(range(256)) * 4 + b"\xff\xd9")
    sha256 = hashlib.sha256(picture.read_bytes()).hexdigest()
    conn = connect_station_db(db)
    for i in range(10_000):
        row = ImageRow(f"old-{i}", "top", sha256, str(picture), picture.stat().st_size)
        outbox.enqueue(conn, outbox.IMAGE_KIND, row.key, row.to_payload())
    conn.commit()
    rng = random.Random(3)
    # Three verdicts recorded after the 10,000 pictures, so behind them in the outbox's order.
    keys = []
    for seq in range(3):
        verdict = make_verdict("dock-01", "site-01", IDENTITY.session, seq, rng)
        record_verdict(conn, verdict)
        keys.append(verdict["verdict_id"])
    seen = probe([PREFIX + "verdict", PREFIX + "image"])
    publisher = publisher_for(db, broker)
    try:
        wait_for(lambda: len(seen.messages) >= 3, 30, "the three verdicts")
        # Central (played by the test) acknowledges them: only now do pictures follow.
        seen.publish(PREFIX + "ack", json.dumps([{"key": f"{v}:1"} for v in keys]))
        wait_for(lambda: len(seen.messages) == 3 + 4, 30, "one window of pictures")
        topics = [t.rsplit("/", 1)[1] for t, _, _ in seen.messages]
        assert topics == ["verdict"] * 3 + ["image"] * 4
        # The operator's "verdicts waiting" counts verdicts; the pictures are counted apart.
        wait_for(lambda: (publisher.stats().backlog, publisher.stats().image_backlog) == (0, 10_000), 10,
                 "no verdict and 10,000 pictures waiting")
        # Nobody acknowledges the pictures: 9,996 still wait. A new verdict goes out all the same.
        late = make_verdict("dock-01", "site-01", IDENTITY.session, 3, rng)
        record_verdict(conn, late)
        conn.commit()
        publisher.wake()
        wait_for(lambda: len(seen.messages) == 8, 30, "the new verdict")
        assert json.loads(seen.messages[-1][1])["verdict_id"] == late["verdict_id"]
    finally:
        publisher.stop()
        conn.close()


class Sender:
    """A station's MQTT client publishing pictures by hand (to tamper with them)."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hand-{uuid7()}",
                                  protocol=mqtt.MQTTv5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def picture(self, topic: str, data: bytes, properties: list[tuple[str, str]]) -> None:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.UserProperty = properties
        self.client.publish(topic, data, qos=1, properties=props).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_tampered_picture_is_refused_and_kept_aside_and_not_acknowledged(
    broker: LocalBroker, start_receiver: Callable[..., CentralReceiver], probe: Callable[[list[str]], Probe]
) -> None:
    receiver = start_receiver(broker)
    acks = probe([PREFIX + "ack"])
    data = b"\xff\xd8 the picture as stored \xff\xd9"
    good = ImageRow("0193a0f4-1111-7000-8000-000000000001", "top", hashlib.sha256(data).hexdigest(), "", 0)
    other = ImageRow("0193a0f4-1111-7000-8000-000000000002", "top", hashlib.sha256(data).hexdigest(), "", 0)
    sender = Sender(broker.port)
    try:
        sender.picture(PREFIX + "image", data + b" retouched", other.properties())
        sender.picture(PREFIX + "image", data, good.properties())
        wait_for(lambda: acks.json_on(PREFIX + "ack") != [], 30, "the genuine picture's ack")
    finally:
        sender.close()
    # The genuine picture was sent second: once its ack is in, the first has been judged too.
    assert acks.json_on(PREFIX + "ack") == [{"key": good.key, "verdict_id": good.verdict_id, "camera": "top"}]
    assert rows(receiver.db_path, "SELECT verdict_id FROM images") == [(good.verdict_id,)]
    rejected = rows(receiver.db_path, "SELECT topic, reason FROM rejected")
    assert len(rejected) == 1 and rejected[0][0] == PREFIX + "image" and "hash to" in rejected[0][1]


def test_policy_and_size_cap_decide_which_pictures_are_queued(tmp_path: Path) -> None:
    def queued(store: Store) -> list[str]:
        keys = store.conn.execute("SELECT key FROM outbox WHERE kind = 'image' ORDER BY id")
        return [str(r[0]) for r in keys]

    store = Store(tmp_path / "a.db", tmp_path / "a", 90, send_images="all_but_restock")
    try:
        restocked = record(store, 1, disposition=Disposition.RESTOCK)
        repaired = record(store, 2, disposition=Disposition.REPAIR)
        assert queued(store) == [f"image:{repaired.verdict_id}:top", f"image:{repaired.verdict_id}:side"]
        # Each picture's row comes after its verdict's, in the same transaction.
        order = [str(r[0]) for r in store.conn.execute("SELECT key FROM outbox ORDER BY id")]
        assert order.index(f"{repaired.verdict_id}:1") < order.index(f"image:{repaired.verdict_id}:top")
        # An operator sends the restocked item to repair after all: now its evidence is wanted.
        store.record_override(restocked.verdict_id, Disposition.REPAIR, "op-1", "dent found")
        assert queued(store)[2:] == [f"image:{restocked.verdict_id}:{camera}" for camera in ("top", "side")]
    finally:
        store.close()
    store = Store(tmp_path / "b.db", tmp_path / "b", 90, send_images="none")
    try:
        record(store, 1)
        assert queued(store) == []
    finally:
        store.close()
    store = Store(tmp_path / "c.db", tmp_path / "c", 90, send_images="all", image_max_bytes=1_000)
    try:
        record(store, 1, disposition=Disposition.RESTOCK)
        assert queued(store) == [] and store.images_too_big == 2
    finally:
        store.close()


def test_a_picture_erased_before_its_turn_is_skipped_once_with_a_log_line(
    broker: LocalBroker, station: Store, start_receiver: Callable[..., CentralReceiver],
    caplog: pytest.LogCaptureFixture
) -> None:
    receiver = start_receiver(broker)
    verdict = record(station, 1)
    (station.images_dir / str(verdict.inspection.images[0].path)).unlink()  # retention got there first
    caplog.set_level(logging.INFO, logger="sync.publisher")
    publisher = publisher_for(station.path, broker)
    try:
        assert publisher.wait_drained(30), publisher.stats()
        assert publisher.stats().images_skipped == 1
    finally:
        publisher.stop()
    assert rows(receiver.db_path, "SELECT camera FROM images") == [("side",)]
    skipped = [r for r in caplog.records if "no longer on disk" in r.getMessage()]
    assert len(skipped) == 1


def test_a_purge_on_the_station_erases_the_pictures_and_personal_codes_at_central(
    broker: LocalBroker, station: Store, start_receiver: Callable[..., CentralReceiver]
) -> None:
    receiver = start_receiver(broker)
    central = receiver.db_path
    label = (CodeRead("EAN13", "4006381333931"), CodeRead("QRCode", "Jane Doe, 1 Main St, Springfield"))
    purged = [record(station, seq, rma="R-1042", codes=label) for seq in range(2)]
    kept = record(station, 5, rma="R-2000", codes=label)
    publisher = publisher_for(station.path, broker)
    try:
        assert publisher.wait_drained(60), publisher.stats()
        assert rows(central, "SELECT COUNT(*) FROM images") == [(6,)]
        files = [default_images_dir(Path(central)) / str(r[0]) for r in rows(
            central, "SELECT path FROM images WHERE verdict_id IN (?, ?)", *(v.verdict_id for v in purged))]
        result = station.purge_rma("R-1042", "dpo")
        assert result.purge_id is not None
        publisher.wake()
        assert publisher.wait_drained(60), publisher.stats()
    finally:
        publisher.stop()
    assert {r[0] for r in rows(central, "SELECT verdict_id FROM images")} == {kept.verdict_id}
    assert files and not any(f.exists() for f in files)
    for verdict_id, payload in rows(central, "SELECT verdict_id, payload FROM verdicts"):
        texts = [c["text"] for c in json.loads(payload)["item"]["codes"]]
        erased = verdict_id != kept.verdict_id
        assert texts == ["4006381333931", "[erased]" if erased else "Jane Doe, 1 Main St, Springfield"]
    record_ = rows(central, "SELECT purge_id, rma, verdict_ids, images_erased FROM purges")
    assert record_ == [(result.purge_id, "R-1042", json.dumps([v.verdict_id for v in purged]), 4)]
