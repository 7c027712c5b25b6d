"""Colour: CIEDE2000 against published pairs, a known lamp cast corrected, lamp drift caught."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.colour import (
    ColourDriftMonitor,
    DriftStatus,
    apply_colour,
    bgr_to_lab,
    calibrate_colour,
    delta_e76,
    delta_e2000,
    linear_to_srgb,
    srgb_to_linear,
)
from calibration.errors import CalibrationError

# Pairs and ΔE00 from Sharma, Wu & Dalal (2005), "The CIEDE2000 colour-difference formula".
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.694), (23.0331, 14.973, -42.5619), 2.0373),
    ((90.8027, -2.0831, 1.441), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
]

PATCH = (40, 40, 80, 80)
GREY = 119  # sRGB value of an 18 % grey card (L* 50)
CHART = {  # BGR of a few colours on the test card beside the grey patch
    "skin": (130, 150, 194), "sky": (157, 122, 98), "foliage": (67, 108, 87),
    "orange": (44, 126, 214), "light grey": (160, 160, 160), "dark grey": (85, 85, 85),
}


def _scene() -> np.ndarray:
    """A card with the grey patch and colour squares, as the lamp should show it."""
    frame = np.full((240, 480, 3), 200, np.uint8)
    x, y, w, h = PATCH
    frame[y:y + h, x:x + w] = GREY
    for i, colour in enumerate(CHART.values()):
        col, row = divmod(i, 2)
        frame[20 + row * 110:20 + row * 110 + 80, 160 + col * 105:160 + col * 105 + 80] = colour
    return frame


def _chart_lab(frame: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for i, name in enumerate(CHART):
        col, row = divmod(i, 2)
        square = frame[40 + row * 110:80 + row * 110, 180 + col * 105:220 + col * 105]
        out[name] = bgr_to_lab(np.median(square.reshape(-1, 3), axis=0))
    return out


def _lamp(frame: np.ndarray, gains_bgr: tuple[float, float, float], rng: np.random.Generator,
          noise: float = 1.5) -> np.ndarray:
    """The frame under another lamp: a per-channel change of linear light, plus sensor noise."""
    linear = srgb_to_linear(frame / 255.0) * np.array(gains_bgr)
    out = linear_to_srgb(linear) * 255.0 + rng.normal(0, noise, frame.shape)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA)
def test_ciede2000_matches_the_published_pairs(lab1, lab2, expected):
    assert float(delta_e2000(lab1, lab2)) == pytest.approx(expected, abs=1e-4)
    assert float(delta_e2000(lab2, lab1)) == pytest.approx(expected, abs=1e-4)


def test_delta_e76_is_the_lab_distance():
    assert float(delta_e76((50, 0, 0), (53, 4, 0))) == pytest.approx(5.0)


def test_a_known_colour_cast_is_corrected_to_within_delta_e_3():
    rng = np.random.default_rng(1)
    truth = _scene()
    reference = bgr_to_lab(np.array([GREY, GREY, GREY]))
    # A warm, dim lamp: blue at 55 %, green 80 %, red 105 % of the light the card was made for.
    cast = (0.55, 0.80, 1.05)
    calibration_frame = _lamp(truth, cast, rng)
    before = float(delta_e2000(bgr_to_lab(np.median(calibration_frame[60:100, 60:100].reshape(-1, 3), 0)),
                               reference))
    assert before > 10  # the cast is real
    calibration = calibrate_colour(calibration_frame, PATCH, target_lightness=float(reference[0]))
    # A later frame under the same lamp, new noise: the correction holds.
    later = apply_colour(_lamp(truth, cast, rng), calibration)
    patch_lab = bgr_to_lab(np.median(later[60:100, 60:100].reshape(-1, 3), axis=0))
    assert float(delta_e2000(patch_lab, reference)) < 3.0
    # And the other colours of the card come back too (the cast is a change of lamp, not of pigment).
    corrected, true = _chart_lab(later), _chart_lab(truth)
    for name in CHART:
        assert float(delta_e2000(corrected[name], true[name])) < 3.0, name
    assert calibration.exposure_stops > 0  # the lamp was dimmer: the gains brighten


def test_drift_monitor_warns_then_sends_items_to_manual_review():
    rng = np.random.default_rng(2)
    truth = _scene()
    lamp = (0.9, 1.0, 1.1)
    calibration = calibrate_colour(_lamp(truth, lamp, rng), PATCH)
    monitor = ColourDriftMonitor(calibration, check_every=3, tolerance_de=5.0)
    assert monitor.check(_lamp(truth, lamp, rng)).status is DriftStatus.OK  # start-up check
    assert monitor.item_done(truth) is None  # not yet due
    assert monitor.item_done(truth) is None
    aged = _lamp(truth, (0.6, 0.9, 1.3), rng)  # the lamp ages: ΔE00 about 9, between 1x and 2x tolerance
    first = monitor.item_done(aged)
    assert first is not None and first.status is DriftStatus.WARNING, first
    assert 5.0 < first.delta_e < 10.0
    assert not monitor.manual_review
    second = monitor.item_done(aged)  # checked again at the very next item, still off
    assert second is not None and second.status is DriftStatus.MANUAL_REVIEW
    assert monitor.manual_review
    assert "station calibrate colour" in second.message
    recovered = monitor.check(_lamp(truth, lamp, rng))  # lamp replaced
    assert recovered.status is DriftStatus.OK
    assert not monitor.manual_review


def test_a_large_drift_sends_items_to_manual_review_at_once():
    rng = np.random.default_rng(4)
    truth = _scene()
    monitor = ColourDriftMonitor(calibrate_colour(truth, PATCH), check_every=200, tolerance_de=5.0)
    result = monitor.check(_lamp(truth, (0.4, 0.8, 1.6), rng))
    assert result.delta_e > 10.0
    assert result.status is DriftStatus.MANUAL_REVIEW


def test_a_hand_over_the_patch_is_manual_review_not_a_crash():
    truth = _scene()
    monitor = ColourDriftMonitor(calibrate_colour(truth, PATCH))
    covered = truth.copy()
    covered[40:120, 40:120] = 255  # glare or a white glove over the patch
    result = monitor.check(covered)
    assert result.status is DriftStatus.MANUAL_REVIEW
    assert "unreadable" in result.message


def test_a_small_flicker_warns_once_and_then_clears():
    rng = np.random.default_rng(3)
    truth = _scene()
    calibration = calibrate_colour(truth, PATCH)
    monitor = ColourDriftMonitor(calibration, check_every=1, tolerance_de=3.0)
    warned = monitor.check(_lamp(truth, (0.8, 0.95, 1.0), rng))
    assert warned.status is DriftStatus.WARNING, warned
    assert monitor.item_done(truth) is not None and not monitor.manual_review


def test_refuses_a_burnt_out_patch():
    frame = _scene()
    frame[40:120, 40:120] = 255
    with pytest.raises(CalibrationError) as err:
        calibrate_colour(frame, PATCH)
    assert "burnt out" in str(err.value)


def test_refuses_a_patch_outside_the_frame():
    with pytest.raises(CalibrationError) as err:
        calibrate_colour(_scene(), (450, 200, 80, 80))
    assert "not inside" in str(err.value)
