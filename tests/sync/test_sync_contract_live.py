"""Real messages match the written contract: the station runs on the demo line (synthetic camera,
simulated conveyor on a pseudo-terminal) against a real local Mosquitto and the reference central
receiver; a plain MQTT client records everything under `returns/`, sends a config/set out of range
and a manifest in the CSV's words, and every status, verdict, stats, ack and reply it saw is
validated against its schema in sync/schemas (the ones docs/asyncapi.yaml refers to). And the
receiver docs/sync.md shows a receiver writer runs as written: it stores a real station
publisher's verdicts once, acks them so the station's outbox drains, and refuses a forgery."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from station.app import RunOptions, Station
from station.config import load_config
from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.loadgen import connect_station_db, make_verdict, record_verdict
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings
from tests.sync.conftest import Probe, wait_for
from tests.sync.sync_contract_files import (
    ROOT,
    SCHEMAS,
    asyncapi,
    channel_messages,
    load_json,
    message_schemas,
)

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PREFIX = "returns/v1/site-01/dock-01/"
ITEMS = 3


def _validators() -> dict[str, jsonschema.Draft202012Validator]:
    """Each channel's payload validator, by the topic's last levels (status, verdict, config/set ...)."""
    doc = asyncapi()
    out = {}
    for channel, _, message in channel_messages(doc):
        if channel in ("modelOffer", "image"):
            continue  # two forms on one topic / binary (the run's images are skipped below)
        sub = doc["channels"][channel]["address"].split("{station}/", 1)[1]
        out[sub] = message_schemas(message, doc)["payload"]
    return out


def test_a_real_run_speaks_the_contract(tmp_path: Path, broker: LocalBroker,
                                        start_receiver: Callable[..., CentralReceiver],
                                        probe: Callable[[list[str]], Probe]) -> None:
    start_receiver(broker)
    seen = probe(["returns/#"])
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[station]\ndata_dir = "{tmp_path / "var"}"\n'
        f'[sync]\nbroker = "127.0.0.1"\nport = {broker.port}\nstats_interval_s = 1.0\n', encoding="utf-8")
    config = load_config(config_file, env={})
    station = Station(config, RunOptions(items=ITEMS, sim_speed_m_s=2.0, sim_spacing_m=1.0))
    station.start()
    try:
        assert station.wait_items(ITEMS, timeout_s=180), station.stats()
        refused = {"request_id": "c1", "values": {"defect_repair": 1.5}}
        seen.publish(PREFIX + "config/set", json.dumps(refused))
        seen.publish(PREFIX + "manifest", json.dumps(
            {"request_id": "m1", "rmas": [{"rma": "R-9001", "expected_sku": "SKU-PZL-610"}]}))
        wait_for(lambda: len(seen.json_on(PREFIX + "reply")) >= 2, 60,
                 "the replies to config/set and manifest")
        wait_for(lambda: len(seen.json_on(PREFIX + "ack")) >= ITEMS and seen.json_on(PREFIX + "stats"), 60,
                 "acks and stats")
    finally:
        station.stop()
    wait_for(lambda: any(s["state"] == "stopped" for s in seen.json_on(PREFIX + "status")), 30,
             "the stopped status")

    validators = _validators()
    counted: dict[str, int] = {}
    for topic, payload, _ in list(seen.messages):
        sub = topic.removeprefix(PREFIX)
        if sub in ("config/set", "manifest"):
            continue  # what this test sent
        if sub == "image":
            continue  # JPEG bytes; their user properties are held to their schema in test_sync_images_core
        body: Any = json.loads(payload)
        errors = list(validators[sub].iter_errors(body))
        assert not errors, f"{sub}: {errors[0].message[:300]} in {payload[:500]!r}"
        counted[sub] = counted.get(sub, 0) + 1
    assert {"status", "verdict", "stats", "ack", "reply"} <= set(counted), counted
    # Every figure a real stats message carries is described in its schema (shadow: only while
    # a shadow model runs, described there too).
    described = load_json(SCHEMAS / "stats-1.schema.json")["properties"]
    for stats in seen.json_on(PREFIX + "stats"):
        for part in ("outbox", "station"):
            assert set(stats[part]) - set(described[part]["properties"]) == set(), (part, stats[part])
    assert counted["verdict"] >= ITEMS

    replies = {r["topic"]: r for r in seen.json_on(PREFIX + "reply")}
    answer = replies["config/set"]
    assert (answer["ok"], answer["request_id"]) == (False, "c1")
    assert "defect_repair" in answer["reason"] and answer["detail"] is None
    assert replies["manifest"]["ok"], replies["manifest"]["reason"]
    states = [s["state"] for s in seen.json_on(PREFIX + "status")]
    assert states[0] == "online" and states[-1] == "stopped"
    # The refused config/set is also outside what its schema allows: both ends agree.
    schema = jsonschema.Draft202012Validator(load_json(SCHEMAS / "config-set-1.schema.json"))
    assert not schema.is_valid(refused)


def _guide_receiver() -> str:
    """The Python receiver of docs/sync.md "Writing a receiver", as written there."""
    text = (ROOT / "docs" / "sync.md").read_text(encoding="utf-8")
    block = text.split("<!-- receiver-example -->", 1)[1].split("<!-- /receiver-example -->", 1)[0]
    return block.split("```python\n", 1)[1].rsplit("```", 1)[0]


def test_the_guides_receiver_stores_each_verdict_once_and_acks_it(
        tmp_path: Path, broker: LocalBroker, probe: Callable[[list[str]], Probe]) -> None:
    code = _guide_receiver()
    # Only where it runs changes: this broker, this checkout's schema, a temporary database.
    for old, new in (('BROKER, PORT = "localhost", 1883', f'BROKER, PORT = "127.0.0.1", {broker.port}'),
                     ('"sync/schemas/verdict-1.schema.json"', repr(str(SCHEMAS / "verdict-1.schema.json"))),
                     ('"central.db"', repr(str(tmp_path / "guide.db")))):
        assert code.count(old) == 1, old
        code = code.replace(old, new)
    namespace: dict[str, Any] = {"__name__": "guide_receiver"}
    receiver = threading.Thread(target=exec, args=(compile(code, "docs/sync.md", "exec"), namespace),
                                daemon=True)
    receiver.start()
    wait_for(lambda: "client" in namespace and namespace["client"].is_connected(), 30, "the guide's receiver")

    station_db = tmp_path / "station.db"
    conn = connect_station_db(station_db)
    session, rng = str(uuid.uuid4()), random.Random(7)
    verdicts = [make_verdict("dock-01", "site-01", session, seq, rng) for seq in range(1, 6)]
    for verdict in verdicts:
        record_verdict(conn, verdict)
    conn.close()
    settings = SyncSettings(broker="127.0.0.1", port=broker.port, ack_timeout_s=1.0)
    publisher = OutboxPublisher(station_db, settings, StationIdentity(station_id="dock-01", site_id="site-01",
                                                                      session=session))
    acks = probe([PREFIX + "ack"])
    publisher.start()
    try:
        assert publisher.wait_drained(60), publisher.stats()  # every row acked by the guide's receiver
    finally:
        publisher.stop()
    # A copy is acked again and not stored twice; a verdict claiming another station is neither.
    # The forgery goes first: once the copy's ack is back, the receiver has seen both (in order).
    before = len(acks.json_on(PREFIX + "ack"))
    forged = make_verdict("dock-02", "site-01", session, 9, rng)
    acks.publish(PREFIX + "verdict", json.dumps(forged))
    acks.publish(PREFIX + "verdict", json.dumps(verdicts[0]))
    wait_for(lambda: len(acks.json_on(PREFIX + "ack")) > before, 30, "the ack of the copy")
    namespace["client"].disconnect()
    receiver.join(30)
    with sqlite3.connect(tmp_path / "guide.db") as db:
        stored = {(r[0], r[1]) for r in db.execute("SELECT verdict_id, revision FROM verdicts")}
    assert stored == {(v["verdict_id"], v["revision"]) for v in verdicts}
    keys = [a["key"] for a in acks.json_on(PREFIX + "ack")]
    assert f"{forged['verdict_id']}:{forged['revision']}" not in keys
