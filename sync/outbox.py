"""The outbox table: the station enqueues inside its verdict transaction, sync reads and marks.

The station's `record` stage writes a verdict and its outbox row in one SQLite
transaction, so a verdict is never stored without the message that announces it (and the
other way round). The publisher then works from this table alone: rows are delivered in
`id` order, `published_at` / `attempts` say when a row last went to the broker and how
often (written with its delivery, or once it has waited a second for its ack), and
`delivered_at` is set only when the central receiver has acknowledged it.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass

__all__ = [
    "IMAGE_KIND",
    "OutboxRow",
    "backlog",
    "enqueue",
    "ensure_schema",
    "lane_backlog",
    "mark_delivered",
    "mark_flights_delivered",
    "mark_published",
    "pending",
    "record_sends",
    "unknown_keys",
]

logger = logging.getLogger(__name__)

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS outbox(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        key TEXT NOT NULL UNIQUE,
        payload BLOB NOT NULL,
        created_at REAL NOT NULL,
        published_at REAL,
        delivered_at REAL,
        attempts INTEGER NOT NULL DEFAULT 0
    )
    """,
    # The publisher only ever scans undelivered rows; a partial index keeps that scan
    # proportional to the backlog, not to the station's whole history.
    "CREATE INDEX IF NOT EXISTS outbox_undelivered ON outbox(id) WHERE delivered_at IS NULL",
    # Pictures travel behind verdicts, each lane read on its own: this index keeps both reads
    # proportional to what they return, however many pictures wait (the expression must be
    # written exactly so in `pending`).
    "CREATE INDEX IF NOT EXISTS outbox_lanes ON outbox(kind = 'image', id) WHERE delivered_at IS NULL",
)

IMAGE_KIND = "image"
"""`kind` of an evidence picture's row: it goes out behind every other row (see `pending`)."""


@dataclass(frozen=True)
class OutboxRow:
    """One message waiting for (or past) delivery."""

    id: int
    kind: str
    key: str
    payload: bytes
    created_at: float
    attempts: int


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the outbox table and its index if they are missing (no commit of its own)."""
    for statement in _SCHEMA:
        conn.execute(statement)


def enqueue(conn: sqlite3.Connection, kind: str, key: str, payload: bytes) -> int:
    """Insert one message and return its row id; no commit — the caller's transaction commits it.

    `key` is unique (for verdicts `f"{verdict_id}:{revision}"`): enqueuing the same key
    again is ignored and returns the id of the row already there.
    """
    cursor = conn.execute(
        "INSERT OR IGNORE INTO outbox(kind, key, payload, created_at) VALUES (?, ?, ?, ?)",
        (kind, key, sqlite3.Binary(payload), time.time()),
    )
    if cursor.rowcount == 1 and cursor.lastrowid is not None:
        return int(cursor.lastrowid)
    row = conn.execute("SELECT id FROM outbox WHERE key = ?", (key,)).fetchone()
    logger.debug("outbox key %s already queued as row %s; ignored", key, row[0])
    return int(row[0])


def pending(conn: sqlite3.Connection, after_id: int, limit: int, *,
            images: bool | None = None) -> list[OutboxRow]:
    """Undelivered rows with `id > after_id`, oldest first, at most `limit`: every kind (None),
    only pictures (`images=True`) or everything but pictures (False)."""
    if images is None:
        rows = conn.execute(
            "SELECT id, kind, key, payload, created_at, attempts FROM outbox"
            " WHERE delivered_at IS NULL AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT id, kind, key, payload, created_at, attempts FROM outbox"
            " WHERE delivered_at IS NULL AND (kind = 'image') = ? AND id > ? ORDER BY id LIMIT ?",
            (int(images), after_id, limit),
        ).fetchall()
    return [OutboxRow(int(r[0]), str(r[1]), str(r[2]), bytes(r[3]), float(r[4]), int(r[5])) for r in rows]


# One UPDATE per chunk of keys rather than per key (acks of rows no longer in flight come in batches).
_CHUNK = 500


def mark_published(conn: sqlite3.Connection, ids: list[int], when: float) -> None:
    """Record that these rows went to the broker (once more); no commit."""
    record_sends(conn, [(row_id, when, 1) for row_id in ids])


def mark_flights_delivered(conn: sqlite3.Connection, flights: list[tuple[int, float, int]],
                           when: float) -> int:
    """Mark rows delivered and record their sends in the same write; returns rows changed. No commit.

    `flights` holds `(row id, last sent at, sends not yet counted in attempts)`. Rows are
    ~1.5 kB, so every UPDATE rewrites a page per row or two: the publisher records a send
    here, with the delivery, rather than in a write of its own.
    """
    before = conn.total_changes
    conn.executemany(
        "UPDATE outbox SET delivered_at = ?, published_at = ?, attempts = attempts + ?"
        " WHERE id = ? AND delivered_at IS NULL",
        [(when, sent_at, sends, row_id) for row_id, sent_at, sends in flights],
    )
    return conn.total_changes - before


def record_sends(conn: sqlite3.Connection, flights: list[tuple[int, float, int]]) -> None:
    """Record sends of rows still waiting for their ack: `(row id, last sent at, sends)`. No commit."""
    conn.executemany(
        "UPDATE outbox SET published_at = ?, attempts = attempts + ? WHERE id = ?",
        [(sent_at, sends, row_id) for row_id, sent_at, sends in flights],
    )


def mark_delivered(conn: sqlite3.Connection, keys: list[str], when: float) -> int:
    """Mark the rows with these keys delivered (acknowledged by central); returns rows changed. No commit."""
    changed = 0
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start:start + _CHUNK]
        cursor = conn.execute(
            "UPDATE outbox SET delivered_at = ?"
            f" WHERE key IN ({','.join('?' * len(chunk))}) AND delivered_at IS NULL",
            (when, *chunk),
        )
        changed += cursor.rowcount
    return changed


def unknown_keys(conn: sqlite3.Connection, keys: list[str]) -> list[str]:
    """Those of `keys` that no outbox row has, in their order: an ack naming one acknowledges
    nothing (central built the key wrongly, or acked another station's row)."""
    unique = list(dict.fromkeys(keys))
    known: set[str] = set()
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start:start + _CHUNK]
        known.update(row[0] for row in conn.execute(
            f"SELECT key FROM outbox WHERE key IN ({','.join('?' * len(chunk))})", chunk))
    return [key for key in unique if key not in known]


def backlog(conn: sqlite3.Connection) -> tuple[int, float | None]:
    """Number of undelivered rows and the `created_at` of the oldest (None when empty)."""
    # Both answered from the partial index: the count without reading rows, the oldest
    # by the lowest id (ids grow with time), so a long outage's backlog stays cheap to watch.
    count = conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
    oldest = conn.execute(
        "SELECT created_at FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT 1"
    ).fetchone()
    return int(count), (float(oldest[0]) if oldest is not None else None)


def lane_backlog(conn: sqlite3.Connection, images: bool) -> tuple[int, float | None]:
    """`backlog` of one lane: the pictures (`images=True`) or every other row."""
    where = "delivered_at IS NULL AND (kind = 'image') = ?"
    count = conn.execute(f"SELECT COUNT(*) FROM outbox WHERE {where}", (int(images),)).fetchone()[0]
    oldest = conn.execute(f"SELECT created_at FROM outbox WHERE {where} ORDER BY id LIMIT 1",
                          (int(images),)).fetchone()
    return int(count), (float(oldest[0]) if oldest is not None else None)
