"""Faults of the central receiver, each on a real Mosquitto, a real receiver (in process or the
`station central` CLI) and a real SQLite file: a poison verdict in a batch, a station id the
topic does not vouch for, a conflicting repeat, a world-readable database."""

from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.loadgen import make_verdict, uuid7
from tests.sync.conftest import Probe, wait_for

pytestmark = pytest.mark.broker

DOCK1 = "returns/v1/site-01/dock-01/"
DOCK2 = "returns/v1/site-01/dock-02/"
ACL = Path(__file__).resolve().parents[2] / "docs" / "mosquitto" / "acl"


def _acked_keys(probe: Probe, topic: str) -> list[str]:
    keys: list[str] = []
    for body in probe.json_on(topic):
        keys += [a["key"] for a in (body if isinstance(body, list) else [body])]
    return keys


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# ---- 1. one unstorable verdict must not take its batch down -------------------------------

@pytest.mark.parametrize("field,value", [("seq", 2**63), ("revision", 2**70)])
def test_fault_central_poison_verdict_is_rejected_alone_and_the_batch_is_stored(
        tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
        probe: Callable[[list[str]], Probe], field: str, value: int) -> None:
    receiver = start_receiver(broker)
    sender = probe([DOCK2 + "ack"])
    rng, session = random.Random(2), str(uuid7())
    good = [make_verdict("dock-02", "site-01", session, seq, rng) for seq in range(200)]
    poison = {**make_verdict("dock-02", "site-01", session, 100, rng), field: value}
    for verdict in [*good[:100], poison, *good[100:]]:
        sender.client.publish(DOCK2 + "verdict", json.dumps(verdict), qos=1)

    keys = {f"{v['verdict_id']}:1" for v in good}
    wait_for(lambda: set(_acked_keys(sender, DOCK2 + "ack")) >= keys, 20, "all 200 good verdicts acked")
    wait_for(lambda: receiver.stats().invalid == 1, 10, "the poison verdict rejected")
    db = tmp_path / "central.db"
    assert _rows(db, "SELECT COUNT(*) FROM verdicts") == [(200,)]
    rejected = _rows(db, "SELECT topic, payload, reason FROM rejected")
    assert len(rejected) == 1 and f"{field}" in rejected[0][2] and "maximum" in rejected[0][2]
    assert json.loads(rejected[0][1])[field] == value
    assert poison["verdict_id"] + f":{poison['revision']}" not in _acked_keys(sender, DOCK2 + "ack")


def test_fault_central_a_row_the_database_refuses_is_isolated(
        tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
        probe: Callable[[list[str]], Probe]) -> None:
    db = tmp_path / "central.db"
    receiver = start_receiver(broker, db=db)
    conn = sqlite3.connect(db)
    # A refusal the schema cannot foresee (a constraint of the site's own database).
    conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON verdicts WHEN NEW.seq = 7"
                 " BEGIN SELECT RAISE(ABORT, 'seq 7 not allowed here'); END")
    conn.commit()
    conn.close()
    sender = probe([DOCK1 + "ack"])
    rng, session = random.Random(3), str(uuid7())
    verdicts = [make_verdict("dock-01", "site-01", session, seq, rng) for seq in range(20)]
    for verdict in verdicts:
        sender.client.publish(DOCK1 + "verdict", json.dumps(verdict), qos=1)

    others = {f"{v['verdict_id']}:1" for v in verdicts if v["seq"] != 7}
    wait_for(lambda: set(_acked_keys(sender, DOCK1 + "ack")) >= others, 20, "the 19 others acked")
    wait_for(lambda: receiver.stats().invalid == 1, 10, "the refused one rejected")
    assert f"{verdicts[7]['verdict_id']}:1" not in _acked_keys(sender, DOCK1 + "ack")
    assert _rows(db, "SELECT COUNT(*) FROM verdicts") == [(19,)]
    reasons = _rows(db, "SELECT reason FROM rejected")
    assert len(reasons) == 1 and "seq 7 not allowed here" in reasons[0][0]


# ---- 2. the topic, not the payload, says which station sent it --------------------------------

def test_fault_central_station_id_must_match_the_topic(
        tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
        probe: Callable[[list[str]], Probe]) -> None:
    receiver = start_receiver(broker)
    sender = probe([DOCK2 + "ack"])
    rng, session = random.Random(4), str(uuid7())
    spoofed = make_verdict("dock-01", "site-01", session, 1, rng)      # dock-01 in dock-02's topic
    other_site = make_verdict("dock-02", "site-09", session, 2, rng)   # right station, wrong site
    genuine = make_verdict("dock-02", "site-01", session, 3, rng)
    for verdict in (spoofed, other_site, genuine):
        sender.publish(DOCK2 + "verdict", json.dumps(verdict))

    wait_for(lambda: f"{genuine['verdict_id']}:1" in _acked_keys(sender, DOCK2 + "ack"), 20, "genuine acked")
    wait_for(lambda: receiver.stats().invalid == 2, 10, "both forgeries rejected")
    db = tmp_path / "central.db"
    assert _rows(db, "SELECT site_id, station_id FROM verdicts") == [("site-01", "dock-02")]
    reasons = [r[0] for r in _rows(db, "SELECT reason FROM rejected ORDER BY id")]
    assert "'dock-01'" in reasons[0] and "site-01/dock-02" in reasons[0]
    assert "'site-09'" in reasons[1]
    assert _acked_keys(sender, DOCK2 + "ack") == [f"{genuine['verdict_id']}:1"]


class _User:
    """A paho client logged in as `user`, recording what arrives."""

    def __init__(self, port: int, user: str, password: str) -> None:
        self.messages: list[str] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"acl-{user.replace('/', '-')}",
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(user, password)
        self.client.on_message = lambda client, userdata, message: self.messages.append(message.topic)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_for(self.client.is_connected, 10, f"{user} connected")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_fault_central_acl_binds_a_station_to_its_site(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.touch()
    for user, password in (("site-01/dock-01", "d1"), ("central", "c")):
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True)
    with LocalBroker(tmp_path / "broker", password_file=passwd, acl_file=ACL) as broker:
        watcher = _User(broker.port, "central", "c")
        watcher.client.subscribe("returns/v1/+/+/verdict", qos=1)
        users: list[_User] = [watcher]
        try:
            # Same station name, another site: the broker must not pass it on (it refuses the
            # publish or drops the connection; either way it is handled before what follows).
            rogue = _User(broker.port, "site-01/dock-01", "d1")
            users.append(rogue)
            info = rogue.client.publish("returns/v1/site-02/dock-01/verdict", b"{}", qos=1)
            wait_for(lambda: info.is_published() or not rogue.client.is_connected(), 10, "broker's answer")
            own = _User(broker.port, "site-01/dock-01", "d1")
            users.append(own)
            own.client.publish("returns/v1/site-01/dock-01/verdict", b"{}", qos=1)
            wait_for(lambda: bool(watcher.messages), 10, "the station's own verdict")
            assert watcher.messages == ["returns/v1/site-01/dock-01/verdict"]
        finally:
            for user in users:
                user.close()


# ---- 3. a repeat with another payload is kept aside, logged and acked ------------------------

def test_fault_central_conflicting_repeat_is_kept_and_logged(
        tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
        probe: Callable[[list[str]], Probe], caplog: pytest.LogCaptureFixture) -> None:
    receiver = start_receiver(broker)
    sender = probe([DOCK1 + "ack"])
    first = make_verdict("dock-01", "site-01", str(uuid7()), 1, random.Random(5))
    second = json.loads(json.dumps(first))
    second["decision"]["grade"] = "D"
    second["decision"]["disposition"] = "recycle"
    key = f"{first['verdict_id']}:1"
    caplog.set_level(logging.WARNING, logger="sync.central")
    sender.publish(DOCK1 + "verdict", json.dumps(first))
    wait_for(lambda: _acked_keys(sender, DOCK1 + "ack") == [key], 20, "first acked")
    sender.publish(DOCK1 + "verdict", json.dumps(second))
    wait_for(lambda: _acked_keys(sender, DOCK1 + "ack") == [key, key], 20, "conflicting repeat acked")

    db = tmp_path / "central.db"
    assert _rows(db, "SELECT payload FROM verdicts") == [(json.dumps(first),)]
    kept = _rows(db, "SELECT verdict_id, revision, station_id, payload FROM conflicts")
    assert [(v, r, s, json.loads(p)) for v, r, s, p in kept] == [(first["verdict_id"], 1, "dock-01", second)]
    assert receiver.stats().conflicts == 1
    assert any("different payload" in r.getMessage() and first["verdict_id"] in r.getMessage()
               for r in caplog.records if r.levelno == logging.WARNING)


# ---- 4. central's database is private --------------------------------------------------------

def test_fault_central_database_files_are_owner_only(
        tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
        probe: Callable[[list[str]], Probe]) -> None:
    old = os.umask(0o022)  # a usual login umask: without care the file would be 0644
    try:
        db = tmp_path / "private" / "central.db"
        db.parent.mkdir()
        start_receiver(broker, db=db)
        sender = probe([DOCK1 + "ack"])
        sender.publish(DOCK1 + "verdict", json.dumps(make_verdict("dock-01", "site-01", str(uuid7()), 1,
                                                                  random.Random(6))))
        wait_for(lambda: bool(sender.json_on(DOCK1 + "ack")), 20, "ack")
    finally:
        os.umask(old)
    files = sorted(p.name for p in db.parent.iterdir() if p.is_file())
    assert files == ["central.db", "central.db-shm", "central.db-wal"]
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in db.parent.iterdir()} == {
        **dict.fromkeys(files, "0o600"), "central-images": "0o700"}  # checked writable at start
