"""`station purge --rma R`: erase one customer's data (images, name, address), with an audit entry.
`station purge --expired`: apply the retention rules of [storage] now (the station also does at start)."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys

from station.commands._store import refuse
from station.config import Config


def _rma(text: str) -> str:
    """An RMA number as typed, blanks around it dropped; empty is refused before anything is opened."""
    rma = text.strip()
    if not rma:
        raise argparse.ArgumentTypeError("the RMA is empty: give the RMA number, e.g. --rma R-1042")
    return rma


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("purge", help="erase one customer's data (by RMA), or everything past retention")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--rma", type=_rma,
                      help="the RMA whose customer data (images, name, address) is erased")
    what.add_argument("--expired", action="store_true",
                      help="delete images and personal fields past [storage] retention, free disk space")
    parser.add_argument("--actor", default=None,
                        help="who asked for it, for the audit log (default: your login)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    from station.datadir import not_writable
    from station.store import SchemaError, Store, StoreError

    problem = not_writable(config.data_dir, config.in_data_dir(config.storage.db_path))
    if problem:
        print(f"station purge: {problem}", file=sys.stderr)
        return 1
    try:
        store = Store.from_config(config)
    except (StoreError, SchemaError) as exc:
        return refuse("purge", exc)
    try:
        if args.expired:
            retention = store.apply_retention()
            if args.json:
                print(json.dumps(dataclasses.asdict(retention)))
            else:
                print(f"deleted {retention.expired_frames} expired images, {retention.disk_frames} more "
                      f"for disk space, {retention.orphan_files} orphan files; erased "
                      f"{retention.personal_erased} customers' personal fields; "
                      f"{retention.free_mb_after:.0f} MB free")
            return 0
        result = store.purge_rma(args.rma, args.actor or getpass.getuser())
    finally:
        store.close()
    if not result.items and not result.manifest_erased:
        # Most often a typo in the RMA: the customer's data may still be stored under the right one.
        problem = (f"no such RMA {args.rma!r}: no item and no manifest entry has it, nothing was erased "
                   "(the request is in the audit log); check the RMA number")
        if args.json:
            print(json.dumps({**dataclasses.asdict(result), "error": problem}))
        print(f"station purge: {problem}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(dataclasses.asdict(result)))
    else:
        print(f"RMA {args.rma}: erased {result.frames_deleted} images and {result.codes_erased} label codes "
              f"of {result.items} items"
              + (" and the customer's name and address" if result.manifest_erased else "")
              + ("; central will be told to erase its copies" if result.purge_id else ""))
    return 0
