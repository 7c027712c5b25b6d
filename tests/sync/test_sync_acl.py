"""The shipped ACL (docs/mosquitto/acl) on a real Mosquitto with passwords: stations and
central deliver as usual, a station cannot write into another station's prefix, and a
wrong password is refused."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.loadgen import connect_station_db, make_verdict, record_verdict, uuid7
from sync.mqtt import BrokerAddress
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings
from tests.sync.conftest import wait_for

pytestmark = pytest.mark.broker

ACL = Path(__file__).resolve().parents[2] / "docs" / "mosquitto" / "acl"
# A station's user name is "<site>/<station>" (see the ACL).
DOCK1 = "site-01/dock-01"
USERS = {"central": "c-secret", DOCK1: "d1-secret", "site-01/dock-02": "d2-secret"}


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    passwd = tmp_path / "passwd"
    passwd.touch()
    for user, password in USERS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True)
    with LocalBroker(tmp_path / "broker", password_file=passwd, acl_file=ACL) as broker:
        yield broker


def _fill(db: Path, station_id: str, n: int) -> None:
    conn = connect_station_db(db)
    session = str(uuid7())
    for seq in range(n):
        record_verdict(conn, make_verdict(station_id, "site-01", session, seq, random.Random(seq)))
    conn.close()


def test_acl_confines_each_station_to_its_own_prefix(tmp_path: Path, secured_broker: LocalBroker) -> None:
    receiver = CentralReceiver(BrokerAddress("127.0.0.1", secured_broker.port, username="central",
                                             password=USERS["central"]), tmp_path / "central.db")
    receiver.start()
    db = tmp_path / "station.db"
    _fill(db, "dock-01", 5)
    publisher = OutboxPublisher(db, SyncSettings(broker="127.0.0.1", port=secured_broker.port,
                                                 username=DOCK1, password=USERS[DOCK1]),
                                StationIdentity(session="s"))
    publisher.start()
    rogue = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="rogue", protocol=mqtt.MQTTv5)
    rogue.username_pw_set(DOCK1, USERS[DOCK1])
    rogue.connect("127.0.0.1", secured_broker.port)
    rogue.loop_start()
    try:
        wait_for(lambda: receiver.stats().connected, 10, "central connected")
        assert publisher.wait_drained(20), publisher.stats()
        wait_for(rogue.is_connected, 10, "rogue connected")
        # dock-01 pretends to be dock-02: the broker must not pass it on (Mosquitto also
        # drops the offending connection)
        forged = make_verdict("dock-02", "site-01", str(uuid7()), 1, random.Random(9))
        rogue.publish("returns/v1/site-01/dock-02/verdict", json.dumps(forged), qos=1)
        time.sleep(0.5)
        # ... while the station's own prefix keeps working
        _fill(db, "dock-01", 1)
        publisher.wake()
        wait_for(lambda: receiver.stats().stored == 6, 10, "the station's own 6th verdict")
        time.sleep(0.3)
        conn = sqlite3.connect(receiver.db_path)
        stations = {r[0] for r in conn.execute("SELECT station_id FROM verdicts")}
        conn.close()
        assert stations == {"dock-01"} and receiver.stats().received == 6
    finally:
        rogue.disconnect()
        rogue.loop_stop()
        publisher.stop()
        receiver.stop()


def test_wrong_password_is_refused(tmp_path: Path, secured_broker: LocalBroker) -> None:
    publisher = OutboxPublisher(tmp_path / "station.db",
                                SyncSettings(broker="127.0.0.1", port=secured_broker.port, username=DOCK1,
                                             password="guess"),
                                StationIdentity(session="s"))
    publisher.start()
    try:
        wait_for(lambda: "refused" in (publisher.stats().last_error or ""), 10, "refusal")
        assert not publisher.stats().connected
    finally:
        publisher.stop()
