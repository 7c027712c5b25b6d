"""Plane scale (px/mm) and item footprints measured on synthetic belt images of known geometry."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.board import BoardSpec
from calibration.dimensions import (
    CatalogDimensions,
    DimensionStatus,
    compare_dimensions,
    measure_footprint,
    measure_height,
)
from calibration.errors import CalibrationError
from calibration.intrinsics import Intrinsics
from calibration.plane import calibrate_plane
from calibration.synthetic import (
    BELT_GREY,
    BELT_ORIGIN,
    BELT_PX_PER_MM,
    BELT_SIZE_MM,
    BOARD_ON_BELT_MM,
    Camera,
    belt_texture,
    belt_with_board,
    degrade,
    draw_box,
    look_at,
    render_plane,
    top_camera_pose,
)

SPEC = BoardSpec()
CAMERA = Camera()
# The tests of this file use the true intrinsics; test_calib_intrinsics shows they are recovered.
INTRINSICS = Intrinsics(CAMERA.matrix, np.array(CAMERA.dist), CAMERA.size, 0.0)


def _shot(scene: np.ndarray, pose: tuple[np.ndarray, np.ndarray], seed: int) -> np.ndarray:
    image, _mask = render_plane(CAMERA, pose[0], pose[1], scene, BELT_PX_PER_MM, BELT_ORIGIN, fill=BELT_GREY)
    return degrade(image, np.random.default_rng(seed), blur_sigma=0.8, noise=2.0)


@pytest.fixture(scope="module")
def plane():
    scene = belt_with_board(SPEC, np.random.default_rng(1))
    return calibrate_plane(_shot(scene, top_camera_pose(), 2), SPEC, INTRINSICS)


def test_recovers_a_known_px_per_mm_within_one_percent():
    # Camera straight above the board's centre at 500 mm: the scale there is f / Z exactly.
    board_centre = (BOARD_ON_BELT_MM[0] + SPEC.width_mm / 2, BOARD_ON_BELT_MM[1] + SPEC.height_mm / 2, 0.0)
    pose = look_at(board_centre, (board_centre[0], board_centre[1], -500.0), roll_deg=12.0)
    scene = belt_with_board(SPEC, np.random.default_rng(3))
    result = calibrate_plane(_shot(scene, pose, 4), SPEC, INTRINSICS)
    # The board sits a little off the principal point: use the mean focal length over the distance.
    true_px_per_mm = np.sqrt(CAMERA.fx * CAMERA.fy) / 500.0
    assert abs(result.px_per_mm - true_px_per_mm) / true_px_per_mm < 0.01, (result.px_per_mm, true_px_per_mm)
    assert result.camera_height_mm == pytest.approx(500.0, rel=0.01)
    assert result.rms_mm < 0.2


def test_plane_maps_pixels_to_millimetres_and_back(plane):
    points_mm = np.array([[0.0, 0.0], [150.0, 40.0], [-80.0, 120.0]])
    back = plane.image_to_plane(plane.plane_to_image(points_mm))
    assert np.abs(back - points_mm).max() < 0.05
    # The camera's height above the belt, from the pose: 650 mm in the scene.
    assert plane.camera_height_mm == pytest.approx(650.0, rel=0.01)


@pytest.mark.parametrize(("size", "angle", "centre"), [
    ((200.0, 120.0), 20.0, (0.0, 0.0)),
    ((90.0, 60.0), -35.0, (-150.0, 80.0)),
    ((300.0, 150.0), 0.0, (100.0, -40.0)),
    ((140.0, 140.0), 45.0, (180.0, 60.0)),
])
def test_measures_rendered_boxes_within_two_millimetres(plane, size, angle, centre):
    scene = belt_texture(np.random.default_rng(7))
    draw_box(scene, centre, size, angle, (40, 120, 200))
    footprint = measure_footprint(_shot(scene, top_camera_pose(), 8), plane)
    assert footprint is not None
    assert abs(footprint.length_mm - max(size)) < 2.0, footprint.length_mm
    assert abs(footprint.width_mm - min(size)) < 2.0, footprint.width_mm
    assert not footprint.touches_edge


def test_dark_item_against_an_empty_belt_reference(plane):
    rng = np.random.default_rng(9)
    empty = belt_texture(rng)
    scene = empty.copy()
    draw_box(scene, (-60.0, 30.0), (160.0, 100.0), 10.0, (35, 35, 40))  # darker than the belt
    background = _shot(empty, top_camera_pose(), 10)
    footprint = measure_footprint(_shot(scene, top_camera_pose(), 11), plane, background_bgr=background)
    assert footprint is not None
    assert footprint.length_mm == pytest.approx(160.0, abs=2.0)
    assert footprint.width_mm == pytest.approx(100.0, abs=2.0)


def test_top_face_of_a_tall_box_is_corrected_with_its_height(plane):
    height = 120.0
    rng = np.random.default_rng(12)
    belt = _shot(belt_texture(rng), top_camera_pose(), 13)
    shape = (round(BELT_SIZE_MM[1] * BELT_PX_PER_MM), round(BELT_SIZE_MM[0] * BELT_PX_PER_MM), 3)
    top = np.zeros(shape, np.uint8)
    draw_box(top, (10.0, -20.0), (180.0, 110.0), 15.0, (60, 160, 220))
    rot, t = top_camera_pose()
    # The top face, 120 mm above the belt, rendered over the empty belt.
    top_img, _cover = render_plane(CAMERA, rot, t, top, BELT_PX_PER_MM, BELT_ORIGIN, z_mm=-height)
    inside = top_img.max(axis=2) > 0
    frame = belt.copy()
    frame[inside] = top_img[inside]
    frame = degrade(frame, np.random.default_rng(14), blur_sigma=0.6, noise=1.5)
    naive = measure_footprint(frame, plane)
    corrected = measure_footprint(frame, plane, height_mm=height)
    assert naive is not None and corrected is not None
    assert naive.length_mm > 180.0 + 20.0  # the near face looks about 23 % larger
    assert corrected.length_mm == pytest.approx(180.0, abs=2.0)
    assert corrected.width_mm == pytest.approx(110.0, abs=2.0)


def test_empty_belt_reads_as_empty_and_fails_conformity(plane):
    frame = _shot(belt_texture(np.random.default_rng(15)), top_camera_pose(), 16)
    footprint = measure_footprint(frame, plane)
    assert footprint is None
    check = compare_dimensions(footprint, CatalogDimensions(200.0, 120.0))
    assert check.status is DimensionStatus.EMPTY
    assert not check.conforms
    assert "empty" in check.reason


def test_catalog_comparison_tells_match_from_missing_parts_and_wrong_item(plane):
    scene = belt_texture(np.random.default_rng(17))
    draw_box(scene, (0.0, 0.0), (200.0, 120.0), 30.0, (40, 120, 200))
    footprint = measure_footprint(_shot(scene, top_camera_pose(), 18), plane)
    assert footprint is not None
    match = compare_dimensions(footprint, CatalogDimensions(120.0, 200.0))  # order does not matter
    assert match.status is DimensionStatus.MATCH and match.conforms
    smaller = compare_dimensions(footprint, CatalogDimensions(260.0, 160.0))
    assert smaller.status is DimensionStatus.SMALLER and not smaller.conforms
    assert "missing parts" in smaller.reason
    different = compare_dimensions(footprint, CatalogDimensions(150.0, 150.0))
    assert different.status is DimensionStatus.DIFFERENT


def test_item_cut_off_by_the_frame_is_not_judged(plane):
    scene = belt_texture(np.random.default_rng(19))
    draw_box(scene, (-480.0, 0.0), (300.0, 200.0), 0.0, (40, 120, 200))
    footprint = measure_footprint(_shot(scene, top_camera_pose(), 20), plane)
    assert footprint is not None and footprint.touches_edge
    check = compare_dimensions(footprint, CatalogDimensions(300.0, 200.0))
    assert check.status is DimensionStatus.UNCERTAIN


def test_plane_refuses_an_image_without_the_board():
    frame = _shot(belt_texture(np.random.default_rng(21)), top_camera_pose(), 22)
    with pytest.raises(CalibrationError) as err:
        calibrate_plane(frame, SPEC, INTRINSICS)
    assert "board not found" in str(err.value)


def test_plane_refuses_the_wrong_board():
    other = BoardSpec(dictionary="DICT_4X4_50")
    frame = _shot(belt_with_board(other, np.random.default_rng(23)), top_camera_pose(), 24)
    with pytest.raises(CalibrationError) as err:
        calibrate_plane(frame, SPEC, INTRINSICS)
    assert "DICT_4X4_50" in str(err.value)


def test_side_camera_measures_an_items_height_within_two_millimetres():
    # The side camera's plane is the board standing upright along the belt: in its frame x runs
    # along the belt and y downwards, the belt's surface at y = 200 mm. Geometrically it is the
    # same as a board lying in front of a camera, so the same renderer serves.
    belt_level = 200.0
    side_pose = look_at((0.0, 100.0, 0.0), (-80.0, 140.0, -700.0), roll_deg=-3.0)
    wall = belt_with_board(SPEC, np.random.default_rng(25))
    side_plane = calibrate_plane(_shot(wall, side_pose, 26), SPEC, INTRINSICS)
    scene = belt_texture(np.random.default_rng(27))
    height = 135.0
    draw_box(scene, (20.0, belt_level - height / 2), (240.0, height), 0.0, (40, 120, 200))
    frame = _shot(scene, side_pose, 28)
    # Board frame = world shifted by the board's position on the texture.
    measured = measure_height(frame, side_plane, belt_level_mm=belt_level - BOARD_ON_BELT_MM[1])
    assert measured == pytest.approx(height, abs=2.0)


def test_height_from_the_side_camera_joins_the_catalog_check(plane):
    scene = belt_texture(np.random.default_rng(29))
    draw_box(scene, (0.0, 0.0), (200.0, 120.0), 30.0, (40, 120, 200))
    footprint = measure_footprint(_shot(scene, top_camera_pose(), 30), plane)
    expected = CatalogDimensions(200.0, 120.0, height_mm=80.0)
    assert compare_dimensions(footprint, expected, height_mm=81.0).status is DimensionStatus.MATCH
    flat = compare_dimensions(footprint, expected, height_mm=30.0)  # the box was squashed or half empty
    assert flat.status is DimensionStatus.SMALLER and not flat.conforms
    assert flat.deviation_mm[2] == pytest.approx(-50.0)


def test_region_of_interest_ignores_clutter_outside_it(plane):
    scene = belt_texture(np.random.default_rng(31))
    draw_box(scene, (0.0, 0.0), (160.0, 100.0), 0.0, (40, 120, 200))
    draw_box(scene, (-330.0, 150.0), (200.0, 200.0), 0.0, (200, 200, 200))  # a bigger thing at the side
    frame = _shot(scene, top_camera_pose(), 32)
    item_px = plane.plane_to_image(np.array([[0.0, 0.0]]) - np.array(BOARD_ON_BELT_MM))[0]
    roi = (int(item_px[0]) - 250, int(item_px[1]) - 200, 500, 400)
    footprint = measure_footprint(frame, plane, roi=roi)
    assert footprint is not None
    assert footprint.length_mm == pytest.approx(160.0, abs=2.0)
    assert footprint.width_mm == pytest.approx(100.0, abs=2.0)
