"""Where the central receiver keeps verdicts: a SQLite file, or PostgreSQL when given a URL.

Both keep one row per (verdict_id, revision) — a repeat is not stored again — a table of
rejected messages, and a table of conflicts: a verdict whose (verdict_id, revision) is already
stored with a different payload is kept there, never over the first one. A batch is one
transaction; it is durable when `store()` returns (SQLite synchronous=FULL, PostgreSQL's
commit), which is when the receiver may ack. The SQLite file is created 0600 (its -wal and
-shm follow): it holds every station's verdicts.
PostgreSQL needs the `psycopg` package (the `central` extra: `pip install '.[central]'`).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sync.postgres import is_database_url, open_with_tables

__all__ = ["Rejected", "StoreResult", "StoredVerdict", "VerdictStore", "ensure_central_schema",
           "open_verdict_store"]

logger = logging.getLogger(__name__)

# (topic, payload, reason, received_at) of a message that is not a valid verdict
Rejected = tuple[str, bytes, str, float]

_COLUMNS = ("verdict_id, revision, station_id, site_id, session, seq, grade, disposition, decided_at, "
            "payload, received_at")


@dataclass(frozen=True)
class StoredVerdict:
    """One valid verdict of a batch, as central stores it."""

    verdict_id: str
    revision: int
    station_id: str
    site_id: str
    session: str
    seq: int
    grade: str
    disposition: str
    decided_at: str
    payload: str
    received_at: float

    @classmethod
    def from_json(cls, verdict: dict[str, Any], payload: str, received_at: float) -> StoredVerdict:
        """From a verdict that passed `validate_verdict`."""
        return cls(verdict["verdict_id"], verdict["revision"], verdict["station_id"], verdict["site_id"],
                   verdict["session"], verdict["seq"], verdict["decision"]["grade"],
                   verdict["decision"]["disposition"], verdict["decided_at"], payload, received_at)

    def values(self) -> tuple[Any, ...]:
        return (self.verdict_id, self.revision, self.station_id, self.site_id, self.session, self.seq,
                self.grade, self.disposition, self.decided_at, self.payload, self.received_at)


@dataclass(frozen=True)
class StoreResult:
    """What one `store()` did: how many verdicts were new, and which repeats carried a payload
    other than the stored one (kept in the `conflicts` table)."""

    new: int
    conflicts: list[StoredVerdict] = field(default_factory=list)


class VerdictStore(Protocol):
    """A batch in, durable, and how many of its verdicts were new (the rest were repeats)."""

    def store(self, verdicts: list[StoredVerdict], rejected: list[Rejected]) -> StoreResult:
        """Store in one transaction; says how many verdicts were not stored before."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


def ensure_central_schema(conn: sqlite3.Connection) -> None:
    """Create central's SQLite tables: one row per verdict revision, and the rejected messages."""
    # A rowid table with a unique key rather than WITHOUT ROWID: rows carry the whole
    # ~1.5 kB payload, and SQLite's WITHOUT ROWID B-tree is meant for small rows (measured:
    # 20 us per inserted verdict against 10 us). A file made with the earlier layout keeps
    # it and works the same.
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS verdicts(
            id INTEGER PRIMARY KEY,
            verdict_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            station_id TEXT NOT NULL,
            site_id TEXT NOT NULL,
            session TEXT NOT NULL,
            seq INTEGER NOT NULL,
            grade TEXT NOT NULL,
            disposition TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            payload TEXT NOT NULL,
            received_at REAL NOT NULL,
            UNIQUE (verdict_id, revision)
        )
        """
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS rejected(id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
        " payload BLOB NOT NULL, reason TEXT NOT NULL, received_at REAL NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS conflicts(id INTEGER PRIMARY KEY AUTOINCREMENT, verdict_id TEXT NOT NULL,"
        " revision INTEGER NOT NULL, station_id TEXT NOT NULL, site_id TEXT NOT NULL, payload TEXT NOT NULL,"
        " received_at REAL NOT NULL)"
    )
    conn.commit()


def _conflicting(verdicts: list[StoredVerdict], stored: dict[tuple[str, int], Any]) -> list[StoredVerdict]:
    """The verdicts of a batch whose key is stored with another payload."""
    return [v for v in verdicts
            if (kept := stored.get((v.verdict_id, v.revision))) is not None and not _same(kept, v.payload)]


def _same(kept: Any, payload: str) -> bool:
    # Compared as JSON when the text differs: PostgreSQL gives its JSONB back normalised.
    if kept == payload:
        return True
    try:
        return bool((kept if isinstance(kept, dict) else json.loads(kept)) == json.loads(payload))
    except ValueError:
        return False


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only, when there is none; SQLite gives its -wal
    and -shm files the same mode. A folder where the file should be is refused."""
    if path.is_dir():
        raise sqlite3.OperationalError("it is a folder, not a database file")
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _narrow(path: Path) -> None:
    """An existing database (checked to be one) made readable by its owner only, its -wal and -shm
    too: it holds every station's verdicts."""
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if name.stat().st_mode & 0o077:
                os.chmod(name, 0o600)
                logger.info("central: %s made readable by its owner only (0600)", name)
        except FileNotFoundError:
            continue


class SqliteVerdictStore:
    """Central's verdicts in a SQLite file (WAL, synchronous=FULL: an ack promises durability)."""

    def __init__(self, path: Path) -> None:
        _create_private(path)
        self.conn = sqlite3.connect(path, timeout=30.0)
        try:
            # Reading the schema fails at once on a file that is not SQLite: refused as it was found,
            # its permissions untouched.
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error:
            self.conn.close()
            raise
        _narrow(path)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        ensure_central_schema(self.conn)

    def store(self, verdicts: list[StoredVerdict], rejected: list[Rejected]) -> StoreResult:
        conflicts: list[StoredVerdict] = []
        with self.conn:
            before = self.conn.total_changes
            self.conn.executemany(
                f"INSERT INTO verdicts({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(verdict_id, revision) DO NOTHING",
                [verdict.values() for verdict in verdicts],
            )
            # A repeat changes nothing, so the change count is the number of new rows.
            new = self.conn.total_changes - before
            if new < len(verdicts):  # repeats: only then is the stored payload read back
                stored = {(v.verdict_id, v.revision): self.conn.execute(
                    "SELECT payload FROM verdicts WHERE verdict_id = ? AND revision = ?",
                    (v.verdict_id, v.revision)).fetchone()[0] for v in verdicts}
                conflicts = _conflicting(verdicts, stored)
                self.conn.executemany(
                    "INSERT INTO conflicts(verdict_id, revision, station_id, site_id, payload, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(v.verdict_id, v.revision, v.station_id, v.site_id, v.payload, v.received_at)
                     for v in conflicts])
            self.conn.executemany(
                "INSERT INTO rejected(topic, payload, reason, received_at) VALUES (?, ?, ?, ?)", rejected)
        return StoreResult(new, conflicts)

    def close(self) -> None:
        self.conn.close()


_POSTGRES_TABLES = (
    """CREATE TABLE IF NOT EXISTS verdicts(
        verdict_id TEXT NOT NULL, revision INTEGER NOT NULL, station_id TEXT NOT NULL,
        site_id TEXT NOT NULL, session TEXT NOT NULL, seq BIGINT NOT NULL, grade TEXT NOT NULL,
        disposition TEXT NOT NULL, decided_at TEXT NOT NULL, payload JSONB NOT NULL,
        received_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (verdict_id, revision))""",
    "CREATE TABLE IF NOT EXISTS rejected(id BIGSERIAL PRIMARY KEY, topic TEXT NOT NULL,"
    " payload BYTEA NOT NULL, reason TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS conflicts(id BIGSERIAL PRIMARY KEY, verdict_id TEXT NOT NULL,"
    " revision INTEGER NOT NULL, station_id TEXT NOT NULL, site_id TEXT NOT NULL,"
    " payload JSONB NOT NULL, received_at DOUBLE PRECISION NOT NULL)",
)


# The columns each table must have: a table made by an earlier version is refused at start.
_POSTGRES_LAYOUT: dict[str, tuple[str, ...]] = {
    "verdicts": tuple(_COLUMNS.split(", ")),
    "rejected": ("topic", "payload", "reason", "received_at"),
    "conflicts": ("verdict_id", "revision", "station_id", "site_id", "payload", "received_at"),
}


class PostgresVerdictStore:
    """Central's verdicts in PostgreSQL (`postgresql://user:pass@host:port/db`)."""

    def __init__(self, url: str) -> None:
        self.db = open_with_tables(url, _POSTGRES_TABLES, _POSTGRES_LAYOUT)

    def store(self, verdicts: list[StoredVerdict], rejected: list[Rejected]) -> StoreResult:
        new = 0
        stored: dict[tuple[str, int], Any] = {}
        with self.db.transaction() as conn:
            for verdict in verdicts:
                cursor = conn.execute(
                    f"INSERT INTO verdicts({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (verdict_id, revision) DO NOTHING",
                    verdict.values(),
                )
                if cursor.rowcount == 1:
                    new += 1
                    stored[(verdict.verdict_id, verdict.revision)] = verdict.payload
                else:
                    row = conn.execute(
                        "SELECT payload FROM verdicts WHERE verdict_id = %s AND revision = %s",
                        (verdict.verdict_id, verdict.revision)).fetchone()
                    stored[(verdict.verdict_id, verdict.revision)] = row[0] if row else None
            conflicts = _conflicting(verdicts, stored)
            for v in conflicts:
                conn.execute(
                    "INSERT INTO conflicts(verdict_id, revision, station_id, site_id, payload, received_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    (v.verdict_id, v.revision, v.station_id, v.site_id, v.payload, v.received_at))
            for row in rejected:
                conn.execute(
                    "INSERT INTO rejected(topic, payload, reason, received_at) VALUES (%s, %s, %s, %s)", row)
        return StoreResult(new, conflicts)

    def close(self) -> None:
        self.db.close()


def open_verdict_store(target: Path | str) -> VerdictStore:
    """A PostgreSQL store for a postgres:// or postgresql:// URL, else a SQLite file at `target`."""
    text = str(target)
    if is_database_url(text):
        return PostgresVerdictStore(text)
    return SqliteVerdictStore(Path(target))
