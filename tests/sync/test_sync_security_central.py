"""What a client that may publish on one station's topics can do at central: neither write a picture
outside --images-dir (central names its folders after the topic's <site>/<station> levels, and `..` is
a valid MQTT topic level that `+` matches), nor erase another station's evidence with a purge naming
that station's verdicts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from station.store import Store
from station.verdict import CodeRead
from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.central_evidence import default_images_dir, read_image
from sync.evidence import ImageRow, purge_payload
from sync.loadgen import uuid7
from sync.mqtt import BrokerAddress
from tests.sync.conftest import Probe, verdict_with_picture, wait_for
from tests.sync.test_sync_images import PREFIX, Sender, publisher_for, record, rows

pytestmark = pytest.mark.broker


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "station.db", tmp_path / "images", 90, send_images="all")
    yield store
    store.close()


def test_a_picture_on_a_topic_that_climbs_out_of_the_images_folder_is_refused(
    tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
    probe: Callable[[list[str]], Probe]
) -> None:
    central = tmp_path / "central"
    central.mkdir()
    receiver = start_receiver(broker, db=central / "central.db")
    acks = probe([PREFIX + "ack"])
    data = b"\xff\xd8 a picture \xff\xd9"
    sha = hashlib.sha256(data).hexdigest()
    climbing = ImageRow("0193a0f4-1111-7000-8000-00000000000a", "top", sha, "", 0)
    genuine = ImageRow("0193a0f4-1111-7000-8000-00000000000b", "top", sha, "", 0)
    sender = Sender(broker.port)
    try:
        sender.picture("returns/v1/../../image", data, climbing.properties())
        sender.picture(PREFIX + "image", data, genuine.properties())
        wait_for(lambda: acks.json_on(PREFIX + "ack") != [], 30, "the genuine picture's ack")
    finally:
        sender.close()
    # The genuine picture was sent second: once its ack is in, the first has been judged too.
    images = central / "central-images"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jpg")) == \
        [p.relative_to(tmp_path) for p in images.rglob("*.jpg")]
    assert rows(receiver.db_path, "SELECT verdict_id FROM images") == [(genuine.verdict_id,)]
    ((topic, reason),) = rows(receiver.db_path, "SELECT topic, reason FROM rejected")
    assert topic == "returns/v1/../../image" and "does not name a site and a station" in reason


def test_a_purge_naming_another_stations_verdicts_leaves_them_as_they_are(
    broker: LocalBroker, station: Store, start_receiver: Callable[..., CentralReceiver],
    probe: Callable[[list[str]], Probe]
) -> None:
    receiver = start_receiver(broker)
    central = receiver.db_path
    label = (CodeRead("EAN13", "4006381333931"), CodeRead("QRCode", "Jane Doe, 1 Main St, Springfield"))
    verdicts = [record(station, seq, rma="R-1042", codes=label) for seq in range(2)]
    ids = [v.verdict_id for v in verdicts]
    publisher = publisher_for(station.path, broker)
    try:
        assert publisher.wait_drained(60), publisher.stats()
        folder = default_images_dir(Path(central))
        files = [folder / str(r[0]) for r in rows(central, "SELECT path FROM images")]
        assert len(files) == 4
        # dock-02 may publish on its own topics; the payload names dock-01's verdicts.
        other = "returns/v1/site-01/dock-02/"
        acks = probe([other + "ack"])
        purge_id = str(uuid7())
        acks.publish(other + "purge", purge_payload(purge_id, "R-1042", ids, "dock-02", "site-01",
                                                    "2026-12-05T04:00:00.000Z"))
        wait_for(lambda: acks.json_on(other + "ack") != [], 30, "central's ack of dock-02's purge")
        assert all(f.exists() for f in files)
        for (payload,) in rows(central, "SELECT payload FROM verdicts"):
            assert [c["text"] for c in json.loads(payload)["item"]["codes"]] == \
                ["4006381333931", "Jane Doe, 1 Main St, Springfield"]
        assert rows(central, "SELECT verdict_ids, images_erased FROM purges") == [("[]", 0)]
        # dock-01's own purge of the same verdicts still erases them.
        station.purge_rma("R-1042", "dpo")
        publisher.wake()
        assert publisher.wait_drained(60), publisher.stats()
    finally:
        publisher.stop()
    assert not any(f.exists() for f in files)
    assert rows(central, "SELECT COUNT(*) FROM images") == [(0,)]


def test_in_postgres_a_purge_naming_another_stations_verdict_leaves_it_as_it_is(
    postgres_url: str, broker: LocalBroker, probe: Callable[[list[str]], Probe]
) -> None:
    import psycopg

    receiver = CentralReceiver(BrokerAddress("127.0.0.1", broker.port), postgres_url)
    receiver.start()
    other = "returns/v1/site-01/dock-02/"
    acks = probe([PREFIX + "ack", other + "ack"])
    sender = Sender(broker.port)
    verdict, data, row = verdict_with_picture()
    try:
        wait_for(lambda: receiver.stats().connected, 10, "central connected")
        acks.publish(PREFIX + "verdict", json.dumps(verdict))
        sender.picture(PREFIX + "image", data, row.properties())
        wait_for(lambda: {a.get("key") for a in acks.json_on(PREFIX + "ack")} >= {row.key}, 20, "picture ack")
        acks.publish(other + "purge", purge_payload("p-2", "R-1001", [row.verdict_id], "dock-02", "site-01",
                                                    "2026-12-03T12:00:00.000Z"))
        wait_for(lambda: any(a.get("key") == "purge:p-2" for a in acks.json_on(other + "ack")), 20,
                 "dock-02's purge ack")
    finally:
        sender.close()
        receiver.stop()
    assert read_image(postgres_url, row.verdict_id, "top") == data
    with psycopg.connect(postgres_url) as conn:
        codes = conn.execute("SELECT payload->'item'->'codes' FROM verdicts").fetchone()[0]
        assert [c["text"] for c in codes] == ["4006381333931", "Jane Doe, 1 Main St"]
        assert conn.execute("SELECT verdict_ids, images_erased FROM purges").fetchall() == [([], 0)]
        assert conn.execute("SELECT count(*) FROM purged_verdicts").fetchone()[0] == 0
