"""Central names its picture folders after the <site>/<station> levels of the topic a picture came
on. `..` is a valid MQTT topic level, which the `+` of central's subscription matches: a client
that may publish there must not get a file written outside --images-dir."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.evidence import ImageRow
from tests.sync.conftest import Probe, wait_for
from tests.sync.test_sync_images import PREFIX, Sender, rows

pytestmark = pytest.mark.broker


def test_a_picture_on_a_topic_that_climbs_out_of_the_images_folder_is_refused(
    tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
    probe: Callable[[list[str]], Probe]
) -> None:
    central = tmp_path / "central"
    central.mkdir()
    receiver = start_receiver(broker, db=central / "central.db")
    acks = probe([PREFIX + "ack"])
    data = b"\xff\xd8 a picture \xff\xd9"
    climbing = ImageRow("0193a0f4-1111-7000-8000-00000000000a", "top", hashlib.sha256(data).hexdigest(), "", 0)
    genuine = ImageRow("0193a0f4-1111-7000-8000-00000000000b", "top", hashlib.sha256(data).hexdigest(), "", 0)
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
