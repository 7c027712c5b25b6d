"""`station scan [--json] PATH...`: read every barcode in image files.

One JSON object per file with --json: {"path", "codes": [{"format", "text", "gs1", "quad"}],
"ms"}, or {"path", "error"} for a file that cannot be read; without --json, a file that cannot
be read gets one `PATH: ERROR ...` line on stderr. The run goes on. Exit code 0 when every file
was read (with or without codes), 1 when any file failed.

The slow path is budgeted in work, not time (`slow_path_budget_ms=None`): the same files
give the same codes in every run, whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from station.cli_output import report_file_error
from station.config import Config

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("scan", help="read the barcodes in image files")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="image files (png, jpg, webp, ...)")
    parser.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    parser.set_defaults(handler=run)


def _load(path: Path) -> tuple[Any, str]:
    """The image as a numpy array, or None and what the user should do about it."""
    from vision.imagefile import ImageFileError, load_image

    try:
        return load_image(path, color=False), ""
    except ImageFileError as exc:
        return None, str(exc)


def run(args: argparse.Namespace, config: Config) -> int:
    from vision.barcode import BarcodeReader

    settings = config.barcode
    reader = BarcodeReader(
        formats=settings.formats,
        engines=settings.engines,
        try_harder=settings.try_harder,
        slow_path_budget_ms=None,  # the live pipeline's time budget; files get a work budget
    )
    failed = 0
    for path in args.paths:
        image, problem = _load(path)
        if image is None:  # one line, as for inspect and score: no log warning repeating it
            failed += 1
            report_file_error(path, problem, args.json)
            continue
        try:
            result = reader.read(image)
        except Exception as exc:  # one bad file must not stop the batch
            failed += 1
            logger.debug("scan: reading codes in %s failed", path, exc_info=True)
            problem = f"reading codes failed ({exc}): check the image, and report it if it looks fine"
            report_file_error(path, problem, args.json)
            continue
        if args.json:
            codes = [c.to_json() for c in result.codes]
            record = {"path": str(path), "codes": codes, "ms": round(result.ms, 2)}
            print(json.dumps(record, ensure_ascii=False), flush=True)
            continue
        print(f"{path}: {len(result.codes)} code(s), {result.ms:.1f} ms ({result.path_taken} path)")
        for code in result.codes:
            gs1 = "  GS1 " + " ".join(f"({ai}){v}" for ai, v in code.gs1.items()) if code.gs1 else ""
            print(f"  {code.format:16} {code.text!r}{gs1}")
        for code in result.uncertain:
            print(f"  {code.format:16} {code.text!r}  UNCERTAIN: {code.problem}")
    return 1 if failed else 0
