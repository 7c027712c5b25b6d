"""Synthetic returns written to disk in the layouts the rest of the project reads.

- frames: `DIR/frames/<stem>.png`, damage masks `DIR/frames/<stem>_mask.png`, `DIR/truth.jsonl`
  and the run's `DIR/manifest.csv`;
- defect (docs/models.md "Data layouts"): `DIR/good/*.png`, `DIR/<damage>/*.png` with
  `<stem>_mask.png` beside each damaged crop; the crop is the one the station makes at run time
  (`vision.locate`), stretched to a square as the model's pre-processing does;
- conformity: `DIR/<sku>/*.png`, one folder per SKU really on the belt.

Also the catalog and manifest files `station catalog import` / `station manifest import` read.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np

from models.synthetic.artwork import render_reference
from models.synthetic.catalog import Catalog
from models.synthetic.generator import ManifestEntry, ReturnsGenerator, SyntheticItem
from vision.locate import crop_box, locate_item

logger = logging.getLogger(__name__)

# The columns `station catalog import` and `station manifest import` read (station/catalog.py).
CATALOG_COLUMNS = ("sku", "name", "gtins", "width_mm", "height_mm", "depth_mm", "reference_image")
MANIFEST_COLUMNS = ("rma", "expected_sku", "declared_reason", "customer_name", "customer_address")
DEFAULT_CROP_PX = 256

Progress = Callable[[int, int], None]


class Layout(StrEnum):
    """How `write_dataset` arranges the generated items."""

    FRAMES = "frames"
    DEFECT = "defect"
    CONFORMITY = "conformity"


def stem_of(item: SyntheticItem) -> str:
    """File stem of an item: seed and index, so sets from different seeds can be merged."""
    return f"s{item.truth['seed']}_{item.truth['index']:06d}"


def item_crop(item: SyntheticItem, size: int = DEFAULT_CROP_PX) -> tuple[np.ndarray, np.ndarray, bool]:
    """The item's crop as the station cuts it at run time (`vision.locate`), stretched to size x size,
    the same crop of the damage mask, and whether the locator found the item.

    When the locator misses (dark packaging on the dark belt), the true bounding box is used so
    the training set keeps the item; an empty frame gives its centre.
    """
    frame = item.frame_bgr
    height, width = frame.shape[:2]
    located = locate_item(frame)
    if located is not None:
        box = located.box
    elif item.bbox is not None:
        box = item.bbox
    else:
        box = (width // 4, height // 4, width // 2, height // 2)
    crop, (x, y, w, h) = crop_box(frame, box)
    mask = item.mask[y : y + h, x : x + w]
    crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST)
    return crop, mask, located is not None


def _write_png(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path} — check the folder exists and is writable")


def write_dataset(generator: ReturnsGenerator, out: Path, n_items: int, layout: Layout, start: int = 0,
                  crop_px: int = DEFAULT_CROP_PX, progress: Progress | None = None) -> Counter[str]:
    """Render items start..start+n_items-1 into `out` in `layout`; returns how many went into each folder.

    Every layout also writes `truth.jsonl` (one line per item: file paths relative to `out` and
    the ground truth) and `manifest.csv` (the run's RMAs).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    with (out / "truth.jsonl").open("w", encoding="utf-8") as truth_file:
        for done, index in enumerate(range(start, start + n_items), start=1):
            item = generator.generate(index)
            record = dict(item.truth)
            stem = stem_of(item)
            if layout is Layout.FRAMES:
                folder = out / "frames"
                folder.mkdir(exist_ok=True)
                _write_png(folder / f"{stem}.png", item.frame_bgr)
                record["path"] = f"frames/{stem}.png"
                if item.damage is not None:
                    _write_png(folder / f"{stem}_mask.png", item.mask)
                    record["mask_path"] = f"frames/{stem}_mask.png"
                counts["frames"] += 1
            elif layout is Layout.DEFECT:
                if item.sku is None:
                    continue  # nothing on the belt: neither good nor damaged packaging
                crop, mask, found = item_crop(item, crop_px)
                record["located"] = found
                name = item.damage or "good"
                folder = out / name
                folder.mkdir(exist_ok=True)
                _write_png(folder / f"{stem}.png", crop)
                record["path"] = f"{name}/{stem}.png"
                if item.damage is not None:
                    _write_png(folder / f"{stem}_mask.png", mask)
                    record["mask_path"] = f"{name}/{stem}_mask.png"
                counts[name] += 1
            else:
                if item.sku is None:
                    continue
                crop, _mask, found = item_crop(item, crop_px)
                record["located"] = found
                folder = out / item.sku
                folder.mkdir(exist_ok=True)
                _write_png(folder / f"{stem}.png", crop)
                record["path"] = f"{item.sku}/{stem}.png"
                counts[item.sku] += 1
            truth_file.write(json.dumps(record) + "\n")
            if progress is not None:
                progress(done, n_items)
    write_manifest_file(generator.manifest_for(n_items, start), out / "manifest.csv")
    logger.info("wrote %s items (%s layout) to %s in %.1f s", n_items, layout.value, out,
                time.perf_counter() - started)
    return counts


def write_catalog_file(catalog: Catalog, out: Path) -> None:
    """The catalog as CSV or JSON (by suffix) with absolute reference image paths, for
    `station catalog import`."""
    out = Path(out)
    rows = []
    for sku in catalog:
        reference = catalog.reference_path(sku)
        rows.append({
            "sku": sku.sku,
            "name": sku.name,
            "gtins": sku.gtin,
            # Seen from above: the long side across, the short side along, then the height.
            "width_mm": sku.length_mm,
            "height_mm": sku.height_mm,
            "depth_mm": sku.width_mm,
            "reference_image": str(reference) if reference else "",
        })
    _write_rows(out, CATALOG_COLUMNS, rows)


def write_manifest_file(entries: Iterable[ManifestEntry], out: Path) -> None:
    """Expected returns as CSV or JSON (by suffix) for `station manifest import`: rma, expected_sku,
    declared_reason, customer_name, customer_address."""
    rows: list[dict[str, object]] = [
        {"rma": e.rma, "expected_sku": e.sku, "declared_reason": e.declared_reason,
         "customer_name": e.customer_name, "customer_address": e.customer_address}
        for e in entries
    ]
    _write_rows(Path(out), MANIFEST_COLUMNS, rows)


def _write_rows(out: Path, columns: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ValueError(f"{out}: unknown file type {out.suffix!r} — use .csv or .json")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        return
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)


def write_reference_images(catalog: Catalog, out_dir: Path) -> list[Path]:
    """Render each SKU's catalog image into `out_dir/<sku>.png`; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for sku in catalog:
        path = out_dir / f"{sku.sku}.png"
        _write_png(path, render_reference(sku))
        paths.append(path)
    return paths
