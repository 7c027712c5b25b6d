"""`python -m sync.loadgen`: a stand-in station that enqueues verdicts into a real station
database outbox and drains it with the real OutboxPublisher.

Used by the chaos test and the benchmark. It writes each verdict the way the station's
store does — the verdict row and its outbox row in one transaction — so a SIGKILL at any
moment leaves the database consistent. Restarted with the same arguments it continues
until the database holds `--count` verdicts, then waits until every row is delivered.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import sqlite3
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync import outbox

__all__ = ["connect_station_db", "make_verdict", "record_verdict", "uuid7"]

logger = logging.getLogger(__name__)


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits; sorts by creation time."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_verdict(station_id: str, site_id: str, session: str, seq: int, rng: random.Random) -> dict[str, Any]:
    """A realistic `returns.verdict/1` verdict (valid against the schema), varied by `rng`."""
    now = time.time()
    score = round(rng.random(), 3)
    disposition = "restock" if score < 0.5 else "repair" if score < 0.85 else "recycle"
    return {
        "schema": "returns.verdict/1",
        "verdict_id": str(uuid7()),
        "revision": 1,
        "station_id": station_id,
        "site_id": site_id,
        "session": session,
        "seq": seq,
        "item": {
            "controller_item_id": seq % 65536,
            "rma": f"R-{1000 + seq}",
            "codes": [{"format": "EAN13", "text": "4006381333931", "gs1": {"01": "04006381333931"}}],
            "expected_sku": "SKU-4006381",
            "observed_sku": "SKU-4006381",
            "declared_reason": rng.choice(["unopened", "defective", "damaged", "no_longer_needed"]),
        },
        "inspection": {
            "defect": {"score": score, "label": "ok" if score < 0.5 else "tear",
                       "probs": {"ok": round(1 - score, 3), "tear": score},
                       "regions": [[10.0, 20.0, 30.0, 40.0, score]]},
            "conformity": {"similarity": 0.81, "best_sku": "SKU-4006381", "best_similarity": 0.85},
            "images": [{"camera": "top", "sha256": "ab" * 32, "path": None}],
            "quality": {"sharpness": 123.4, "exposure_ok": True},
        },
        "decision": {
            "grade": "A" if score < 0.5 else "C",
            "disposition": disposition,
            "reasons": [f"defect score {score:.2f}"],
            "flags": [],
            "confidence": 0.9,
            "source": "auto",
            "operator_id": None,
            "override_reason": None,
        },
        "routing": {"lane_commanded": 1, "lane_confirmed": 1, "late": False, "lost": False},
        "models": [{"name": "defect", "version": "2026.11.24", "sha256": "cd" * 32}],
        "timings_ms": {"capture": 1.2, "codes": 3.4, "defect": 5.0, "conformity": 4.1, "policy": 0.1,
                       "record": 1.5, "total": 15.3},
        "created_at": _iso(now),
        "decided_at": _iso(now),
    }


def connect_station_db(path: Path) -> sqlite3.Connection:
    """Open (and create) a database shaped like the station's: WAL, a verdict table, the outbox."""
    conn = sqlite3.connect(path, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # the station commits verdicts durably
    conn.execute(
        "CREATE TABLE IF NOT EXISTS loadgen_verdicts("
        " verdict_id TEXT NOT NULL, revision INTEGER NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL,"
        " PRIMARY KEY (verdict_id, revision))"
    )
    outbox.ensure_schema(conn)
    conn.commit()
    return conn


def record_verdict(conn: sqlite3.Connection, verdict: dict[str, Any]) -> int:
    """Store a verdict and its outbox row in one transaction, as the station's `record` stage does."""
    payload = json.dumps(verdict, separators=(",", ":"))
    key = f"{verdict['verdict_id']}:{verdict['revision']}"
    with conn:
        conn.execute(
            "INSERT INTO loadgen_verdicts(verdict_id, revision, seq, payload) VALUES (?, ?, ?, ?)",
            (verdict["verdict_id"], verdict["revision"], verdict["seq"], payload),
        )
        return outbox.enqueue(conn, "verdict", key, payload.encode())


def main(argv: list[str] | None = None) -> int:
    """Produce verdicts into a station database and deliver them; see the module docstring."""
    from sync.publisher import OutboxPublisher
    from sync.settings import StationIdentity, SyncSettings

    parser = argparse.ArgumentParser(prog="python -m sync.loadgen", description=__doc__)
    parser.add_argument("--db", type=Path, required=True, help="station database (created if missing)")
    parser.add_argument("--host", default="127.0.0.1", help="broker host ('' = none: only enqueue)")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--count", type=int, default=2000,
                        help="verdicts the database should hold in the end")
    parser.add_argument("--rate", type=float, default=500.0,
                        help="verdicts per second (0 = as fast as possible)")
    parser.add_argument("--station-id", default="dock-01")
    parser.add_argument("--site-id", default="site-01")
    parser.add_argument("--ack-timeout", type=float, default=10.0)
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    conn = connect_station_db(args.db)
    have = int(conn.execute("SELECT COUNT(*) FROM loadgen_verdicts").fetchone()[0])
    session = str(uuid7())
    publisher = OutboxPublisher(
        args.db,
        SyncSettings(broker=args.host, port=args.port, ack_timeout_s=args.ack_timeout, stats_interval_s=5.0),
        StationIdentity(station_id=args.station_id, site_id=args.site_id, session=session),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    publisher.start()
    rng = random.Random(args.seed)
    started = time.monotonic()
    made = 0
    print(json.dumps({"event": "start", "have": have, "count": args.count, "session": session}), flush=True)
    for seq in range(have, args.count):
        if stop.is_set():
            break
        record_verdict(conn, make_verdict(args.station_id, args.site_id, session, seq, rng))
        publisher.wake()
        made += 1
        if made % 100 == 0:
            print(json.dumps({"event": "progress", "recorded": have + made}), flush=True)
        if args.rate > 0:
            delay = started + made / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    drained = False
    if args.host and not stop.is_set():
        deadline = time.monotonic() + args.drain_timeout
        while not stop.is_set() and time.monotonic() < deadline:
            if publisher.wait_drained(0.5):
                drained = True
                break
    stats = publisher.stats()
    publisher.stop()
    conn.close()
    print(json.dumps({"event": "done", "recorded": have + made, "drained": drained,
                      "published": stats.published_total, "resent": stats.resent_total,
                      "delivered": stats.delivered_total}), flush=True)
    return 0 if drained or not args.host else 1


if __name__ == "__main__":
    sys.exit(main())
