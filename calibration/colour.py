"""Colour: white balance and exposure from a grey reference patch, and lamp-drift checks.

The patch (a neutral grey card fixed in view) is measured in linear RGB; per-channel gains
make it neutral at the target lightness, which corrects both the colour cast of the lamp
and the exposure. Gains are applied to whole frames through one lookup table per channel.

Colour differences are CIEDE2000 (ΔE00) in CIELAB under D65 (sRGB primaries); `delta_e76`
is kept for comparison with older specifications. A ΔE00 of about 1 is just noticeable;
the drift tolerance comes from [calibration] colour_tolerance_de.
"""

from __future__ import annotations

import enum
import functools
import logging
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from calibration.errors import CalibrationError

__all__ = [
    "ColourCalibration",
    "ColourDriftMonitor",
    "DriftCheck",
    "DriftStatus",
    "apply_colour",
    "bgr_to_lab",
    "calibrate_colour",
    "delta_e76",
    "delta_e2000",
    "grey_lab",
    "linear_to_srgb",
    "measure_patch",
    "srgb_to_linear",
]

logger = logging.getLogger(__name__)

# sRGB (D65) linear RGB -> XYZ, and the D65 white point.
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_WHITE = np.array([0.95047, 1.0, 1.08883])


def srgb_to_linear(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """sRGB-encoded values in 0..1 to linear light."""
    v = np.asarray(values, np.float64)
    return np.asarray(np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4), np.float64)


def linear_to_srgb(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Linear light in 0..1 to sRGB encoding."""
    v = np.clip(np.asarray(values, np.float64), 0.0, 1.0)
    return np.asarray(np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055), np.float64)


def _linear_rgb_to_lab(rgb: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    xyz = rgb @ _RGB_TO_XYZ.T / _WHITE
    delta = 6 / 29
    f = np.where(xyz > delta ** 3, np.cbrt(xyz), xyz / (3 * delta ** 2) + 4 / 29)
    lab = np.empty_like(f, dtype=np.float64)
    lab[..., 0] = 116 * f[..., 1] - 16
    lab[..., 1] = 500 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return np.asarray(lab, np.float64)


def bgr_to_lab(bgr: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """CIELAB (D65) of 8-bit sRGB colours given in OpenCV's BGR order (any shape ending in 3)."""
    rgb = np.asarray(bgr, np.float64)[..., ::-1] / 255.0
    return _linear_rgb_to_lab(srgb_to_linear(rgb))


def grey_lab(lightness: float) -> npt.NDArray[np.float64]:
    """The Lab colour of a neutral grey of lightness L*."""
    return np.array([lightness, 0.0, 0.0])


def delta_e76(lab1: npt.ArrayLike, lab2: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """CIE 1976 colour difference (Euclidean distance in Lab)."""
    d = np.asarray(lab1, np.float64) - np.asarray(lab2, np.float64)
    return np.asarray(np.sqrt(np.sum(d * d, axis=-1)), np.float64)


def delta_e2000(lab1: npt.ArrayLike, lab2: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), kL = kC = kH = 1."""
    a = np.asarray(lab1, np.float64)
    b = np.asarray(lab2, np.float64)
    l1, a1, b1 = a[..., 0], a[..., 1], a[..., 2]
    l2, a2, b2 = b[..., 0], b[..., 1], b[..., 2]
    c1 = np.hypot(a1, b1)
    c2 = np.hypot(a2, b2)
    c_mean7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c_mean7 / (c_mean7 + 25.0 ** 7)))
    a1p = (1 + g) * a1
    a2p = (1 + g) * a2
    c1p = np.hypot(a1p, b1)
    c2p = np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dlp = l2 - l1
    dcp = c2p - c1p
    dhp = h2p - h1p
    dhp = np.where(dhp > 180, dhp - 360, dhp)
    dhp = np.where(dhp < -180, dhp + 360, dhp)
    dhp = np.where(c1p * c2p == 0, 0.0, dhp)
    dhp_big = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dhp / 2))
    lp_mean = (l1 + l2) / 2
    cp_mean = (c1p + c2p) / 2
    hsum = h1p + h2p
    hp_mean = np.where(np.abs(h1p - h2p) > 180, np.where(hsum < 360, hsum + 360, hsum - 360), hsum) / 2
    hp_mean = np.where(c1p * c2p == 0, hsum, hp_mean)
    t = (1 - 0.17 * np.cos(np.radians(hp_mean - 30)) + 0.24 * np.cos(np.radians(2 * hp_mean))
         + 0.32 * np.cos(np.radians(3 * hp_mean + 6)) - 0.20 * np.cos(np.radians(4 * hp_mean - 63)))
    d_theta = 30 * np.exp(-(((hp_mean - 275) / 25) ** 2))
    cp_mean7 = cp_mean ** 7
    r_c = 2 * np.sqrt(cp_mean7 / (cp_mean7 + 25.0 ** 7))
    s_l = 1 + 0.015 * (lp_mean - 50) ** 2 / np.sqrt(20 + (lp_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    terms = (dlp / s_l) ** 2 + (dcp / s_c) ** 2 + (dhp_big / s_h) ** 2 + r_t * (dcp / s_c) * (dhp_big / s_h)
    return np.asarray(np.sqrt(np.maximum(terms, 0.0)), np.float64)


Patch = tuple[int, int, int, int]  # x, y, width, height in pixels


def measure_patch(frame_bgr: npt.NDArray[np.uint8], patch: Patch) -> npt.NDArray[np.float64]:
    """Linear RGB (0..1, in B, G, R order) of the patch: per-channel median of its inner 60 %."""
    x, y, w, h = patch
    height, width = frame_bgr.shape[:2]
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise CalibrationError("colour", f"the patch {list(patch)} is not inside the {width}x{height} frame",
                               "give the grey patch as x,y,width,height within the image")
    # The inner part only: the patch's edges mix with what surrounds it.
    mx, my = int(w * 0.2), int(h * 0.2)
    region = frame_bgr[y + my:y + h - my, x + mx:x + w - mx].reshape(-1, frame_bgr.shape[2])
    if region.shape[0] < 16:
        raise CalibrationError("colour", f"the patch {list(patch)} is too small",
                               "use a patch at least 10x10 pixels")
    if np.mean(region >= 254) > 0.02:
        raise CalibrationError("colour", "the grey patch is burnt out (clipped)",
                               "lower the exposure or the light until the patch is mid-grey")
    return np.asarray(srgb_to_linear(np.median(region, axis=0) / 255.0), np.float64)


def _lab_of_linear_bgr(linear_bgr: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return _linear_rgb_to_lab(np.asarray(linear_bgr, np.float64)[..., ::-1])


@dataclass(frozen=True)
class ColourCalibration:
    """Gains that make the grey patch neutral at the target lightness, and what it should read."""

    patch: Patch
    gains_bgr: tuple[float, float, float]  # linear-light gains per channel
    reference_lab: tuple[float, float, float]  # the patch's colour after correction at calibration time
    target_lightness: float = 50.0

    @property
    def exposure_stops(self) -> float:
        """Exposure change (in stops) the gains apply: + means the frame was too dark."""
        return math.log2(float(np.mean(self.gains_bgr)))

    def correct_patch(self, frame_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
        """Lab of the patch in `frame_bgr` after this calibration's correction."""
        linear = measure_patch(frame_bgr, self.patch) * np.asarray(self.gains_bgr)
        return _lab_of_linear_bgr(np.clip(linear, 0.0, 1.0))


def calibrate_colour(frame_bgr: npt.NDArray[np.uint8], patch: Patch, target_lightness: float = 50.0,
                     max_gain: float = 8.0) -> ColourCalibration:
    """White balance and exposure from the grey patch: gains so that it reads grey of L* = target."""
    if not 0.0 < target_lightness < 100.0:  # NaN too: its gains would be NaN, saved as the calibration
        raise CalibrationError("colour", f"a grey patch cannot read L* {target_lightness:g}",
                               "give the lightness of the grey card, between 0 (black) and 100 (white); "
                               "50 for an 18 % grey card")
    measured = measure_patch(frame_bgr, patch)
    if np.min(measured) <= 1e-4:
        raise CalibrationError("colour", "the grey patch is black in at least one channel",
                               "check the patch position and that the lamp is on")
    target_linear = _grey_linear(target_lightness)
    gains = target_linear / measured
    if np.max(gains) > max_gain or np.min(gains) < 1.0 / max_gain:
        raise CalibrationError(
            "colour", f"the correction would need gains {np.round(gains, 2).tolist()} (limit {max_gain:g}x)",
            "fix the lamp or the camera exposure first; the patch must be neither nearly black nor white",
        )
    reference = _lab_of_linear_bgr(np.clip(measured * gains, 0.0, 1.0))
    cal = ColourCalibration(patch, (float(gains[0]), float(gains[1]), float(gains[2])),
                            (float(reference[0]), float(reference[1]), float(reference[2])), target_lightness)
    logger.info("colour: gains B %.3f G %.3f R %.3f (%.2f stops)", *cal.gains_bgr, cal.exposure_stops)
    return cal


def _grey_linear(lightness: float) -> float:
    """Linear luminance Y of a neutral grey of lightness L*."""
    f = (lightness + 16) / 116
    delta = 6 / 29
    return float(f ** 3 if f > delta else 3 * delta ** 2 * (f - 4 / 29))


@functools.lru_cache(maxsize=8)
def _colour_lut(gains_bgr: tuple[float, float, float]) -> npt.NDArray[np.uint8]:
    levels = srgb_to_linear(np.arange(256) / 255.0)
    lut = np.stack([np.round(linear_to_srgb(levels * gain) * 255.0) for gain in gains_bgr], axis=-1)
    return np.ascontiguousarray(lut.reshape(256, 1, 3).astype(np.uint8))


def apply_colour(frame_bgr: npt.NDArray[np.uint8], calibration: ColourCalibration) -> npt.NDArray[np.uint8]:
    """The frame with the calibration's white balance and exposure applied (one LUT per channel)."""
    return np.asarray(cv2.LUT(frame_bgr, _colour_lut(calibration.gains_bgr)), np.uint8)


class DriftStatus(enum.Enum):
    """Outcome of a colour check."""

    OK = "ok"
    WARNING = "warning"
    MANUAL_REVIEW = "manual_review"


@dataclass(frozen=True)
class DriftCheck:
    """One reading of the reference patch against the calibration."""

    delta_e: float  # CIEDE2000 between the corrected patch now and at calibration
    status: DriftStatus
    message: str
    lab: tuple[float, float, float]


@dataclass
class ColourDriftMonitor:
    """Reads the grey patch at start-up and every `check_every` items.

    Out of tolerance once is a warning (a passing shadow, a hand in view); out of
    tolerance on two checks in a row, or by more than twice the tolerance, puts items
    into manual review until a check passes again or the colour is recalibrated.
    """

    calibration: ColourCalibration
    check_every: int = 200
    tolerance_de: float = 5.0
    items_since_check: int = 0
    last: DriftCheck | None = None
    _strikes: int = field(default=0, init=False, repr=False)

    def check(self, frame_bgr: npt.NDArray[np.uint8]) -> DriftCheck:
        """Measure the patch now (also call at start-up)."""
        self.items_since_check = 0
        try:
            lab = self.calibration.correct_patch(frame_bgr)
        except CalibrationError as exc:
            self._strikes += 1
            message = f"grey reference patch unreadable ({exc.problem}): {exc.fix}"
            result = DriftCheck(float("inf"), DriftStatus.MANUAL_REVIEW, message, (0.0, 0.0, 0.0))
            self.last = result
            logger.warning("colour check: %s", result.message)
            return result
        de = float(delta_e2000(lab, np.asarray(self.calibration.reference_lab)))
        lab_t = (float(lab[0]), float(lab[1]), float(lab[2]))
        if de <= self.tolerance_de:
            self._strikes = 0
            message = f"colour reference within tolerance (ΔE00 {de:.1f})"
            result = DriftCheck(de, DriftStatus.OK, message, lab_t)
        else:
            self._strikes += 1
            severe = de > 2 * self.tolerance_de or self._strikes >= 2
            status = DriftStatus.MANUAL_REVIEW if severe else DriftStatus.WARNING
            then = "items go to manual review" if severe else "checked again at the next item"
            message = (f"colour reference drifted by ΔE00 {de:.1f} (tolerance {self.tolerance_de:g}): "
                       f"{then}; check the lamp and recalibrate with `station calibrate colour`")
            result = DriftCheck(de, status, message, lab_t)
            logger.warning("colour check: %s", result.message)
        self.last = result
        return result

    def item_done(self, frame_bgr: npt.NDArray[np.uint8]) -> DriftCheck | None:
        """Count one item; returns a check when one was due (every N items, or next item after a warning)."""
        self.items_since_check += 1
        due = self.items_since_check >= self.check_every or (
            self.last is not None and self.last.status is not DriftStatus.OK)
        return self.check(frame_bgr) if due else None

    @property
    def manual_review(self) -> bool:
        """True while items must go to manual review because of colour drift."""
        return self.last is not None and self.last.status is DriftStatus.MANUAL_REVIEW
