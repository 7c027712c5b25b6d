"""Customers' personal data: which fields hold it, and blurring label text before storage.

Return labels carry names and addresses. The station keeps them only as long as
`[storage].personal_retention_days` says (see `station.store.retention`), erases one
customer's data on request (`Store.purge_rma`), and can blur every part of a frame but
the barcodes before the frame is written to disk (`[storage].blur_labels`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["PERSONAL_FIELDS", "Quad", "blur_except_codes"]

logger = logging.getLogger(__name__)

# Columns of the manifest table that identify a person; retention and purge null these.
PERSONAL_FIELDS = ("customer_name", "customer_address")

Quad = Sequence[Sequence[float]]


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
