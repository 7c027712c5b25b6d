"""Pictures while one receiver of central's shared subscription has gone silent.

    .venv/bin/python benchmarks/gone_receiver.py [--items 40] [--rate 4] [--runs 3]

A real Mosquitto, a real `CentralReceiver` in group "central" and, in the same group, a receiver
that takes its share of the stations' messages and answers none (a receiver that hangs, or whose
session stays on the broker after it died). A station (`Store` with two pictures an item, the real
`OutboxPublisher`, `ack_timeout_s` 2 s) records `--items` items at `--rate` items/s. Every message
that lands on the silent receiver is acknowledged only once it is sent again and lands on the live
one. Printed: pictures central kept by the time the last item was recorded, the time from the first
item until every verdict and until every picture was kept, and what the station sent again.
Medians over `--runs`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.store import FrameImage, Store
from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.mqtt import BrokerAddress
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings
from tests.station.conftest import build_verdict

TOPICS = ("returns/v1/+/+/verdict", "returns/v1/+/+/image", "returns/v1/+/+/purge")


def picture(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((240, 320, 3), 200, np.uint8)
    image[60:180, 80:240] = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    return image


def count(receiver: CentralReceiver, table: str) -> int:
    import sqlite3

    conn = sqlite3.connect(receiver.db_path, timeout=30)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def silent_receiver(port: int) -> mqtt.Client:
    """A member of group "central" that takes its share and answers nothing."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"silent-{uuid.uuid4().hex[:8]}",
                         protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for topic in TOPICS:
        client.subscribe(f"$share/central/{topic}", qos=1)
    return client


def run_once(items: int, rate: float, tmp: Path) -> dict[str, float]:
    with LocalBroker(tmp / "broker") as broker:
        receiver = CentralReceiver(BrokerAddress("127.0.0.1", broker.port), tmp / "central.db")
        receiver.start()
        if not receiver.wait_subscribed(10):
            raise SystemExit("central did not subscribe in 10 s")
        silent = silent_receiver(broker.port)
        time.sleep(0.5)  # its subscriptions granted
        store = Store(tmp / "station.db", tmp / "images", 90, send_images="all")
        publisher = OutboxPublisher(store.path, SyncSettings(broker="127.0.0.1", port=broker.port,
                                                             ack_timeout_s=2.0),
                                    StationIdentity(session=str(uuid.uuid4())))
        publisher.start()
        try:
            t0 = time.monotonic()
            for seq in range(items):
                store.record_verdict(build_verdict(seq), [FrameImage("top", picture(seq)),
                                                          FrameImage("side", picture(seq + 10_000))])
                publisher.wake()
                time.sleep(max(0.0, t0 + (seq + 1) / rate - time.monotonic()))
            pictures_meanwhile = count(receiver, "images")
            verdicts_at = pictures_at = None
            give_up = time.monotonic() + 300
            while (verdicts_at is None or pictures_at is None) and time.monotonic() < give_up:
                now = time.monotonic() - t0
                if verdicts_at is None and count(receiver, "verdicts") >= items:
                    verdicts_at = now
                if pictures_at is None and count(receiver, "images") >= 2 * items:
                    pictures_at = now
                time.sleep(0.05)
            stats = publisher.stats()
        finally:
            publisher.stop()
            store.close()
            silent.loop_stop()
            silent.disconnect()
            receiver.stop()
    if verdicts_at is None or pictures_at is None:
        raise SystemExit("not everything reached central within 300 s")
    return {"pictures_meanwhile": pictures_meanwhile, "verdicts_s": verdicts_at, "pictures_s": pictures_at,
            "resent": stats.resent_total}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--rate", type=float, default=4.0, help="items recorded per second")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-gone-") as tmp:
            runs.append(run_once(args.items, args.rate, Path(tmp)))
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    recording = args.items / args.rate
    print(f"{args.items} items at {args.rate:g}/s ({recording:g} s of recording), 2 pictures an item, "
          f"one of two receivers silent, ack_timeout_s 2; median of {args.runs} runs")
    print(f"{'pictures kept while recording':>30}  {'all verdicts kept':>17}  {'all pictures kept':>17}  "
          f"{'messages sent again':>19}")
    print(f"{median['pictures_meanwhile']:>24g} / {2 * args.items:<3}  {median['verdicts_s']:>15.1f} s  "
          f"{median['pictures_s']:>15.1f} s  {median['resent']:>19g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
