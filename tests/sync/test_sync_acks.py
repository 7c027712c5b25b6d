"""What the station does with central's acks, as central's developers meet it: a malformed ack
is logged saying what is wrong and what to send instead, its good entries still count; an ack
of a key the station never sent is logged (the row central meant stays unacknowledged); a
central that stops acknowledging is logged once, and again when it answers; and the figures
kept after the publisher stops show the outbox as it is then."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.delivery import ACK_FORM, AckMessage, Delivery, Instant, read_ack
from sync.loadgen import uuid7
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity
from tests.sync.conftest import broker_settings, fill_outbox, wait_for
from tests.sync.sync_contract_files import SCHEMAS, load_json

SESSION = str(uuid7())
IDENTITY = StationIdentity(session=SESSION)
ACK_TOPIC = "returns/v1/site-01/dock-01/ack"


# ---- reading one ack message (no broker) ---------------------------------------------------

@pytest.mark.parametrize(("payload", "problem"), [
    (b"{not json", "it is not JSON (Expecting property name"),
    (b"", "it is not JSON (Expecting value"),
    (b"42", "it is 42, not an object"),
    (b'"01a2:1"', 'it is "01a2:1", not an object'),
    (b"[]", "it is an empty array"),
    (b'{"foo": 1}', 'it has neither "key" nor "verdict_id" and "revision"'),
    (b'{"key": 5}', 'it has "key" 5, not a non-empty string'),
    (b'{"key": ""}', 'it has "key" "", not a non-empty string'),
    (b'{"verdict_id": "01a2", "revision": "1"}', 'it has "revision" "1", not a whole number from 1 up'),
    (b'{"verdict_id": "01a2", "revision": true}', 'it has "revision" true, not a whole number from 1 up'),
    (b'{"verdict_id": "01a2", "revision": 0}', 'it has "revision" 0, not a whole number from 1 up'),
    (b'{"revision": 1}', 'it has "verdict_id" null, not a non-empty string'),
])
def test_a_malformed_ack_acknowledges_nothing_and_says_what_is_wrong(payload: bytes, problem: str) -> None:
    ack = read_ack(payload)
    assert ack.keys == ()
    assert len(ack.problems) == 1 and ack.problems[0].startswith(problem), ack.problems


def test_the_good_entries_of_an_array_count_beside_bad_ones() -> None:
    ack = read_ack(b'[{"key": "a:1"}, 7, {"verdict_id": "b", "revision": 2}, {"key": null}]')
    assert ack == AckMessage(keys=("a:1", "b:2"), problems=("entry 2 is 7, not an object",
                                                            'entry 4 has "key" null, not a non-empty string'))


@pytest.mark.parametrize("depth", [990, 997, 5000])
def test_an_ack_nested_deep_is_refused_not_raised(depth: int) -> None:
    ack = read_ack(b"[" * depth + b"]" * depth)
    assert ack.keys == () and len(ack.problems) == 1


def test_every_example_of_the_ack_schema_is_read_as_its_keys() -> None:
    schema = load_json(SCHEMAS / "ack-1.schema.json")
    for example in schema["examples"]:
        entries = example if isinstance(example, list) else [example]
        expected = tuple(e["key"] if "key" in e else f"{e['verdict_id']}:{e['revision']}" for e in entries)
        assert read_ack(json.dumps(example).encode()) == AckMessage(expected, ())


# ---- central going silent, in the delivery rules (no broker) -------------------------------

def _at(t: float) -> Instant:
    return Instant(wall=t, mono=t)


def _delivery() -> Delivery:
    return Delivery(window=10, ack_timeout_s=10.0, poll_interval_s=0.2, stats_interval_s=30.0,
                    start=_at(100.0))


class _Row:
    def __init__(self, i: int) -> None:
        self.id, self.key, self.payload = i, f"v{i}:1", f"payload {i}".encode()


def test_central_going_silent_is_said_once_and_its_return_once() -> None:
    core = _delivery()
    core.connected(1, _at(100.0))
    fetch = core.fetch(_at(100.0), woken=True)
    assert fetch is not None
    core.fetched(fetch, [_Row(1), _Row(2)], _at(100.0))
    assert core.take_notices() == []
    assert len(core.resends(_at(110.0))) == 2
    [(level, text)] = core.take_notices()
    assert level == logging.WARNING
    assert text.startswith("central has acknowledged nothing within [sync] ack_timeout_s (10 s) of a send: "
                           "sending what it has not acknowledged again (2 now) until it does.")
    # Further resends of the same silence add no line.
    assert len(core.resends(_at(120.0))) == 2
    assert core.take_notices() == []
    core.delivered(0, _at(121.0))  # a round without acks
    assert core.take_notices() == []
    core.acked(["v1:1"])
    core.delivered(1, _at(122.0))
    assert core.take_notices() == [(logging.INFO, "central acknowledges again (messages sent again while it "
                                                  "did not: 4)")]
    core.acked(["v2:1"])
    core.delivered(1, _at(123.0))
    assert core.take_notices() == []


def test_resends_while_central_answers_are_no_silence() -> None:
    # Central back after an outage works through the copies the broker kept for it: rows sent
    # before are resent on their timeout, yet central answers, so nothing is said.
    core = _delivery()
    core.connected(1, _at(100.0))
    fetch = core.fetch(_at(100.0), woken=True)
    assert fetch is not None
    core.fetched(fetch, [_Row(1), _Row(2), _Row(3)], _at(100.0))
    core.acked(["v1:1"])
    core.delivered(1, _at(109.5))
    assert len(core.resends(_at(110.0))) == 2
    assert core.take_notices() == []


# ---- against a real broker and the station's publisher -------------------------------------

def _send(broker: LocalBroker, *payloads: bytes) -> None:
    """Publish these payloads on the station's ack topic, as a misbehaving central would."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bad-central-{uuid7()}",
                         protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(ACK_TOPIC, payload, qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


def _warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "sync.publisher" and r.levelno == logging.WARNING and text in r.getMessage()]


@pytest.mark.broker
def test_malformed_and_unknown_acks_are_logged_and_good_entries_still_deliver(
        tmp_path: Path, broker: LocalBroker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sync")
    db = tmp_path / "station.db"
    keys = fill_outbox(db, 3, SESSION, seed=7)
    publisher = OutboxPublisher(db, broker_settings(broker, ack_timeout_s=3600.0), IDENTITY)
    publisher.start()
    try:
        wait_for(lambda: publisher.stats().in_flight == 3, 10, "3 rows in flight")
        _send(broker, b"42", json.dumps([{"key": keys[0]}, 7]).encode(),
              b'{"key": "00000000-0000-7000-8000-000000000000:1"}')
        wait_for(lambda: publisher.stats().delivered_total == 1, 10, "the good entry delivered")
        wait_for(lambda: len(_warnings(caplog, "never sent")) == 1, 10, "the unknown key logged")
        malformed = _warnings(caplog, "malformed ack")
        assert malformed[0] == (f"sync: malformed ack from central ignored: it is 42, not an object; "
                                f"{ACK_FORM}. The ack was b'42'")
        assert malformed[1].startswith("sync: malformed ack from central (keys taken: 1, the rest ignored): "
                                       "entry 2 is 7, not an object;")
        assert "'00000000-0000-7000-8000-000000000000:1'" in _warnings(caplog, "never sent")[0]
        # A repeated ack of a delivered row is what central is told to do: no warning.
        _send(broker, json.dumps({"key": keys[0]}).encode(), json.dumps({"key": keys[1]}).encode())
        wait_for(lambda: publisher.stats().delivered_total == 2, 10, "the second row delivered")
        assert len(_warnings(caplog, "never sent")) == 1
        assert len(_warnings(caplog, "malformed ack")) == 2
    finally:
        publisher.stop()


@pytest.mark.broker
def test_a_silent_central_is_logged_once_and_its_return_too(
        tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sync")
    db = tmp_path / "station.db"
    fill_outbox(db, 2, SESSION, seed=7)
    publisher = OutboxPublisher(db, broker_settings(broker, ack_timeout_s=0.1), IDENTITY)
    publisher.start()
    try:
        wait_for(lambda: publisher.stats().resent_total >= 6, 20, "three rounds of resends")
        assert len(_warnings(caplog, "central has acknowledged nothing")) == 1
        start_receiver(broker)
        assert publisher.wait_drained(20)
        wait_for(lambda: any("central acknowledges again" in r.getMessage() for r in caplog.records), 10,
                 "central's return logged")
    finally:
        publisher.stop()


@pytest.mark.broker
def test_the_figures_after_the_stop_show_the_outbox_as_it_is_then(
        tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
        monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "station.db"
    fill_outbox(db, 20, SESSION, seed=7)
    publisher = OutboxPublisher(db, broker_settings(broker, ack_timeout_s=0.5), IDENTITY)
    publisher.start()
    try:
        wait_for(lambda: publisher.stats().backlog == 20, 10, "the backlog read once")
        # From here on the running publisher reads the backlog no more on its own: what
        # stats() says after the stop can only come from the stop itself.
        monkeypatch.setattr(Delivery, "backlog_due", lambda self, now: False)
        start_receiver(broker)
        assert publisher.wait_drained(20)
    finally:
        publisher.stop()
    stats = publisher.stats()
    assert (stats.backlog, stats.image_backlog, stats.oldest_undelivered_age_s) == (0, 0, None)
