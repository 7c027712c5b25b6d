"""Finding the item on the belt: a rendered box on a textured belt is found where it lies."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vision.locate import crop_box, locate_item


def belt(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((720, 1280, 3), (58, 60, 62), np.uint8)
    noise = rng.normal(0, 6, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("angle", "colour"), [(0, (40, 140, 220)), (25, (200, 200, 200)), (-40, (30, 30, 150))]
)
def test_a_box_on_the_belt_is_located(angle: float, colour: tuple[int, int, int]) -> None:
    image = belt()
    rect = ((640.0, 360.0), (420.0, 260.0), angle)
    corners = cv2.boxPoints(rect).astype(np.int32)
    cv2.fillPoly(image, [corners], colour)
    found = locate_item(image)
    assert found is not None
    x, y, w, h = found.box
    ex, ey, ew, eh = cv2.boundingRect(corners)
    assert abs(x - ex) <= 12 and abs(y - ey) <= 12
    assert abs(w - ew) <= 16 and abs(h - eh) <= 16
    assert sorted(found.rotated[1]) == pytest.approx(sorted(rect[1]), abs=16)


def test_an_empty_belt_has_no_item() -> None:
    assert locate_item(belt(1)) is None


def test_crop_box_pads_and_clips_to_the_frame() -> None:
    image = belt()
    crop, box = crop_box(image, (1200, 10, 100, 50), pad=0.1)
    assert box == (1190, 5, 90, 60)
    assert crop.shape[:2] == (60, 90)
