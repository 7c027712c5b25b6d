"""Outbox drain rate, end to end: a 10,000-verdict backlog published by the OutboxPublisher
and acknowledged by the real central receiver (`station central`, its own process), against
a bare paho QoS 1 publish loop on the same local broker in the same run.

    .venv/bin/python benchmarks/sync.py [--rows 10000] [--repeats 3]

Prints a table of medians (verdicts/s). Target (DESIGN §6): >= 2,000/s and >= half the
bare loop's rate. The bare loop only waits for the broker's PUBACKs; the outbox drain also
reads and marks SQLite rows and waits for central to validate, store (synchronous=FULL)
and acknowledge every verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sync.broker import LocalBroker  # noqa: E402
from sync.loadgen import connect_station_db, make_verdict, record_verdict, uuid7  # noqa: E402
from sync.publisher import OutboxPublisher  # noqa: E402
from sync.settings import StationIdentity, SyncSettings  # noqa: E402


def fill(db: Path, rows: int, station_id: str) -> None:
    conn = connect_station_db(db)
    conn.execute("PRAGMA synchronous=OFF")  # filling the backlog is not what is measured
    rng = random.Random(1)
    session = str(uuid7())
    for seq in range(rows):
        record_verdict(conn, make_verdict(station_id, "site-01", session, seq, rng))
    conn.close()


def drain(db: Path, port: int, station_id: str, timeout: float = 300.0) -> tuple[float, float]:
    """Seconds to drain the outbox, and the CPU seconds this (the station's) process spent."""
    publisher = OutboxPublisher(db, SyncSettings(broker="127.0.0.1", port=port, stats_interval_s=3600),
                                StationIdentity(station_id=station_id, session=str(uuid7())))
    start = time.perf_counter()
    cpu = time.process_time()
    publisher.start()
    if not publisher.wait_drained(timeout):
        raise SystemExit(f"outbox not drained within {timeout} s: {publisher.stats()}")
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    publisher.stop()
    return elapsed, cpu


def bare_loop(port: int, payload: bytes, count: int, *, threaded: bool) -> tuple[float, float]:
    """QoS 1 publishes of `payload` until the broker has PUBACKed all `count`.

    threaded: paho's own network thread (loop_start), the usual way to use paho;
    otherwise one thread publishes and runs the network loop (a window of 500).
    Returns the seconds taken and the CPU seconds this process spent.
    """
    done = threading.Event()
    acked = 0

    def on_publish(client: mqtt.Client, userdata: object, mid: int, rc: object, props: object) -> None:
        nonlocal acked
        acked += 1
        if acked == count:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bare-{time.time_ns()}",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(0)  # as the publisher: no paho limit (see sync.mqtt)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    start = time.perf_counter()
    cpu = time.process_time()
    if threaded:
        client.loop_start()
        for _ in range(count):
            client.publish("bench/bare", payload, qos=1)
        if not done.wait(300):
            raise SystemExit(f"bare loop: only {acked}/{count} PUBACKs")
    else:
        sent = 0
        deadline = time.monotonic() + 300
        while acked < count and time.monotonic() < deadline:
            while sent < count and sent - acked < 500:
                client.publish("bench/bare", payload, qos=1)
                sent += 1
            client.loop(0.01)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    client.disconnect()
    if threaded:
        client.loop_stop()
    return elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--receivers", type=int, default=1,
                        help="central receivers in one shared-subscription group (one SQLite file)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    payload = json.dumps(make_verdict("dock-01", "site-01", str(uuid7()), 1, random.Random(2))).encode()
    drain_rates: list[float] = []
    bare_rates: list[float] = []
    threaded_rates: list[float] = []
    station_cpu_us: list[float] = []
    bare_cpu_us: list[float] = []
    central_cpu_us: list[float] = []
    broker_cpu_us: list[float] = []
    with LocalBroker(work / "broker") as broker:
        receivers = [subprocess.Popen(
            [sys.executable, "-m", "station", "central", "--broker", broker.url(),
             "--db", str(work / "central.db"), "--client-id", f"bench-central-{i}",
             "--json", "--stats-interval", "3600"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        ) for i in range(args.receivers)]

        def central_cpu_s() -> float:
            return sum(sum(psutil.Process(r.pid).cpu_times()[:2]) for r in receivers)

        def broker_cpu_s() -> float:
            return sum(psutil.Process(broker.pid).cpu_times()[:2]) if broker.pid else 0.0

        try:
            time.sleep(1.5)  # let the receiver connect and subscribe
            for run in range(args.repeats):
                station_id = f"bench-{run}"
                db = work / f"station-{run}.db"
                fill(db, args.rows, station_id)
                before, broker_before = central_cpu_s(), broker_cpu_s()
                elapsed, cpu = drain(db, broker.port, station_id)
                central_cpu = central_cpu_s() - before
                broker_cpu_us.append((broker_cpu_s() - broker_before) / args.rows * 1e6)
                drain_rates.append(args.rows / elapsed)
                station_cpu_us.append(cpu / args.rows * 1e6)
                central_cpu_us.append(central_cpu / args.rows * 1e6)
                elapsed, cpu = bare_loop(broker.port, payload, args.rows, threaded=False)
                bare_rates.append(args.rows / elapsed)
                bare_cpu_us.append(cpu / args.rows * 1e6)
                elapsed, _ = bare_loop(broker.port, payload, args.rows, threaded=True)
                threaded_rates.append(args.rows / elapsed)
                print(f"run {run + 1}: outbox drain {drain_rates[-1]:7.0f}/s   bare loop "
                      f"{bare_rates[-1]:7.0f}/s   bare loop, paho thread {threaded_rates[-1]:7.0f}/s",
                      flush=True)
        finally:
            for receiver in receivers:
                receiver.terminate()
                receiver.communicate(timeout=30)
        central = sqlite3.connect(work / "central.db")
        stored = central.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    drain_median = statistics.median(drain_rates)
    bare_median = statistics.median(bare_rates)
    print()
    print(f"{'measure (median of ' + str(args.repeats) + ')':42} {'verdicts/s':>12}")
    print(f"{f'outbox drain, acked by central ({args.receivers} rcv)':42} {drain_median:12.0f}")
    print(f"{'bare paho QoS 1 publish loop (PUBACK only)':42} {bare_median:12.0f}")
    print(f"{'  the same with paho loop_start thread':42} {statistics.median(threaded_rates):12.0f}")
    print(f"{'ratio drain / bare':42} {drain_median / bare_median:12.2f}")
    print(f"{'rows stored by central (expected)':42} {stored:>6} ({args.rows * args.repeats})")
    station_us, central_us = statistics.median(station_cpu_us), statistics.median(central_cpu_us)
    print(f"{'CPU per verdict: station (publisher), us':42} {station_us:12.0f}")
    print(f"{'CPU per verdict: central (receiver), us':42} {central_us:12.0f}")
    print(f"{'CPU per verdict: broker (mosquitto), us':42} {statistics.median(broker_cpu_us):12.0f}")
    print(f"{'CPU per message: bare loop, us':42} {statistics.median(bare_cpu_us):12.0f}")
    print(f"{'CPU-bound rate, each side on its own core':42} {1e6 / max(station_us, central_us):12.0f}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"payload {len(payload)} bytes; targets: >= 2000/s and ratio >= 0.5 -> "
          f"{'MET' if drain_median >= 2000 and drain_median >= bare_median / 2 else 'NOT MET'}")
    return 0 if stored == args.rows * args.repeats else 1


if __name__ == "__main__":
    sys.exit(main())
