"""Trigger -> decision latency, sustained throughput and peak memory of the headless pipeline.

What runs is the station's own pipeline on 1280x720 frames of the synthetic returns
generator: capture stage, barcode reading, item location, the shipped defect and
conformity models, the policy, and the durable SQLite commit of verdict + frames +
outbox row. Frames are rendered before timing starts and served by a camera source that
answers at once, so the figures are the station's, not the renderer's.

    .venv/bin/python benchmarks/pipeline.py [--items 200] [--runs 3] [--gui] [--cameras 3]

Latency: items one at a time, trigger to committed verdict (p50/p95 per run, then the
median over runs). Throughput: items submitted back to back, items/s over the run.
Peak RSS: the process's maximum resident set. `--gui` repeats the throughput run with
the desktop window open (offscreen) to show what the UI costs the pipeline. `--cameras N`
judges every item in N views (top, then the sides of `station run --cameras N`), each camera
serving its own view of the same rendered items.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.synthetic import ReturnsGenerator  # noqa: E402
from station.config import load_config  # noqa: E402
from station.demo_line import DemoLine  # noqa: E402
from station.diskguard import DiskGuard  # noqa: E402
from station.inspector import Identity, StationInspector  # noqa: E402
from station.live_models import load_models  # noqa: E402
from station.lookup import CatalogLookup  # noqa: E402
from station.memory import bound_heap  # noqa: E402
from station.options import DEMO_VIEWS, with_demo_cameras  # noqa: E402
from station.pipeline import Pipeline, Trigger  # noqa: E402
from station.state import StationState  # noqa: E402
from station.store import Store  # noqa: E402
from station.verdict import Verdict  # noqa: E402
from vision.barcode import BarcodeReader  # noqa: E402
from vision.camera import Camera  # noqa: E402
from vision.inference import Gallery  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class CyclingSource:
    """A camera that delivers the prepared frames in turn, one every millisecond."""

    def __init__(self, frames: list[np.ndarray], name: str = "top") -> None:
        self.name = name
        self.frames = frames
        self.index = 0

    def open(self) -> None:
        pass

    def read(self) -> tuple[np.ndarray, int | None]:
        time.sleep(0.001)
        self.index += 1
        return self.frames[self.index % len(self.frames)], None

    def close(self) -> None:
        pass


def build(folder: Path, views: dict[str, list[np.ndarray]], seed: int) -> tuple[Pipeline, Store]:
    config = with_demo_cameras(load_config(None, env={}), len(views))
    store = Store(folder / "station.db", folder / "images", config.storage.jpeg_quality)
    demo = DemoLine(seed=seed)
    demo.seed_store(store, rmas=len(views["top"]) + 10)
    models = load_models(config)
    if models.conformity is not None:
        gallery = Gallery(model_sha256=models.conformity.info.sha256)
        for sku, embeddings in demo.enrol(models.conformity).items():
            gallery.add(sku, embeddings)
        models = dataclasses.replace(models, gallery=gallery)
    lookup = CatalogLookup.from_rows(store.catalog_rows(), store.manifest_rows())
    reader = BarcodeReader(config.barcode.formats, config.barcode.engines, config.barcode.try_harder,
                           config.barcode.slow_path_budget_ms)
    inspector = StationInspector(Identity("bench", "bench"), reader, models, lookup, config.policy,
                                 jpeg_quality=config.storage.jpeg_quality, cameras=config.all_cameras)
    inspector.warm_up()
    cameras = {name: Camera(CyclingSource(frames, name)) for name, frames in views.items()}
    for camera in cameras.values():
        camera.start()
    # The disk guard as the station wires it: one free-space look per item, twice.
    disk = DiskGuard(folder, config.storage.stop_free_disk_mb)
    pipeline = Pipeline(inspector, store, StationState(), cameras, queue_size=8, frame_window_s=0.0,
                        disk=disk)
    pipeline.start()
    return pipeline, store


STAGES: dict[str, list[float]] = {}


def latency_run(pipeline: Pipeline, items: int) -> list[float]:
    done = threading.Event()

    def recorded(verdict: Verdict) -> None:
        for stage, ms in verdict.timings_ms.items():
            STAGES.setdefault(stage, []).append(ms)
        done.set()

    pipeline.on_recorded = recorded
    latencies = []
    for _ in range(items):
        done.clear()
        t0 = time.monotonic()
        pipeline.submit(Trigger(source="bench", t_trigger=t0), wait=True)
        done.wait(10)
        latencies.append((time.monotonic() - t0) * 1000)
    return latencies


def throughput_run(pipeline: Pipeline, items: int) -> float:
    before = pipeline.counters.snapshot()["recorded"]
    t0 = time.monotonic()
    for _ in range(items):
        pipeline.submit(Trigger(source="bench"), wait=True)
    while pipeline.counters.snapshot()["recorded"] - before < items:
        time.sleep(0.002)
    return items / (time.monotonic() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=200, help="items per run")
    parser.add_argument("--runs", type=int, default=3, help="repeated runs (medians are quoted)")
    parser.add_argument("--frames", type=int, default=None,
                        help="distinct items rendered (default 48 frames in all: 48 / cameras items)")
    parser.add_argument("--gui", action="store_true", help="also measure throughput with the window open")
    parser.add_argument("--cameras", type=int, default=1, choices=range(1, len(DEMO_VIEWS) + 1),
                        help="views per item (default 1)")
    parser.add_argument("--default-malloc", action="store_true",
                        help="keep glibc's own malloc thresholds (the station fixes them: station/memory.py)")
    args = parser.parse_args()
    if not args.default_malloc:
        bound_heap()

    generator = ReturnsGenerator(seed=11)
    names = DEMO_VIEWS[:args.cameras]
    args.frames = args.frames or 48 // args.cameras  # the frames held are the benchmark's, not the station's
    views: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for i in range(args.frames):
        rendered = generator.generate_views(i, names, faces=names) if args.cameras > 1 else \
            {"top": generator.generate(i)}
        for name in names:
            views[name].append(rendered[name].frame_bgr)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        pipeline, _store = build(Path(tmp), views, seed=11)
        p50s, p95s, rates = [], [], []
        for _ in range(args.runs):
            lat = latency_run(pipeline, args.items)
            pipeline.on_recorded = None
            p50s.append(percentile(lat, 50))
            p95s.append(percentile(lat, 95))
            rates.append(throughput_run(pipeline, args.items))
        gui_rates: list[float] = []
        if args.gui:
            gui_rates = gui_throughput(pipeline, args.items, args.runs)
        pipeline.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pipeline on {args.frames} distinct items seen by {args.cameras} camera(s) "
          f"({', '.join(names)}) at 1280x720, {args.items} items x {args.runs} runs")
    print(f"{'measure':38} {'median':>10} {'runs':>30} {'target':>12}")
    one = args.cameras == 1
    rows = [
        ("trigger -> committed verdict p50 (ms)", p50s, "<= 25" if one else "<= 50"),
        ("trigger -> committed verdict p95 (ms)", p95s, "<= 50" if one else "<= 90"),
        ("sustained throughput (items/s)", rates, ">= 20" if one else ">= 10"),
    ]
    if gui_rates:
        rows.append(("throughput with the window open (items/s)", gui_rates, ">= 80% of above"))
    for name, values, target in rows:
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name:38} {statistics.median(values):>10.1f} {runs:>30} {target:>12}")
    print(f"{'peak RSS (MB)':38} {rss_mb:>10.0f} {'':>30} {'<= 500':>12}")
    print("stage medians (ms), one item at a time: " + ", ".join(
        f"{stage} {statistics.median(values):.1f}" for stage, values in STAGES.items()))
    return 0


def gui_throughput(pipeline: Pipeline, items: int, runs: int) -> list[float]:
    """Throughput while the desktop window renders every item (offscreen)."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QMetaObject, Qt, QTimer

    from station.ui.app import application
    from station.ui.main_window import MainWindow
    from station.ui.settings import UiSettings

    class NoActions:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return lambda *a, **k: None

    app = application()
    window = MainWindow(pipeline.state, NoActions(), UiSettings())  # type: ignore[arg-type]
    window.show()
    rates: list[float] = []

    def work() -> None:
        for _ in range(runs):
            rates.append(throughput_run(pipeline, items))
        # This thread has no Qt event loop: ask the GUI thread to quit through its queue.
        QMetaObject.invokeMethod(app, "quit", Qt.ConnectionType.QueuedConnection)

    worker = threading.Thread(target=work, daemon=True)
    QTimer.singleShot(100, worker.start)
    app.exec()
    worker.join()
    window.close()
    return rates


if __name__ == "__main__":
    sys.exit(main())
