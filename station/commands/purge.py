"""`station purge --rma R`: erase one customer's data (images, name, address), with an audit entry."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from station.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("purge", help="erase one customer's images and personal fields (by RMA)")
    parser.add_argument("--rma", required=True, help="the RMA whose customer data is erased")
    parser.add_argument("--actor", default=None,
                        help="who asked for it, for the audit log (default: your login)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    from station.store import SchemaError, Store, StoreError

    try:
        store = Store.from_config(config)
    except (StoreError, SchemaError) as exc:
        print(f"station purge: {exc}", file=sys.stderr)
        return 1
    try:
        result = store.purge_rma(args.rma, args.actor or getpass.getuser())
    finally:
        store.close()
    if args.json:
        print(json.dumps({"rma": result.rma, "items": result.items, "frames_deleted": result.frames_deleted,
                          "manifest_erased": result.manifest_erased}))
    elif not result.items and not result.manifest_erased:
        print(f"RMA {args.rma}: nothing stored for it (no item, not in the manifest); audit entry written")
    else:
        print(f"RMA {args.rma}: erased {result.frames_deleted} images of {result.items} items"
              + (" and the customer's name and address" if result.manifest_erased else ""))
    return 0
