"""Chaos: 2,000 verdicts reach central exactly once in effect while the broker is stopped and
restarted twice (once cleanly, once with SIGKILL) and the producing station is SIGKILLed once
and restarted. Real Mosquitto, the real receiver (`station central`, its own process) and a
producer process that records verdicts like the station's store and drains them with the
real OutboxPublisher (`python -m sync.loadgen`)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.broker import LocalBroker
from tests.sync.conftest import sqlite_count, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(300)]

COUNT = 2000


def test_every_verdict_arrives_exactly_once_through_broker_and_station_crashes(tmp_path: Path) -> None:
    station_db, central_db = tmp_path / "station.db", tmp_path / "central.db"
    broker = LocalBroker(tmp_path / "broker")
    broker.start()
    receiver = subprocess.Popen(
        [sys.executable, "-m", "station", "central", "--broker", broker.url(), "--db", str(central_db),
         "--json", "--stats-interval", "1"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    producer_cmd = [sys.executable, "-m", "sync.loadgen", "--db", str(station_db), "--host", "127.0.0.1",
                    "--port", str(broker.port), "--count", str(COUNT), "--rate", "250",
                    "--ack-timeout", "2", "--drain-timeout", "150"]
    producer = subprocess.Popen(producer_cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    recorded = "SELECT COUNT(*) FROM loadgen_verdicts"
    waiting = "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"
    waited: list[int] = []
    try:
        wait_for(lambda: sqlite_count(station_db, recorded) >= 300, 60, "300 verdicts recorded")
        broker.stop()  # clean stop: mosquitto saves its state
        time.sleep(1.5)
        waited.append(sqlite_count(station_db, waiting))
        broker.start()

        wait_for(lambda: sqlite_count(station_db, recorded) >= 800, 60, "800 verdicts recorded")
        producer.send_signal(signal.SIGKILL)  # the station dies mid-stream, nothing flushed
        producer.wait(10)
        producer = subprocess.Popen(producer_cmd, cwd=tmp_path, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)

        wait_for(lambda: sqlite_count(station_db, recorded) >= 1300, 60, "1300 verdicts recorded")
        broker.stop(kill=True)  # a hard broker crash: whatever it held in memory is gone
        time.sleep(1.5)
        waited.append(sqlite_count(station_db, waiting))
        broker.start()

        out, err = producer.communicate(timeout=200)
        assert producer.returncode == 0, f"producer failed: {out[-2000:]} {err[-2000:]}"
        done = json.loads(out.strip().splitlines()[-1])
        assert done["drained"] is True
    finally:
        if producer.poll() is None:
            producer.kill()
        receiver.send_signal(signal.SIGTERM)
        r_out, r_err = receiver.communicate(timeout=30)
        broker.close()
    assert receiver.returncode == 0, r_err[-2000:]
    final = json.loads(r_out.strip().splitlines()[-1])
    assert final["final"] is True

    # The station: every verdict recorded, every outbox row delivered.
    assert sqlite_count(station_db, recorded) == COUNT
    assert sqlite_count(station_db, "SELECT COUNT(*) FROM outbox") == COUNT
    assert sqlite_count(station_db, "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL") == 0
    # Central: exactly one row per verdict, and the same verdicts the station holds.
    assert sqlite_count(central_db, "SELECT COUNT(*) FROM verdicts") == COUNT
    station = sqlite3.connect(station_db)
    central = sqlite3.connect(central_db)
    sent = {key: bytes(body).decode() for key, body in station.execute("SELECT key, payload FROM outbox")}
    stored = {f"{v}:{r}": body
              for v, r, body in central.execute("SELECT verdict_id, revision, payload FROM verdicts")}
    station.close()
    central.close()
    assert stored.keys() == sent.keys()
    assert all(json.loads(stored[k]) == json.loads(sent[k]) for k in sent)  # content arrived intact
    assert final["stored"] == COUNT
    # The outages were real: verdicts kept being recorded and waited in the outbox meanwhile.
    assert all(n > 0 for n in waited), waited
