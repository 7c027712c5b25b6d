"""Is the window responsive while items pour in? Event-loop latency of the real main window.

    .venv/bin/python benchmarks/ui_latency.py [--seconds 10] [--reps 3] [--rates 0,20,50]

For each rate, the window (offscreen, 1366x768, Inspect page) runs while a worker thread
pushes decided items (1280x720 frames with code, defect and ROI overlays, counters with
each item, a health change every second) into the StationState, as the pipeline does.
A 10 ms precise QTimer on the GUI thread measures how late each tick fires (lateness =
interval - 10 ms): p50 / p95 / max in ms. The feeder also times `state.add_item` - the
cost the UI puts on the pipeline's thread (the Qt hop only queues an event) - in µs.
"GUI CPU" = CPU time of the GUI thread / wall time (share of one core; includes the 0.5 ms
polling sleeps' wake-ups): unlike lateness it does not depend on how busy the machine is.
Each figure is the median over --reps runs. "shown" = items the window received / pushed.
The last row, "live", is a bench between items: no item, the first camera (1280x720) shown live
at 8 frames/s (`LIVE_INTERVAL_MS`), what an operator placing an item looks at.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from station.state import Health, ItemView, Level, StationState  # noqa: E402
from station.ui.app import application  # noqa: E402
from station.ui.main_window import MainWindow  # noqa: E402
from station.ui.settings import UiSettings  # noqa: E402
from tests.ui.feeder import RecordingActions, healthy, make_item, make_verdict  # noqa: E402

TICK_MS = 10


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def feed(state: StationState, rate: float, seconds: float, stop: threading.Event, costs: list[float],
         pushed: list[int]) -> None:
    """Push items at `rate`/s with counters and a health flip each second; time each add_item."""
    templates = [make_item(i) for i in range(1, 9)]
    rng = np.random.default_rng(7)
    period = 1.0 / rate
    next_at = time.monotonic()
    end = next_at + seconds
    seq = 1
    last_health = next_at
    while not stop.is_set() and time.monotonic() < end:
        template = templates[seq % len(templates)]
        verdict, _ = make_verdict(seq, rng, "bench")
        view = ItemView(verdict=verdict, frame=template.frame, overlay=template.overlay,
                        lane_name=template.lane_name)
        started = time.perf_counter()
        state.add_item(view)
        state.set_counters({"items": seq, "queue": 0, "rate_per_s": rate})
        costs.append((time.perf_counter() - started) * 1e6)
        if time.monotonic() - last_health >= 1.0:
            last_health = time.monotonic()
            level = Level.WARNING if seq % 2 else Level.OK
            state.set_health(Health("mqtt", level, f"connected, {seq % 7} waiting"))
        seq += 1
        pushed[0] += 1
        next_at += period
        stop.wait(max(0.0, next_at - time.monotonic()))


def live_camera() -> Callable[[], np.ndarray]:
    """A 1280x720 camera whose every frame differs (so each live round really draws a new one)."""
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8) for _ in range(4)]
    count = itertools.count()
    return lambda: frames[next(count) % len(frames)]


def run_once(app: QApplication, rate: float, seconds: float, live: bool = False) -> dict[str, float]:
    """One run at `rate` items/s (with `live`: in bench mode, the camera live between items);
    returns the lateness and add_item figures."""
    state = StationState()
    healthy(state)
    if live:
        state.mode = "bench"
    window = MainWindow(state, RecordingActions(state), UiSettings(),
                        live_frames=live_camera() if live else None)
    window.resize(1366, 768)
    window.show()
    window.start(ask_sign_in=False)
    app.processEvents()
    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    costs: list[float] = []
    pushed = [0]
    stop = threading.Event()
    feeder = None
    if rate > 0:
        feeder = threading.Thread(target=feed, args=(state, rate, seconds, stop, costs, pushed), daemon=True)
    timer.start()
    if feeder is not None:
        feeder.start()
    cpu_start = time.thread_time()  # this is the GUI thread: its CPU time is what the window costs
    wall_start = time.monotonic()
    end = wall_start + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.0005)  # leave the CPU to the feeder between event batches, like exec() would
    gui_cpu = (time.thread_time() - cpu_start) / (time.monotonic() - wall_start)
    stop.set()
    if feeder is not None:
        feeder.join()
    timer.stop()
    for _ in range(20):  # deliver what is still queued so "shown" counts it
        app.processEvents()
    shown = window.items_seen
    window.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    lateness = [max(0.0, (b - a) * 1000 - TICK_MS) for a, b in itertools.pairwise(ticks)]
    return {
        "p50": percentile(lateness, 50),
        "p95": percentile(lateness, 95),
        "max": max(lateness) if lateness else float("nan"),
        "add_p50": percentile(costs, 50),
        "add_p95": percentile(costs, 95),
        "shown": shown / pushed[0] if pushed[0] else 1.0,
        "gui_cpu": gui_cpu,
        "pushed": float(pushed[0]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one run")
    parser.add_argument("--reps", type=int, default=3, help="runs per rate (medians are reported)")
    parser.add_argument("--rates", default="0,20,50", help="items per second, comma-separated (0 = idle)")
    parser.add_argument("--no-live", action="store_true",
                        help="leave out the last row: bench mode, no item, the camera live at 8 frames/s")
    args = parser.parse_args()
    app = application()
    rates = [float(r) for r in args.rates.split(",")]
    print(f"event-loop lateness of a {TICK_MS} ms timer, window 1366x768 offscreen, "
          f"{args.seconds:g} s x {args.reps} runs, medians; load average at start {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    header = (f"{'items/s':>8} {'lateness p50 ms':>16} {'p95 ms':>8} {'max ms':>8} "
              f"{'add_item p50 µs':>16} {'p95 µs':>8} {'GUI CPU':>8} {'shown':>7}")
    print(header)
    print("-" * len(header))
    rows = [(rate, False) for rate in rates] + ([] if args.no_live else [(0.0, True)])
    for rate, live in rows:
        runs = [run_once(app, rate, args.seconds, live) for _ in range(args.reps)]

        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        add_p50 = f"{med('add_p50'):16.1f}" if rate > 0 else f"{'-':>16}"
        add_p95 = f"{med('add_p95'):8.1f}" if rate > 0 else f"{'-':>8}"
        name = "live" if live else f"{rate:g}"
        print(f"{name:>8} {med('p50'):16.2f} {med('p95'):8.2f} {med('max'):8.1f} {add_p50} {add_p95} "
              f"{med('gui_cpu'):8.0%} {med('shown'):7.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
