"""`station backup --out FILE [--with-models]`: the station's record, config, calibration and model
manifests in one archive, consistent while the station runs (see station/backup.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from station.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "backup",
        help="one archive of the database, config, calibration and model manifests (safe while running)",
        description="Write one archive (.tar.gz) of this station: its SQLite database (an online copy, "
        "consistent while the station runs), the enrolled SKU references, the config file, each camera's "
        "calibration and the models' manifests (the model files too with --with-models), with a manifest "
        "of every file's sha256. Images are not included. `station restore FILE` brings it back.",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="the archive to write")
    parser.add_argument("--with-models", action="store_true", help="also the model files (model.onnx)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    from station.backup import BackupError, create_backup
    from station.store import UnusableDatabaseError

    try:
        summary = create_backup(config, args.out, with_models=args.with_models)
    except UnusableDatabaseError as exc:
        print(f"station backup: {exc}", file=sys.stderr)
        return 2
    except (BackupError, OSError) as exc:
        print(f"station backup: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary.to_json()))
    else:
        size = summary.archive.stat().st_size
        print(f"backup written to {summary.archive} ({size / 1e6:.1f} MB): {summary.verdicts} verdict "
              f"revisions, {len(summary.members)} files")
        for member in summary.members:
            print(f"  {member.name:40} {member.size:>12} bytes  sha256 {member.sha256[:16]}…")
    return 0
