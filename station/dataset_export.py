"""Learning from the floor: confirmed and overridden items as training folders.

Writes the layout `station train` reads (docs/models.md "Data layouts"):
- `OUT/defect/good/`, `OUT/defect/<defect class>/` — the condition the operator accepted:
  restock = good; repair/recycle = the defect model's label (or `defect` when the model
  saw nothing, i.e. it missed it);
- `OUT/conformity/<sku>/` — the product, when the operator accepted its identity (`export.json`
  maps each folder to its SKU exactly: `station enroll --folder OUT` enrols them all).
Items the operator left in manual review or quarantine say nothing certain and are skipped.

The most uncertain come first (file names start with their rank): items the operator
overrode (the model was wrong), then by rising confidence of the automatic decision. An
`export.csv` beside the folders lists every file with its rank, label and confidence.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from station.store import StoreReader
from station.verdict import DecisionSource, Disposition, Verdict

__all__ = ["ExportResult", "confirmed_sku", "export_dataset"]

logger = logging.getLogger(__name__)

_GOOD_LABELS = frozenset({"ok", "good", "none", "no_defect"})
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# Dispositions that leave the item's condition and product open: nothing to train on.
_UNCERTAIN = frozenset({Disposition.MANUAL_REVIEW, Disposition.QUARANTINE})


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    items: int
    files: int
    defect_classes: dict[str, int]
    skus: dict[str, int]
    skipped_no_frames: int
    not_settled: int = 0  # items of the period no operator confirmed or overrode: not exported
    in_review: int = 0  # items the operator left in manual review or quarantine: no label, not exported


def _defect_label(final: Verdict, auto: Verdict) -> str | None:
    disposition = final.decision.disposition
    if disposition is Disposition.RESTOCK:
        return "good"
    if disposition in (Disposition.REPAIR, Disposition.RECYCLE):
        defect = auto.inspection.defect
        label = defect.label if defect else ""
        return _SAFE.sub("_", label) if label and label.lower() not in _GOOD_LABELS else "defect"
    return None


def confirmed_sku(final: Verdict) -> str | None:
    """The product of an item as its operator-settled revision says (observed, else expected
    SKU); None when the item was left in manual review or quarantine: nothing certain."""
    if final.decision.disposition in _UNCERTAIN:
        return None
    return final.item.observed_sku or final.item.expected_sku or None


def _sku_folder(sku: str, folders: dict[str, str]) -> str:
    """The folder of an SKU under `conformity/`: the SKU with characters a file name cannot hold
    replaced, and a short hash of it when another SKU already came to the same name. `folders`
    (folder -> SKU, written to export.json) lets `station enroll --folder` give each folder its SKU
    back exactly."""
    folder = _SAFE.sub("_", sku)
    if folders.get(folder, sku) != sku:
        folder = f"{folder}-{hashlib.sha256(sku.encode()).hexdigest()[:8]}"
    folders[folder] = sku
    return folder


def export_dataset(reader: StoreReader, out: Path, since: datetime | None = None,
                   limit: int | None = None) -> ExportResult:
    """Copy the frames of confirmed and overridden items into `out` (see module docstring)."""
    rows = reader.conn.execute(
        "SELECT i.verdict_id, i.confirmed_by IS NOT NULL, "
        "(SELECT MAX(revision) FROM verdicts v WHERE v.verdict_id = i.verdict_id) "
        "FROM items i WHERE i.created_ts >= ? ORDER BY i.created_ts",
        (since.timestamp() if since else 0.0,),
    ).fetchall()
    candidates: list[tuple[tuple[int, float], Verdict, Verdict]] = []
    not_settled = in_review = 0
    for verdict_id, confirmed, latest in rows:
        final = reader.get_verdict(verdict_id, int(latest))
        auto = reader.get_verdict(verdict_id, 1)
        if final is None or auto is None:
            continue
        overridden = final.decision.source is DecisionSource.OPERATOR
        if not (confirmed or overridden):
            not_settled += 1
            continue
        if final.decision.disposition in _UNCERTAIN:
            # Confirmed, but what was confirmed is "someone must look": neither a condition nor a
            # product to learn, so it is counted apart rather than as an exported item with no file.
            in_review += 1
            continue
        candidates.append(((0 if overridden else 1, auto.decision.confidence), final, auto))
    candidates.sort(key=lambda c: c[0])
    if limit is not None:
        candidates = candidates[:limit]

    out.mkdir(parents=True, exist_ok=True)
    defect_counts: dict[str, int] = {}
    sku_counts: dict[str, int] = {}
    sku_folders: dict[str, str] = {}
    files = items = skipped = 0
    with (out / "export.csv").open("w", newline="", encoding="utf-8") as listing:
        writer = csv.writer(listing)
        writer.writerow(["rank", "file", "task", "label", "verdict_id", "overridden", "auto_confidence",
                         "auto_disposition", "final_disposition"])
        for rank, ((order, confidence), final, auto) in enumerate(candidates, start=1):
            frames = reader.frame_paths(final.verdict_id)
            frames = [(camera, path) for camera, path in frames if path.is_file()]
            if not frames:
                skipped += 1
                continue
            items += 1
            targets = []
            defect = _defect_label(final, auto)
            if defect:
                targets.append(("defect", defect))
                defect_counts[defect] = defect_counts.get(defect, 0) + 1
            sku = confirmed_sku(final)
            if sku:
                named = _sku_folder(sku, sku_folders)
                targets.append(("conformity", named))
                sku_counts[named] = sku_counts.get(named, 0) + 1
            for task, label in targets:
                folder = out / task / label
                folder.mkdir(parents=True, exist_ok=True)
                for camera, path in frames:
                    name = f"{rank:05d}_{final.verdict_id}_{_SAFE.sub('_', camera)}{path.suffix}"
                    shutil.copyfile(path, folder / name)
                    files += 1
                    writer.writerow([rank, f"{task}/{label}/{name}", task, label, final.verdict_id,
                                     order == 0, confidence, auto.decision.disposition.value,
                                     final.decision.disposition.value])
    result = ExportResult(items, files, defect_counts, sku_counts, skipped, not_settled, in_review)
    (out / "export.json").write_text(json.dumps({
        "since": since.isoformat() if since else None, "items": items, "files": files,
        "defect_classes": defect_counts, "skus": sku_counts, "sku_folders": sku_folders,
        "skipped_no_frames": skipped, "not_settled": not_settled, "in_review": in_review,
    }, indent=2), encoding="utf-8")
    logger.info("exported %s items (%s files) to %s", items, files, out)
    return result
