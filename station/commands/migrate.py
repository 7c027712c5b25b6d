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

# Exit statuses: 1 the migration (or its check) fails; 2 the file is no station database; 3 a station
# runs on the data folder (as `station run` says when it is refused).
FAILED, UNUSABLE, IN_USE = 1, 2, 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "migrate",
        help="bring the database to this software's schema (--check: on a copy, the database untouched)",
        description="Apply the schema migrations this software has and the database lacks, each after "
        "a backup beside the database (the station also does it when it starts); refused while a "
        "station runs on the data folder. --check runs them on a copy and says whether they pass (it "
        "works while the station runs): `station upgrade` asks the new release so before it switches.",
    )
    parser.add_argument("--check", action="store_true", help="migrate a copy only; exit 1 if that fails")
    parser.add_argument("--json", action="store_true", help="the result as one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    from station.datadir import not_writable
    from station.datalock import DataLock, DataLockError
    from station.store import UnusableDatabaseError, database_problem, open_database

    path = config.in_data_dir(config.storage.db_path)
    result: dict[str, object] = {"database": str(path), "software_schema": LATEST_VERSION,
                                 "check": args.check}
    problem = database_problem(path)
    if problem:
        result.update(ok=False, schema=None, message=problem)
        return _report(result, args.json, UNUSABLE)
    if not path.is_file():
        result.update(ok=True, schema=None, message="no database yet: it is created at the first start")
        return _report(result, args.json)
    try:
        if args.check:
            return _check(path, result, args.json)
        open_database(path, readonly=True).close()  # refused before anything is locked or written
    except UnusableDatabaseError as exc:
        result.update(ok=False, schema=None, message=str(exc))
        return _report(result, args.json, UNUSABLE)
    problem = not_writable(config.data_dir, path)
    if problem:
        result.update(ok=False, schema=None, message=problem)
        return _report(result, args.json, FAILED)
    # The station migrates when it starts, and a running one must not have its schema changed
    # under it: hold its data folder's lock, as `station run` does.
    lock = DataLock(config.data_dir)
    try:
        lock.acquire()
    except DataLockError as exc:
        result.update(ok=False, schema=None, message=(
            f"refusing to migrate: a station is running on the data folder {config.data_dir} "
            f"({exc.holder.describe()}) — stop it first; it migrates the database itself when it starts, "
            "and `station migrate --check` tries the migration on a copy meanwhile"))
        return _report(result, args.json, IN_USE)
    except OSError as exc:
        result.update(ok=False, schema=None, message=(
            f"cannot lock the data folder {config.data_dir} ({exc.strerror or exc}) — check that it is "
            "writable, or set [station] data_dir"))
        return _report(result, args.json, IN_USE)
    try:
        return _migrate(path, result, args.json)
    except UnusableDatabaseError as exc:
        result.update(ok=False, schema=None, message=str(exc))
        return _report(result, args.json, UNUSABLE)
    finally:
        lock.release()


def _version(conn: sqlite3.Connection) -> int:
    """The schema version of a database as it is, without creating anything (0: none yet)."""
    try:
        return int(conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0)
    except sqlite3.OperationalError:  # no schema_version table: an empty database
        return 0


def _check(path: Path, result: dict[str, object], as_json: bool) -> int:
    """Migrate a copy (one committed state, even while a station records); the database untouched."""
    from station.store import open_database

    source = open_database(path, readonly=True)  # a read-only data folder is fine for a check
    try:
        before = _version(source)
        with tempfile.TemporaryDirectory(prefix="station-migrate-") as folder:
            copy_path = Path(folder) / path.name
            copy = sqlite3.connect(copy_path)
            try:
                source.backup(copy)
                migrate(copy, copy_path)
                after = current_version(copy)
            except SchemaError as exc:
                result.update(ok=False, schema=before, message=str(exc))
                return _report(result, as_json, FAILED)
            finally:
                copy.close()
    except sqlite3.Error as exc:
        result.update(ok=False, schema=None, message=f"cannot read {path} to check it ({exc})")
        return _report(result, as_json, FAILED)
    finally:
        source.close()
    result.update(ok=True, schema=before, migrated_to=after, message=f"schema v{before} to v{after}: passes "
                  "on a copy")
    return _report(result, as_json)


def _migrate(path: Path, result: dict[str, object], as_json: bool) -> int:
    from station.store import open_database

    conn = open_database(path, readonly=False)
    try:
        before = _version(conn)
        try:
            backups = migrate(conn, path)
            after = current_version(conn)
        except SchemaError as exc:
            result.update(ok=False, schema=before, message=str(exc))
            return _report(result, as_json, FAILED)
    except sqlite3.Error as exc:
        result.update(ok=False, schema=None, message=f"cannot migrate {path} ({exc}); restore the last "
                      "backup with `station restore` if the station does not start on it")
        return _report(result, as_json, FAILED)
    finally:
        conn.close()
    result["backups"] = [str(b) for b in backups]
    result.update(ok=True, schema=before, migrated_to=after, message=f"schema v{before} to v{after}: done")
    return _report(result, as_json)


def _report(result: dict[str, object], as_json: bool, code: int = 0) -> int:
    if as_json:
        print(json.dumps(result))
    else:
        message = str(result["message"])
        where = "" if str(result["database"]) in message else f"{result['database']}: "
        print(f"station migrate: {where}{message}", file=sys.stdout if result["ok"] else sys.stderr)
    return code
