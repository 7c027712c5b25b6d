"""`station eval --model DIR --data DIR`: the metrics of a model on a data split; the metrics JSON and
PNG plots go to `--out DIR`, or into the model folder and its manifest with `--write` only (needs the
train extra for its plotting and data adapters). A shipped model's recorded metrics never change by
accident."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from station.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "eval",
        help="evaluate a model on a data set: metrics JSON + ROC / confusion / heatmap plots",
        description="Scores the model through the station's ONNX runtime. --split holdout (default) uses "
        "the part of DIR the training held back (defect: the manifest's hash split; grocery: val.txt); "
        "--split all uses every image (a defect model on data it never saw; a conformity model is always "
        "scored on the held-back part, against the rest as its gallery).",
    )
    parser.add_argument("--model", type=Path, required=True, help="model folder")
    parser.add_argument("--data", type=Path, required=True,
                        help="data folder (same layouts as station train)")
    parser.add_argument("--split", choices=["holdout", "all"], default="holdout")
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON line")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="write eval.json and the plots into DIR (nothing is written without it)")
    parser.add_argument("--write", action="store_true",
                        help="record the metrics in the model folder's manifest, eval.json and plots there "
                             "(replaces what it holds for this split)")
    parser.set_defaults(handler=run, log_to_file=True)


def run(args: argparse.Namespace, config: Config) -> int:
    from models.datasets import layout_problem
    from models.training.common import json_safe
    from models.training.evaluate import evaluate_model
    from station.commands._outputs import check_folder
    from vision.inference import ModelError
    from vision.inference.runtime import read_manifest

    # Before the scoring, not after it: the folder the report goes to is one this user may write.
    if args.write:
        check_folder(args.model, fix="copy the model folder somewhere writable, or keep the report with "
                                     "--out DIR instead of --write")
    elif args.out is not None:
        check_folder(args.out, fix="choose a folder you may write as --out")
    try:
        task = str(read_manifest(args.model).get("task"))
        problem = layout_problem(args.data, task)
        if problem:
            raise ValueError(problem)
        if task == "conformity" and args.split == "all":
            # The gallery is the folder's training part: with every image as a query, each training
            # picture finds itself and top-1 reads near 100 % whatever the model.
            raise ValueError("--split all would match the folder's training pictures against themselves "
                             "(they are the gallery a conformity model is scored against): keep --split "
                             "holdout, which scores the held-back pictures (val.txt of the grocery lists, "
                             "20 % of DIR/<sku>/*) against the rest, also for a set the model never saw")
        metrics = evaluate_model(args.model, args.data, args.split, write=args.write, out=args.out)
    except (ModelError, FileNotFoundError, ValueError) as exc:
        print(f"station eval: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(json_safe(metrics), allow_nan=False))
    else:
        print(json.dumps(json_safe(metrics["summary"]), indent=2, allow_nan=False))
        written = args.model if args.write else args.out
        print(f"written: {written / 'eval.json'} and eval_*.png" if written is not None else
              "nothing written: --out DIR keeps the report and plots; --write records them in the model")
    return 0
