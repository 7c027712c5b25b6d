"""Intrinsics recovered from synthetic views of a known camera, and the session's refusals."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.board import BoardSpec, detect_board
from calibration.errors import CalibrationError
from calibration.intrinsics import IntrinsicsSession, ViewStatus, calibrate_intrinsics
from calibration.synthetic import Camera, board_views, degrade

SPEC = BoardSpec()
CAMERA = Camera()


def _distortion_shift(matrix: np.ndarray, dist: np.ndarray, points: np.ndarray) -> np.ndarray:
    """How far the lens model moves each pixel from where a distortion-free camera would put it."""
    undist = cv2.undistortPoints(points.reshape(-1, 1, 2), matrix, dist, None, None, matrix,
                                 (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-10))
    return points - undist.reshape(-1, 2)


@pytest.fixture(scope="module")
def calibrated():
    views = board_views(SPEC, CAMERA)
    return calibrate_intrinsics([(f"v{i:02d}", v) for i, v in enumerate(views)], SPEC)


def test_recovers_focal_length_and_principal_point_within_one_percent(calibrated):
    result, feedback = calibrated
    assert len(views_kept := [f for f in feedback if f.accepted]) >= 15, views_kept
    for name, got, true in (("fx", result.fx, CAMERA.fx), ("fy", result.fy, CAMERA.fy),
                            ("cx", result.cx, CAMERA.cx), ("cy", result.cy, CAMERA.cy)):
        assert abs(got - true) / true < 0.01, f"{name}: {got:.2f} vs {true:.2f}"
    assert result.rms_px < 0.3
    assert len(result.per_view_errors) == len(views_kept)


def test_recovers_the_distortion_effect_within_half_a_pixel(calibrated):
    result, _feedback = calibrated
    # Every 20th pixel of the frame, 3 % in from the edges (corners are extrapolation for any model).
    xs = np.arange(0.03 * CAMERA.width, 0.97 * CAMERA.width, 20)
    ys = np.arange(0.03 * CAMERA.height, 0.97 * CAMERA.height, 20)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    true_shift = _distortion_shift(CAMERA.matrix, np.array(CAMERA.dist), grid)
    got_shift = _distortion_shift(result.matrix, result.dist, grid)
    error = np.linalg.norm(true_shift - got_shift, axis=1)
    assert np.abs(true_shift).max() > 30, "the test camera must have real distortion"
    assert error.max() < 0.5, f"worst {error.max():.3f} px at {grid[error.argmax()]}"


def test_session_guidance_reports_coverage_tilt_and_readiness():
    views = board_views(SPEC, CAMERA)
    session = IntrinsicsSession(SPEC, min_views=10)
    session.add_frame(views[8])  # one view: nowhere near ready
    early = session.guidance()
    assert not early.ready
    assert early.views == 1
    assert any("views kept" in h for h in early.hints)
    assert any("covered" in h for h in early.hints)
    assert early.missing_regions
    for view in views[:8] + views[9:]:
        session.add_frame(view)
    done = session.guidance()
    assert done.ready, done.hints
    assert done.coverage > early.coverage
    assert {"left", "right"} & set(done.tilt_directions) and {"top", "bottom"} & set(done.tilt_directions)
    cells = session.coverage_map()
    assert cells.shape == (9, 16) and cells.mean() == pytest.approx(done.coverage)
    assert cells[:2, :3].any() and cells[-2:, -3:].any()  # the corner views reached the frame's corners
    assert done.tilted_views >= 3


def test_session_asks_for_tilts_the_other_way_when_all_lean_one_way():
    views = board_views(SPEC, CAMERA)
    session = IntrinsicsSession(SPEC, min_views=5)
    kept = [session.add_frame(v) for v in views]
    leaning_right = [i for i, f in enumerate(kept)
                     if f.accepted and f.tilt_deg >= 15 and f.tilt_side == "right"]
    assert len(leaning_right) >= 3
    one_way = IntrinsicsSession(SPEC, min_views=5)
    for i in leaning_right:
        one_way.add_frame(views[i])
    guidance = one_way.guidance()
    assert guidance.tilt_directions == ("right",)
    assert not guidance.ready
    assert any("lean the same way" in h and "top or bottom" in h for h in guidance.hints)


def test_session_skips_repeated_live_frames_when_asked():
    view = board_views(SPEC, CAMERA)[4]
    session = IntrinsicsSession(SPEC, skip_duplicates=True)
    assert session.add_frame(view).accepted
    assert session.add_frame(view.copy()).status == ViewStatus.DUPLICATE
    assert session.guidance().views == 1


def test_refuses_too_few_views():
    views = board_views(SPEC, CAMERA)[:6]
    with pytest.raises(CalibrationError) as err:
        calibrate_intrinsics([(f"v{i}", v) for i, v in enumerate(views)], SPEC, min_views=10)
    assert "only 6 usable views" in str(err.value)
    assert "at least 10" in str(err.value)


def test_refuses_blurred_views_and_names_them():
    rng = np.random.default_rng(5)
    views = board_views(SPEC, CAMERA)
    blurred = [(f"shaky{i}.png", degrade(v, rng, blur_sigma=6.0, noise=1.0)) for i, v in enumerate(views[:8])]
    sharp = [(f"good{i}.png", v) for i, v in enumerate(views[8:14])]
    with pytest.raises(CalibrationError) as err:
        calibrate_intrinsics(sharp + blurred, SPEC, min_views=10)
    message = str(err.value)
    assert "8 blurred" in message
    assert "shaky0.png" in message
    assert "held still" in message


def test_refuses_the_wrong_board_and_says_which_one_it_saw():
    other = BoardSpec(dictionary="DICT_4X4_50")
    views = board_views(other, CAMERA, count=4)
    assert detect_board(views[0], SPEC).count == 0
    with pytest.raises(CalibrationError) as err:
        calibrate_intrinsics([(f"v{i}", v) for i, v in enumerate(views)], SPEC, min_views=10)
    message = str(err.value)
    assert "DICT_4X4_50" in message
    assert "station calibrate board" in message


def test_refuses_a_result_whose_error_is_too_high():
    views = board_views(SPEC, CAMERA)
    with pytest.raises(CalibrationError) as err:
        calibrate_intrinsics([(f"v{i:02d}", v) for i, v in enumerate(views)], SPEC, max_rms_px=0.01)
    assert "reprojection error" in str(err.value)
    assert "worst views" in str(err.value)


def test_undistorted_frames_have_straight_board_rows(calibrated):
    result, _feedback = calibrated
    view = board_views(SPEC, CAMERA)[18]  # near the top left corner, where the lens bends rows most

    def worst_row_bend(image: np.ndarray) -> float:
        detection = detect_board(image, SPEC)
        per_row = SPEC.squares_x - 1
        bends = []
        for number in range(SPEC.squares_y - 1):  # the board's rows of corners that are complete
            row = detection.image_points[detection.ids // per_row == number]
            if len(row) < per_row:
                continue
            centred = row - row.mean(axis=0)
            _u, singular, _vt = np.linalg.svd(centred)
            bends.append(singular[1] / np.sqrt(len(row)))  # RMS distance from the best line
        assert len(bends) >= 3
        return float(max(bends))

    assert worst_row_bend(view) > 0.6
    assert worst_row_bend(result.undistort_image(view)) < 0.15
