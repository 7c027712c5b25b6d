"""One captured frame and how sharp it is."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Frame:
    """A BGR image with when and where it was captured."""

    image: np.ndarray
    camera: str
    seq: int
    t_capture: float  # time.monotonic() when the frame arrived
    tag: int | None = None  # e.g. the controller item id a synthetic source rendered

    def __post_init__(self) -> None:
        if self.image.ndim not in (2, 3) or self.image.dtype != np.uint8:
            raise ValueError(f"frame from {self.camera} must be a uint8 image, got {self.image.dtype}")


def sharpness(image: np.ndarray, max_side: int = 320) -> float:
    """Variance of the Laplacian on a downscaled grey copy: higher is sharper."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    scale = max_side / max(grey.shape[:2])
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())
