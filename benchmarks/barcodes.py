"""Barcode reading on the zxing-cpp sample suite: zxing-cpp alone, zbar alone, the station's reader.

    .venv/bin/python benchmarks/barcodes.py [--data ../shared/data/barcodes] [--reps 3] [--json]

Per format family and in total: read rate, misread rate (codes reported, none with the
expected text), false positives on `falsepositives-*` (images with no code where a code
was reported), p50/p95 ms per image (each image's time is the median of --reps runs).

Ground truth and how texts are compared (the data follows zxing-cpp's test conventions):
- `<name>.txt` holds the expected text, `^]` in it stands for GS (0x1D); `<name>.bin`
  holds expected raw bytes when there is no `.txt`.
- EAN/UPC are compared by GTIN: the data writes UPC-A as 13 digits and UPC-E as its
  13-digit EAN expansion, the station prints UPC-A as 12 and UPC-E as 8 digits.
- `*-extension-*`: the expected text carries the EAN-2/5 add-on after the 13 digits; the
  station does not read add-ons (returns are identified by the main GTIN), so only the
  first 13 digits are compared.
- GS1 symbols: the data writes the raw element string, the station prints "(AI)value";
  both are parsed into AI -> value pairs and those are compared.
- Line ends: the `.txt` files hold LF where the symbols hold CR LF; both sides are
  compared with CR LF turned into LF. Leading/trailing blanks around digit-only expected
  texts (one EAN file has a leading space) are dropped.
- `.bin` ground truth: the decoded text, encoded as UTF-8 or Latin-1, must equal the bytes.
- Images with no ground truth of their own (`multi-1`, structured-append pieces of
  `qrcode-7` and `pdf417-4`) are listed apart: "read" there means at least one code.
- Two files' expected text contradicts the digits printed on the label in the image
  (`DISPUTED`, checked by eye). They count as misreads in the table like any other; the
  target summary also gives the count without them.
"Alone" means the engine's own reads, every one reported, no checks; the station's reader
reports only certain codes (its uncertain ones are counted in their own column). It runs
as `station scan` does, with a work budget for its slow path (deterministic: the same
counts every run); `--budget-ms` gives it the live pipeline's wall-clock budget instead.
The summary checks the targets: reads above either engine, misreads at most zxing-cpp's,
p95 within 3x of zxing-cpp's (all images and PDF417). `--clock cpu` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vision.barcode import BARCODE_FORMATS, BarcodeReader  # noqa: E402
from vision.barcode.engines import RawRead, ZbarEngine, ZxingEngine  # noqa: E402
from vision.barcode.formats import EAN_UPC  # noqa: E402
from vision.barcode.gs1 import GS, GS1Error, gtin14, parse_element_string, parse_hri  # noqa: E402
from vision.barcode.reader import FILE_WORK_FRAMES, FILE_WORK_MEGAPIXELS  # noqa: E402

# Expected text that the image itself contradicts: the label's printed digits are what both
# decoders read. Counted as misreads in the table; listed apart in the summary.
DISPUTED = {
    "ean13-2/23.webp": "label prints 9784872348880, expected text says 9780804816632",
    "ean13-2/28.webp": "label prints 9784872348880, expected text says 9780804816632",
}

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".pgm"}


@dataclass(frozen=True)
class Found:
    """One reported code, reduced to what comparison needs."""

    format: str
    text: str
    gs1: bool


@dataclass(frozen=True)
class Sample:
    path: Path
    family: str
    expected_text: str | None
    expected_bytes: bytes | None
    negative: bool


@dataclass
class Tally:
    images: int = 0
    read: int = 0
    misread: int = 0
    uncertain: int = 0
    disputed: int = 0  # misreads on DISPUTED images
    times: list[float] = field(default_factory=list)


def family_of(folder: str) -> str:
    return folder.rsplit("-", 1)[0] if folder.rsplit("-", 1)[-1].isdigit() else folder


def load_samples(data: Path) -> list[Sample]:
    samples: list[Sample] = []
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        for img in sorted(folder.iterdir()):
            if img.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            txt, binf = img.with_suffix(".txt"), img.with_suffix(".bin")
            text = txt.read_text(encoding="utf-8").replace("^]", GS) if txt.exists() else None
            raw = binf.read_bytes() if binf.exists() and text is None else None
            negative = folder.name.startswith("falsepositives")
            family = "falsepositives" if negative else family_of(folder.name)
            if not negative and text is None and raw is None:
                family = "no-own-text"
            samples.append(Sample(img, family, text, raw, negative))
    return samples


def _gs1_pairs(text: str) -> tuple[tuple[str, str], ...] | None:
    try:
        return parse_hri(text) if text.startswith("(") else parse_element_string(text)
    except GS1Error:
        return None


def matches(found: Found, sample: Sample) -> bool:
    """Does one reported code carry the expected content? (conventions: module docstring)"""
    if sample.expected_bytes is not None:
        for enc in ("utf-8", "latin-1"):
            try:
                if found.text.encode(enc) == sample.expected_bytes:
                    return True
            except UnicodeEncodeError:
                pass
        return False
    expected = sample.expected_text
    if expected is None:
        return False
    expected = expected.replace("\r\n", "\n")
    if expected.strip().isdigit():
        expected = expected.strip()
    if found.text.replace("\r\n", "\n") == expected:
        return True
    if found.format in EAN_UPC:
        digits = expected[:13] if "extension" in sample.path.parent.name else expected
        got = gtin14(found.text, found.format)
        return got is not None and digits.isdigit() and got == digits.rjust(14, "0")
    if found.gs1:
        mine, theirs = _gs1_pairs(found.text), _gs1_pairs(expected)
        return mine is not None and mine == theirs
    return False


Decoder = Callable[[np.ndarray], tuple[list[Found], int]]


def engine_alone(engine: ZxingEngine | ZbarEngine) -> Decoder:
    def run(gray: np.ndarray) -> tuple[list[Found], int]:
        raws: list[RawRead] = engine.decode(gray)
        # Checksum-failed reads are what zxing reports only on request; "alone" = its normal output.
        return [Found(r.format, r.content, r.gs1) for r in raws if not r.error], 0

    return run


def station_reader(reader: BarcodeReader) -> Decoder:
    def run(gray: np.ndarray) -> tuple[list[Found], int]:
        result = reader.read(gray)
        return [Found(c.format, c.text, c.gs1 is not None) for c in result.codes], len(result.uncertain)

    return run


def evaluate(decoders: dict[str, Decoder], samples: list[Sample], images: dict[Path, np.ndarray],
             reps: int, clock: Callable[[], float] = time.perf_counter) -> dict[str, dict[str, Tally]]:
    """Every decoder on every image, interleaved image by image and run by run, so that the load
    of a shared machine weighs on all of them alike."""
    tallies: dict[str, dict[str, Tally]] = {name: defaultdict(Tally) for name in decoders}
    for sample in samples:
        gray = images[sample.path]
        times: dict[str, list[float]] = {name: [] for name in decoders}
        outcome: dict[str, tuple[list[Found], int]] = {}
        for _ in range(reps):
            for name, decode in decoders.items():
                start = clock()
                outcome[name] = decode(gray)
                times[name].append((clock() - start) * 1000.0)
        for name in decoders:
            found, uncertain = outcome[name]
            t = tallies[name][sample.family]
            t.images += 1
            t.times.append(statistics.median(times[name]))
            t.uncertain += 1 if uncertain and not found else 0
            if sample.negative or sample.family == "no-own-text":
                t.read += 1 if found else 0
                continue
            if any(matches(f, sample) for f in found):
                t.read += 1
            elif found:
                t.misread += 1
                if f"{sample.path.parent.name}/{sample.path.name}" in DISPUTED:
                    t.disputed += 1
                print(f"  {name}: misread {sample.path.relative_to(sample.path.parents[1])}: "
                      f"{[f.text[:40] for f in found]} expected {(sample.expected_text or '')[:40]!r}",
                      file=sys.stderr)
    return tallies


def pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:5.1f}%" if d else "    -"


def quantile(values: list[float], q: float) -> float:
    return float(np.quantile(np.array(values), q)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "barcodes")
    parser.add_argument("--reps", type=int, default=3, help="runs per image; its time is their median")
    parser.add_argument("--fast-path", choices=("both", "cascade"), default="cascade")
    parser.add_argument("--budget-ms", type=float, default=None,
                        help="the live pipeline's wall-clock slow-path budget; default: the work budget "
                             "`station scan` uses (deterministic)")
    parser.add_argument("--work-frames", type=float, default=FILE_WORK_FRAMES,
                        help="slow-path work budget in frames decoded per engine (without --budget-ms)")
    parser.add_argument("--work-megapixels", type=float, default=FILE_WORK_MEGAPIXELS,
                        help="slow-path work budget in megapixels decoded (without --budget-ms)")
    parser.add_argument("--compare-fast-paths", action="store_true", help="also run the other fast path")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu = this process's CPU time: fairer than wall time on a loaded machine")
    parser.add_argument("--json", action="store_true", help="one JSON object per decoder and family")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no data at {args.data}: pass --data DIR (the zxing-cpp sample suite)", file=sys.stderr)
        return 2

    samples = load_samples(args.data)
    images: dict[Path, np.ndarray] = {}
    for s in samples:
        img = cv2.imread(str(s.path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            print(f"cannot decode {s.path}, skipped", file=sys.stderr)
            continue
        images[s.path] = img
    samples = [s for s in samples if s.path in images]

    decoders: dict[str, Decoder] = {
        "zxing-cpp": engine_alone(ZxingEngine(BARCODE_FORMATS)),
        "pyzbar": engine_alone(ZbarEngine(BARCODE_FORMATS)),
        f"station({args.fast_path})": station_reader(
            BarcodeReader(fast_path=args.fast_path, slow_path_budget_ms=args.budget_ms,
                          slow_path_frames=args.work_frames, slow_path_megapixels=args.work_megapixels)),
    }
    if args.compare_fast_paths:
        other = "both" if args.fast_path == "cascade" else "cascade"
        decoders[f"station({other})"] = station_reader(
            BarcodeReader(fast_path=other, slow_path_budget_ms=args.budget_ms,
                          slow_path_frames=args.work_frames, slow_path_megapixels=args.work_megapixels))

    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    results = evaluate(decoders, samples, images, args.reps, clock)
    families = sorted({s.family for s in samples} - {"falsepositives", "no-own-text"})

    rows: list[dict[str, object]] = []
    for name, tallies in results.items():
        total = Tally()
        for fam in families:
            t = tallies[fam]
            total.images += t.images
            total.read += t.read
            total.misread += t.misread
            total.uncertain += t.uncertain
            total.disputed += t.disputed
            total.times += t.times
        extra = [("TOTAL", total), ("no-own-text", tallies["no-own-text"]),
                 ("falsepositives", tallies["falsepositives"])]
        for fam, t in [*((f, tallies[f]) for f in families), *extra]:
            rows.append({
                "decoder": name, "family": fam, "images": t.images,
                "read": t.read, "misread": t.misread, "uncertain": t.uncertain, "disputed": t.disputed,
                "p50_ms": round(quantile(t.times, 0.5), 2), "p95_ms": round(quantile(t.times, 0.95), 2),
            })

    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    budget = (f"{args.budget_ms:g} ms" if args.budget_ms is not None
              else f"{args.work_frames:g} frames per engine, at most {args.work_megapixels:g} megapixels")
    print(f"times: {args.clock} clock, median of {args.reps} runs per image; slow-path budget {budget}")
    print(f"{'family':16} {'decoder':18} {'images':>6} {'read':>7} {'misread':>8} {'uncert':>6} "
          f"{'p50 ms':>7} {'p95 ms':>7}")
    order = [*families, "TOTAL", "no-own-text", "falsepositives"]
    by_key = {(r["decoder"], r["family"]): r for r in rows}
    for fam in order:
        if fam == "TOTAL":
            print("-" * 86)
        for name in results:
            r = by_key[(name, fam)]
            n, read, mis = int(str(r["images"])), int(str(r["read"])), int(str(r["misread"]))
            if fam == "falsepositives":
                read_cell, mis_cell = f"fp {read}", ""
            elif fam == "no-own-text":
                read_cell, mis_cell = pct(read, n), "(any)"
            else:
                read_cell, mis_cell = pct(read, n), pct(mis, n)
            print(f"{fam:16} {name:18} {n:>6} {read_cell:>7} {mis_cell:>8} {r['uncertain']!s:>6} "
                  f"{float(str(r['p50_ms'])):7.2f} {float(str(r['p95_ms'])):7.2f}")

    station = next(name for name in results if name.startswith("station"))
    tot = {name: by_key[(name, "TOTAL")] for name in results}
    fps = by_key[(station, "falsepositives")]["read"]

    def num(name: str, key: str) -> float:
        return float(str(tot[name][key]))

    print()
    print("targets (issue 2), on TOTAL:")
    best_read = max(num("zxing-cpp", "read"), num("pyzbar", "read"))
    least_mis = min(num("zxing-cpp", "misread"), num("pyzbar", "misread"))
    ratio = num(station, "p50_ms") / max(1e-9, num("zxing-cpp", "p50_ms"))
    print(f"  reads more than the better engine alone: {num(station, 'read'):.0f} vs {best_read:.0f} images "
          f"-> {'yes' if num(station, 'read') > best_read else 'NO'}")
    print(f"  misreads fewer than either engine alone: "
          f"{num(station, 'misread'):.0f} vs {least_mis:.0f} images "
          f"-> {'yes' if num(station, 'misread') < least_mis else 'NO'}")
    print(f"  misreads at most zxing-cpp's alone: {num(station, 'misread'):.0f} vs "
          f"{num('zxing-cpp', 'misread'):.0f} -> "
          f"{'yes' if num(station, 'misread') <= num('zxing-cpp', 'misread') else 'NO'}")
    undisputed = {name: num(name, "misread") - num(name, "disputed") for name in results}
    print(f"  misreads without the {len(DISPUTED)} disputed images: "
          + ", ".join(f"{name} {int(v)}" for name, v in undisputed.items()))
    print(f"  no false positive: {fps} -> {'yes' if fps == 0 else 'NO'}")
    print(f"  p50 within 2x of zxing-cpp alone: {ratio:.2f}x -> {'yes' if ratio <= 2 else 'NO'}")
    for fam in ("TOTAL", "pdf417"):
        if (station, fam) not in by_key:
            continue
        zx_p95 = float(str(by_key[("zxing-cpp", fam)]["p95_ms"]))
        p95 = float(str(by_key[(station, fam)]["p95_ms"])) / max(1e-9, zx_p95)
        print(f"  p95 within 3x of zxing-cpp alone ({fam}): {p95:.2f}x -> {'yes' if p95 <= 3 else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
