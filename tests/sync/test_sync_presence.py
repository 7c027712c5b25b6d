"""Over a real broker: inbound commands get a reply on <prefix>reply, cmd/rebirth re-announces
the station, and a station that dies leaves its Last Will (`offline`, retained)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sync.broker import LocalBroker
from sync.inbound import Inbound, InboundHandlers, RmaLine
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings
from tests.sync.conftest import Probe, wait_for

pytestmark = pytest.mark.broker

PREFIX = "returns/v1/site-01/dock-01/"


def test_inbound_commands_are_answered_on_the_reply_topic(
    tmp_path: Path, broker: LocalBroker, probe: Callable[[list[str]], Probe]
) -> None:
    manifests: list[list[RmaLine]] = []
    thresholds: list[dict[str, float]] = []
    inbound = Inbound(InboundHandlers(on_manifest=manifests.append, on_config_set=thresholds.append,
                                      config_ranges={"defect_repair": (0.2, 0.8)}))
    watcher = probe([PREFIX + "reply", PREFIX + "status"])
    settings = SyncSettings(broker="127.0.0.1", port=broker.port)
    identity = StationIdentity(session="s-1")
    publisher = OutboxPublisher(tmp_path / "station.db", settings, identity, inbound=inbound)
    publisher.start()
    try:
        wait_for(lambda: publisher.stats().connected, 10, "station connected")
        wait_for(lambda: len(watcher.json_on(PREFIX + "status")) == 1, 10, "online status")
        for rid, value in (("c1", 0.9), ("c2", 0.3)):
            watcher.publish(PREFIX + "config/set",
                            json.dumps({"request_id": rid, "values": {"defect_repair": value}}))
        watcher.publish(PREFIX + "manifest", b"garbage")
        watcher.publish(PREFIX + "manifest", json.dumps({"rmas": [{"rma": "R-1", "skus": ["SKU-1"]}]}))
        watcher.publish(PREFIX + "model/offer", json.dumps({"name": "defect"}))
        watcher.publish(PREFIX + "cmd/rebirth", b"")
        wait_for(lambda: len(watcher.json_on(PREFIX + "reply")) == 6, 10, "six replies")
        replies = watcher.json_on(PREFIX + "reply")
        by_id = {r["request_id"]: r for r in replies if r["request_id"]}
        assert not by_id["c1"]["ok"] and "out of range" in by_id["c1"]["reason"]
        assert by_id["c2"]["ok"]
        assert [(r["topic"], r["ok"]) for r in replies if not r["request_id"]] == [
            ("manifest", False), ("manifest", True), ("model/offer", False), ("cmd/rebirth", True)]
        assert thresholds == [{"defect_repair": 0.3}]
        assert manifests == [[RmaLine("R-1", ("SKU-1",))]]
        # rebirth re-published the online status
        wait_for(lambda: len(watcher.json_on(PREFIX + "status")) == 2, 10, "status after rebirth")
        assert watcher.json_on(PREFIX + "status")[-1]["state"] == "online"
    finally:
        publisher.stop()


def test_a_killed_station_leaves_offline_as_its_last_will(
    tmp_path: Path, broker: LocalBroker, probe: Callable[[list[str]], Probe]
) -> None:
    station = subprocess.Popen(
        [sys.executable, "-m", "sync.loadgen", "--db", str(tmp_path / "station.db"), "--host", "127.0.0.1",
         "--port", str(broker.port), "--count", "1000000", "--rate", "20"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        watcher = probe([PREFIX + "status"])
        wait_for(lambda: any(s["state"] == "online" for s in watcher.json_on(PREFIX + "status")), 20,
                 "online status")
        station.send_signal(signal.SIGKILL)
        station.wait(10)
        wait_for(lambda: watcher.json_on(PREFIX + "status")[-1]["state"] == "offline", 10, "offline will")
        session = json.loads(station.stdout.readline() if station.stdout else "{}").get("session")
        assert watcher.json_on(PREFIX + "status")[-1]["session"] == session
    finally:
        if station.poll() is None:
            station.kill()
        if station.stdout:
            station.stdout.close()
