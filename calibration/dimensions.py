"""Item dimensions in mm from its silhouette on the calibrated plane, and the catalog check.

Segmentation is deliberately simple and fast: the item is what differs from the empty
belt — either a reference frame of the empty belt (best) or, without one, the belt's colour
taken from the border of the region of interest. The silhouette's outline is mapped to the
plane in mm (through the lens distortion and the homography) and the smallest rotated
rectangle around it gives length, width and angle. Raised items: pass the item's height
(from a side camera, `measure_height`) to correct the top face's perspective enlargement.
Side walls of tall items seen off-axis still widen the silhouette; keep tall items under
the camera or use the height correction with care.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from calibration.plane import PlaneCalibration

__all__ = [
    "CatalogDimensions",
    "DimensionCheck",
    "DimensionStatus",
    "Footprint",
    "compare_dimensions",
    "measure_footprint",
    "measure_height",
    "segment_item",
]

logger = logging.getLogger(__name__)

Roi = tuple[int, int, int, int]  # x, y, width, height; zeros = whole frame


@dataclass(frozen=True, eq=False)
class Footprint:
    """The item's outline on the plane: length >= width (mm), angle of the length axis (deg)."""

    length_mm: float
    width_mm: float
    angle: float  # degrees, direction of the long side in the plane's frame, -90..90
    contour: npt.NDArray[np.int32]  # outline in image pixels (N x 2), for drawing
    area_mm2: float
    centre_mm: tuple[float, float]
    touches_edge: bool  # the silhouette reaches the edge of the region: the item may be cut off


def _roi_slices(shape: tuple[int, ...], roi: Roi | None) -> tuple[int, int, int, int]:
    height, width = shape[:2]
    if roi is None or roi[2] <= 0 or roi[3] <= 0:
        return 0, 0, width, height
    x, y, w, h = roi
    x0, y0 = max(0, x), max(0, y)
    return x0, y0, min(width, x + w) - x0, min(height, y + h) - y0


def segment_item(frame_bgr: npt.NDArray[np.uint8], background_bgr: npt.NDArray[np.uint8] | None = None,
                 roi: Roi | None = None, min_difference: float = 15.0) -> npt.NDArray[np.uint8]:
    """Mask (255 = item) of what differs from the empty belt, within `roi`, full frame size."""
    return _segment(frame_bgr, background_bgr, roi, min_difference)[0]


def _segment(frame_bgr: npt.NDArray[np.uint8], background_bgr: npt.NDArray[np.uint8] | None,
             roi: Roi | None, min_difference: float,
             ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], float]:
    """(mask, difference-from-belt map, cut level), the two images at full frame size."""
    x, y, w, h = _roi_slices(frame_bgr.shape, roi)
    crop = np.asarray(frame_bgr[y:y + h, x:x + w])
    if crop.ndim == 2:
        crop = np.asarray(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR), np.uint8)
    # YCrCb separates brightness from colour like Lab does at a fifteenth of the cost (this runs
    # per item); colour differences count double since they are compressed in Cr and Cb, and
    # the sum is halved so that strong contrasts stay below 255 (the cut must see the real middle).
    ycc = cv2.cvtColor(cv2.GaussianBlur(crop, (3, 3), 0), cv2.COLOR_BGR2YCrCb)
    if background_bgr is not None:
        bg = np.asarray(background_bgr[y:y + h, x:x + w])
        if bg.ndim == 2:
            bg = np.asarray(cv2.cvtColor(bg, cv2.COLOR_GRAY2BGR), np.uint8)
        reference = cv2.cvtColor(cv2.GaussianBlur(bg, (3, 3), 0), cv2.COLOR_BGR2YCrCb)
        diff = cv2.absdiff(ycc, reference)
    else:
        border = np.concatenate([ycc[:4].reshape(-1, 3), ycc[-4:].reshape(-1, 3),
                                 ycc[:, :4].reshape(-1, 3), ycc[:, -4:].reshape(-1, 3)])
        belt = np.median(border, axis=0)
        diff = cv2.absdiff(ycc, np.array([*belt.round(), 0.0], np.float64))
    distance = np.asarray(cv2.transform(diff, np.array([[0.5, 1.0, 1.0]], np.float32)), np.uint8)
    otsu, _m = cv2.threshold(distance, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Otsu alone would split the belt's own noise in two when nothing is there.
    level = max(float(otsu), min_difference)
    item = distance > level
    if np.any(item):
        # Cut half way between belt and item so a blurred edge is split where it really is.
        level = max(min_difference, 0.5 * float(np.median(distance[item])))
    mask = np.where(distance > level, 255, 0).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel), np.uint8)
    mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel, iterations=2), np.uint8)
    full = np.zeros(frame_bgr.shape[:2], np.uint8)
    full[y:y + h, x:x + w] = mask
    full_distance = np.zeros(frame_bgr.shape[:2], np.uint8)
    full_distance[y:y + h, x:x + w] = distance
    return full, full_distance, level


def _largest_outline(mask: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32] | None:
    contours, _h = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    return np.asarray(max(contours, key=cv2.contourArea), np.int32).reshape(-1, 2)


def _reduced(image: npt.NDArray[np.uint8] | None, factor: int) -> npt.NDArray[np.uint8] | None:
    if image is None or factor == 1:
        return image
    size = (image.shape[1] // factor, image.shape[0] // factor)
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)


def _scaled_roi(roi: Roi | None, factor: int) -> Roi | None:
    if roi is None or factor == 1:
        return roi
    return (roi[0] // factor, roi[1] // factor, roi[2] // factor, roi[3] // factor)


def measure_footprint(frame_bgr: npt.NDArray[np.uint8], plane: PlaneCalibration,
                      background_bgr: npt.NDArray[np.uint8] | None = None, roi: Roi | None = None,
                      height_mm: float = 0.0, min_area_mm2: float = 400.0,
                      reduce: int = 2) -> Footprint | None:
    """The item's footprint in mm, or None when nothing item-sized is on the plane (empty).

    `reduce` segments a frame shrunk that many times (4x fewer pixels at 2); the outline
    is then placed on the edge to a fraction of a pixel, so little accuracy is lost.
    """
    small = _reduced(frame_bgr, reduce)
    assert small is not None
    mask, distance, level = _segment(small, _reduced(background_bgr, reduce), _scaled_roi(roi, reduce), 15.0)
    outline = _largest_outline(mask)
    if outline is None or outline.shape[0] < 5:
        return None
    # Pixel centre p of the reduced frame is at (p + 0.5) * reduce - 0.5 in the full frame.
    edge = (_subpixel_edge(outline, distance, level) + 0.5) * reduce - 0.5
    mm = plane.image_to_plane(edge)
    if height_mm:
        mm = plane.lift(mm, height_mm)
    area = float(cv2.contourArea(mm.astype(np.float32)))
    if area < min_area_mm2:
        return None
    (cx, cy), (w, h), angle = cv2.minAreaRect(mm.astype(np.float32))
    if w < h:
        w, h, angle = h, w, angle + 90.0
    angle = (angle + 90.0) % 180.0 - 90.0
    x, y, rw, rh = _roi_slices(small.shape, _scaled_roi(roi, reduce))
    xs, ys = outline[:, 0], outline[:, 1]
    touches = bool(xs.min() <= x or ys.min() <= y or xs.max() >= x + rw - 1 or ys.max() >= y + rh - 1)
    contour = np.round(edge).astype(np.int32)
    return Footprint(float(w), float(h), float(angle), contour, area, (float(cx), float(cy)), touches)


def _bilinear(image: npt.NDArray[np.float32], pts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    h, w = image.shape
    x = np.clip(pts[:, 0], 0, w - 1.001)
    y = np.clip(pts[:, 1], 0, h - 1.001)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy, np.float64)


def _subpixel_edge(outline: npt.NDArray[np.int32], distance: npt.NDArray[np.uint8],
                   level: float) -> npt.NDArray[np.float64]:
    """Move each outline pixel out along the gradient to where the difference map crosses `level`
    (linear between samples 0, 1 and 2 pixels out), so the outline lies on the edge at any angle."""
    # Only the outline's neighbourhood is needed: work on its bounding box.
    x0, y0 = max(0, int(outline[:, 0].min()) - 4), max(0, int(outline[:, 1].min()) - 4)
    x1, y1 = int(outline[:, 0].max()) + 5, int(outline[:, 1].max()) + 5
    values = distance[y0:y1, x0:x1].astype(np.float32)
    smooth = cv2.GaussianBlur(values, (3, 3), 0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    local = outline.astype(np.float64) - np.array([x0, y0], np.float64)
    xs, ys = outline[:, 0] - x0, outline[:, 1] - y0
    grad = np.stack([gx[ys, xs], gy[ys, xs]], axis=1).astype(np.float64)
    norm = np.linalg.norm(grad, axis=1)
    # Outwards is down the gradient (the item differs most from the belt inside it).
    direction = -grad / np.maximum(norm, 1e-6)[:, None]
    direction[norm < 1e-3] = 0.0
    v0 = _bilinear(values, local)
    v1 = _bilinear(values, local + direction)
    v2 = _bilinear(values, local + 2 * direction)
    # The crossing lies between the samples that straddle the level.
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(v0 > v1, (v0 - level) / (v0 - v1), 0.5)
        second = np.where(v1 > v2, 1.0 + (v1 - level) / (v1 - v2), 1.5)
        back = np.where(v0 < level, -(level - v0) / np.maximum(np.abs(v0 - v1), 1e-6), 0.0)
    step = np.where(v0 < level, back, np.where(v1 >= level, second, first))
    step = np.clip(np.nan_to_num(step, nan=0.5), -1.0, 2.0)
    return np.asarray(outline.astype(np.float64) + step[:, None] * direction, np.float64)


def measure_height(frame_bgr: npt.NDArray[np.uint8], side_plane: PlaneCalibration, belt_level_mm: float,
                   background_bgr: npt.NDArray[np.uint8] | None = None, roi: Roi | None = None,
                   ) -> float | None:
    """Height (mm) of the item seen by a side camera calibrated on a vertical plane.

    `side_plane` comes from the board standing upright along the belt; `belt_level_mm` is
    the plane coordinate (board y) of the belt surface. The item is measured in that plane:
    an item nearer to or further from the camera than the board's plane reads larger or
    smaller in proportion to its distance.
    """
    mask, distance, level = _segment(frame_bgr, background_bgr, roi, 15.0)
    outline = _largest_outline(mask)
    if outline is None or outline.shape[0] < 5:
        return None
    ys = side_plane.image_to_plane(_subpixel_edge(outline, distance, level))[:, 1]
    return float(max(abs(belt_level_mm - ys.min()), abs(belt_level_mm - ys.max())))


class DimensionStatus(enum.Enum):
    """How the measured item compares with the catalog."""

    MATCH = "match"
    EMPTY = "empty"
    SMALLER = "smaller"
    LARGER = "larger"
    DIFFERENT = "different"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class CatalogDimensions:
    """The product's size from the catalog (mm); the order of length and width does not matter."""

    length_mm: float
    width_mm: float
    height_mm: float | None = None


@dataclass(frozen=True)
class DimensionCheck:
    """The conformity signal: `conforms` is False when the size says wrong item, empty or incomplete."""

    status: DimensionStatus
    conforms: bool
    reason: str
    deviation_mm: tuple[float, ...] = ()  # measured - expected, per side (length, width[, height])


def compare_dimensions(measured: Footprint | None, expected: CatalogDimensions, tolerance_mm: float = 10.0,
                       tolerance_rel: float = 0.05, height_mm: float | None = None) -> DimensionCheck:
    """Compare a footprint (and optional height) with the catalog; per side the larger tolerance applies."""
    exp_sides = sorted((expected.length_mm, expected.width_mm), reverse=True)
    exp_text = f"{exp_sides[0]:.0f} x {exp_sides[1]:.0f} mm"
    if measured is None:
        return DimensionCheck(DimensionStatus.EMPTY, False, f"nothing on the plane where a {exp_text} item "
                              "was expected (empty box or no item?)")
    got = [measured.length_mm, measured.width_mm]
    want = list(exp_sides)
    if height_mm is not None and expected.height_mm is not None:
        got.append(height_mm)
        want.append(expected.height_mm)
    deviation = tuple(g - w for g, w in zip(got, want, strict=True))
    limits = [max(tolerance_mm, tolerance_rel * w) for w in want]
    over = [d > lim for d, lim in zip(deviation, limits, strict=True)]
    under = [d < -lim for d, lim in zip(deviation, limits, strict=True)]
    got_text = " x ".join(f"{g:.0f}" for g in got) + " mm"
    if measured.touches_edge:
        return DimensionCheck(DimensionStatus.UNCERTAIN, True,
                              f"item reaches the edge of the view ({got_text} seen); size not judged",
                              deviation)
    if not any(over) and not any(under):
        return DimensionCheck(DimensionStatus.MATCH, True, f"size {got_text} matches the catalog",
                              deviation)
    if any(over) and any(under):
        status, why = DimensionStatus.DIFFERENT, "a different shape: wrong item?"
    elif any(over):
        status, why = DimensionStatus.LARGER, "larger: wrong item, or packed with something else?"
    else:
        status, why = DimensionStatus.SMALLER, "smaller: missing parts or wrong item?"
    return DimensionCheck(status, False, f"size {got_text} vs catalog {exp_text}: {why}", deviation)
