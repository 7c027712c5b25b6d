"""The record stage: one verdict with its frames and outbox row, committed durably.

    .venv/bin/python benchmarks/store.py [--items 200] [--runs 3] [--frames 1] [--json]

Records --items verdicts per run into a fresh database (WAL, synchronous=FULL, on the
disk that holds --dir, default a temporary folder under the project's var/) and times each
`Store.record_verdict` call: JPEG encoding of each 1280×720 frame at [storage] quality 90,
atomic file write with fsync, then the one SQLite transaction (item, codes, verdict,
frames, outbox row). Frames are real photos (the grocery data set, resized) when
../shared/data is present, else a synthetic textured frame (said in the output).
Also times the transaction alone (no frames) and an operator override. Prints the median
over --runs of each run's p50 / p95 / max (ms) and items/s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from station.store import FrameImage, Store  # noqa: E402
from station.verdict import (  # noqa: E402
    CodeRead,
    ConformityFinding,
    Decision,
    DefectFinding,
    Disposition,
    Grade,
    Inspection,
    ItemInfo,
    ModelRef,
    Routing,
    Verdict,
    new_verdict_id,
)

SHARED = ROOT.parent / "shared" / "data" / "products" / "grocery"


def frames_source(count: int) -> tuple[list[np.ndarray], str]:
    photos = sorted(SHARED.rglob("*.jpg"))[:count] if SHARED.is_dir() else []
    if photos:
        resized = [cv2.resize(cv2.imread(str(p)), (1280, 720)) for p in photos]
        return resized, "grocery photos resized to 1280×720"
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 255, (90, 160, 3), dtype=np.uint8), (1280, 720))
    return [base] * count, "synthetic textured 1280×720 frame (../shared/data absent)"


def make_verdict(seq: int, session: str) -> Verdict:
    now = datetime.now(UTC)
    return Verdict(
        verdict_id=new_verdict_id(), revision=1, station_id="dock-01", site_id="site-01", session=session,
        seq=seq,
        item=ItemInfo(seq, "R-1042", (CodeRead("EAN13", "4006381333931"), CodeRead("Code128", "R-1042")),
                      "SKU-A", "SKU-A"),
        inspection=Inspection(DefectFinding(0.1, "ok", {"ok": 0.9}), ConformityFinding(0.9, "SKU-A", 0.9)),
        decision=Decision(Grade.A, Disposition.RESTOCK, ("no defect found (score 0.10)",), (), 0.9),
        routing=Routing(1, None), models=(ModelRef("defect", "1", "0" * 64),),
        timings_ms={"total": 12.0}, created_at=now, decided_at=now,
    )


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered), "p95": ordered[int(0.95 * (len(ordered) - 1))],
            "max": ordered[-1], "per_s": 1000.0 * len(ordered) / sum(ordered)}


def run_once(folder: Path, items: int, frames: list[np.ndarray], n_frames: int,
             sync_images: bool) -> dict[str, dict[str, float]]:
    if folder.exists():
        shutil.rmtree(folder)
    store = Store(folder / "station.db", folder / "images", 90, sync_images=sync_images)
    session = str(uuid.uuid4())
    timed: dict[str, list[float]] = {"record + frames": [], "record, no frames": [], "override": []}
    ids: list[str] = []

    def clock(name: str, call: Callable[[], object]) -> None:
        start = time.perf_counter()
        call()
        timed[name].append((time.perf_counter() - start) * 1000.0)

    for i in range(items):
        verdict = make_verdict(i, session)
        shots = [FrameImage(f"cam{k}", frames[(i + k) % len(frames)]) for k in range(n_frames)]
        clock("record + frames", lambda v=verdict, s=shots: store.record_verdict(v, s))  # type: ignore[misc]
        ids.append(verdict.verdict_id)
    for i in range(items):
        verdict = make_verdict(items + i, session)
        clock("record, no frames", lambda v=verdict: store.record_verdict(v))  # type: ignore[misc]
    for verdict_id in ids[: max(1, items // 4)]:
        clock("override",
              lambda v=verdict_id: store.record_override(v, Disposition.REPAIR, "op-1", "dent"))  # type: ignore[misc]
    store.close()
    return {name: stats(values) for name, values in timed.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=1, help="frames (cameras) per item")
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "bench-store")
    parser.add_argument("--sync-images", action="store_true",
                        help="fsync every image ([storage] sync_images)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    frames, source = frames_source(8)
    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        runs = [run_once(Path(tmp) / f"run{r}", args.items, frames, args.frames, args.sync_images)
                for r in range(args.runs)]
    table = {name: {k: statistics.median(r[name][k] for r in runs) for k in runs[0][name]}
             for name in runs[0]}
    if args.json:
        print(json.dumps({"items": args.items, "runs": args.runs, "frames": args.frames, "source": source,
                          "sync_images": args.sync_images, "results": table}))
        return 0
    print(f"record stage, {args.items} items × {args.runs} runs, {args.frames} frame(s)/item, "
          f"sync_images={args.sync_images}: {source}")
    print(f"{'operation':20} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'per s':>8}")
    for name, row in table.items():
        print(f"{name:20} {row['p50']:8.2f} {row['p95']:8.2f} {row['max']:8.2f} {row['per_s']:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
