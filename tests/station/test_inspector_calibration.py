"""The inspector with a calibrated belt plane: an item whose footprint does not match its
catalog size goes to manual review, with both sizes in the reason."""

from __future__ import annotations

import numpy as np

from calibration.plane import PlaneCalibration
from models.synthetic import PX_PER_MM, Case, ReturnsGenerator
from station.config import PolicyConfig
from station.inspector import Identity, StationInspector
from station.live_models import ModelSet
from station.lookup import CatalogLookup
from station.pipeline import Trigger
from vision.barcode import BarcodeReader


def inspector_for(catalog: CatalogLookup) -> StationInspector:
    plane = PlaneCalibration(np.diag([1 / PX_PER_MM, 1 / PX_PER_MM, 1.0]), PX_PER_MM, 0.0, (1280, 720))
    return StationInspector(Identity("t", "t"), BarcodeReader(), ModelSet(), catalog,
                            PolicyConfig(require_conformity=False), plane=plane)


def flat_item() -> tuple[ReturnsGenerator, object]:
    generator = ReturnsGenerator(seed=5)
    for index in range(200):
        plan = generator.plan(index)
        if plan.case is Case.GOOD and plan.expected_sku == "SKU-TSH-400":  # a flat 300 x 220 mm box
            return generator, generator.render(plan)
    raise AssertionError("no flat item in the first 200")


def test_the_footprint_is_checked_against_the_catalog_size() -> None:
    generator, item = flat_item()
    sku = generator.catalog.get("SKU-TSH-400")
    rows = [{"sku": sku.sku, "gtin": sku.gtin, "length_mm": 300, "width_mm": 220, "height_mm": 20}]
    rma = [{"rma": item.rma, "sku": sku.sku, "declared_reason": item.declared_reason}]
    right = inspector_for(CatalogLookup.from_rows(rows, rma))
    verdict = right.inspect_image(item.frame_bgr, "top", Trigger(source="test"), 1).verdict
    assert not any("catalogue says" in r for r in verdict.decision.reasons)

    rows[0].update(length_mm=500, width_mm=400)  # the catalog now says a much bigger box
    wrong = inspector_for(CatalogLookup.from_rows(rows, rma))
    verdict = wrong.inspect_image(item.frame_bgr, "top", Trigger(source="test"), 2).verdict
    assert verdict.decision.disposition.value in ("manual_review", "quarantine")
    assert any("catalogue says 500×400 mm" in r for r in verdict.decision.reasons), verdict.decision.reasons
