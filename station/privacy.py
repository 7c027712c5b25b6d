"""Customers' personal data: which fields hold it, and blurring label text before storage.

Return labels carry names and addresses. The station keeps them only as long as
`[storage].personal_retention_days` says (see `station.store.retention`), erases one
customer's data on request (`Store.purge_rma`), and can blur every part of a frame but
the barcodes before the frame is written to disk (`[storage].blur_labels`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

__all__ = ["ERASED", "PERSONAL_FIELDS", "Quad", "blur_except_codes", "is_personal_code", "scrub_codes"]

logger = logging.getLogger(__name__)

# Columns of the manifest table that identify a person; retention and purge null these.
PERSONAL_FIELDS = ("customer_name", "customer_address")

Quad = Sequence[Sequence[float]]

# What an erased code text reads as.
ERASED = "[erased]"


def is_personal_code(code: Mapping[str, object], rma: str | None) -> bool:
    """True for a code that may carry a customer's data: not a product GTIN, not GS1, not the RMA itself.

    Shipping labels print names and addresses in 2D codes too (PDF417, QR); product
    codes and GS1 element strings (GTIN, batch, serial) identify goods, not people.
    """
    text = str(code.get("text", ""))
    fmt = str(code.get("format", ""))
    if code.get("gs1") or text == ERASED or (rma is not None and text == rma):
        return False
    return not (fmt in ("EAN13", "EAN8", "UPCA", "UPCE") and text.isdigit())


def scrub_codes(verdict_json: dict[str, Any]) -> bool:
    """Replace the text of personal codes in a verdict JSON object in place; True when any changed."""
    item = verdict_json.get("item") or {}
    changed = False
    for code in item.get("codes") or []:
        if is_personal_code(code, item.get("rma")):
            code["text"] = ERASED
            changed = True
    return changed


def blur_except_codes(image: np.ndarray, code_quads: Sequence[Quad], margin: int = 8,
                      block: int = 16) -> np.ndarray:
    """A copy of `image` pixelated everywhere except inside the barcodes' quads (plus `margin` px).

    Pixelation (down- then up-scaling by `block`) rather than a Gaussian blur: it is
    cheap on a 2-core PC and no text survives it, while the codes stay readable so the
    stored frame still proves what was scanned.
    """
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, width // block), max(1, height // block)), interpolation=cv2.INTER_AREA)
    out = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    for quad in code_quads:
        points = np.asarray(quad, dtype=np.float32).reshape(-1, 2)
        if points.size == 0:
            continue
        x0 = max(0, int(np.floor(points[:, 0].min())) - margin)
        y0 = max(0, int(np.floor(points[:, 1].min())) - margin)
        x1 = min(width, int(np.ceil(points[:, 0].max())) + margin)
        y1 = min(height, int(np.ceil(points[:, 1].max())) + margin)
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1] = image[y0:y1, x0:x1]
    return out
