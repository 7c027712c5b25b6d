"""Retention and privacy on real files: expired images and personal fields go, the oldest
images go first when the disk is nearly full, and one customer's data can be erased."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from station.catalog import ManifestEntry
from station.privacy import ERASED
from station.store import FrameImage, Store
from station.verdict import CodeRead, Disposition, Verdict

DAY = 86400.0


def files(store: Store) -> set[str]:
    return {p.relative_to(store.images_dir).as_posix() for p in store.images_dir.rglob("*.jpg")}


def test_images_older_than_retention_are_deleted_and_marked(
    store: Store, make_verdict: Callable[..., Verdict], frame: np.ndarray
) -> None:
    kept = store.record_verdict(make_verdict(1), [FrameImage("top", frame)])
    assert store.apply_retention(now=time.time() + 29 * DAY).expired_frames == 0
    result = store.apply_retention(now=time.time() + 31 * DAY)
    assert result.expired_frames == 1
    assert files(store) == set()
    assert store.frame_paths(kept.verdict_id) == []
    # The verdict itself (the business record) stays.
    assert store.get_verdict(kept.verdict_id) == kept
    assert store.audit_log(action="retention")


def test_personal_fields_are_erased_after_their_retention(store: Store) -> None:
    store.upsert_manifest([ManifestEntry("R-1", "SKU-A", None, "Ada Lovelace", "12 Analytical Row")])
    store.apply_retention(now=time.time() + 89 * DAY)
    entry = store.manifest_entry("R-1")
    assert entry is not None and entry.customer_name == "Ada Lovelace"
    assert store.apply_retention(now=time.time() + 91 * DAY).personal_erased == 1
    entry = store.manifest_entry("R-1")
    assert entry is not None and entry.customer_name is None and entry.customer_address is None
    assert entry.expected_sku == "SKU-A"  # the business part of the record stays


def test_oldest_images_are_deleted_first_when_the_disk_is_nearly_full(
    tmp_path: Path, make_verdict: Callable[..., Verdict], frame: np.ndarray
) -> None:
    images = tmp_path / "images"
    # The disk is the edge of the machine: a 'disk' of fixed size holding the image folder.
    disk_size = 10 * 2**20

    def free(folder: Path) -> int:
        return disk_size - sum(p.stat().st_size for p in images.rglob("*") if p.is_file())

    store = Store(tmp_path / "s.db", images, 90, min_free_disk_mb=1, free_bytes=free)
    recorded = [store.record_verdict(make_verdict(i), [FrameImage("top", frame)]) for i in range(6)]
    one = next(images.rglob("*.jpg")).stat().st_size
    # Shrink the disk so that exactly three images must go to reach 1 MB free.
    disk_size = 2**20 + sum(p.stat().st_size for p in images.rglob("*.jpg")) - 3 * one + one // 2
    store.conn.executemany("UPDATE frames SET created_ts = ? WHERE verdict_id = ?",
                           [(time.time() - 3600 + i, v.verdict_id) for i, v in enumerate(recorded)])
    result = store.apply_retention(now=time.time())
    assert result.disk_frames == 3 and not result.disk_low
    assert [bool(store.frame_paths(v.verdict_id)) for v in recorded] == [False] * 3 + [True] * 3
    store.close()


def test_purge_erases_one_customers_images_and_personal_fields(
    store: Store, make_verdict: Callable[..., Verdict], frame: np.ndarray
) -> None:
    store.upsert_manifest([ManifestEntry("R-1", "SKU-A", None, "Ada", "1 Way"),
                           ManifestEntry("R-2", "SKU-B", None, "Grace", "2 Way")])
    mine = store.record_verdict(make_verdict(1, rma="R-1"),
                                [FrameImage("top", frame), FrameImage("side", frame)])
    other = store.record_verdict(make_verdict(2, rma="R-2"), [FrameImage("top", frame)])
    result = store.purge_rma("R-1", "dpo@site-01")
    assert (result.items, result.frames_deleted, result.manifest_erased) == (1, 2, True)
    assert store.frame_paths(mine.verdict_id) == []
    others = store.frame_paths(other.verdict_id)
    assert len(others) == 1 and others[0][1].exists()
    assert files(store) == {other.inspection.images[0].path}
    gone, kept = store.manifest_entry("R-1"), store.manifest_entry("R-2")
    assert gone is not None and gone.customer_name is None and gone.customer_address is None
    assert kept is not None and kept.customer_name == "Grace"
    entry = store.audit_log(action="purge")[0]
    assert entry.actor == "dpo@site-01" and json.loads(entry.detail)["rma"] == "R-1"


def test_orphan_files_from_an_interrupted_record_are_swept(store: Store, frame: np.ndarray,
                                                           make_verdict: Callable[..., Verdict]) -> None:
    live = store.record_verdict(make_verdict(), [FrameImage("top", frame)])
    orphan = store.images_dir / "2026" / "01" / "01" / ".x_top.jpg.tmp"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half a jpeg")
    assert store.apply_retention(now=time.time()).orphan_files == 0  # too young: may be in flight
    assert store.apply_retention(now=time.time() + 2 * 3600).orphan_files == 1
    assert not orphan.exists()
    assert store.frame_paths(live.verdict_id)[0][1].exists()


def test_label_codes_that_may_hold_an_address_are_erased_with_the_customer(
    store: Store, make_verdict: Callable[..., Verdict]
) -> None:
    codes = (CodeRead("EAN13", "4006381333931"), CodeRead("Code128", "R-1"),
             CodeRead("PDF417", "ADA LOVELACE\n12 ANALYTICAL ROW"),
             CodeRead("DataMatrix", "(01)04006381333931(21)SN42", {"01": "04006381333931", "21": "SN42"}))
    mine = store.record_verdict(make_verdict(1, rma="R-1", codes=codes))
    store.record_override(mine.verdict_id, Disposition.REPAIR, "op-1", "dent")
    other = store.record_verdict(make_verdict(2, rma="R-2", codes=(CodeRead("QRCode", "GRACE HOPPER"),)))
    assert store.purge_rma("R-1", "dpo").codes_erased == 1
    for revision in store.history(mine.verdict_id):
        assert [c.text for c in revision.item.codes] == [
            "4006381333931", "R-1", ERASED, "(01)04006381333931(21)SN42"]
    payloads = [bytes(r[0]).decode() for r in store.conn.execute("SELECT payload FROM outbox")]
    assert not any("LOVELACE" in p for p in payloads) and any("GRACE HOPPER" in p for p in payloads)
    assert store.recent(search="ADA LOVELACE\n12 ANALYTICAL ROW") == []
    # Retention does the same for every item once personal data is past its time.
    result = store.apply_retention(now=time.time() + 91 * DAY)
    assert result.codes_erased == 1
    assert store.get_verdict(other.verdict_id).item.codes[0].text == ERASED  # type: ignore[union-attr]
