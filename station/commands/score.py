"""`station score --model DIR [--json] PATH...`: run one model on image files (no torch needed)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from station.cli_output import report_file_error
from station.config import Config

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("score", help="run a defect or conformity model on image files")
    parser.add_argument("--model", type=Path, required=True, help="model folder (model.onnx + manifest.json)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image on stdout")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:

    from vision.imagefile import MIN_IMAGE_SIDE, ImageFileError, load_image
    from vision.inference import ConformityModel, DefectModel, ModelError
    from vision.inference.runtime import read_manifest

    threads = (config.models.intra_op_threads, config.models.inter_op_threads)
    try:
        task = read_manifest(args.model).get("task")
        model: DefectModel | ConformityModel
        if task == "conformity":
            model = ConformityModel.load(args.model, *threads)
        else:
            model = DefectModel.load(args.model, *threads)
    except ModelError as exc:
        print(f"station score: {exc}", file=sys.stderr)
        return 2
    failures = 0
    for path in args.paths:
        start = time.perf_counter()
        record: dict[str, object] = {"path": str(path), "model": model.info.name}
        try:
            image = load_image(path, min_side=MIN_IMAGE_SIDE)
            if isinstance(model, DefectModel):
                record.update(model.predict(image).to_json())
            else:
                record["embedding"] = [round(float(v), 6) for v in model.embed(image)]
        except (ImageFileError, ModelError) as exc:
            failures += 1
            report_file_error(path, str(exc), args.json)
            continue
        except Exception as exc:  # one bad file must not stop the batch
            failures += 1
            logger.debug("score: %s failed", path, exc_info=True)
            report_file_error(
                path, f"scoring failed ({exc}): check the image, and report it if it looks fine", args.json)
            continue
        record["ms"] = round((time.perf_counter() - start) * 1000, 3)
        if args.json:
            print(json.dumps(record))
        elif "score" in record:
            print(f"{path}: {record['label']} score {record['score']:.3f} "
                  f"regions {len(record['regions'])} ({record['ms']} ms)")  # type: ignore[arg-type]
        else:
            print(f"{path}: embedding of {len(record['embedding'])} values ({record['ms']} ms)")  # type: ignore[arg-type]
    return 1 if failures else 0
