"""The database schema as numbered migrations, applied in order with a backup before each.

`schema_version` holds one row per applied migration. Opening a database that is behind
copies it first with SQLite's online backup API to `<db>.before-v<N>.bak` (beside it),
then applies each missing migration in its own transaction, so a failed migration leaves
the previous version intact and a copy to go back to. A database newer than this code
is refused rather than guessed at.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from sync import outbox
from vision.barcode.gs1 import gtin14

__all__ = ["LATEST_VERSION", "MIGRATIONS", "SchemaError", "current_version", "migrate"]

logger = logging.getLogger(__name__)


class SchemaError(RuntimeError):
    """The database cannot be brought to this code's schema; the message says why and what to do."""


_V1 = (
    """CREATE TABLE items(
        verdict_id TEXT PRIMARY KEY,
        session TEXT NOT NULL,
        seq INTEGER NOT NULL,
        station_id TEXT NOT NULL,
        controller_item_id INTEGER,
        rma TEXT,
        expected_sku TEXT,
        observed_sku TEXT,
        declared_reason TEXT,
        created_at TEXT NOT NULL,
        created_ts REAL NOT NULL)""",
    """CREATE TABLE verdicts(
        verdict_id TEXT NOT NULL REFERENCES items(verdict_id),
        revision INTEGER NOT NULL,
        grade TEXT NOT NULL,
        disposition TEXT NOT NULL,
        source TEXT NOT NULL,
        operator_id TEXT,
        override_reason TEXT,
        confidence REAL NOT NULL,
        decided_at TEXT NOT NULL,
        decided_ts REAL NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (verdict_id, revision))""",
    """CREATE TABLE frames(
        id INTEGER PRIMARY KEY,
        verdict_id TEXT NOT NULL REFERENCES items(verdict_id),
        camera TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        path TEXT,
        bytes INTEGER NOT NULL,
        created_ts REAL NOT NULL)""",
    """CREATE TABLE audit(
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL)""",
    """CREATE TABLE catalog(
        sku TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        width_mm REAL,
        height_mm REAL,
        depth_mm REAL,
        reference_image TEXT,
        embeddings BLOB,
        embedding_dim INTEGER,
        updated_ts REAL NOT NULL)""",
    """CREATE TABLE catalog_gtins(
        gtin14 TEXT PRIMARY KEY,
        sku TEXT NOT NULL REFERENCES catalog(sku) ON DELETE CASCADE)""",
    """CREATE TABLE manifest(
        rma TEXT PRIMARY KEY,
        expected_sku TEXT,
        declared_reason TEXT,
        customer_name TEXT,
        customer_address TEXT,
        created_ts REAL NOT NULL)""",
    "CREATE INDEX items_rma ON items(rma)",
    "CREATE INDEX items_created ON items(created_ts)",
)


def _gtin14_of(fmt: str | None, text: str | None) -> str | None:
    """GTIN-14 of an indexed code: SQL `station_gtin14(format, text)` of the v2 backfill, and v4."""
    return gtin14(text, fmt) if fmt and text else None


_V2 = (
    # Codes get their own table so the UI and reports can find an item by any GTIN or
    # code text without scanning every verdict's JSON.
    """CREATE TABLE item_codes(
        verdict_id TEXT NOT NULL REFERENCES items(verdict_id),
        format TEXT NOT NULL,
        text TEXT NOT NULL,
        gtin14 TEXT)""",
    "CREATE INDEX item_codes_gtin ON item_codes(gtin14)",
    "CREATE INDEX item_codes_text ON item_codes(text)",
    """INSERT INTO item_codes(verdict_id, format, text, gtin14)
        SELECT v.verdict_id, json_extract(c.value, '$.format'), json_extract(c.value, '$.text'),
               COALESCE(json_extract(c.value, '$.gs1."01"'),
                        station_gtin14(json_extract(c.value, '$.format'), json_extract(c.value, '$.text')))
        FROM verdicts v, json_each(v.payload, '$.item.codes') c WHERE v.revision = 1""",
    # Operator confirmations (one key at the bench) feed the training export.
    "ALTER TABLE items ADD COLUMN confirmed_by TEXT",
    "ALTER TABLE items ADD COLUMN confirmed_ts REAL",
    # Retention and purge keep the row (the business record) but say when the files went.
    "ALTER TABLE frames ADD COLUMN deleted_ts REAL",
    "CREATE INDEX frames_live ON frames(created_ts) WHERE deleted_ts IS NULL",
    "ALTER TABLE manifest ADD COLUMN personal_erased_ts REAL",
    "CREATE INDEX verdicts_decided ON verdicts(decided_ts)",
)

_V3 = (
    # Codes that may carry a customer's data (a shipping label's 2D code) are erased with
    # the personal fields; this says which items are done, so retention does not rescan.
    "ALTER TABLE items ADD COLUMN personal_erased_ts REAL",
)

Migration = Callable[[sqlite3.Connection], None]


def _statements(statements: tuple[str, ...]) -> Migration:
    def apply(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return apply


def _v1(conn: sqlite3.Connection) -> None:
    _statements(_V1)(conn)
    outbox.ensure_schema(conn)


def _v4(conn: sqlite3.Connection) -> None:
    """Every indexed code's GTIN-14 by `gtin14`, the rule a newly recorded code gets.

    Rows indexed under schemas 2 and 3 hold no GTIN for UPC-E codes, so such an item could
    not be found by the GTIN printed on it.
    """
    rows = conn.execute("SELECT rowid, format, text, gtin14 FROM item_codes").fetchall()
    changed = [(gtin, rowid) for rowid, fmt, text, old in rows if (gtin := _gtin14_of(fmt, text)) != old]
    conn.executemany("UPDATE item_codes SET gtin14 = ? WHERE rowid = ?", changed)
    logger.info("schema v4: GTIN-14 of %s of %s indexed codes recomputed", len(changed), len(rows))


# Index i holds migration number i + 1. Append only: a shipped migration never changes.
MIGRATIONS: tuple[Migration, ...] = (_v1, _statements(_V2), _statements(_V3), _v4)
LATEST_VERSION = len(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version of an open database (0 = empty)."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, applied_ts REAL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def _backup(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    target = path.with_name(f"{path.name}.before-v{version + 1}.bak")
    if target.exists():  # an earlier attempt failed after its backup: keep the first, untouched copy
        target = path.with_name(f"{path.name}.before-v{version + 1}.{int(time.time())}.bak")
    copy = sqlite3.connect(target)
    try:
        conn.backup(copy)
    finally:
        copy.close()
    target.chmod(0o600)
    return target


def migrate(conn: sqlite3.Connection, path: Path) -> list[Path]:
    """Bring the database at `path` (open as `conn`) to LATEST_VERSION; returns the backups made."""
    conn.create_function("station_gtin14", 2, _gtin14_of, deterministic=True)
    version = current_version(conn)
    conn.commit()
    if version > LATEST_VERSION:
        raise SchemaError(
            f"{path} has schema version {version}, newer than this software ({LATEST_VERSION}); "
            "install the newer station software or restore a backup"
        )
    backups: list[Path] = []
    fresh = version == 0  # a database created just now holds nothing worth a copy
    while version < LATEST_VERSION:
        if not fresh:
            backups.append(_backup(conn, path, version))
            logger.info("backed up %s (schema v%s) to %s", path, version, backups[-1])
        try:
            conn.execute("BEGIN IMMEDIATE")
            MIGRATIONS[version](conn)
            conn.execute("INSERT INTO schema_version(version, applied_ts) VALUES (?, ?)",
                         (version + 1, time.time()))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise SchemaError(
                f"{path}: migration to schema v{version + 1} failed ({exc}); the database is still at "
                f"v{version}" + (f", a copy is at {backups[-1]}" if backups else "")
            ) from exc
        version += 1
        logger.info("%s migrated to schema v%s", path, version)
    return backups
