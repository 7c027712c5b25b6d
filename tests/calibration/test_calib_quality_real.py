"""Frame quality on real photos (GroceryStoreDataset, ../shared/data): blur is caught, sharp photos pass."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.quality import assess
from calibration.synthetic import motion_blur

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def photos(shared_data: Path) -> list[np.ndarray]:
    root = shared_data / "products" / "grocery"
    listing = (root / "val.txt").read_text().splitlines()
    rows = [line.split(",")[0].strip() for line in listing if line.strip()]
    random.Random(0).shuffle(rows)
    images = [cv2.imread(str(root / row), cv2.IMREAD_COLOR) for row in rows[:120]]
    return [image for image in images if image is not None]


def test_motion_blur_is_caught_on_real_photos_with_few_false_alarms(photos):
    rng = random.Random(1)
    false_alarms = np.mean([assess(p).motion_blur for p in photos])
    caught = np.mean([assess(motion_blur(p, 15, rng.uniform(0, 180))).motion_blur for p in photos])
    # Handheld shop photos: a few of the originals are themselves smeared.
    assert false_alarms <= 0.06, false_alarms
    assert caught >= 0.8, caught


def test_defocus_fails_and_the_originals_mostly_pass(photos):
    passed = np.mean([assess(p).ok for p in photos])
    defocused = [assess(cv2.GaussianBlur(p, (0, 0), 3.0)) for p in photos]
    assert passed >= 0.85, passed
    assert all(not q.ok for q in defocused)
    assert all(any("out of focus" in r for r in q.reasons) for q in defocused)
