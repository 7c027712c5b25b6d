"""The store on a real SQLite file: verdict + frames + outbox row in one transaction,
overrides as revisions with audit entries, search, catalog and manifest."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from station.catalog import CatalogEntry, ManifestEntry
from station.lookup import CatalogLookup
from station.policy import RmaRecord
from station.store import FrameImage, Store, StoreError, StoreReader
from station.verdict import CodeRead, DeclaredReason, Disposition, Routing, Verdict


def count(store: Store, table: str) -> int:
    return int(store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_record_writes_item_verdict_frames_and_outbox_row(
    store: Store, make_verdict: Callable[..., Verdict], frame: np.ndarray
) -> None:
    verdict = make_verdict()
    stored = store.record_verdict(verdict, [FrameImage("top", frame), FrameImage("side", frame)])
    assert [i.camera for i in stored.inspection.images] == ["top", "side"]
    for ref in stored.inspection.images:
        path = store.images_dir / str(ref.path)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == ref.sha256
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.images_dir.stat().st_mode) == 0o700
    for name in ("station.db", "station.db-wal", "station.db-shm"):
        assert stat.S_IMODE((store.path.parent / name).stat().st_mode) == 0o600, name
    key, kind, payload = store.conn.execute("SELECT key, kind, payload FROM outbox").fetchone()
    assert key == f"{verdict.verdict_id}:1" and kind == "verdict"
    assert json.loads(payload) == stored.to_json()
    assert store.get_verdict(verdict.verdict_id) == stored
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_failing_outbox_insert_leaves_no_half_item(
    store: Store, make_verdict: Callable[..., Verdict]
) -> None:
    # A trigger makes the very last insert of the transaction fail, as a full disk would.
    store.conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        store.record_verdict(make_verdict())
    assert [count(store, t) for t in ("items", "verdicts", "item_codes", "outbox")] == [0, 0, 0, 0]
    store.conn.execute("DROP TRIGGER refuse")
    store.record_verdict(make_verdict())
    assert [count(store, t) for t in ("items", "verdicts", "outbox")] == [1, 1, 1]


def test_recording_twice_or_a_later_revision_is_refused(
    store: Store, make_verdict: Callable[..., Verdict]
) -> None:
    verdict = make_verdict()
    store.record_verdict(verdict)
    with pytest.raises(StoreError, match="already recorded"):
        store.record_verdict(verdict)
    with pytest.raises(StoreError, match="revision 2"):
        store.record_verdict(verdict.override(Disposition.REPAIR, "op-1", "dent"))
    assert count(store, "outbox") == 1


def test_override_adds_revision_outbox_row_and_audit_entry(
    store: Store, make_verdict: Callable[..., Verdict]
) -> None:
    verdict = store.record_verdict(make_verdict(late=True))
    second = store.record_override(verdict.verdict_id, Disposition.REPAIR, "op-7", "scratch on the lid")
    third = store.record_override(verdict.verdict_id, Disposition.RECYCLE, "op-9", "battery swollen")
    assert [v.revision for v in store.history(verdict.verdict_id)] == [1, 2, 3]
    assert store.get_verdict(verdict.verdict_id) == third
    assert store.get_verdict(verdict.verdict_id, revision=2) == second
    assert third.routing == verdict.routing  # an override never re-routes
    keys = [r[0] for r in store.conn.execute("SELECT key FROM outbox ORDER BY id")]
    assert keys == [f"{verdict.verdict_id}:{n}" for n in (1, 2, 3)]
    entries = store.audit_log(action="override")
    assert [e.actor for e in entries] == ["op-9", "op-7"]
    assert json.loads(entries[1].detail) == {
        "verdict_id": verdict.verdict_id, "revision": 2, "from": "restock", "to": "repair",
        "reason": "scratch on the lid"}
    with pytest.raises(StoreError, match="no verdict"):
        store.record_override("01a20f8f-1d14-7099-a4e7-c33ee5a373f0", Disposition.REPAIR, "op-7", "x")


def test_recent_finds_items_by_rma_gtin_and_disposition(
    store: Store, make_verdict: Callable[..., Verdict]
) -> None:
    a = store.record_verdict(make_verdict(1, rma="R-1", gtin="4006381333931"))
    b = store.record_verdict(make_verdict(2, rma="R-2", gtin="5012345678900"))
    store.record_override(a.verdict_id, Disposition.QUARANTINE, "op-1", "wrong colour")
    assert [v.verdict_id for v in store.recent()] == [b.verdict_id, a.verdict_id]
    assert [v.verdict_id for v in store.recent(search="R-2")] == [b.verdict_id]
    assert [v.verdict_id for v in store.recent(search="04006381333931")] == [a.verdict_id]
    found = store.recent(disposition=Disposition.QUARANTINE)
    assert [(v.verdict_id, v.revision) for v in found] == [(a.verdict_id, 2)]


@pytest.mark.parametrize(
    ("code", "search"),
    [
        (CodeRead("UPCE", "04252614"), "042100005264"),  # found by its UPC-A
        (CodeRead("EAN8", "96385074"), "00000096385074"),
        (CodeRead("UPCA", "036000291452"), "0036000291452"),  # as an EAN-13
        (CodeRead("DataMatrix", "(01)09501101530003(10)AB-123", {"01": "09501101530003", "10": "AB-123"}),
         "9501101530003"),
    ],
)
def test_a_recorded_code_is_found_by_any_spelling_of_its_gtin(
    store: Store, make_verdict: Callable[..., Verdict], code: CodeRead, search: str
) -> None:
    other = store.record_verdict(make_verdict(1, rma="R-1"))
    verdict = store.record_verdict(make_verdict(2, rma="R-2", codes=(code,)))
    assert [v.verdict_id for v in store.recent(search=search)] == [verdict.verdict_id]
    assert [v.verdict_id for v in store.recent(search="4006381333931")] == [other.verdict_id]


def test_a_reader_on_its_own_connection_sees_committed_verdicts(
    store: Store, make_verdict: Callable[..., Verdict]
) -> None:
    with StoreReader(store.path) as reader:
        assert reader.recent() == []
        verdict = store.record_verdict(make_verdict())
        assert reader.get_verdict(verdict.verdict_id) == verdict
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.conn.execute("DELETE FROM items")


def test_catalog_and_manifest_lookups(store: Store) -> None:
    store.upsert_catalog([
        CatalogEntry("SKU-A", "Kettle", ("04006381333931",), (200.0, 150.0, 100.0), "ref/a.jpg",
                     ((0.1, 0.2, 0.3), (0.3, 0.2, 0.1))),
        CatalogEntry("SKU-B", "Toaster", ("05012345678900", "00012345678905")),
    ])
    assert store.sku_for_gtin("04006381333931") == "SKU-A"
    assert store.sku_for_gtin("09999999999999") is None
    assert store.gtins_of("SKU-B") == ("00012345678905", "05012345678900")
    entry = store.catalog_entry("SKU-A")
    assert entry is not None and entry.dimensions_mm == (200.0, 150.0, 100.0)
    assert store.reference_embeddings()["SKU-A"].shape == (2, 3)
    # A re-import moves a GTIN and replaces the SKU's list.
    store.upsert_catalog([CatalogEntry("SKU-A", "Kettle 2", ("05012345678900",))])
    assert store.sku_for_gtin("05012345678900") == "SKU-A"
    assert store.sku_for_gtin("04006381333931") is None
    store.set_embeddings("SKU-B", np.ones((4, 8), np.float32))
    assert store.reference_embeddings()["SKU-B"].shape == (4, 8)
    with pytest.raises(StoreError, match="not in the catalog"):
        store.set_embeddings("SKU-Z", np.ones((1, 8)))

    store.upsert_manifest(
        [ManifestEntry("R-1042", "SKU-A", DeclaredReason.UNOPENED, "Ada Lovelace", "1 Way")])
    assert store.rma("R-1042") == RmaRecord("R-1042", "SKU-A", DeclaredReason.UNOPENED)
    assert store.rma("R-0") is None
    actions = {e.action for e in store.audit_log()}
    assert {"catalog_import", "manifest_import"} <= actions


def test_blur_labels_keeps_codes_sharp_and_pixelates_the_rest(
    tmp_path: Path, make_verdict: Callable[..., Verdict]
) -> None:
    import cv2

    # Black and white bars 4 px wide everywhere, like printed text and barcodes.
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:, (np.arange(320) // 4) % 2 == 0] = 255
    store = Store(tmp_path / "s.db", tmp_path / "img", 95, blur_labels=True)
    quad = [[80, 60], [160, 60], [160, 120], [80, 120]]
    stored = store.record_verdict(make_verdict(), [FrameImage("top", frame, (quad,))])
    saved = cv2.imread(str(store.images_dir / str(stored.inspection.images[0].path)))
    inside = np.abs(saved[70:110, 90:150].astype(int) - frame[70:110, 90:150]).mean()
    outside = np.abs(saved[130:170, 170:230].astype(int) - frame[130:170, 170:230]).mean()
    assert inside < 15 < outside  # code region kept (JPEG noise only), label text destroyed
    store.close()


def test_routing_outcome_is_a_new_revision_that_keeps_the_decision(
    store: Store, make_verdict: Callable[..., Verdict]
) -> None:
    verdict = store.record_verdict(make_verdict())
    overridden = store.record_override(verdict.verdict_id, Disposition.REPAIR, "op-7", "dent")
    routed = store.record_routing(verdict.verdict_id, Routing(1, 2, late=False, lost=False))
    assert routed is not None and routed.revision == 3
    assert routed.decision == overridden.decision and routed.routing.lane_confirmed == 2
    assert store.record_routing(verdict.verdict_id, Routing(1, 2)) is None  # nothing new
    assert store.record_routing("01a20f8f-1d14-7099-a4e7-c33ee5a373f0", Routing(1, 1)) is None
    assert count(store, "outbox") == 3


def test_catalog_and_manifest_rows_for_the_in_memory_lookup(store: Store) -> None:
    store.upsert_catalog([CatalogEntry("SKU-A", "Kettle", ("04006381333931",), (200.0, 150.0, 100.0))])
    store.upsert_manifest([ManifestEntry("R-1", "SKU-A", DeclaredReason.DAMAGED, "Ada", "1 Way")])
    assert store.catalog_rows() == [{"sku": "SKU-A", "name": "Kettle", "gtins": ["04006381333931"],
                                     "length_mm": 200.0, "width_mm": 150.0, "height_mm": 100.0,
                                     "reference_image": None}]
    assert store.manifest_rows() == [{"rma": "R-1", "expected_sku": "SKU-A", "declared_reason": "damaged"}]


def test_rows_build_the_pipelines_lookup(store: Store) -> None:
    store.upsert_catalog([CatalogEntry("SKU-A", "Kettle", ("04006381333931",), (200.0, 150.0, 100.0))])
    store.upsert_manifest([ManifestEntry("R-1", "SKU-A", DeclaredReason.DAMAGED)])
    built = CatalogLookup.from_rows(store.catalog_rows(), store.manifest_rows())
    assert built.sku_for_gtin("4006381333931") == "SKU-A"
    assert built.rma_record("R-1") == store.rma("R-1")
    assert built.dimensions_mm("SKU-A") == (200.0, 150.0, 100.0)


def test_a_frame_that_cannot_be_written_does_not_cost_the_verdict(
    store: Store, make_verdict: Callable[..., Verdict], frame: np.ndarray
) -> None:
    # A plain file where today's year folder should be: every image write fails (as on a broken disk).
    from datetime import UTC, datetime

    (store.images_dir / f"{datetime.now(UTC):%Y}").write_text("in the way", encoding="utf-8")
    stored = store.record_verdict(make_verdict(), [FrameImage("top", frame)])
    assert stored.inspection.images == ()
    assert store.get_verdict(stored.verdict_id) == stored
    assert count(store, "outbox") == 1 and count(store, "frames") == 0
    assert store.frame_errors == 1
