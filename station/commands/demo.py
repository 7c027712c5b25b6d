"""`station demo ...`: synthetic returns, the demo catalog and manifests (no camera, no torch).

    station demo generate --out DIR --items N [--seed S] [--layout frames|defect|conformity]
    station demo catalog --out FILE.csv|FILE.json
    station demo manifest --items N [--seed S] --out FILE.csv|FILE.json
    station demo references --out DIR
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from station.commands._args import whole
from station.config import Config

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("demo", help="synthetic returns, the demo catalog and manifests")
    actions = parser.add_subparsers(dest="demo_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--catalog", type=Path, default=None,
                       help="catalog JSON (default: the committed models/demo/catalog.json)")
        p.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    gen = actions.add_parser("generate", help="render synthetic returns with ground truth")
    gen.add_argument("--out", type=Path, required=True, help="output folder (created)")
    gen.add_argument("--items", type=whole(1, example="100"), required=True, help="how many items to render")
    gen.add_argument("--seed", type=int, default=0, help="same seed, same images (default 0)")
    gen.add_argument("--start", type=whole(0), default=0, help="first item index (default 0)")
    gen.add_argument("--layout", choices=["frames", "defect", "conformity"], default="frames",
                     help="frames = full 1280x720 frames + truth.jsonl; defect = good/ and <damage>/ crops "
                          "with masks; conformity = <sku>/ crops (default frames)")
    gen.add_argument("--crop", type=whole(32, 4096, example="256"), default=256,
                     help="crop size in px for defect/conformity (default 256)")
    common(gen)
    gen.set_defaults(handler=run, log_to_file=True)

    cat = actions.add_parser("catalog", help="write the catalog as CSV/JSON for `station catalog import`")
    cat.add_argument("--out", type=Path, required=True, help="FILE.csv or FILE.json")
    common(cat)
    cat.set_defaults(handler=run)

    man = actions.add_parser("manifest", help="write a run's expected returns for `station manifest import`")
    man.add_argument("--out", type=Path, required=True, help="FILE.csv or FILE.json")
    man.add_argument("--items", type=whole(1, example="100"), required=True, help="how many RMAs")
    man.add_argument("--seed", type=int, default=0, help="the generator seed the frames will use (default 0)")
    man.add_argument("--start", type=whole(0), default=0, help="first item index (default 0)")
    common(man)
    man.set_defaults(handler=run)

    ref = actions.add_parser("references", help="render each SKU's catalog (reference) image")
    ref.add_argument("--out", type=Path, required=True, help="output folder (created)")
    common(ref)
    ref.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    from models.synthetic import Catalog, CatalogError, ReturnsGenerator
    from models.synthetic.layouts import (
        Layout,
        write_catalog_file,
        write_dataset,
        write_manifest_file,
        write_reference_images,
    )

    try:
        catalog = Catalog.load(args.catalog)
    except CatalogError as exc:
        print(f"station demo: {exc}", file=sys.stderr)
        return 2
    summary: dict[str, object] = {"action": args.demo_command}
    started = time.perf_counter()
    try:
        if args.demo_command == "generate":
            if args.items < 1 or args.start < 0:
                print("station demo generate: --items must be >= 1 and --start >= 0", file=sys.stderr)
                return 2
            generator = ReturnsGenerator(catalog, args.seed)
            last = [0.0]

            def progress(done: int, total: int) -> None:
                now = time.perf_counter()
                if done == total or now - last[0] > 2.0:
                    last[0] = now
                    rate = done / max(now - started, 1e-9)
                    eta = (total - done) / rate
                    print(f"\r  {done}/{total} items  {rate:.1f} items/s  ETA {eta:.0f} s", end="",
                          file=sys.stderr, flush=True)

            counts = write_dataset(generator, args.out, args.items, Layout(args.layout), args.start,
                                   args.crop, None if args.json else progress)
            if not args.json:
                print(file=sys.stderr)
            summary.update(out=str(args.out), layout=args.layout, seed=args.seed, items=args.items,
                           counts=dict(sorted(counts.items())))
        elif args.demo_command == "catalog":
            write_catalog_file(catalog, args.out)
            summary.update(out=str(args.out), skus=len(catalog))
        elif args.demo_command == "manifest":
            entries = ReturnsGenerator(catalog, args.seed).manifest_for(args.items, args.start)
            write_manifest_file(entries, args.out)
            summary.update(out=str(args.out), rmas=len(entries), seed=args.seed)
        else:
            paths = write_reference_images(catalog, args.out)
            summary.update(out=str(args.out), images=len(paths))
    except (OSError, ValueError) as exc:
        print(f"station demo {args.demo_command}: {exc}", file=sys.stderr)
        return 1
    summary["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        print(json.dumps(summary))
    else:
        details = ", ".join(f"{k}={v}" for k, v in summary.items() if k != "action")
        print(f"demo {args.demo_command}: {details}")
    return 0
