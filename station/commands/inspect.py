"""`station inspect [--json] PATH...`: the whole inspection on image files, no hardware.

Codes, item crop, defect and conformity models and the policy, exactly as on the line;
one verdict per file with its reasons and per-stage timings. Nothing is routed and
nothing is recorded. The catalog and manifest come from the station's database when
it exists, else (on the embedded defaults) from the demo catalog.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from station.cli_output import report_file_error
from station.config import Config

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("inspect", help="inspect image files: codes, models, policy -> one verdict each")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files or folders")
    parser.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    parser.set_defaults(handler=run)


def _catalog(config: Config) -> Any:
    from station.lookup import CatalogLookup
    from station.store import StoreReader

    db = config.in_data_dir(config.storage.db_path)
    if db.exists():
        with StoreReader(db) as reader:
            return CatalogLookup.from_rows(reader.catalog_rows(), reader.manifest_rows()), reader.path
    if config.camera.source == "synthetic":
        from models.synthetic import ReturnsGenerator

        demo = ReturnsGenerator(seed=7)
        skus = [{"sku": s.sku, "gtin": s.gtin, "name": s.name,
                 "reference_image": str(demo.catalog.reference_path(s) or "")} for s in demo.catalog]
        rmas = [{"rma": m.rma, "sku": m.sku, "declared_reason": m.declared_reason}
                for m in demo.manifest_for(5000)]
        return CatalogLookup.from_rows(skus, rmas), "the demo catalog"
    return CatalogLookup(), "no catalog"


def run(args: argparse.Namespace, config: Config) -> int:
    from station.datadir import not_writable
    from station.inspector import Identity, StationInspector
    from station.live_models import load_gallery, load_models
    from station.pipeline import Trigger
    from vision.barcode import BarcodeReader
    from vision.camera.sources import list_images
    from vision.imagefile import MIN_IMAGE_SIDE, ImageFileError, load_image

    problem = not_writable(config.data_dir, None)
    if problem:
        # inspect records nothing, but keeps the SKU gallery's cache in the data folder
        print(f"station inspect: {problem}", file=sys.stderr)
        return 1
    models = load_models(config)
    if models.conformity is not None:
        demo = None
        if config.camera.source == "synthetic":
            from station.demo_line import DemoLine

            demo = DemoLine(seed=7)
        gallery, _ = load_gallery(config, models.conformity, {}, demo, save=False)
        models = dataclasses.replace(models, gallery=gallery)
    lookup, source = _catalog(config)
    for problem in (models.defect_error, models.conformity_error):
        if problem:
            print(f"station inspect: {problem} — items will go to manual review", file=sys.stderr)
    # Files, not the belt: a work budget, so the same files give the same codes in every run.
    reader = BarcodeReader(config.barcode.formats, config.barcode.engines, config.barcode.try_harder,
                           slow_path_budget_ms=None)
    inspector = StationInspector(Identity(config.station.id, config.station.site), reader, models, lookup,
                                 config.policy, model_timeout_ms=config.models.timeout_ms)
    if not args.json:
        print(f"catalog: {source}", file=sys.stderr)
    images = list_images(args.paths)
    if not images:
        where = ", ".join(str(p) for p in args.paths)
        print(f"station inspect: no images found in {where}: pass png, jpg, webp, bmp or tiff files "
              "or a folder holding them", file=sys.stderr)
        return 1
    failures = 0
    for seq, path in enumerate(images, start=1):
        start = time.perf_counter()
        try:
            image = load_image(path, min_side=MIN_IMAGE_SIDE)
            inspected = inspector.inspect_image(image, "file", Trigger(source="file"), seq)
        except ImageFileError as exc:
            failures += 1
            report_file_error(path, str(exc), args.json)
            continue
        except Exception as exc:  # one bad file must not stop the batch
            failures += 1
            logger.debug("inspect: %s failed", path, exc_info=True)
            report_file_error(
                path, f"inspection failed ({exc}): check the image, and report it if it looks fine",
                args.json)
            continue
        verdict = inspected.verdict.to_json()
        verdict["timings_ms"]["total"] = round((time.perf_counter() - start) * 1000, 3)
        if args.json:
            print(json.dumps({"path": str(path), **verdict}), flush=True)
        else:
            d = verdict["decision"]
            codes = ", ".join(c["text"] for c in verdict["item"]["codes"]) or "no code"
            print(f"{path}: {d['disposition'].upper()} grade {d['grade']} "
                  f"({verdict['timings_ms']['total']:.0f} ms) — {codes}")
            for reason in d["reasons"]:
                print(f"    - {reason}")
    return 1 if failures else 0
