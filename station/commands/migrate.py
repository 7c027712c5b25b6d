"""`station migrate [--check]`: bring the database to this software's schema, or try it on a copy."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

from station.config import Config
from station.store.schema import LATEST_VERSION, SchemaError, current_version, migrate


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "migrate",
        help="bring the database to this software's schema (--check: on a copy, the database untouched)",
        description="Apply the schema migrations this software has and the database lacks, each after "
        "a backup beside the database (the station also does it when it starts). --check runs them on "
        "a copy and says whether they pass: `station upgrade` asks the new release so before it switches.",
    )
    parser.add_argument("--check", action="store_true", help="migrate a copy only; exit 1 if that fails")
    parser.add_argument("--json", action="store_true", help="the result as one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    path = config.in_data_dir(config.storage.db_path)
    result: dict[str, object] = {"database": str(path), "software_schema": LATEST_VERSION,
                                 "check": args.check}
    if not path.is_file():
        result.update(ok=True, schema=None, message="no database yet: it is created at the first start")
        return _report(result, args.json)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        before = int(source.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0)
    except sqlite3.Error:
        before = 0
    try:
        if args.check:
            with tempfile.TemporaryDirectory(prefix="station-migrate-") as folder:
                copy_path = Path(folder) / path.name
                copy = sqlite3.connect(copy_path)
                try:
                    source.backup(copy)  # one committed state, even while a station records
                    migrate(copy, copy_path)
                    after = current_version(copy)
                finally:
                    copy.close()
        else:
            source.close()
            conn = sqlite3.connect(path)
            try:
                backups = migrate(conn, path)
                after = current_version(conn)
            finally:
                conn.close()
            result["backups"] = [str(b) for b in backups]
    except SchemaError as exc:
        result.update(ok=False, schema=before, message=str(exc))
        return _report(result, args.json)
    finally:
        source.close()
    result.update(ok=True, schema=before, migrated_to=after,
                  message=f"schema v{before} to v{after}: " + ("passes on a copy" if args.check else "done"))
    return _report(result, args.json)


def _report(result: dict[str, object], as_json: bool) -> int:
    if as_json:
        print(json.dumps(result))
    else:
        print(f"station migrate: {result['database']}: {result['message']}",
              file=sys.stdout if result["ok"] else sys.stderr)
    return 0 if result["ok"] else 1
