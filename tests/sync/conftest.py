"""Fixtures of the sync tests: a real local Mosquitto, a real central receiver, a station database."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.evidence import ImageRow
from sync.loadgen import connect_station_db, make_verdict, record_verdict, uuid7
from sync.mqtt import BrokerAddress
from sync.settings import SyncSettings
from tests.sync.postgres import PostgresMissingError, throwaway_postgres
from tests.sync.signing import T0, Clock


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A Mosquitto on a free loopback port, persistence on, stopped at the end."""
    with LocalBroker(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def start_receiver(tmp_path: Path) -> Iterator[Callable[..., CentralReceiver]]:
    """Start central receivers (stopped at the end): start_receiver(broker, db=None)."""
    started: list[CentralReceiver] = []

    def start(broker: LocalBroker, db: Path | None = None, **kwargs: Any) -> CentralReceiver:
        receiver = CentralReceiver(BrokerAddress("127.0.0.1", broker.port), db or tmp_path / "central.db",
                                   **kwargs)
        receiver.start()
        started.append(receiver)
        assert receiver.wait_subscribed(10), "central did not subscribe on the broker in 10 s"
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def sqlite_count(db: Path, sql: str) -> int:
    """`sql`'s single number in the SQLite file `db`; 0 while the file or its table does not exist yet."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # table not created yet
        return 0
    finally:
        conn.close()


def fill_outbox(db: Path, n: int, session: str, start: int = 0, seed: int | None = None) -> list[str]:
    """`n` verdicts of dock-01 (seq `start` on) recorded in the station database `db`, outbox rows
    included; returns their outbox keys."""
    conn = connect_station_db(db)
    rng = random.Random(start if seed is None else seed)
    keys = []
    for seq in range(start, start + n):
        verdict = make_verdict("dock-01", "site-01", session, seq, rng)
        record_verdict(conn, verdict)
        keys.append(f"{verdict['verdict_id']}:1")
    conn.close()
    return keys


def broker_settings(broker: LocalBroker, **kw: Any) -> SyncSettings:
    """The station's [sync] settings for the test broker."""
    return SyncSettings(broker="127.0.0.1", port=broker.port, **kw)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until true; fail the test saying what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for: {what}")


class Probe:
    """A plain MQTT client that records what arrives on some topics (central's view)."""

    def __init__(self, port: int, topics: list[str]) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{time.time_ns()}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe([(t, 1) for t in topics])
        assert subscribed.wait(10), "probe could not subscribe"

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def json_on(self, topic: str) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(p) for t, p, _ in self.messages if t == topic]

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster's URL; skipped with the reason where PostgreSQL is not installed."""
    pytest.importorskip("psycopg")
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresMissingError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def probe(broker: LocalBroker) -> Iterator[Callable[[list[str]], Probe]]:
    """probe(topics) -> a subscriber recording messages on `topics`."""
    made: list[Probe] = []

    def make(topics: list[str]) -> Probe:
        made.append(Probe(broker.port, topics))
        return made[-1]

    yield make
    for p in made:
        p.close()


def verdict_with_picture() -> tuple[dict[str, Any], bytes, ImageRow]:
    """dock-01's verdict carrying a customer's name and address in a code, a picture of it and the
    picture's row: what a purge must erase at central."""
    verdict = make_verdict("dock-01", "site-01", str(uuid7()), 1, random.Random(1))
    verdict["item"]["codes"].append({"format": "QRCode", "text": "Jane Doe, 1 Main St"})
    data = b"\xff\xd8 a scratched lid \xff\xd9"
    return verdict, data, ImageRow(verdict["verdict_id"], "top", hashlib.sha256(data).hexdigest(), "", 0)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    """Central's release key, made for the test (its public half is the station's trusted key)."""
    return Ed25519PrivateKey.generate()


@pytest.fixture
def clock() -> Clock:
    """The station's clock for signed messages, at T0 until the test moves it."""
    return Clock(T0)
