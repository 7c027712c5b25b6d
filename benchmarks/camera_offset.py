"""A second camera farther and farther down the belt: are items still judged on both views, in time?

    .venv/bin/python benchmarks/camera_offset.py [--items 30] [--runs 3] [--offsets 0,0.35,0.7,1.0,1.3]

For each offset, the demo line (`station run --headless`, the shipped config: items 0.5 m apart
at 2 m/s, the DIVERT point 1.5 m past the first camera) runs with one more synthetic camera
`[cameras.left]` (`checks = ["defect"]`) that far down the belt, in a fresh data folder, `--runs`
times. Each camera takes its picture when the item reaches it, so an offset larger than the gap
between two items costs the decision time (offset / speed), not items: "behind" counts items sent
to manual review because a picture could not be taken in time, "late" those whose DIVERT missed
its deadline. Medians over the runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(offset_m: float, items: int) -> dict[str, float]:
    """One headless run of the demo line with a second camera `offset_m` down the belt: its summary."""
    with tempfile.TemporaryDirectory(prefix="bench-offset-") as tmp:
        config = Path(tmp) / "config.toml"
        text = (ROOT / "config.toml").read_text(encoding="utf-8")
        if 'data_dir = "var"' not in text:
            raise SystemExit('config.toml no longer says data_dir = "var": update this benchmark')
        config.write_text(
            text.replace('data_dir = "var"', f'data_dir = "{Path(tmp) / "var"}"', 1)
            + f'\n[cameras.left]\nsource = "synthetic"\nchecks = ["defect"]\noffset_m = {offset_m}\n',
            encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "station", "--config", str(config), "run", "--headless",
             "--items", str(items), "--json"],
            cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise SystemExit(f"station run failed ({done.returncode}):\n{done.stderr[-2000:]}")
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        summary = next(line["summary"] for line in lines if "summary" in line)
        return {key: float(summary[key] or 0) for key in
                ("items", "views_per_item", "overloaded", "late", "latency_ms_p50", "latency_ms_p95")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--offsets", default="0,0.35,0.7,1.0,1.3", help="metres, comma-separated")
    args = parser.parse_args(argv)
    offsets = [float(value) for value in args.offsets.split(",")]
    print(f"{args.items} items a run, median of {args.runs} runs")
    print(f"{'offset m':>8}  {'items':>5}  {'views/item':>10}  {'behind':>6}  {'late':>4}  "
          f"{'p50 ms':>7}  {'p95 ms':>7}")
    for offset in offsets:
        runs = [run_once(offset, args.items) for _ in range(args.runs)]
        median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(f"{offset:>8g}  {median['items']:>5g}  {median['views_per_item']:>10.2f}  "
              f"{median['overloaded']:>6g}  {median['late']:>4g}  {median['latency_ms_p50']:>7.1f}  "
              f"{median['latency_ms_p95']:>7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
