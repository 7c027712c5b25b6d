"""Synthetic returns generator: time per 1280x720 frame on one core, and how readable its frames are.

    .venv/bin/python benchmarks/synthetic.py [--items 200] [--reps 3] [--seed 0] [--threads 1]

Timing: `ReturnsGenerator.generate` per item (packaging caches warm), medians over the
repetitions of wall-clock p50/p95 and items/s, and of the CPU time per frame (the honest
figure on a shared machine). Quality (one pass over the same items): share of
non-empty frames whose EAN-13 / return-label QR / GS1 DataMatrix a plain zxing-cpp read
finds, and how well `vision.locate` finds the item (IoU with the true box).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

# The project root first: this folder's models.py (the model benchmark) must not shadow the package.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.synthetic import Catalog, ReturnsGenerator  # noqa: E402
from vision.locate import locate_item  # noqa: E402


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / float(aw * ah + bw * bh - inter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (1 = one core)")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)

    gen = ReturnsGenerator(Catalog.load(), args.seed)
    for sku in gen.catalog:
        gen.packaging(sku)
    p50s, p95s, rates, cpu_ms = [], [], [], []
    for _ in range(args.reps):
        times = []
        started = time.perf_counter()
        cpu_started = time.process_time()
        for index in range(args.items):
            t0 = time.perf_counter()
            gen.generate(index)
            times.append((time.perf_counter() - t0) * 1000)
        rates.append(args.items / (time.perf_counter() - started))
        # CPU time is what one core spends, whatever else shares the machine.
        cpu_ms.append((time.process_time() - cpu_started) * 1000 / args.items)
        p50s.append(float(np.percentile(times, 50)))
        p95s.append(float(np.percentile(times, 95)))

    ean = qr = dm = dm_total = items = located = 0
    ious = []
    for index in range(args.items):
        item = gen.generate(index)
        if item.sku is None:
            continue
        items += 1
        texts = {r.text: r.format for r in zxingcpp.read_barcodes(item.frame_bgr)}
        ean += item.gtin in texts
        qr += item.rma in texts
        if "gs1_datamatrix" in item.truth["codes"]:
            dm_total += 1
            dm += any(f == zxingcpp.BarcodeFormat.DataMatrix for f in texts.values())
        found = locate_item(item.frame_bgr)
        if found is not None and item.bbox is not None:
            located += 1
            ious.append(iou(found.box, item.bbox))

    print(f"synthetic returns, seed {args.seed}, {args.items} items x {args.reps} reps, "
          f"OpenCV threads {args.threads}")
    print(f"{'metric':44} {'value':>10}")
    print(f"{'ms per frame p50 (median of reps)':44} {statistics.median(p50s):10.2f}")
    print(f"{'ms per frame p95 (median of reps)':44} {statistics.median(p95s):10.2f}")
    print(f"{'items/s wall clock (median of reps)':44} {statistics.median(rates):10.1f}")
    print(f"{'CPU ms per frame, mean (median of reps)':44} {statistics.median(cpu_ms):10.2f}")
    print(f"{'items/s on one free core (1000 / CPU ms)':44} {1000 / statistics.median(cpu_ms):10.1f}")
    print(f"{'EAN-13 read, plain zxing (non-empty frames)':44} {ean / items:10.1%}")
    print(f"{'return-label QR read':44} {qr / items:10.1%}")
    print(f"{'GS1 DataMatrix read (serialised SKUs)':44} {dm / max(dm_total, 1):10.1%}")
    print(f"{'vision.locate finds the item':44} {located / items:10.1%}")
    print(f"{'vision.locate IoU with true box, median':44} {statistics.median(ious):10.3f}")


if __name__ == "__main__":
    main()
