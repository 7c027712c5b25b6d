"""`station central image --db DB VERDICT_ID CAMERA --out FILE`: one evidence picture as central keeps it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from station.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `image` under `station central`."""
    parser = sub.add_parser(
        "image", help="write one evidence picture central received to a file",
        description="Look up the picture a station sent for VERDICT_ID from CAMERA in central's database "
                    "and write its bytes (a JPEG, exactly as the station stored it) to --out.")
    parser.add_argument("--db", required=True, help="central's SQLite file, or a postgresql:// URL")
    parser.add_argument("--images-dir", type=Path, default=None,
                        help="central's picture folder (default: <db name>-images beside a SQLite db)")
    parser.add_argument("verdict_id", help="the verdict the picture belongs to")
    parser.add_argument("camera", help="the camera that took it, e.g. top")
    parser.add_argument("--out", type=Path, required=True, help="file to write the JPEG to ('-' = stdout)")
    parser.set_defaults(handler=run, log_to_file=False)


def run(args: argparse.Namespace, config: Config) -> int:
    from sync.central import hide_db_password, shown_db
    from sync.central_evidence import read_image
    from sync.postgres import mistyped_db_url

    if (mistyped := mistyped_db_url(str(args.db))) is not None:
        print(f"station central image: {mistyped}", file=sys.stderr)
        return 2
    try:
        data = read_image(args.db, args.verdict_id, args.camera, args.images_dir)
    except Exception as exc:  # sqlite3 / psycopg errors alike: a missing file, a refused login
        text = " ".join(hide_db_password(str(exc), args.db).split())
        print(f"station central image: cannot read the picture from {shown_db(args.db)}: {text}",
              file=sys.stderr)
        return 1
    if data is None:
        print(f"station central image: central holds no picture of verdict {args.verdict_id} from camera "
              f"{args.camera} (not sent yet, not sent by the station's [sync] images policy, or purged)",
              file=sys.stderr)
        return 1
    if str(args.out) == "-":
        sys.stdout.buffer.write(data)
        return 0
    # Evidence of a customer's return: readable by this user only, like central's own copy.
    try:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except OSError as exc:
        print(f"station central image: cannot write {args.out}: {exc.strerror or exc} — give a file in a "
              "writable folder, or '-' for stdout", file=sys.stderr)
        return 1
    print(f"{args.out}: {len(data)} bytes")
    return 0
