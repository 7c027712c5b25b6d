"""References from the dock's own camera, enrolled as the station runs (`[models] site_references`).

The conformity model was trained on photos from elsewhere; what lifts it most at a dock is a
reference of each product shot there, on its bench, under its light (docs/models.md "Enrol at the
site": one such photo per product, 73 % → 89 % top-1). Every item an operator confirms or
overrides into restock, repair or recycle has its product settled by a person — the SKU an
exported data set files it under (`station dataset export`, `confirmed_sku`). Its first stored
frame, cut to the item as the inspector cuts it, becomes a reference of that SKU, until the SKU
has `per_sku` of them; the next item is judged with it.

Nothing here holds up the operator or the line: the work (reading the frame, one embedding, two
small files) runs on a thread of its own, one item at a time, and a frame that cannot be used is
skipped with a log line. Each reference enrolled is audited (`site_reference`: SKU, item, picture)
and listed in `site-references.json` beside the gallery, so which references came from which item
can be traced, and an SKU enrolled afresh (`station enroll --replace`) takes site references again.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from station.datalock import file_lock
from station.dataset_export import confirmed_sku
from station.store import Store
from station.verdict import Verdict
from vision.inference import Gallery, GalleryError
from vision.inference.runtime import read_bgr
from vision.locate import item_view

if TYPE_CHECKING:
    from station.live_models import LiveModels

__all__ = ["LISTING", "SiteReferences", "listed_per_sku", "read_listing", "write_listing"]

logger = logging.getLogger(__name__)

LISTING = "site-references.json"


def listed_per_sku(gallery_path: Path, gallery: Gallery) -> dict[str, int]:
    """How many references of each SKU in `gallery` came from items of this dock (the listing
    beside the gallery file); empty when there is none or it cannot be read."""
    try:
        return _per_sku(read_listing(gallery_path.with_name(LISTING)), gallery)
    except GalleryError:
        return {}


def _per_sku(entries: list[dict[str, Any]], gallery: Gallery) -> dict[str, int]:
    """Listed references per SKU that `gallery` still has (`station enroll --replace` or
    `--forget-item` took the others out)."""
    held = gallery.pictures_by_sku()
    counts: dict[str, int] = {}
    for entry in entries:
        sku = entry.get("sku")
        if isinstance(sku, str) and entry.get("picture") in held.get(sku, ()):
            counts[sku] = counts.get(sku, 0) + 1
    return counts


class SiteReferences:
    """Enrols the frames of items whose product an operator settled, at most `per_sku` per SKU."""

    def __init__(self, models: LiveModels, store: Store, gallery_path: Path, images_dir: Path,
                 per_sku: int) -> None:
        self.models = models
        self.store = store
        self.per_sku = per_sku
        self.images_dir = images_dir
        self.gallery_path = gallery_path
        self.listing = gallery_path.with_name(LISTING)
        self._queue: queue.Queue[Verdict | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.enrolled = 0
        self._stopped = False

    def offer(self, verdict: Verdict) -> None:
        """An operator's revision (confirm or override): queue it when it settles the product."""
        if self.per_sku <= 0 or self._stopped or confirmed_sku(verdict) is None:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="site-references", daemon=True)
            self._thread.start()
        self._queue.put(verdict)

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the items queued (within `timeout`) and end the thread; later offers (a confirm
        the closing window still sends while the station stops) are left out."""
        self._stopped = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while (verdict := self._queue.get()) is not None:
            item = verdict.verdict_id
            try:
                self.enrol(verdict)
            except (OSError, GalleryError, ValueError) as exc:
                logger.error("item %s: its frame was not enrolled as a site reference (%s)", item, exc)
            except Exception:
                logger.exception("item %s: enrolling its frame as a site reference failed", item)

    def enrol(self, verdict: Verdict) -> str | None:
        """Enrol the item's frame as a reference of its SKU now (on the caller's thread); returns
        the picture's name, or None when there is nothing to enrol (see the module docstring)."""
        sku = confirmed_sku(verdict)
        if sku is None:
            return None
        listed = read_listing(self.listing)
        if any(entry.get("verdict_id") == verdict.verdict_id for entry in listed):
            return None
        current = self.models.current().gallery
        if current is not None and _per_sku(listed, current).get(sku, 0) >= self.per_sku:
            return None
        crop = self._item(verdict)
        if crop is None:
            return None
        name = self.models.add_reference(sku, crop)
        if name is None:
            return None
        entry = {"sku": sku, "picture": name, "verdict_id": verdict.verdict_id, "at": time.time()}
        # Read again under the gallery's lock: `station enroll --forget-item` may have changed it.
        with file_lock(self.gallery_path):
            write_listing(self.listing, [*read_listing(self.listing), entry])
        self.store.audit("station", "site_reference", {k: v for k, v in entry.items() if k != "at"})
        self.enrolled += 1
        logger.info("item %s: its frame is now a reference of %s (%s)", verdict.verdict_id, sku, name)
        return name

    def _item(self, verdict: Verdict) -> np.ndarray | None:
        """The first stored frame that shows an item, cut as the inspector cuts it; None if none."""
        for ref in verdict.inspection.images:
            if ref.path is None:
                continue
            frame = read_bgr(self.images_dir / ref.path)
            if frame is None:
                continue
            crop, _, located = item_view(frame)
            if located:
                cut: np.ndarray = crop
                return cut
        logger.info("item %s: no stored frame shows the item: not enrolled as a site reference",
                    verdict.verdict_id)
        return None

def read_listing(listing: Path) -> list[dict[str, Any]]:
    """The entries of `site-references.json` (empty when there is none); raises GalleryError
    saying what to do when it cannot be read."""
    if not listing.is_file():
        return []
    try:
        entries = json.loads(listing.read_text(encoding="utf-8")).get("references", [])
    except (OSError, ValueError, AttributeError) as exc:
        raise GalleryError(f"{listing}: unreadable ({exc}) — move it aside; the station starts a "
                           "new one (the references it listed stay in the gallery)") from exc
    return [e for e in entries if isinstance(e, dict)]


def write_listing(listing: Path, entries: list[dict[str, Any]]) -> None:
    """Replace `site-references.json` whole (a crash leaves the old one)."""
    tmp = listing.with_name(listing.name + ".tmp")
    tmp.write_text(json.dumps({"references": entries}, indent=1), encoding="utf-8")
    os.replace(tmp, listing)
