"""The outbox table as the station's store uses it: inside the caller's transaction."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sync import outbox


def _conn(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    outbox.ensure_schema(conn)
    conn.commit()
    return conn


def test_enqueue_commits_with_the_callers_transaction(tmp_path: Path) -> None:
    db = tmp_path / "station.db"
    conn = _conn(db)
    conn.execute("CREATE TABLE verdicts(id TEXT PRIMARY KEY)")
    conn.commit()
    conn.execute("INSERT INTO verdicts VALUES ('v1')")
    row_id = outbox.enqueue(conn, "verdict", "v1:1", b"{}")
    other = sqlite3.connect(db)
    assert other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0  # not committed yet
    conn.rollback()
    assert other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    conn.execute("INSERT INTO verdicts VALUES ('v1')")
    row_id = outbox.enqueue(conn, "verdict", "v1:1", b"{}")
    conn.commit()
    assert other.execute("SELECT id, key FROM outbox").fetchall() == [(row_id, "v1:1")]


def test_duplicate_key_is_ignored_and_returns_the_existing_row(tmp_path: Path) -> None:
    conn = _conn(tmp_path / "station.db")
    first = outbox.enqueue(conn, "verdict", "v1:1", b"a")
    second = outbox.enqueue(conn, "verdict", "v1:2", b"b")
    again = outbox.enqueue(conn, "verdict", "v1:1", b"changed")
    conn.commit()
    assert again == first != second
    rows = outbox.pending(conn, 0, 10)
    assert [(r.key, r.payload) for r in rows] == [("v1:1", b"a"), ("v1:2", b"b")]


def test_delivered_rows_leave_the_backlog(tmp_path: Path) -> None:
    conn = _conn(tmp_path / "station.db")
    for i in range(5):
        outbox.enqueue(conn, "verdict", f"v{i}:1", b"x")
    conn.commit()
    assert outbox.backlog(conn)[0] == 5
    assert outbox.mark_delivered(conn, ["v1:1", "v3:1", "v3:1", "nope:1"], 1.0) == 2
    conn.commit()
    count, oldest = outbox.backlog(conn)
    assert count == 3 and oldest is not None
    assert [r.key for r in outbox.pending(conn, 0, 10)] == ["v0:1", "v2:1", "v4:1"]
    assert [r.key for r in outbox.pending(conn, 3, 10)] == ["v4:1"]
