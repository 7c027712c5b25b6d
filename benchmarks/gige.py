"""GigE Vision through Aravis: frames per second through the capture thread, and the time from
`read()` to frame in software trigger mode.

    .venv/bin/python benchmarks/gige.py [--camera ID] [--seconds 10] [--fps 30 200] [--triggers 50]

Without --camera it starts Aravis' fake GigE Vision camera on the loopback interface
(`arv-fake-gv-camera-0.8 -i lo`, 512x512 Mono8) and stops it at the end. For each --fps the
`Camera` thread grabs in free-run for --seconds and the rate counted from its frames is
printed; then --triggers software-triggered reads are timed one by one (p50 / p95 / max),
and the BGR conversion alone per 512x512 frame. The fake camera checks for a software
trigger at its own frame clock (25 Hz), so its trigger figures are an upper bound: a
real camera exposes within microseconds of the trigger.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vision.camera import Camera, CameraState  # noqa: E402
from vision.camera.aravis import PIXEL_FORMATS_BY_NAME, AravisSource, to_bgr  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--camera", default="", help="Aravis device id or IP address; none = the fake camera")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, nargs="+", default=[30.0, 200.0])
    parser.add_argument("--triggers", type=int, default=50)
    args = parser.parse_args()

    fake = None
    camera_id = args.camera
    if not camera_id:
        fake = subprocess.Popen(["arv-fake-gv-camera-0.8", "-i", "lo"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        camera_id = "127.0.0.1"
    try:
        for fps in args.fps:
            camera = Camera(AravisSource(camera_id, fps=fps, pixel_format="Mono8", trigger_mode="free-run"))
            camera.start()
            try:
                while camera.state is not CameraState.LIVE:
                    time.sleep(0.01)
                before, started = camera.health().frames, time.monotonic()
                time.sleep(args.seconds)
                grabbed, elapsed = camera.health().frames - before, time.monotonic() - started
            finally:
                camera.stop()
            print(f"free-run asked {fps:g} fps: {grabbed} frames in {elapsed:.1f} s = "
                  f"{grabbed / elapsed:.1f} fps through Camera")

        source = AravisSource(camera_id, pixel_format="Mono8", trigger_mode="software")
        source.open()
        try:
            times: list[float] = []
            while len(times) < args.triggers:
                started = time.perf_counter()
                if source.read() is not None:
                    times.append((time.perf_counter() - started) * 1000)
        finally:
            source.close()
        print(f"software trigger, read() to frame over {len(times)} reads: "
              f"p50 {statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms, "
              f"max {max(times):.1f} ms")
    finally:
        if fake is not None:
            fake.kill()
            fake.wait()

    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, 512 * 512, np.uint8).tobytes()
    for name in ("Mono8", "BayerRG8"):
        fmt = PIXEL_FORMATS_BY_NAME[name]
        started = time.perf_counter()
        for _ in range(200):
            to_bgr(raw, 512, 512, fmt)
        print(f"{name} -> BGR, 512x512: {(time.perf_counter() - started) / 200 * 1e6:.0f} µs per frame")


if __name__ == "__main__":
    main()
