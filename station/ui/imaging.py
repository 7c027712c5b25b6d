"""numpy images to Qt images, and the defect heatmap's colours."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtGui import QImage

logger = logging.getLogger(__name__)


def qimage_from_bgr(frame: np.ndarray) -> QImage:
    """A QImage owning a copy of a BGR (or grey) uint8 frame."""
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    if frame.ndim == 2:
        image = QImage(frame.data, width, height, frame.strides[0], QImage.Format.Format_Grayscale8)
    elif frame.shape[2] == 3:
        image = QImage(frame.data, width, height, frame.strides[0], QImage.Format.Format_BGR888)
    elif frame.shape[2] == 4:
        image = QImage(frame.data, width, height, frame.strides[0], QImage.Format.Format_ARGB32)
    else:
        raise ValueError(f"cannot show an image with {frame.shape[2]} channels")
    return image.copy()  # the numpy buffer may be reused by the camera thread


def heatmap_rgba(heat: np.ndarray, max_alpha: float = 0.6) -> np.ndarray:
    """A jet-like RGBA colouring of a [0, 1] map; cold areas are transparent so the item shows through."""
    value = np.clip(np.nan_to_num(heat.astype(np.float32)), 0.0, 1.0)
    red = np.clip(1.5 - np.abs(4.0 * value - 3.0), 0.0, 1.0)
    green = np.clip(1.5 - np.abs(4.0 * value - 2.0), 0.0, 1.0)
    blue = np.clip(1.5 - np.abs(4.0 * value - 1.0), 0.0, 1.0)
    alpha = value * max_alpha
    rgba = np.stack([red, green, blue, alpha], axis=-1)
    return np.ascontiguousarray((rgba * 255.0).astype(np.uint8))


def qimage_from_heatmap(heat: np.ndarray) -> QImage:
    """The heatmap as a translucent QImage of the map's own size."""
    if heat.ndim != 2:
        raise ValueError(f"a heatmap must be 2-D, got shape {heat.shape}")
    rgba = heatmap_rgba(heat)
    height, width = rgba.shape[:2]
    return QImage(rgba.data, width, height, rgba.strides[0], QImage.Format.Format_RGBA8888).copy()
