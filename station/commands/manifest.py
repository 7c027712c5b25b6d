"""`station manifest import FILE` / `station manifest show RMA`: the expected returns (RMAs)."""

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
    parser = sub.add_parser("manifest", help="expected returns: RMAs with expected SKU and declared reason")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import", help="add or update RMAs from a CSV or JSON file (all rows or none)",
        description="CSV columns: rma, expected_sku, optional declared_reason (unopened, defective, damaged, "
                    "wrong_item, no_longer_needed), customer_name, customer_address. JSON: a list of objects "
                    "with the same keys.")
    imp.add_argument("file", type=Path, metavar="FILE", help=".csv or .json file")
    imp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    imp.set_defaults(handler=run)
    show = actions.add_parser("show", help="print one RMA (without the customer's personal fields)")
    show.add_argument("rma", metavar="RMA")
    show.add_argument("--json", action="store_true", help="one JSON object on stdout")
    show.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    from station.catalog import ImportFileError, read_manifest
    from station.datadir import not_writable
    from station.store import SchemaError, Store, StoreError, StoreReader

    if args.action == "show":
        # Showing only reads: it works on a read-only data folder too, and creates no database.
        try:
            with StoreReader(config.in_data_dir(config.storage.db_path)) as reader:
                return _show(args, reader)
        except (StoreError, SchemaError) as exc:
            return refuse("manifest", exc)
    problem = not_writable(config.data_dir, config.in_data_dir(config.storage.db_path))
    if problem:
        print(f"station manifest: {problem}", file=sys.stderr)
        return 1
    try:
        store = Store.from_config(config)
    except (StoreError, SchemaError) as exc:
        return refuse("manifest", exc)
    try:
        try:
            entries = read_manifest(args.file)
        except ImportFileError as exc:
            print(f"station manifest import: {exc}", file=sys.stderr)
            return 1
        count = store.upsert_manifest(entries, actor=f"import:{args.file.name}")
        if args.json:
            print(json.dumps({"file": str(args.file), "rmas": count}))
        else:
            print(f"imported {count} RMAs from {args.file} into {store.path}")
        return 0
    finally:
        store.close()


def _show(args: argparse.Namespace, reader: StoreReader) -> int:
    entry = reader.manifest_entry(args.rma)
    if entry is None:
        print(f"station manifest show: RMA {args.rma} is not in the manifest; import it with "
              "`station manifest import FILE`", file=sys.stderr)
        return 1
    info = {"rma": entry.rma, "expected_sku": entry.expected_sku,
            "declared_reason": entry.declared_reason.value if entry.declared_reason else None,
            "personal_fields": "present" if entry.customer_name or entry.customer_address else "none"}
    print_record(info, args.json)
    return 0
