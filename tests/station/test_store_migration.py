"""Schema migrations: a v1 database built by hand (as the first release wrote it) is backed up,
then brought to the latest schema with its data usable; a newer database is refused."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from station.store import LATEST_VERSION, SchemaError, Store
from station.verdict import CodeRead, Verdict

# The schema as release 1 created it — written out here on purpose, not imported, so a
# later edit of the migrations cannot silently change what "an old database" means.
V1_SQL = """
CREATE TABLE schema_version(version INTEGER PRIMARY KEY, applied_ts REAL);
INSERT INTO schema_version VALUES (1, 0);
CREATE TABLE items(verdict_id TEXT PRIMARY KEY, session TEXT NOT NULL, seq INTEGER NOT NULL,
    station_id TEXT NOT NULL, controller_item_id INTEGER, rma TEXT, expected_sku TEXT, observed_sku TEXT,
    declared_reason TEXT, created_at TEXT NOT NULL, created_ts REAL NOT NULL);
CREATE TABLE verdicts(verdict_id TEXT NOT NULL REFERENCES items(verdict_id), revision INTEGER NOT NULL,
    grade TEXT NOT NULL, disposition TEXT NOT NULL, source TEXT NOT NULL, operator_id TEXT,
    override_reason TEXT,
    confidence REAL NOT NULL, decided_at TEXT NOT NULL, decided_ts REAL NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (verdict_id, revision));
CREATE TABLE frames(id INTEGER PRIMARY KEY, verdict_id TEXT NOT NULL REFERENCES items(verdict_id),
    camera TEXT NOT NULL, sha256 TEXT NOT NULL, path TEXT, bytes INTEGER NOT NULL, created_ts REAL NOT NULL);
CREATE TABLE audit(id INTEGER PRIMARY KEY, ts REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    detail TEXT NOT NULL);
CREATE TABLE catalog(sku TEXT PRIMARY KEY, name TEXT NOT NULL, width_mm REAL, height_mm REAL, depth_mm REAL,
    reference_image TEXT, embeddings BLOB, embedding_dim INTEGER, updated_ts REAL NOT NULL);
CREATE TABLE catalog_gtins(gtin14 TEXT PRIMARY KEY,
    sku TEXT NOT NULL REFERENCES catalog(sku) ON DELETE CASCADE);
CREATE TABLE manifest(rma TEXT PRIMARY KEY, expected_sku TEXT, declared_reason TEXT, customer_name TEXT,
    customer_address TEXT, created_ts REAL NOT NULL);
CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL UNIQUE,
    payload BLOB NOT NULL, created_at REAL NOT NULL, published_at REAL, delivered_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0);
"""


# What schemas 2 and 3 added, as those releases wrote it (same reason as V1_SQL).
V2_V3_SQL = """
INSERT INTO schema_version VALUES (2, 0);
INSERT INTO schema_version VALUES (3, 0);
CREATE TABLE item_codes(verdict_id TEXT NOT NULL REFERENCES items(verdict_id), format TEXT NOT NULL,
    text TEXT NOT NULL, gtin14 TEXT);
CREATE INDEX item_codes_gtin ON item_codes(gtin14);
CREATE INDEX item_codes_text ON item_codes(text);
ALTER TABLE items ADD COLUMN confirmed_by TEXT;
ALTER TABLE items ADD COLUMN confirmed_ts REAL;
ALTER TABLE frames ADD COLUMN deleted_ts REAL;
CREATE INDEX frames_live ON frames(created_ts) WHERE deleted_ts IS NULL;
ALTER TABLE manifest ADD COLUMN personal_erased_ts REAL;
CREATE INDEX verdicts_decided ON verdicts(decided_ts);
ALTER TABLE items ADD COLUMN personal_erased_ts REAL;
"""


def make_v1(path: Path, verdict: Verdict) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_SQL)
    payload = json.dumps(verdict.to_json())
    conn.execute("INSERT INTO items VALUES (?, ?, ?, 'dock-01', 17, 'R-77', 'SKU-A', 'SKU-A', NULL, ?, ?)",
                 (verdict.verdict_id, verdict.session, verdict.seq, "2026-01-01T00:00:00.000Z",
                  verdict.created_at.timestamp()))
    conn.execute("INSERT INTO verdicts VALUES (?, 1, 'A', 'restock', 'auto', NULL, NULL, 0.9, ?, ?, ?)",
                 (verdict.verdict_id, "2026-01-01T00:00:00.000Z", verdict.created_at.timestamp(), payload))
    conn.execute("INSERT INTO manifest VALUES ('R-77', 'SKU-A', 'unopened', 'Ada', '1 Way', 0)")
    conn.commit()
    conn.close()


def test_v1_database_is_backed_up_then_migrated_with_its_data(
    tmp_path: Path, make_verdict: Callable[..., Verdict]
) -> None:
    db = tmp_path / "station.db"
    old = make_verdict(rma="R-77", gtin="4006381333931")
    make_v1(db, old)

    store = Store(db, tmp_path / "images")
    # One copy before each migration, each taken from the version before it.
    expected = [f"station.db.before-v{n}.bak" for n in range(2, LATEST_VERSION + 1)]
    assert [p.name for p in store.backups] == expected
    backup = sqlite3.connect(store.backups[0])
    assert backup.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
    assert backup.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 1
    backup.close()
    assert store.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == LATEST_VERSION
    # The new code index was back-filled from the old verdicts: the old item is found by its GTIN.
    assert [v.verdict_id for v in store.recent(search="04006381333931")] == [old.verdict_id]
    # New columns work on old rows.
    store.confirm(old.verdict_id, "op-1")
    store.purge_rma("R-77", "op-1")
    erased = store.manifest_entry("R-77")
    assert erased is not None and erased.customer_name is None
    new = store.record_verdict(make_verdict(rma="R-78"))
    assert store.get_verdict(new.verdict_id) == new
    store.close()

    again = Store(db, tmp_path / "images")  # already current: no second backup
    assert again.backups == []
    again.close()


def make_v3(path: Path, verdict: Verdict, indexed: list[tuple[str, str, str | None]]) -> None:
    """A v3 database holding one verdict whose codes were indexed as (format, text, gtin14)."""
    make_v1(path, verdict)
    conn = sqlite3.connect(path)
    conn.executescript(V2_V3_SQL)
    conn.executemany("INSERT INTO item_codes VALUES (?, ?, ?, ?)",
                     [(verdict.verdict_id, *row) for row in indexed])
    conn.commit()
    conn.close()


def test_v4_fills_the_gtin_of_upc_e_codes_indexed_without_one(
    tmp_path: Path, make_verdict: Callable[..., Verdict]
) -> None:
    db = tmp_path / "station.db"
    codes = (CodeRead("UPCE", "04252614"), CodeRead("Code128", "R-77"),
             CodeRead("DataMatrix", "(01)09501101530003(21)SN7", {"01": "09501101530003", "21": "SN7"}))
    old = make_verdict(rma="R-77", codes=codes)
    # The rows as the v3 software indexed them: a UPC-E got no GTIN.
    make_v3(db, old, [("UPCE", "04252614", None), ("Code128", "R-77", None),
                      ("DataMatrix", "(01)09501101530003(21)SN7", "09501101530003")])

    store = Store(db, tmp_path / "images")
    assert [p.name for p in store.backups] == ["station.db.before-v4.bak"]
    indexed = store.conn.execute("SELECT format, gtin14 FROM item_codes ORDER BY rowid").fetchall()
    assert indexed == [("UPCE", "00042100005264"), ("Code128", None), ("DataMatrix", "09501101530003")]
    for search in ("00042100005264", "042100005264", "04252614", "09501101530003"):
        assert [v.verdict_id for v in store.recent(search=search)] == [old.verdict_id], search
    store.close()
    backup = sqlite3.connect(tmp_path / "station.db.before-v4.bak")
    assert backup.execute("SELECT gtin14 FROM item_codes WHERE format = 'UPCE'").fetchone() == (None,)
    backup.close()


def test_a_database_from_newer_software_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "station.db"
    Store(db, tmp_path / "images").close()
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_version VALUES (?, 0)", (LATEST_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="newer than this software"):
        Store(db, tmp_path / "images")


def test_a_failing_migration_leaves_the_old_version_and_the_backup(
    tmp_path: Path, make_verdict: Callable[..., Verdict]
) -> None:
    db = tmp_path / "station.db"
    make_v1(db, make_verdict())
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE item_codes(x)")  # in the way of migration 2
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="still at v1") as info:
        Store(db, tmp_path / "images")
    assert "before-v2.bak" in str(info.value)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0] == 1
    conn.close()
