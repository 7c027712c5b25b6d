"""`station central --metrics`: scraped after two stand-in stations (the load generator) delivered
their verdicts, it agrees with central's own stats line, and it names each station with when it
was last heard of."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.broker import LocalBroker
from tests.station.test_station_metrics import free_port, scrape, value
from tests.sync.conftest import Probe, wait_for

COUNT = 40


@pytest.mark.broker
def test_central_metrics_after_the_load_generator(tmp_path: Path, broker: LocalBroker) -> None:
    port = free_port()
    started = time.time()
    central = subprocess.Popen(
        [sys.executable, "-m", "station", "central", "--broker", broker.url(), "--db", str(tmp_path / "c.db"),
         "--json", "--stats-interval", "0.2", "--metrics", f"127.0.0.1:{port}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert central.stdout is not None
        wait_for(lambda: json.loads(central.stdout.readline())["connected"], 30, "central connected")
        for station in ("dock-01", "dock-02"):
            done = subprocess.run(
                [sys.executable, "-m", "sync.loadgen", "--db", str(tmp_path / f"{station}.db"), "--host",
                 "127.0.0.1", "--port", str(broker.port), "--count", str(COUNT), "--rate", "0",
                 "--station-id", station, "--drain-timeout", "120"],
                cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr  # every verdict acknowledged
        # One message that is not a verdict: refused, kept, counted.
        sender = Probe(broker.port, ["returns/v1/site-01/dock-03/ack"])
        try:
            sender.publish("returns/v1/site-01/dock-03/verdict", b"{not json")
        finally:
            sender.close()
        wait_for(lambda: (scraped := scrape(port)) is not None
                 and value(scraped, "central_verdicts_rejected_total") == 1, 30, "the bad message counted")
        families = scrape(port)
        assert families is not None
    except BaseException:
        central.kill()
        raise
    central.send_signal(signal.SIGINT)
    out, _ = central.communicate(timeout=60)
    assert central.returncode == 0
    final = json.loads(out.strip().splitlines()[-1])

    assert value(families, "central_verdicts_stored_total") == final["stored"] == 2 * COUNT
    assert value(families, "central_verdicts_duplicate_total") == final["duplicates"]
    assert value(families, "central_messages_received_total") == final["received"]
    assert value(families, "central_acks_sent_total") == final["acked"] >= 2 * COUNT
    assert value(families, "central_verdicts_conflicting_total") == 0
    assert value(families, "central_db_errors_total") == 0
    assert value(families, "central_mqtt_connected") == 1
    # Each station, with when it was last heard of: this run, after its first verdict.
    for station in ("dock-01", "dock-02", "dock-03"):
        seen = value(families, "central_station_last_seen_timestamp_seconds", site_id="site-01",
                     station_id=station)
        assert started <= seen <= time.time()
    # Each batch's transaction timed once: as many batches as were stored, none of them slow enough
    # to leave the histogram's last finite bucket.
    buckets = sorted((float(s.labels["le"]), s.value) for s in families["central_store_batch_seconds"]
                     if s.name == "central_store_batch_seconds_bucket")
    batches = value(families, "central_store_batch_seconds_count")
    assert buckets[-1] == (math.inf, batches) and 1 <= batches <= final["received"]
    assert value(families, "central_store_batch_seconds_sum") > 0


def test_a_bad_metrics_address_is_refused_with_the_fix(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "station", "central", "--broker", "mqtt://127.0.0.1:1",
                           "--db", str(tmp_path / "c.db"), "--metrics", ":9109"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "--metrics :9109" in done.stdout
    assert "127.0.0.1:9109" in done.stdout and "0.0.0.0:9109" in done.stdout
