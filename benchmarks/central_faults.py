"""Central's answer to a bad message, measured through the CLI: a real `station central` process
on a local Mosquitto, a paho client publishing as a station.

Scenarios:
  poison-seq       200 good verdicts of dock-02 with one seq = 2^63 verdict in the middle
  poison-revision  the same with one revision = 2^70 verdict
  spoofed-topic    100 verdicts saying dock-01 published on dock-02's topic, 100 genuine ones

Prints, per scenario: verdicts stored, messages rejected, acks received, and the time from
the first publish to the last ack.

    .venv/bin/python benchmarks/central_faults.py
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

# The project root first: benchmarks/sync.py would otherwise stand in for the sync package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync.broker import LocalBroker
from sync.loadgen import make_verdict, uuid7

PREFIX = "returns/v1/site-01/dock-02/"


def _scenario(name: str) -> tuple[list[dict[str, Any]], int]:
    """The messages to publish, and how many acks a correct receiver sends for them."""
    rng, session = random.Random(1), str(uuid7())
    if name == "spoofed-topic":
        spoofed = [make_verdict("dock-01", "site-01", session, seq, rng) for seq in range(100)]
        genuine = [make_verdict("dock-02", "site-01", session, seq, rng) for seq in range(100, 200)]
        return [m for pair in zip(spoofed, genuine, strict=True) for m in pair], 100
    good = [make_verdict("dock-02", "site-01", session, seq, rng) for seq in range(200)]
    field, value = ("seq", 2**63) if name == "poison-seq" else ("revision", 2**70)
    poison = {**make_verdict("dock-02", "site-01", session, 100, rng), field: value}
    return [*good[:100], poison, *good[100:]], 200


def run(name: str, folder: Path) -> dict[str, Any]:
    messages, expected = _scenario(name)
    db = folder / f"{name}.db"
    with LocalBroker(folder / f"broker-{name}") as broker:
        central = subprocess.Popen(
            [sys.executable, "-m", "station", "central", "--broker", broker.url(), "--db", str(db),
             "--json", "--stats-interval", "0.2"],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert central.stdout is not None
        try:
            while not json.loads(central.stdout.readline())["connected"]:
                pass
            acks: list[float] = []
            lock = threading.Lock()

            def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
                body = json.loads(message.payload)
                with lock:
                    acks.extend([time.monotonic()] * (len(body) if isinstance(body, list) else 1))

            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{name}", protocol=mqtt.MQTTv5)
            client.on_message = on_message
            client.connect("127.0.0.1", broker.port)
            client.loop_start()
            client.subscribe(PREFIX + "ack", qos=1)
            time.sleep(0.5)  # the subscription is in place before the first verdict
            started = time.monotonic()
            for message in messages:
                client.publish(PREFIX + "verdict", json.dumps(message), qos=1)
            deadline = started + 60.0
            while time.monotonic() < deadline:
                with lock:
                    if len(acks) >= expected:
                        break
                time.sleep(0.02)
            time.sleep(1.0)  # anything acked beyond what is expected would show now
            with lock:
                acked, last = len(acks), (max(acks) - started if acks else float("nan"))
            client.disconnect()
            client.loop_stop()
        finally:
            central.send_signal(signal.SIGINT)
            central.communicate(timeout=30)
    conn = sqlite3.connect(db)
    try:
        stored = conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
        rejected = conn.execute("SELECT COUNT(*) FROM rejected").fetchone()[0]
        as_dock01 = conn.execute("SELECT COUNT(*) FROM verdicts WHERE station_id = 'dock-01'").fetchone()[0]
    finally:
        conn.close()
    return {"scenario": name, "published": len(messages), "stored": stored, "rejected": rejected,
            "stored_as_dock01": as_dock01, "acked": acked, "first_publish_to_last_ack_s": round(last, 3)}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="central-faults-") as tmp:
        rows = [run(name, Path(tmp)) for name in ("poison-seq", "poison-revision", "spoofed-topic")]
    columns = list(rows[0])
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row[c]) for c in columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
