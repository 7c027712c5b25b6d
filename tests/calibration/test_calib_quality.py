"""Frame quality on real-looking frames: sharp, defocused, smeared by motion, too dark, burnt out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.board import BoardSpec
from calibration.quality import Exposure, QualityThresholds, assess
from calibration.synthetic import Camera, board_views, motion_blur


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """A 1280x720 BGR frame: the board over a mottled background, as a camera sees it."""
    view = board_views(BoardSpec(), Camera())[7]
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur((rng.random((720, 1280)) * 80 + 50).astype(np.float32), (0, 0), 3)
    frame = np.where(view == 90, background, view.astype(np.float32))
    return cv2.cvtColor(np.clip(frame, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def test_a_sharp_well_exposed_frame_passes(scene):
    quality = assess(scene)
    assert quality.ok, quality.reasons
    assert quality.exposure is Exposure.OK and quality.exposure_ok
    assert not quality.motion_blur
    assert quality.reasons == ()


def test_a_defocused_frame_fails_on_sharpness(scene):
    blurred = cv2.GaussianBlur(scene, (0, 0), 5.0)
    quality = assess(blurred)
    assert not quality.ok
    assert quality.sharpness < assess(scene).sharpness / 10
    assert any("out of focus" in r for r in quality.reasons)


@pytest.mark.parametrize(("length", "angle"), [(25, 0.0), (25, 90.0), (31, 60.0)])
def test_motion_blur_is_flagged(scene, length, angle):
    quality = assess(motion_blur(scene, length, angle))
    assert quality.motion_blur, quality.direction_ratio
    assert not quality.ok
    assert any("motion blur" in r for r in quality.reasons)


def test_defocus_is_not_mistaken_for_motion(scene):
    assert not assess(cv2.GaussianBlur(scene, (0, 0), 2.0)).motion_blur


def test_too_dark_and_burnt_out_frames(scene):
    dark = assess((scene * 0.15).astype(np.uint8))
    assert dark.exposure is Exposure.UNDER and not dark.ok
    assert any("too dark" in r for r in dark.reasons)
    bright = assess(np.clip(scene.astype(np.float32) * 2.5, 0, 255).astype(np.uint8))
    assert bright.exposure is Exposure.OVER and not bright.ok
    assert any("over-exposed" in r for r in bright.reasons)


def test_a_barcode_with_edges_one_way_only_is_not_motion_blur():
    frame = np.full((720, 1280, 3), 230, np.uint8)
    rng = np.random.default_rng(3)
    x = 300
    while x < 980:  # vertical bars of random widths: strong detail across, none along
        width = int(rng.integers(2, 9))
        if rng.random() < 0.5:
            frame[200:520, x:x + width] = 20
        x += width
    frame[150:180, 300:980] = 20  # a printed rule above the bars, as labels have
    quality = assess(frame)
    assert not quality.motion_blur, quality.direction_ratio


def test_thresholds_come_from_the_caller(scene):
    strict = QualityThresholds(min_sharpness=1e9)
    assert not assess(scene, strict).ok


def test_a_region_is_judged_on_its_own(scene):
    frame = scene.copy()
    frame[:, 640:] = cv2.GaussianBlur(frame, (0, 0), 6.0)[:, 640:]  # right half out of focus
    sharp_half = assess(frame, region=(0, 0, 640, 720))
    soft_half = assess(frame, region=(640, 0, 640, 720))
    assert sharp_half.sharpness > 5 * soft_half.sharpness
    assert not soft_half.ok and any("out of focus" in r for r in soft_half.reasons)
