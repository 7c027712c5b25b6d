"""`station restore FILE [--data-dir DIR] [--force]`: bring a `station backup` archive back."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from station.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "restore", help="restore a `station backup` archive into an empty data folder",
        description="Check every file of a `station backup` archive against its sha256, then restore the "
        "database into the data folder ([station] data_dir, or --data-dir) and the config, calibration and "
        "model manifests into its restored/ folder. A data folder a station is running on is refused; one "
        "that is not empty is refused unless --force (which replaces the database, keeping the old one "
        "beside it as station.db.before-restore-<time>, and the files of the backup, and keeps the rest).",
    )
    parser.add_argument("archive", type=Path, metavar="FILE", help="the archive `station backup` wrote")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="restore here instead of the config's [station] data_dir")
    parser.add_argument("--force", action="store_true",
                        help="restore into a data folder that is not empty (its database is kept aside)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    from station.backup import RESTORED, BackupError, restore_backup

    data_dir = args.data_dir.resolve() if args.data_dir is not None else config.data_dir
    try:
        summary = restore_backup(args.archive, data_dir, force=args.force)
    except (BackupError, OSError) as exc:
        print(f"station restore: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary.to_json()))
        return 0
    print(f"restored the backup of station {summary.station_id} made {summary.created_at} into {data_dir}: "
          f"{summary.verdicts} verdict revisions, every file matched its sha256")
    for path in summary.restored:
        print(f"  {path}")
    for path in summary.kept:
        print(f"The database this restore replaced is kept as {path}: delete it once you are sure none of "
              "its verdicts is needed.")
    print(f"The config, calibration and model manifests of the backup are in {data_dir / RESTORED}: "
          "copy them to where this PC's config expects them, then run `station doctor`.")
    return 0
