"""The synthetic returns generator: the same seed gives the same pixels, the printed codes are
real, the damage is where its mask says, and every case renders."""

from __future__ import annotations

import dataclasses
import hashlib

import cv2
import numpy as np
import pytest
import zxingcpp

from models.synthetic import (
    FRAME_SIZE,
    Case,
    Catalog,
    Damage,
    ReturnsGenerator,
    gtin_check_digit,
    is_valid_gtin13,
)


@pytest.fixture(scope="module")
def gen() -> ReturnsGenerator:
    return ReturnsGenerator(Catalog.load(), seed=7)


def digest(image: np.ndarray) -> str:
    return hashlib.sha256(image.tobytes()).hexdigest()


def first_index(gen: ReturnsGenerator, want, limit: int = 2000) -> int:
    for i in range(limit):
        if want(gen.plan(i)):
            return i
    raise AssertionError("no such item in the first items of the run")


def read(frame: np.ndarray) -> dict[str, str]:
    return {r.text: str(r.format) for r in zxingcpp.read_barcodes(frame)}


def test_gtin_check_digit_matches_a_real_gtin() -> None:
    assert gtin_check_digit("400638133393") == 1
    assert is_valid_gtin13("4006381333931")
    assert not is_valid_gtin13("4006381333932")


def test_demo_catalog_has_twelve_valid_distinct_skus_with_reference_images() -> None:
    catalog = Catalog.load()
    assert len(catalog) == 12
    assert len({s.sku for s in catalog}) == 12
    assert len({s.gtin for s in catalog}) == 12
    for sku in catalog:
        assert is_valid_gtin13(sku.gtin), sku
        path = catalog.reference_path(sku)
        assert path is not None and path.is_file(), path
        image = cv2.imread(str(path))
        assert image is not None and image.shape[2] == 3


def test_same_seed_same_pixels_other_seed_other_pixels(gen: ReturnsGenerator) -> None:
    again = ReturnsGenerator(Catalog.load(), seed=7)
    other = ReturnsGenerator(Catalog.load(), seed=8)
    for index in (0, 5, 17):
        a, b = gen.generate(index), again.generate(index)
        assert digest(a.frame_bgr) == digest(b.frame_bgr)
        assert digest(a.mask) == digest(b.mask)
        assert a.truth == b.truth
        assert digest(other.generate(index).frame_bgr) != digest(a.frame_bgr)
    # Order of generation does not matter (nothing carries over between items).
    assert digest(again.generate(3).frame_bgr) == digest(gen.generate(3).frame_bgr)


def test_frame_is_1280x720_bgr(gen: ReturnsGenerator) -> None:
    item = gen.generate(0)
    assert item.frame_bgr.shape == (FRAME_SIZE[1], FRAME_SIZE[0], 3)
    assert item.frame_bgr.dtype == np.uint8
    assert item.mask.shape == (FRAME_SIZE[1], FRAME_SIZE[0])


def test_printed_barcodes_decode_to_the_gtin_and_the_rma(gen: ReturnsGenerator) -> None:
    upright = [i for i in range(60) if gen.plan(i).case is not Case.EMPTY][:24]
    ean_read = qr_read = 0
    for index in upright:
        item = gen.generate(index)
        texts = read(item.frame_bgr)
        assert item.gtin is not None
        # Whatever EAN-13 is read is the one of the SKU really on the belt.
        eans = {t for t, f in texts.items() if "EAN" in f}
        assert eans <= {item.gtin}
        ean_read += item.gtin in texts
        qr_read += item.rma in texts
    # A plain zxing read (no rotation retries) gets nearly all: the few misses lie at steep angles.
    assert ean_read >= 0.85 * len(upright)
    assert qr_read >= 0.9 * len(upright)


def test_serialised_items_carry_a_gs1_datamatrix(gen: ReturnsGenerator) -> None:
    catalog = gen.catalog
    index = first_index(gen, lambda p: p.observed_sku is not None and catalog.get(p.observed_sku).serialised
                        and p.case is Case.GOOD)
    item = gen.generate(index)
    found = zxingcpp.read_barcodes(item.frame_bgr)
    codes = [r for r in found if r.format == zxingcpp.BarcodeFormat.DataMatrix]
    assert codes, "no DataMatrix read"
    assert codes[0].content_type == zxingcpp.ContentType.GS1
    assert f"(01)0{item.gtin}" in codes[0].text
    assert item.truth["codes"]["gs1_datamatrix"]["21"] in codes[0].text


@pytest.mark.parametrize("damage", list(Damage))
def test_each_damage_renders_and_its_mask_covers_what_changed(gen: ReturnsGenerator, damage: Damage) -> None:
    index = first_index(gen, lambda p: p.damage is damage)
    plan = gen.plan(index)
    damaged = gen.render(plan)
    clean = gen.render(dataclasses.replace(plan, damage=None, case=Case.GOOD))
    assert damaged.damage == damage.value and clean.damage is None
    mask = damaged.mask > 0
    assert mask.sum() > 300, "damage too small to see"
    assert not (clean.mask > 0).any()
    # The mask lies on the item: its printed outline, or what the damage added to it (a lifted flap).
    x, y, w, h = damaged.bbox
    quad = np.array(clean.truth["item_quad"])
    x0, y0 = np.minimum(quad.min(axis=0), (x, y)).astype(int)
    x1, y1 = np.maximum(quad.max(axis=0), (x + w, y + h)).astype(int)
    assert mask[: max(y0 - 1, 0)].sum() == 0 and mask[y1 + 2 :].sum() == 0
    assert mask[:, : max(x0 - 1, 0)].sum() == 0 and mask[:, x1 + 2 :].sum() == 0
    # What the damage changed is inside its mask; around it, camera blur and the item's shadow
    # (which follows a changed outline) may differ too...
    changed = np.abs(damaged.frame_bgr.astype(int) - clean.frame_bgr.astype(int)).max(axis=2) > 25
    near = cv2.dilate(mask.astype(np.uint8), np.ones((21, 21), np.uint8)) > 0
    assert changed.sum() > 0
    assert (changed & ~near).sum() <= 0.02 * changed.sum()
    # ...and the mask is not mostly untouched pixels.
    assert (changed & mask).sum() >= 0.2 * mask.sum()


def test_wrong_item_shows_another_skus_packaging(gen: ReturnsGenerator) -> None:
    index = first_index(gen, lambda p: p.case is Case.WRONG_ITEM and not p.damage)
    item = gen.generate(index)
    assert item.sku != item.expected_sku
    assert "sku" in item.truth["mismatches"]
    expected_gtin = gen.catalog.get(item.expected_sku).gtin
    texts = read(item.frame_bgr)
    assert expected_gtin not in texts
    assert item.rma in texts


def test_empty_case_has_only_belt(gen: ReturnsGenerator) -> None:
    index = first_index(gen, lambda p: p.case is Case.EMPTY)
    item = gen.generate(index)
    assert item.sku is None and item.bbox is None and item.gtin is None
    assert not item.mask.any()
    assert read(item.frame_bgr) == {}


def test_manifest_matches_the_rendered_items_and_has_deliberate_mismatches(gen: ReturnsGenerator) -> None:
    manifest = gen.manifest_for(300)
    assert len({e.rma for e in manifest}) == 300
    for index in (0, 1, 2):
        item = gen.generate(index)
        assert (manifest[index].rma, manifest[index].sku, manifest[index].declared_reason) == (
            item.rma, item.expected_sku, item.declared_reason)
    plans = [gen.plan(i) for i in range(300)]
    assert any("sku" in p.mismatches for p in plans)
    assert any("reason" in p.mismatches for p in plans)
    cases = {p.case for p in plans}
    assert cases == set(Case)
    assert {p.damage for p in plans if p.damage} == set(Damage)
    assert gen.manifest_for(5, start=10) == manifest[10:15]
