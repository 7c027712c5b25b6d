"""Every face of a synthetic return: the views are deterministic, a plan without faces is the
one it always was, the damage shows only in the view of the damaged face, and a side view has
the item where its truth says."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import cv2
import numpy as np
import pytest

from models.synthetic import FRAME_SIZE, PX_PER_MM, Case, Catalog, Damage, ItemPlan, ReturnsGenerator
from models.synthetic.generator import MIN_DAMAGE_FACE_MM, VIEWS
from models.synthetic.scene import SIDE_BELT_Y
from vision.locate import locate_item

SIDES = ("left", "right", "front", "back")
FACES = ("top", "left", "right")

# Digests of item 0..23 of seed 11 (frame, mask, truth and the plan's fields) rendered by the
# generator before it knew faces: a default plan must render the same pixels and truth. They
# hold for the pinned numpy/OpenCV of this project; an upgrade that moves a pixel needs them
# re-taken (and says so in its commit).
BEFORE_FACES = {
    0: "bf1562057933b26c",
    1: "43cd6f5443125010",
    2: "a5edfd80430f0193",
    3: "cef778564caceea7",
    4: "96cad6b369ed7ef0",
    5: "2ba3a8a9dabd55a3",
    6: "c48571e83060251a",
    7: "8a828959c56f4f2c",
    8: "2dc1eeb5114a2d34",
    9: "28d74fa320fcae46",
    10: "46f006a1a2552710",
    11: "6c25840c42522976",
    12: "2b56a8aabf12504b",
    13: "9c3ddb0a0b15b757",
    14: "c1f4b409394b661d",
    15: "e1ea701486acc654",
    16: "9ab91fdb760b6193",
    17: "12784c5c702e9f64",
    18: "ae70b140f8b4c25b",
    19: "d49edd4730aed6f8",
    20: "a6675660937386db",
    21: "3d136710db99b779",
    22: "071e56a4e5226da8",
    23: "91cb41d6b9a80a62",
}


@pytest.fixture(scope="module")
def gen() -> ReturnsGenerator:
    return ReturnsGenerator(Catalog.load(), seed=7)


def digest(image: np.ndarray) -> str:
    return hashlib.sha256(image.tobytes()).hexdigest()


def old_digest(gen: ReturnsGenerator, plan: ItemPlan) -> str:
    item = gen.render(plan)
    h = hashlib.sha256()
    h.update(item.frame_bgr.tobytes())
    h.update(item.mask.tobytes())
    h.update(json.dumps(item.truth, sort_keys=True).encode())
    fields = ("index", "rma", "expected_sku", "observed_sku", "case", "damage", "declared_reason", "customer",
              "serial")
    h.update(repr([getattr(plan, f) for f in fields]).encode())
    return h.hexdigest()[:16]


def side_damaged(gen: ReturnsGenerator, count: int, faces: tuple[str, ...] = FACES) -> list[ItemPlan]:
    found = []
    for index in range(3000):
        plan = gen.plan(index, faces)
        if plan.damage is not None and plan.damage_face != "top":
            found.append(plan)
            if len(found) == count:
                return found
    raise AssertionError("too few items damaged on a side face")


def test_default_plans_frames_and_truth_are_unchanged() -> None:
    gen = ReturnsGenerator(Catalog.load(), seed=11)
    for index, expected in BEFORE_FACES.items():
        plan = gen.plan(index)
        assert plan.damage_face == "top"
        assert gen.plan(index, faces=("top",)) == plan
        assert old_digest(gen, plan) == expected, index
        assert "view" not in gen.generate(index).truth


def test_faces_change_only_where_the_damage_is(gen: ReturnsGenerator) -> None:
    seen: set[str] = set()
    for index in range(300):
        default, plan = gen.plan(index), gen.plan(index, FACES)
        assert dataclasses.replace(plan, damage_face="top") == default
        if plan.damage is None:
            assert plan.damage_face == "top"
            continue
        assert plan.damage_face in FACES
        sku = gen.catalog.get(plan.observed_sku or "")
        if plan.damage_face != "top":
            assert sku.height_mm >= MIN_DAMAGE_FACE_MM, "damage on the edge of a flat item"
        seen.add(plan.damage_face)
        assert gen.plan(index, FACES) == plan  # the same draw every time
    assert seen == set(FACES)


def test_unknown_or_repeated_views_are_refused(gen: ReturnsGenerator) -> None:
    with pytest.raises(ValueError, match="left"):
        gen.render_views(gen.plan(0), ("top", "bottom"))
    with pytest.raises(ValueError):
        gen.plan(0, faces=())
    with pytest.raises(ValueError):
        gen.generate_views(0, ("left", "left"))


def test_views_are_deterministic_and_independent_of_order(gen: ReturnsGenerator) -> None:
    again = ReturnsGenerator(Catalog.load(), seed=7)
    other = ReturnsGenerator(Catalog.load(), seed=8)
    for index in (0, 5, 17):
        a = gen.generate_views(index, VIEWS)
        b = again.generate_views(index, tuple(reversed(VIEWS)))
        assert list(a) == list(VIEWS) and list(b) == list(reversed(VIEWS))
        for view in VIEWS:
            assert digest(a[view].frame_bgr) == digest(b[view].frame_bgr), view
            assert digest(a[view].mask) == digest(b[view].mask)
            assert a[view].truth == b[view].truth
            assert a[view].frame_bgr.shape == (FRAME_SIZE[1], FRAME_SIZE[0], 3)
            assert a[view].frame_bgr.dtype == np.uint8
            assert a[view].truth["view"] == view
        # The top view is today's frame of the same plan; each camera has its own picture.
        plan = gen.plan(index, VIEWS)
        assert digest(a["top"].frame_bgr) == digest(gen.render(plan).frame_bgr)
        assert len({digest(item.frame_bgr) for item in a.values()}) == len(VIEWS)
        assert digest(other.generate_views(index, ("left",))["left"].frame_bgr) != digest(a["left"].frame_bgr)


def test_the_damage_shows_only_in_the_view_of_its_face(gen: ReturnsGenerator) -> None:
    for plan in side_damaged(gen, 8, ("top", *SIDES)):
        assert plan.damage is not None
        views = gen.render_views(plan, VIEWS)
        clean = gen.render_views(dataclasses.replace(plan, damage=None, case=Case.GOOD), VIEWS)
        for view, item in views.items():
            assert item.truth["damage_face"] == plan.damage_face
            if view == plan.damage_face:
                assert item.damage == plan.damage.value
                assert item.truth["damage_px"] == int(np.count_nonzero(item.mask)) > 300
                mask = item.mask > 0
                difference = item.frame_bgr.astype(int) - clean[view].frame_bgr.astype(int)
                changed = np.abs(difference).max(axis=2) > 25
                near = cv2.dilate(mask.astype(np.uint8), np.ones((21, 21), np.uint8)) > 0
                assert changed.sum() > 0
                assert (changed & ~near).sum() <= 0.02 * changed.sum()
                assert (changed & mask).sum() >= 0.2 * mask.sum()
            else:
                # Not a pixel of damage: the view is the undamaged item's.
                assert item.damage is None and item.truth["damage_px"] == 0
                assert not item.mask.any()
                assert digest(item.frame_bgr) == digest(clean[view].frame_bgr), view
            assert item.case is Case.DAMAGED and item.truth["damage"] == plan.damage.value


@pytest.mark.parametrize("damage", list(Damage))
def test_each_damage_renders_on_a_side_face(gen: ReturnsGenerator, damage: Damage) -> None:
    plan = next(p for p in (gen.plan(i) for i in range(200))
                if p.case is Case.GOOD and gen.catalog.get(p.observed_sku or "").height_mm >= 100)
    damaged = dataclasses.replace(plan, case=Case.DAMAGED, damage=damage, damage_face="right")
    item = gen.render_views(damaged, ("right",))["right"]
    assert item.damage == damage.value
    assert int(np.count_nonzero(item.mask)) > 300
    # The mask lies on the face (a lifted lid flap may reach above it).
    x, y, w, h = item.bbox or (0, 0, 0, 0)
    ys, xs = np.nonzero(item.mask)
    assert xs.min() >= x - 2 and xs.max() <= x + w + 2
    assert ys.min() >= y - 2 and ys.max() <= y + h + 2


def test_side_views_have_the_item_where_the_truth_says(gen: ReturnsGenerator) -> None:
    overlaps = []
    for index in range(60):
        plan = gen.plan(index, FACES)
        if plan.observed_sku is None:
            continue
        sku = gen.catalog.get(plan.observed_sku)
        for view, item in gen.render_views(plan, SIDES).items():
            face = item.truth["face"]
            assert item.truth["pose"] == gen.render(plan).truth["pose"], "every camera sees the same pose"
            quad = np.array(item.truth["item_quad"])
            x0, y0 = quad.min(axis=0)
            x1, y1 = quad.max(axis=0)
            # Standing on the belt, as high as the catalog says, as long as the face it shows.
            scale = item.truth["pose"]["scale"]
            assert abs(y1 - SIDE_BELT_Y) <= 1
            assert abs((y1 - y0) - sku.height_mm * PX_PER_MM * scale) <= 2
            along_mm = sku.length_mm if face["along"] == "length" else sku.width_mm
            assert face["size_mm"] == [along_mm, sku.height_mm]
            narrowing = np.sqrt(1 - face["turned"] ** 2)
            assert abs((x1 - x0) - along_mm * PX_PER_MM * scale * narrowing) <= 3
            bx, by, bw, bh = item.bbox or (0, 0, 0, 0)
            assert bx <= x0 + 1 and by <= y0 + 1 and bx + bw >= x1 - 1 and by + bh >= y1 - 1
            # What the station's locator finds is that box (items tall enough to stand out).
            if sku.height_mm >= 50:
                located = locate_item(item.frame_bgr)
                assert located is not None, (index, view)
                lx, ly, lw, lh = located.box
                ix = max(0, min(lx + lw, bx + bw) - max(lx, bx))
                iy = max(0, min(ly + lh, by + bh) - max(ly, by))
                overlaps.append(ix * iy / float(lw * lh + bw * bh - ix * iy))
    # Measured on 556 views of seed 7: median 0.93, 5 % below 0.71, lowest 0.50 (the locator
    # leaves out a header band close to the backdrop's grey, as it does on the belt from above).
    assert len(overlaps) > 100
    assert min(overlaps) > 0.45
    assert np.median(overlaps) > 0.85
    assert np.mean(np.array(overlaps) > 0.7) > 0.9


def test_side_cameras_face_the_item_as_it_lies(gen: ReturnsGenerator) -> None:
    # An item lying lengthways is seen along its length from beside the belt and along its
    # width from the ends; turned a quarter, the other way round.
    for index in range(60):
        plan = gen.plan(index)
        if plan.observed_sku is None:
            continue
        views = gen.render_views(plan, SIDES)
        angle = views["left"].truth["pose"]["angle_deg"] % 180
        lengthways = angle < 45 or angle > 135
        assert views["left"].truth["face"]["along"] == views["right"].truth["face"]["along"]
        assert views["front"].truth["face"]["along"] == views["back"].truth["face"]["along"]
        assert views["left"].truth["face"]["along"] == ("length" if lengthways else "width")
        assert views["front"].truth["face"]["along"] == ("width" if lengthways else "length")


def test_an_empty_return_shows_the_empty_belt_in_every_view(gen: ReturnsGenerator) -> None:
    index = next(i for i in range(500) if gen.plan(i).case is Case.EMPTY)
    for view, item in gen.generate_views(index, VIEWS).items():
        assert item.sku is None and item.bbox is None and item.truth["bbox"] is None
        assert not item.mask.any()
        assert locate_item(item.frame_bgr) is None, view
