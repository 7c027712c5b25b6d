"""Retention: images and personal fields kept only as long as configured, disk never filled.

Runs inside the store's write transaction (see `Store.apply_retention`). Files are
deleted before their rows are marked, so a crash in between leaves a row whose file is
already gone — the next run marks it; never a row that claims a file that was erased
for privacy but still exists.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station.privacy import ERASED, PERSONAL_FIELDS, scrub_codes

__all__ = ["RetentionResult", "apply", "delete_frames", "disk_free_bytes", "erase_personal_codes"]

logger = logging.getLogger(__name__)

_DAY = 86400.0
_BATCH = 200
# A temp or unreferenced file younger than this may belong to a verdict being recorded now.
_ORPHAN_GRACE_S = 3600.0


@dataclass(frozen=True)
class RetentionResult:
    """What one retention run removed."""

    expired_frames: int = 0
    disk_frames: int = 0
    personal_erased: int = 0
    codes_erased: int = 0
    orphan_files: int = 0
    free_mb_after: float = 0.0
    disk_low: bool = False

    @property
    def changed(self) -> bool:
        """True when anything was removed."""
        return bool(self.expired_frames or self.disk_frames or self.personal_erased or self.codes_erased
                    or self.orphan_files)


def disk_free_bytes(folder: Path) -> int:
    """Free bytes on the file system holding `folder`."""
    return int(shutil.disk_usage(folder).free)


def delete_frames(conn: sqlite3.Connection, images_dir: Path, rows: Sequence[Sequence[Any]],
                  now: float) -> int:
    """Unlink the files of frame rows (id, path) and mark the rows deleted; returns how many rows."""
    for _frame_id, path in rows:
        if path:
            # Already gone is fine: an earlier run was interrupted, or it was removed by hand.
            with contextlib.suppress(FileNotFoundError):
                (images_dir / str(path)).unlink()
    conn.executemany("UPDATE frames SET deleted_ts = ? WHERE id = ?", [(now, r[0]) for r in rows])
    return len(rows)


def erase_personal_codes(conn: sqlite3.Connection, verdict_ids: Sequence[str], now: float) -> int:
    """Erase personal code texts of these items everywhere they are kept: every verdict revision,
    the code index and the outbox copies. Returns how many codes were erased."""
    erased = 0
    for verdict_id in verdict_ids:
        rows = conn.execute("SELECT revision, payload FROM verdicts WHERE verdict_id = ?",
                            (verdict_id,)).fetchall()
        for revision, payload in rows:
            data = json.loads(payload)
            before = [c["text"] for c in data["item"]["codes"]]
            if not scrub_codes(data):
                continue
            text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
            conn.execute("UPDATE verdicts SET payload = ? WHERE verdict_id = ? AND revision = ?",
                         (text, verdict_id, revision))
            conn.execute("UPDATE outbox SET payload = ? WHERE key = ?",
                         (text.encode("utf-8"), f"{verdict_id}:{revision}"))
            gone = [t for t, c in zip(before, data["item"]["codes"], strict=True) if c["text"] == ERASED != t]
            conn.executemany("UPDATE item_codes SET text = ? WHERE verdict_id = ? AND text = ?",
                             [(ERASED, verdict_id, t) for t in gone])
            if revision == 1:
                erased += len(gone)
        conn.execute("UPDATE items SET personal_erased_ts = ? WHERE verdict_id = ?", (now, verdict_id))
    return erased


def _sweep_orphans(conn: sqlite3.Connection, images_dir: Path, now: float) -> int:
    rows = conn.execute("SELECT path FROM frames WHERE deleted_ts IS NULL AND path IS NOT NULL")
    live = {str(r[0]) for r in rows}
    removed = 0
    for file in images_dir.rglob("*"):
        if not file.is_file():
            continue
        relative = file.relative_to(images_dir).as_posix()
        if relative in live:
            continue
        try:
            if now - file.stat().st_mtime < _ORPHAN_GRACE_S:
                continue
            file.unlink()
            removed += 1
        except FileNotFoundError:
            continue
    return removed


def apply(conn: sqlite3.Connection, images_dir: Path, now: float, image_days: int, personal_days: int,
          min_free_bytes: int, free_bytes: Callable[[Path], int]) -> RetentionResult:
    """One retention run: expired images, expired personal fields, orphans, then disk space."""
    expired = conn.execute(
        "SELECT id, path FROM frames WHERE deleted_ts IS NULL AND created_ts < ?", (now - image_days * _DAY,)
    ).fetchall()
    expired_count = delete_frames(conn, images_dir, expired, now)
    assignments = ", ".join(f"{f} = NULL" for f in PERSONAL_FIELDS)
    personal = conn.execute(
        f"UPDATE manifest SET {assignments}, personal_erased_ts = ? "
        "WHERE personal_erased_ts IS NULL AND created_ts < ?", (now, now - personal_days * _DAY)
    ).rowcount
    old_items = [str(r[0]) for r in conn.execute(
        "SELECT verdict_id FROM items WHERE personal_erased_ts IS NULL AND created_ts < ?",
        (now - personal_days * _DAY,))]
    codes = erase_personal_codes(conn, old_items, now)
    orphans = _sweep_orphans(conn, images_dir, now)
    disk_count = 0
    free = free_bytes(images_dir)
    while free < min_free_bytes:
        oldest = conn.execute(
            "SELECT id, path FROM frames WHERE deleted_ts IS NULL ORDER BY created_ts, id LIMIT ?", (_BATCH,)
        ).fetchall()
        if not oldest:
            logger.warning("disk nearly full (%.0f MB free, %.0f MB wanted) and no images left to delete",
                           free / 2**20, min_free_bytes / 2**20)
            break
        # Delete in small steps and re-measure: free space is what matters, not a count.
        for row in oldest:
            disk_count += delete_frames(conn, images_dir, [row], now)
            free = free_bytes(images_dir)
            if free >= min_free_bytes:
                break
    if expired_count or personal or codes or disk_count or orphans:
        logger.info("retention: %s expired images, %s for disk space, %s personal records and %s codes "
                    "erased, %s orphans", expired_count, disk_count, personal, codes, orphans)
    return RetentionResult(expired_count, disk_count, personal, codes, orphans, free / 2**20,
                           free < min_free_bytes)
