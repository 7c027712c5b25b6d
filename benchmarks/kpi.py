"""What a refresh of the Statistics page costs as the record grows: verdicts rebuilt vs the SQL rows.

    .venv/bin/python benchmarks/kpi.py [--items 1000,10000,30000] [--reps 3]

For each size, records that many schema-valid verdicts (sync.loadgen, as a station makes
them; a tenth overridden, so those items have two revisions) into a fresh SQLite file, then
times the figures of the whole record two ways: `compute_kpis(StoreReader.latest_verdicts())`
(every latest revision parsed back into a `Verdict`) and `RecordQueries.kpis()` (what the
Statistics page asks, and `station report` reads the same way, on `StoreReader.kpi_records`: the
columns and JSON fields the figures need, read in SQL). Both give the same figures (checked here on
every run, and in tests/station/test_kpi.py). Prints the median of --reps runs, in ms.
30,000 items is eight hours at about one item a second.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from station.kpi import compute_kpis  # noqa: E402
from station.store import Store, StoreReader  # noqa: E402
from station.store.queries import RecordQueries  # noqa: E402
from station.verdict import Disposition, Verdict  # noqa: E402
from sync.loadgen import make_verdict  # noqa: E402


def fill(db: Path, items: int) -> None:
    """`items` verdicts of one session, a tenth of them overridden by an operator."""
    store = Store(db, db.parent / "images")
    rng = random.Random(7)
    session = str(uuid.uuid4())
    try:
        for seq in range(1, items + 1):
            made = make_verdict("dock-01", "site-01", session, seq, rng)
            verdict = store.record_verdict(Verdict.from_json(made))
            if seq % 10 == 0:
                store.record_override(verdict.verdict_id, Disposition.REPAIR, "op-7", "hinge cracked")
    finally:
        store.close()


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """(ms, what `fn` returned)."""
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", default="1000,10000,30000", help="record sizes, comma-separated")
    parser.add_argument("--reps", type=int, default=3, help="timed runs per size (medians are printed)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.items.split(",")]
    print(f"{'items':>7} {'verdicts rebuilt ms':>20} {'SQL rows ms':>12} {'faster':>7}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "station.db"
            fill(db, size)
            rebuilt, rows = [], []
            for _ in range(args.reps):
                with StoreReader(db) as reader:
                    ms, slow = timed(lambda reader=reader: compute_kpis(reader.latest_verdicts()))
                rebuilt.append(ms)
                ms, fast = timed(RecordQueries(db, kpi_window_h=24 * 365).kpis)
                rows.append(ms)
                assert fast["items_total"] == slow.items == size
                assert fast["dispositions"] == slow.dispositions
                assert fast["override_rate"] == slow.override_rate
            a, b = statistics.median(rebuilt), statistics.median(rows)
            print(f"{size:7d} {a:20.0f} {b:12.0f} {a / b:6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
