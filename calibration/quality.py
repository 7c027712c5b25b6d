"""Image quality of one frame: focus, exposure and motion blur, cheap enough for every frame.

The frame is reduced to grey at most `analysis_width` pixels wide first (INTER_AREA), so one
1280x720 frame costs a few milliseconds. Sharpness is the variance of the Laplacian of that
reduced image (the usual focus score; it also falls on scenes with little texture, so the
threshold is set for the station's own scene). Motion blur is judged by direction: a moving
item smears detail along one direction only, so the gradient energy of the finest scale,
relative to that of a 4x coarser scale, collapses in one direction (below what any sharp edge
keeps) but not in the one across it.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from calibration.hints import Hint, HintCode, hint

__all__ = ["Exposure", "FrameQuality", "QualityThresholds", "assess"]

logger = logging.getLogger(__name__)


class Exposure(enum.Enum):
    """Whether the frame is too dark, fine, or burnt out."""

    UNDER = "under"
    OK = "ok"
    OVER = "over"


@dataclass(frozen=True)
class QualityThresholds:
    """Limits of an acceptable frame (the station passes these from [calibration])."""

    min_sharpness: float = 40.0
    # Share of pixels at or above 250 (clipped highlights) that counts as over-exposed.
    max_clipped_fraction: float = 0.05
    # Mean grey level bounds of a usable frame.
    min_mean: float = 40.0
    max_mean: float = 215.0
    # Motion blur: the finest-scale detail kept in the weakest direction is below this share of the
    # strongest direction AND below `max_smeared_detail` (fine/coarse energy: sharp photos keep
    # 0.15-0.5, smeared ones under 0.1; 0.12 gave 3 % false alarms on real handheld shop photos).
    # Both, because fine print with edges one way only (a barcode) is anisotropic but not smeared.
    min_direction_ratio: float = 0.7
    max_smeared_detail: float = 0.12
    analysis_width: int = 640


@dataclass(frozen=True)
class FrameQuality:
    """The verdict on one frame; `reasons` say in plain words (English) why it is not `ok`, `findings`
    say the same as codes and values (one per reason, same order) for a screen in another language."""

    sharpness: float
    exposure: Exposure
    motion_blur: bool
    ok: bool
    reasons: tuple[str, ...]
    mean: float = 0.0
    clipped_fraction: float = 0.0
    direction_ratio: float = 1.0
    weakest_detail: float = 1.0
    findings: tuple[Hint, ...] = ()

    @property
    def exposure_ok(self) -> bool:
        """The verdict's `inspection.quality.exposure_ok`."""
        return self.exposure is Exposure.OK


def _gradient_tensor(grey: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=1)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=1)
    gxy = float(np.mean(gx * gy))
    return np.array([[float(np.mean(gx * gx)), gxy], [gxy, float(np.mean(gy * gy))]], np.float64)


def _direction_detail(grey: npt.NDArray[np.float32]) -> tuple[float, float]:
    """Fine-scale / 4x-coarser-scale gradient energy over directions: (min/max, min); 1 = no loss.

    These are the generalised eigenvalues of the two gradient tensors, so any blur angle
    is found, and the scene's own anisotropy (a barcode has edges one way only) cancels.
    """
    coarse_img = cv2.resize(grey, (max(2, grey.shape[1] // 4), max(2, grey.shape[0] // 4)),
                            interpolation=cv2.INTER_AREA)
    fine = _gradient_tensor(grey)
    coarse = _gradient_tensor(np.asarray(coarse_img, np.float32))
    # A near-singular coarse tensor (flat frame, or structure in one direction only) says
    # nothing about blur across it: regularise with a little of its larger eigenvalue.
    coarse += np.eye(2) * (0.05 * float(np.trace(coarse)) + 1e-6)
    values = np.linalg.eigvals(np.linalg.solve(coarse, fine)).real
    if values.max() <= 0:
        return 1.0, 1.0
    weakest = max(float(values.min()), 0.0)
    return weakest / float(values.max()), weakest


def assess(frame_bgr: npt.NDArray[np.uint8], thresholds: QualityThresholds | None = None,
           region: tuple[int, int, int, int] | None = None) -> FrameQuality:
    """Focus, exposure and motion blur of one BGR (or grey) frame.

    `region` (x, y, width, height in frame pixels) judges only that part, e.g. the item or
    the calibration board, on the same reduced scale as a whole frame (same thresholds).
    """
    limits = thresholds or QualityThresholds()
    grey = frame_bgr if frame_bgr.ndim == 2 else cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    scale = 1.0
    if grey.shape[1] > limits.analysis_width:
        scale = limits.analysis_width / grey.shape[1]
        size = (limits.analysis_width, max(1, round(grey.shape[0] * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    if region is not None:
        x0 = min(max(0, int(region[0] * scale)), grey.shape[1] - 8)
        y0 = min(max(0, int(region[1] * scale)), grey.shape[0] - 8)
        x1 = max(x0 + 8, min(grey.shape[1], int((region[0] + region[2]) * scale + 0.5)))
        y1 = max(y0 + 8, min(grey.shape[0], int((region[1] + region[3]) * scale + 0.5)))
        grey = grey[y0:y1, x0:x1]
    mean = float(np.mean(grey))
    clipped = float(np.count_nonzero(grey >= 250)) / grey.size
    sharpness = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    ratio, weakest = _direction_detail(grey.astype(np.float32))

    findings: list[Hint] = []
    if mean < limits.min_mean:
        exposure = Exposure.UNDER
        findings.append(hint(
            HintCode.TOO_DARK,
            f"too dark (mean grey {mean:.0f} < {limits.min_mean:.0f}): more light or exposure",
            mean=mean, min_mean=limits.min_mean))
    elif mean > limits.max_mean or clipped > limits.max_clipped_fraction:
        exposure = Exposure.OVER
        findings.append(hint(
            HintCode.OVER_EXPOSED,
            f"over-exposed ({clipped:.0%} of pixels burnt out, mean grey {mean:.0f}): less light or exposure",
            clipped=clipped, mean=mean))
    else:
        exposure = Exposure.OK
    blurred_motion = ratio < limits.min_direction_ratio and weakest < limits.max_smeared_detail
    if blurred_motion:
        findings.append(hint(
            HintCode.MOTION_BLUR,
            f"motion blur (detail along one direction {ratio:.2f} of the other): "
            "shorter exposure or slower belt",
            ratio=ratio))
    if sharpness < limits.min_sharpness:
        findings.append(hint(
            HintCode.OUT_OF_FOCUS,
            f"out of focus (sharpness {sharpness:.0f} < {limits.min_sharpness:.0f}): "
            "refocus or clean the lens",
            sharpness=sharpness, min_sharpness=limits.min_sharpness))
    reasons = [finding.text for finding in findings]
    return FrameQuality(
        sharpness=sharpness,
        exposure=exposure,
        motion_blur=blurred_motion,
        ok=not reasons,
        reasons=tuple(reasons),
        mean=mean,
        clipped_fraction=clipped,
        direction_ratio=ratio,
        weakest_detail=weakest,
        findings=tuple(findings),
    )
