"""Outbox drain rate, end to end: a 10,000-verdict backlog published by the OutboxPublisher
and acknowledged by the real central receiver (`station central`, its own process), against
a bare paho QoS 1 publish loop on the same local broker in the same run.

    .venv/bin/python benchmarks/sync.py [--rows 10000] [--repeats 3] [--images 1] [--image-bytes 60000]

Prints a table of medians (verdicts/s). Target (README, "Performance"): >= 2,000/s and >= half the
bare loop's rate. The bare loop only waits for the broker's PUBACKs; the outbox drain also
reads and marks SQLite rows and waits for central to validate, store (synchronous=FULL)
and acknowledge every verdict.

With `--images N` (default 1; 0 = none) every verdict is recorded with N evidence pictures
queued behind it, as the station's store does: the verdict drain is timed until the last
verdict is acknowledged, the pictures (kept by central as fsynced files) after that.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sync import outbox  # noqa: E402
from sync.broker import LocalBroker  # noqa: E402
from sync.evidence import ImageRow  # noqa: E402
from sync.loadgen import connect_station_db, make_verdict, record_verdict, uuid7  # noqa: E402
from sync.publisher import OutboxPublisher  # noqa: E402
from sync.settings import StationIdentity, SyncSettings  # noqa: E402


def fill(db: Path, rows: int, station_id: str, images: int = 0, picture: Path | None = None) -> None:
    """`rows` verdicts, each followed by `images` picture rows (all naming the file `picture`)."""
    conn = connect_station_db(db)
    conn.execute("PRAGMA synchronous=OFF")  # filling the backlog is not what is measured
    rng = random.Random(1)
    session = str(uuid7())
    sha256 = hashlib.sha256(picture.read_bytes()).hexdigest() if picture is not None else ""
    size = picture.stat().st_size if picture is not None else 0
    for seq in range(rows):
        verdict = make_verdict(station_id, "site-01", session, seq, rng)
        record_verdict(conn, verdict)
        for camera in range(images):
            row = ImageRow(verdict["verdict_id"], f"cam{camera}", sha256, str(picture), size)
            outbox.enqueue(conn, outbox.IMAGE_KIND, row.key, row.to_payload())
        if images:
            conn.commit()
    conn.close()


def _undelivered_verdicts(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND (kind = 'image') = 0"
                            ).fetchone()[0])


def drain(db: Path, port: int, station_id: str, on_verdicts: Callable[[], None],
          timeout: float = 600.0) -> tuple[float, float, float]:
    """Seconds until every verdict is acknowledged, the CPU seconds this (the station's) process
    spent meanwhile, and the seconds the pictures took after that (0 without pictures).
    `on_verdicts` is called as soon as the verdicts are in (to read the other processes' CPU)."""
    publisher = OutboxPublisher(db, SyncSettings(broker="127.0.0.1", port=port, stats_interval_s=3600),
                                StationIdentity(station_id=station_id, session=str(uuid7())))
    watch = sqlite3.connect(db, timeout=30.0)
    start = time.perf_counter()
    cpu = time.process_time()
    publisher.start()
    deadline = time.monotonic() + timeout
    while _undelivered_verdicts(watch):
        if time.monotonic() > deadline:
            raise SystemExit(f"verdicts not drained within {timeout} s: {publisher.stats()}")
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    on_verdicts()
    watch.close()
    if not publisher.wait_drained(timeout):
        raise SystemExit(f"pictures not drained within {timeout} s: {publisher.stats()}")
    pictures = time.perf_counter() - start - elapsed
    publisher.stop()
    return elapsed, cpu, pictures


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
    parser.add_argument("--images", type=int, default=1,
                        help="evidence pictures behind each verdict (0 = none)")
    parser.add_argument("--image-bytes", type=int, default=60_000, help="size of each picture")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    picture = work / "picture.jpg"
    picture.write_bytes(b"\xff\xd8" + random.Random(5).randbytes(max(0, args.image_bytes - 4)) + b"\xff\xd9")
    picture_rates: list[float] = []
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
             "--db", str(work / "central.db"), "--images-dir", str(work / "central-images"),
             "--client-id", f"bench-central-{i}",
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
                fill(db, args.rows, station_id, args.images, picture)
                before, broker_before = central_cpu_s(), broker_cpu_s()
                spent: list[float] = []

                def verdicts_in() -> None:
                    spent[:] = [central_cpu_s(), broker_cpu_s()]  # noqa: B023 (called within the loop)

                elapsed, cpu, pictures_s = drain(db, broker.port, station_id, verdicts_in)
                if args.images:
                    picture_rates.append(args.rows * args.images / pictures_s)
                    # Kept pictures are not what is measured: free the disk for the next run.
                    shutil.rmtree(work / "central-images", ignore_errors=True)
                central_cpu = spent[0] - before
                broker_cpu_us.append((spent[1] - broker_before) / args.rows * 1e6)
                drain_rates.append(args.rows / elapsed)
                station_cpu_us.append(cpu / args.rows * 1e6)
                central_cpu_us.append(central_cpu / args.rows * 1e6)
                elapsed, cpu = bare_loop(broker.port, payload, args.rows, threaded=False)
                bare_rates.append(args.rows / elapsed)
                bare_cpu_us.append(cpu / args.rows * 1e6)
                elapsed, _ = bare_loop(broker.port, payload, args.rows, threaded=True)
                threaded_rates.append(args.rows / elapsed)
                print(f"run {run + 1}: outbox drain {drain_rates[-1]:7.0f}/s   bare loop "
                      f"{bare_rates[-1]:7.0f}/s   bare loop, paho thread {threaded_rates[-1]:7.0f}/s   ratio "
                      f"{drain_rates[-1] / bare_rates[-1]:.2f}"
                      + (f"   pictures after them {picture_rates[-1]:5.0f}/s" if args.images else ""),
                      flush=True)
        finally:
            for receiver in receivers:
                receiver.terminate()
                receiver.communicate(timeout=30)
        central = sqlite3.connect(work / "central.db")
        stored = central.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
        kept = central.execute("SELECT COUNT(*) FROM images").fetchone()[0] if args.images else 0
        central.close()
    shutil.rmtree(work, ignore_errors=True)  # backlogs and pictures: hundreds of MB a run
    drain_median = statistics.median(drain_rates)
    bare_median = statistics.median(bare_rates)
    print()
    print(f"{'measure (median of ' + str(args.repeats) + ')':42} {'verdicts/s':>12}")
    print(f"{f'outbox drain, acked by central ({args.receivers} rcv)':42} {drain_median:12.0f}")
    print(f"{'bare paho QoS 1 publish loop (PUBACK only)':42} {bare_median:12.0f}")
    print(f"{'  the same with paho loop_start thread':42} {statistics.median(threaded_rates):12.0f}")
    print(f"{'ratio drain / bare':42} {drain_median / bare_median:12.2f}")
    print(f"{'rows stored by central (expected)':42} {stored:>6} ({args.rows * args.repeats})")
    if args.images:
        rate = statistics.median(picture_rates)
        print(f"{'pictures/s after the verdicts, kept by central':42} {rate:12.0f}"
              f" ({rate * args.image_bytes / 1e6:.1f} MB/s)")
        expected = args.rows * args.images * args.repeats
        print(f"{'pictures kept by central (expected)':42} {kept:>6} ({expected})")
    station_us, central_us = statistics.median(station_cpu_us), statistics.median(central_cpu_us)
    print(f"{'CPU per verdict: station (publisher), us':42} {station_us:12.0f}")
    print(f"{'CPU per verdict: central (receiver), us':42} {central_us:12.0f}")
    print(f"{'CPU per verdict: broker (mosquitto), us':42} {statistics.median(broker_cpu_us):12.0f}")
    print(f"{'CPU per message: bare loop, us':42} {statistics.median(bare_cpu_us):12.0f}")
    print(f"{'CPU-bound rate, each side on its own core':42} {1e6 / max(station_us, central_us):12.0f}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"payload {len(payload)} bytes; {args.images} picture(s) of {args.image_bytes} bytes behind each "
          "verdict; targets: >= 2000/s and ratio >= 0.5 -> "
          f"{'MET' if drain_median >= 2000 and drain_median >= bare_median / 2 else 'NOT MET'}")
    return 0 if stored == args.rows * args.repeats and kept == args.rows * args.images * args.repeats else 1


if __name__ == "__main__":
    sys.exit(main())
