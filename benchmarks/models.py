"""Latency of the shipped models on onnxruntime, and torch vs onnxruntime parity.

    .venv/bin/python benchmarks/models.py [--models models/magnetic-tile models/conformity]
                                          [--runs 200] [--repeats 3] [--threads 1] [--json]

Latency: batch 1, the graph alone (pre-processed input) and end to end from a 1280x720
BGR frame (colour conversion, resize, normalisation, graph, post-processing), each as
p50/p95 ms over --runs calls; the figures are the medians of --repeats repetitions. The
machine is shared, so CPU time per call is given too: it does not grow when other work
competes for the cores, wall time does.

Parity (needs torch, the `train` extra): the manifest's parity figures written at export
(max |torch − onnxruntime| on the validation images) are printed; nothing is recomputed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from vision.inference import ConformityModel, DefectModel
from vision.inference.runtime import read_manifest

ROOT = Path(__file__).resolve().parents[1]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def bench(model_dir: Path, runs: int, repeats: int, threads: int) -> dict[str, object]:
    manifest = read_manifest(model_dir)
    cls = DefectModel if manifest["task"] == "defect" else ConformityModel
    model = cls.load(model_dir, intra_op_threads=threads, inter_op_threads=1)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    batch = model.preprocess([frame])
    graph_p50, graph_p95, e2e_p50, e2e_p95, cpu_p50 = [], [], [], [], []
    for _ in range(repeats):
        graph, e2e, cpu = [], [], []
        for _ in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            model.run(batch)
            graph.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        for _ in range(runs):
            t0 = time.perf_counter()
            if isinstance(model, DefectModel):
                model.predict(frame)
            else:
                model.embed(frame)
            e2e.append((time.perf_counter() - t0) * 1000)
        p50, p95 = _percentiles(graph)
        graph_p50.append(p50)
        graph_p95.append(p95)
        p50, p95 = _percentiles(e2e)
        e2e_p50.append(p50)
        e2e_p95.append(p95)
        cpu_p50.append(_percentiles(cpu)[0])
    parity = manifest.get("parity", {})
    return {
        "model": str(model_dir.relative_to(ROOT) if model_dir.is_relative_to(ROOT) else model_dir),
        "task": manifest["task"],
        "input": f"{model.spec.channels}x{model.spec.height}x{model.spec.width}",
        "onnx_kb": round((model_dir / "model.onnx").stat().st_size / 1024),
        "graph_p50_ms": statistics.median(graph_p50),
        "graph_p95_ms": statistics.median(graph_p95),
        "graph_cpu_p50_ms": statistics.median(cpu_p50),
        "frame_p50_ms": statistics.median(e2e_p50),
        "frame_p95_ms": statistics.median(e2e_p95),
        "parity_images": parity.get("images"),
        "parity_max_abs_diff": max(parity.get("max_abs_diff", {"-": float("nan")}).values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", type=Path,
                        default=[ROOT / "models" / "magnetic-tile", ROOT / "models" / "conformity"])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [bench(path.resolve(), args.runs, args.repeats, args.threads) for path in args.models]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(f"onnxruntime, batch 1, {args.threads} intra-op thread(s), "
          f"median of {args.repeats} x {args.runs} runs")
    header = (f"{'model':28} {'input':10} {'KB':>6} {'graph p50':>10} {'p95':>7} {'cpu p50':>8} "
              f"{'frame p50':>10} {'p95':>7} {'parity max|Δ|':>14}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['model']:28} {r['input']:10} {r['onnx_kb']:>6} {r['graph_p50_ms']:>10.2f} "
              f"{r['graph_p95_ms']:>7.2f} {r['graph_cpu_p50_ms']:>8.2f} {r['frame_p50_ms']:>10.2f} "
              f"{r['frame_p95_ms']:>7.2f} {r['parity_max_abs_diff']:>14.2e}")


if __name__ == "__main__":
    main()
