"""`station dataset export --since DATE --out DIR`: confirmed and overridden items as training folders."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from station.commands._args import whole
from station.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("dataset", help="training data from the items operators confirmed or overrode")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export", help="write OUT/defect/<class>/ and OUT/conformity/<sku>/, most uncertain first",
        description="Train with `station train defect --data OUT/defect` and "
                    "`station train conformity --data OUT/conformity`.")
    export.add_argument("--since", default=None,
                        help="items recorded since: today, 2026-11-24, 2026-11-24T08:00, 7d")
    export.add_argument("--out", type=Path, required=True, help="folder to write")
    export.add_argument("--into-existing", action="store_true",
                        help="write into an OUT that already holds files; what is there stays and "
                             "`station train` will read it too (default: refuse a non-empty OUT)")
    export.add_argument("--limit", type=whole(1, example="500"), default=None,
                        help="at most this many items (most uncertain)")
    export.add_argument("--json", action="store_true", help="one JSON object on stdout")
    export.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    from station.commands._outputs import check_folder, writing
    from station.dataset_export import export_dataset
    from station.kpi import parse_since
    from station.store import StoreError, StoreReader

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        print(f"station dataset export: {exc}", file=sys.stderr)
        return 2
    if args.out.exists() and not args.out.is_dir():
        print(f"station dataset export: {args.out} is a file, not a folder: pass a new or empty folder "
              "as --out", file=sys.stderr)
        return 1
    check_folder(args.out, fix="pass a new or empty folder you may write as --out")
    if args.out.is_dir() and any(args.out.iterdir()) and not args.into_existing:
        # Old images would be trained on as if they were this export's.
        print(f"station dataset export: {args.out} is not empty: pass a new or empty folder as --out, "
              "or add --into-existing to add this export to what is there", file=sys.stderr)
        return 1
    try:
        reader = StoreReader(config.in_data_dir(config.storage.db_path),
                             config.in_data_dir(config.storage.images_dir))
    except StoreError as exc:
        print(f"station dataset export: {exc}", file=sys.stderr)
        return 1
    with reader, writing(args.out, fix=f"free space or fix what the message says, delete {args.out} "
                                        "(the export in it is incomplete) and export again"):
        result = export_dataset(reader, args.out, since, args.limit)
    if args.json:
        print(json.dumps({"out": str(args.out), "items": result.items, "files": result.files,
                          "defect_classes": result.defect_classes, "skus": result.skus,
                          "skipped_no_frames": result.skipped_no_frames,
                          "not_settled": result.not_settled, "in_review": result.in_review}))
    else:
        print(f"exported {result.items} items ({result.files} files) to {args.out}")
        print(f"  defect classes: {result.defect_classes or '-'}")
        print(f"  SKUs: {len(result.skus)}; "
              f"items whose images are gone (retention): {result.skipped_no_frames}")
        if result.not_settled:
            items = "1 item" if result.not_settled == 1 else f"{result.not_settled} items"
            print(f"  left out: {items} no operator confirmed or overrode (only an "
                  "operator's word is a label to train on: confirm or override items at the bench)")
        if result.in_review:
            items = "1 item" if result.in_review == 1 else f"{result.in_review} items"
            print(f"  left out: {items} settled as manual review or quarantine (no condition or product "
                  "to learn: override them to restock, repair or recycle to train on them)")
    return 0
