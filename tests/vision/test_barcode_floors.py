"""Floors on the zxing-cpp sample suite (../shared/data/barcodes): the station's reader, as
`station scan` runs it, misreads no more than zxing-cpp alone and reads more than either
engine alone. Counts, not timings; the reader's work budget makes them the same every run."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from tests.benchmark_scripts import load_benchmark
from vision.barcode import BARCODE_FORMATS, BarcodeReader
from vision.barcode.engines import ZbarEngine, ZxingEngine

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


def benchmark() -> ModuleType:
    """benchmarks/barcodes.py: its ground-truth conventions are the ones the floors are held to."""
    return load_benchmark("barcodes")


@pytest.fixture(scope="module")
def totals(shared_data: Path) -> dict[str, tuple[int, int, int]]:
    """(images, read, misread) over the positive images, per decoder."""
    bench = benchmark()
    samples = [s for s in bench.load_samples(shared_data / "barcodes")
               if not s.negative and s.family != "no-own-text"]
    images: dict[Path, np.ndarray] = {}
    for s in samples:
        img = cv2.imread(str(s.path), cv2.IMREAD_GRAYSCALE)
        if img is not None:
            images[s.path] = img
    samples = [s for s in samples if s.path in images]
    decoders = {
        "zxing-cpp": bench.engine_alone(ZxingEngine(BARCODE_FORMATS)),
        "pyzbar": bench.engine_alone(ZbarEngine(BARCODE_FORMATS)),
        "station": bench.station_reader(BarcodeReader(slow_path_budget_ms=None)),
    }
    tallies = bench.evaluate(decoders, samples, images, reps=1)
    out: dict[str, tuple[int, int, int]] = {}
    for name, by_family in tallies.items():
        counts = list(by_family.values())
        out[name] = (sum(t.images for t in counts), sum(t.read for t in counts),
                     sum(t.misread for t in counts))
    return out


def test_the_station_misreads_no_more_than_zxing_cpp_alone(totals: dict[str, tuple[int, int, int]]) -> None:
    assert totals["station"][2] <= totals["zxing-cpp"][2]


def test_the_station_reads_more_than_either_engine_alone(totals: dict[str, tuple[int, int, int]]) -> None:
    assert totals["station"][1] > max(totals["zxing-cpp"][1], totals["pyzbar"][1])
