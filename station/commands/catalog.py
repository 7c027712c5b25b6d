"""`station catalog import FILE` / `station catalog show SKU`: the product catalog in the station's DB."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from station.cli_output import print_record
from station.commands._store import refuse
from station.config import Config

if TYPE_CHECKING:
    from station.store import StoreReader


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("catalog", help="the product catalog: SKUs with GTINs, names, sizes")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import", help="add or update SKUs from a CSV or JSON file (all rows or none)",
        description="CSV columns: sku, name, gtins (separated by ';'), optional width_mm, height_mm, "
                    "depth_mm, reference_image. JSON: a list of objects with the same keys "
                    "(gtins may be a list, embeddings a list of float lists).")
    imp.add_argument("file", type=Path, metavar="FILE", help=".csv or .json file")
    imp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    imp.set_defaults(handler=run)
    show = actions.add_parser("show", help="print one SKU (or the SKU of a GTIN)")
    show.add_argument("key", metavar="SKU|GTIN")
    show.add_argument("--json", action="store_true", help="one JSON object on stdout")
    show.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    from station.catalog import ImportFileError, read_catalog
    from station.datadir import not_writable
    from station.store import SchemaError, Store, StoreError, StoreReader

    if args.action == "show":
        # Showing only reads: it works on a read-only data folder too.
        try:
            with StoreReader(config.in_data_dir(config.storage.db_path)) as reader:
                return _show(args, reader)
        except (StoreError, SchemaError) as exc:
            return refuse("catalog", exc)
    problem = not_writable(config.data_dir, config.in_data_dir(config.storage.db_path))
    if problem:
        print(f"station catalog import: {problem}", file=sys.stderr)
        return 1
    try:
        store = Store.from_config(config)
    except (StoreError, SchemaError) as exc:
        return refuse("catalog", exc)
    try:
        if args.action == "import":
            try:
                entries = read_catalog(args.file)
            except ImportFileError as exc:
                print(f"station catalog import: {exc}", file=sys.stderr)
                return 1
            count = store.upsert_catalog(entries, actor=f"import:{args.file.name}")
            gtins = sum(len(e.gtins) for e in entries)
            if args.json:
                print(json.dumps({"file": str(args.file), "skus": count, "gtins": gtins}))
            else:
                print(f"imported {count} SKUs ({gtins} GTINs) from {args.file} into {store.path}")
        return 0
    finally:
        store.close()


def _show(args: argparse.Namespace, store: StoreReader) -> int:
    from vision.barcode.gs1 import gtin14

    gtin = gtin14(args.key)  # a key that is no valid GTIN is taken as a SKU
    sku = (store.sku_for_gtin(gtin) if gtin else None) or args.key
    entry = store.catalog_entry(sku)
    if entry is None:
        print(f"station catalog show: {args.key} is not in the catalog; import it with "
              "`station catalog import FILE`", file=sys.stderr)
        return 1
    info = {"sku": entry.sku, "name": entry.name, "gtins": list(entry.gtins),
            "dimensions_mm": list(entry.dimensions_mm) if entry.dimensions_mm else None,
            "reference_image": entry.reference_image, "embeddings": len(entry.embeddings)}
    print_record(info, args.json)
    return 0
