"""Where central keeps evidence pictures and what a purge erases there.

Beside the verdicts (`sync.central_store`): with a SQLite database each picture is a file
`<site>/<station>/<YYYY>/<MM>/<DD>/<verdict_id>_<camera>.jpg` (day of receipt) under an
image folder (by default `<db name>-images/` beside the database), created 0600 in 0700
folders and fsynced (file and folder, once per batch) before it is acknowledged, with its
row in the `images` table; with PostgreSQL the bytes are a BYTEA column of that table. A
picture is keyed by (verdict_id, camera), so a resent copy is acknowledged and not stored
again.

A purge erases the pictures of its verdicts and the personal code texts of their stored
revisions (and of any conflicting copies), and leaves a row in `purges`; its verdicts are
remembered in `purged_verdicts`, so a picture of one that arrives later (it was already on
the wire when the station purged) is acknowledged but not kept.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sync.durable import fsync_dir
from sync.evidence import ImageMessage, PurgeMessage, erase_personal_codes
from sync.postgres import is_database_url, open_with_tables

__all__ = ["EvidenceStore", "ImagesDirError", "PurgeOutcome", "StoredImage", "default_images_dir",
           "images_dir_fix", "open_evidence_store", "read_image"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredImage:
    """What storing one picture did: `new` (False: already stored, or its verdict purged)."""

    new: bool
    purged: bool = False
    conflict: bool = False


@dataclass(frozen=True)
class PurgeOutcome:
    """What one purge erased (nothing when it was a repeat)."""

    repeat: bool
    images_erased: int = 0
    revisions_erased: int = 0


class EvidenceStore(Protocol):
    """Pictures in, purges carried out; each call durable when it returns."""

    def store_images(self, images: Sequence[tuple[ImageMessage, str, str]],
                     received_at: float) -> list[StoredImage]:
        """Keep pictures (image, site_id, station_id), durably, each unless it is kept already or
        its verdict was purged; one result per picture, in order."""
        ...

    def purge(self, purge: PurgeMessage, received_at: float) -> PurgeOutcome:
        """Erase the purge's pictures and personal fields, and record that it was done."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


def default_images_dir(db: Path) -> Path:
    """The image folder of a SQLite database: `<name>-images` beside it."""
    return db.with_name(f"{db.stem}-images")


def _erase_payload(payload: Any) -> str | None:
    """The payload with its personal code texts erased, as JSON text; None when nothing changed."""
    data = payload if isinstance(payload, dict) else json.loads(payload)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False) if erase_personal_codes(data) else None


# Tables whose rows name the station a verdict came from: a purge erases only its own station's.
_OWNED_TABLES = ("verdicts", "conflicts", "images")


def _own_ids(purge: PurgeMessage, foreign: set[str]) -> list[str]:
    """The purge's verdict ids without those `foreign` (stored from another station), logged.

    A station's purge topic is its own (the ACL); the ids in the payload are not vouched for by it.
    Erasing what they name without asking whose it is would let one dock erase another dock's
    evidence, and mark its verdicts purged so their pictures would never be kept.
    """
    if foreign:
        logger.warning("central: purge %s from %s/%s names %d verdicts of other stations (%s): those are "
                       "left as they are", purge.purge_id, purge.site_id, purge.station_id, len(foreign),
                       ", ".join(sorted(foreign)[:5]))
    return [v for v in purge.verdict_ids if v not in foreign]


_SQLITE_TABLES = (
    """CREATE TABLE IF NOT EXISTS images(
        verdict_id TEXT NOT NULL, camera TEXT NOT NULL, station_id TEXT NOT NULL, site_id TEXT NOT NULL,
        sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, path TEXT NOT NULL, received_at REAL NOT NULL,
        PRIMARY KEY (verdict_id, camera))""",
    """CREATE TABLE IF NOT EXISTS purges(
        purge_id TEXT PRIMARY KEY, rma TEXT NOT NULL, station_id TEXT NOT NULL, site_id TEXT NOT NULL,
        verdict_ids TEXT NOT NULL, at TEXT NOT NULL, images_erased INTEGER NOT NULL,
        revisions_erased INTEGER NOT NULL, received_at REAL NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS purged_verdicts(verdict_id TEXT PRIMARY KEY, purge_id TEXT NOT NULL)",
)
_POSTGRES_TABLES = (
    """CREATE TABLE IF NOT EXISTS images(
        verdict_id TEXT NOT NULL, camera TEXT NOT NULL, station_id TEXT NOT NULL, site_id TEXT NOT NULL,
        sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, data BYTEA NOT NULL,
        received_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (verdict_id, camera))""",
    """CREATE TABLE IF NOT EXISTS purges(
        purge_id TEXT PRIMARY KEY, rma TEXT NOT NULL, station_id TEXT NOT NULL, site_id TEXT NOT NULL,
        verdict_ids JSONB NOT NULL, at TEXT NOT NULL, images_erased INTEGER NOT NULL,
        revisions_erased INTEGER NOT NULL, received_at DOUBLE PRECISION NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS purged_verdicts(verdict_id TEXT PRIMARY KEY, purge_id TEXT NOT NULL)",
)
_IMAGE_COLUMNS = "verdict_id, camera, station_id, site_id, sha256, bytes"
# The columns each table must have: a table made by an earlier version is refused at start.
_POSTGRES_LAYOUT: dict[str, tuple[str, ...]] = {
    "images": (*_IMAGE_COLUMNS.split(", "), "data", "received_at"),
    "purges": ("purge_id", "rma", "station_id", "site_id", "verdict_ids", "at", "images_erased",
               "revisions_erased", "received_at"),
    "purged_verdicts": ("verdict_id", "purge_id"),
}


class ImagesDirError(RuntimeError):
    """Central cannot write its picture folder; the message says which and what to do."""


def images_dir_fix(folder: Path) -> str:
    """What to tell the person running central when a picture cannot be written under `folder`."""
    return (f"make {folder} writable by this user and check its disk has room (or give --images-dir "
            "another folder); the pictures are not acknowledged meanwhile, so their stations keep them and "
            "send them again")


def check_images_dir(folder: Path) -> None:
    """Write and remove one file in `folder` (made 0700 when missing), so that a folder central
    cannot write stops it at start with the reason, not at the first picture."""
    probe = folder / f".central-write-check-{os.getpid()}"
    try:
        if not folder.is_dir():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise ImagesDirError(f"cannot write the picture folder {folder}: {exc.strerror or exc} — make it "
                             "writable by this user (or give --images-dir a folder it may write) and start "
                             "central again") from exc


class SqliteEvidenceStore:
    """Pictures as files under `images_dir`, their rows and the purges in the SQLite database."""

    def __init__(self, db: Path, images_dir: Path) -> None:
        self.images_dir = images_dir
        check_images_dir(images_dir)
        self.conn = sqlite3.connect(db, timeout=30.0)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        with self.conn:
            for statement in _SQLITE_TABLES:
                self.conn.execute(statement)

    def _folder(self, relative: Path, created: set[Path]) -> Path:
        """images_dir/relative, made 0700 level by level; adds to `created` the parents whose
        entries changed (to fsync)."""
        current = self.images_dir
        if not current.is_dir():
            current.mkdir(mode=0o700, parents=True, exist_ok=True)
            current.chmod(0o700)
        for part in relative.parts:
            parent, current = current, current / part
            if not current.is_dir():
                current.mkdir(mode=0o700, exist_ok=True)
                current.chmod(0o700)
                created.add(parent)
        return current

    def store_images(self, images: Sequence[tuple[ImageMessage, str, str]],
                     received_at: float) -> list[StoredImage]:
        results: list[StoredImage] = []
        rows: list[tuple[Any, ...]] = []
        touched: set[Path] = set()
        batch: set[tuple[str, str]] = set()
        day = datetime.fromtimestamp(received_at, UTC)
        for image, site_id, station_id in images:
            if self.conn.execute("SELECT 1 FROM purged_verdicts WHERE verdict_id = ?",
                                 (image.verdict_id,)).fetchone():
                results.append(StoredImage(new=False, purged=True))
                continue
            row = self.conn.execute("SELECT sha256 FROM images WHERE verdict_id = ? AND camera = ?",
                                    (image.verdict_id, image.camera)).fetchone()
            if row is not None or (image.verdict_id, image.camera) in batch:
                results.append(StoredImage(new=False, conflict=row is not None and row[0] != image.sha256))
                continue
            batch.add((image.verdict_id, image.camera))
            # By station and day of receipt: folders stay small and few are created.
            relative = Path(site_id) / station_id / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
            folder = self._folder(relative, touched)
            name = f"{image.verdict_id}_{image.camera}.jpg"
            temp = folder / f".{name}.tmp"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, image.data)
                os.fsync(fd)  # the ack promises the picture survives a power cut
            finally:
                os.close(fd)
            os.replace(temp, folder / name)
            touched.add(folder)
            rows.append((image.verdict_id, image.camera, station_id, site_id, image.sha256, len(image.data),
                         (relative / name).as_posix(), received_at))
            results.append(StoredImage(new=True))
        # One fsync per folder and one commit per batch, not per picture.
        for folder in touched:
            fsync_dir(folder)
        with self.conn:
            self.conn.executemany(
                f"INSERT INTO images({_IMAGE_COLUMNS}, path, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows)
        return results

    def purge(self, purge: PurgeMessage, received_at: float) -> PurgeOutcome:
        if self.conn.execute("SELECT 1 FROM purges WHERE purge_id = ?", (purge.purge_id,)).fetchone():
            return PurgeOutcome(repeat=True)
        named = list(purge.verdict_ids)
        foreign = {row[0] for table in _OWNED_TABLES for row in self.conn.execute(
            f"SELECT verdict_id FROM {table} WHERE verdict_id IN ({','.join('?' * len(named))})"
            " AND NOT (station_id = ? AND site_id = ?)", [*named, purge.station_id, purge.site_id])}
        ids = _own_ids(purge, foreign)
        marks = ",".join("?" * len(ids))
        images = self.conn.execute(f"SELECT path FROM images WHERE verdict_id IN ({marks})",
                                   ids).fetchall() if ids else []
        revisions = 0
        with self.conn:
            for verdict_id in ids:
                for table, key in (("verdicts", "revision"), ("conflicts", "id")):
                    rows = self.conn.execute(f"SELECT {key}, payload FROM {table} WHERE verdict_id = ?",
                                             (verdict_id,)).fetchall()
                    for ident, payload in rows:
                        erased = _erase_payload(payload)
                        if erased is not None:
                            self.conn.execute(
                                f"UPDATE {table} SET payload = ? WHERE verdict_id = ? AND {key} = ?",
                                (erased, verdict_id, ident))
                            revisions += table == "verdicts"
            if ids:
                self.conn.execute(f"DELETE FROM images WHERE verdict_id IN ({marks})", ids)
            self.conn.executemany("INSERT OR IGNORE INTO purged_verdicts(verdict_id, purge_id) VALUES (?, ?)",
                                  [(v, purge.purge_id) for v in ids])
            self.conn.execute(
                "INSERT INTO purges(purge_id, rma, station_id, site_id, verdict_ids, at, images_erased,"
                " revisions_erased, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (purge.purge_id, purge.rma, purge.station_id, purge.site_id, json.dumps(ids), purge.at,
                 len(images), revisions, received_at))
        # Files after the commit: a crash in between leaves files no row names, never a row
        # that names an erased file; the rows say the purge is done.
        for (path,) in images:
            with contextlib.suppress(FileNotFoundError):
                (self.images_dir / str(path)).unlink()
        return PurgeOutcome(repeat=False, images_erased=len(images), revisions_erased=revisions)

    def close(self) -> None:
        self.conn.close()


class PostgresEvidenceStore:
    """Pictures as BYTEA rows, and the purges, in PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.db = open_with_tables(url, _POSTGRES_TABLES, _POSTGRES_LAYOUT)

    def store_images(self, images: Sequence[tuple[ImageMessage, str, str]],
                     received_at: float) -> list[StoredImage]:
        results: list[StoredImage] = []
        with self.db.transaction() as conn:
            for image, site_id, station_id in images:
                if conn.execute("SELECT 1 FROM purged_verdicts WHERE verdict_id = %s",
                                     (image.verdict_id,)).fetchone():
                    results.append(StoredImage(new=False, purged=True))
                    continue
                cursor = conn.execute(
                    f"INSERT INTO images({_IMAGE_COLUMNS}, data, received_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (verdict_id, camera) DO NOTHING",
                    (image.verdict_id, image.camera, station_id, site_id, image.sha256, len(image.data),
                     image.data, received_at))
                if cursor.rowcount == 1:
                    results.append(StoredImage(new=True))
                    continue
                row = conn.execute("SELECT sha256 FROM images WHERE verdict_id = %s AND camera = %s",
                                        (image.verdict_id, image.camera)).fetchone()
                results.append(StoredImage(new=False, conflict=row is not None and row[0] != image.sha256))
        return results

    def purge(self, purge: PurgeMessage, received_at: float) -> PurgeOutcome:
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM purges WHERE purge_id = %s", (purge.purge_id,)).fetchone():
                return PurgeOutcome(repeat=True)
            foreign = {row[0] for table in _OWNED_TABLES for row in conn.execute(
                f"SELECT verdict_id FROM {table} WHERE verdict_id = ANY(%s) AND NOT (station_id = %s AND"
                " site_id = %s)", (list(purge.verdict_ids), purge.station_id, purge.site_id)).fetchall()}
            ids = _own_ids(purge, foreign)
            revisions = 0
            for verdict_id in ids:
                for table, key in (("verdicts", "revision"), ("conflicts", "id")):
                    rows = conn.execute(f"SELECT {key}, payload FROM {table} WHERE verdict_id = %s",
                                             (verdict_id,)).fetchall()
                    for ident, payload in rows:
                        erased = _erase_payload(payload)
                        if erased is not None:
                            conn.execute(
                                f"UPDATE {table} SET payload = %s WHERE verdict_id = %s AND {key} = %s",
                                (erased, verdict_id, ident))
                            revisions += table == "verdicts"
            images = conn.execute("DELETE FROM images WHERE verdict_id = ANY(%s)", (ids,)).rowcount
            for verdict_id in ids:
                conn.execute("INSERT INTO purged_verdicts(verdict_id, purge_id) VALUES (%s, %s)"
                                  " ON CONFLICT DO NOTHING", (verdict_id, purge.purge_id))
            conn.execute(
                "INSERT INTO purges(purge_id, rma, station_id, site_id, verdict_ids, at, images_erased,"
                " revisions_erased, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (purge.purge_id, purge.rma, purge.station_id, purge.site_id, json.dumps(ids), purge.at,
                 images, revisions, received_at))
        return PurgeOutcome(repeat=False, images_erased=images, revisions_erased=revisions)

    def close(self) -> None:
        self.db.close()


def open_evidence_store(target: Path | str, images_dir: Path | None = None) -> EvidenceStore:
    """PostgreSQL for a postgres:// URL, else the SQLite file `target` with its image folder."""
    if is_database_url(target):
        return PostgresEvidenceStore(str(target))
    db = Path(target)
    return SqliteEvidenceStore(db, images_dir or default_images_dir(db))


def read_image(target: Path | str, verdict_id: str, camera: str,
               images_dir: Path | None = None) -> bytes | None:
    """The stored bytes of one picture (None when central holds none)."""
    if is_database_url(target):
        from sync.postgres import connect

        with connect(str(target)) as conn:
            row = conn.execute("SELECT data FROM images WHERE verdict_id = %s AND camera = %s",
                               (verdict_id, camera)).fetchone()
        return bytes(row[0]) if row else None
    db = Path(target)
    if not db.is_file():
        raise FileNotFoundError(f"no central database at {db}")
    with contextlib.closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        try:
            row = conn.execute("SELECT path FROM images WHERE verdict_id = ? AND camera = ?",
                               (verdict_id, camera)).fetchone()
        except sqlite3.OperationalError:  # a database that never received a picture
            return None
    if row is None:
        return None
    return ((images_dir or default_images_dir(db)) / str(row[0])).read_bytes()
