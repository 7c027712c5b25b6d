"""How the inspector reads codes: the item's box first with full effort, and only a quick sweep
of the frame when nothing item-like is on the belt (an empty belt has nothing to try harder on)."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.synthetic import Case, ReturnsGenerator
from station.config import PolicyConfig
from station.inspector import Identity, StationInspector
from station.live_models import ModelSet
from station.lookup import CatalogLookup
from station.pipeline import Trigger
from vision.barcode import BarcodeReader
from vision.barcode.code import BarcodeRead


class RecordingReader(BarcodeReader):
    """The station's reader, noting how it was asked to read."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    def read(self, image: np.ndarray, roi: tuple[int, int, int, int] | None = None, *,
             sweep: bool = False) -> BarcodeRead:
        result = super().read(image, roi, sweep=sweep)
        self.calls.append({"roi": roi, "sweep": sweep, "path": result.path_taken,
                           "codes": [c.text for c in result.codes]})
        return result


def first(case: Case) -> Any:
    generator = ReturnsGenerator(seed=11)
    for index in range(100):
        if generator.plan(index).case is case:
            return generator.generate(index)
    raise AssertionError(f"no {case} item in the first 100")


def inspect(frame: np.ndarray) -> tuple[RecordingReader, Any]:
    reader = RecordingReader()
    inspector = StationInspector(Identity("t", "t"), reader, ModelSet(),
                                 CatalogLookup.from_rows([], []), PolicyConfig(require_conformity=False))
    verdict = inspector.inspect_image(frame, "top", Trigger(source="test"), 1).verdict
    return reader, verdict


def test_an_empty_belt_gets_one_quick_sweep_of_the_frame_and_is_quarantined() -> None:
    reader, verdict = inspect(first(Case.EMPTY).frame_bgr)
    assert reader.calls == [{"roi": None, "sweep": True, "path": "sweep", "codes": []}]
    assert verdict.decision.disposition.value == "quarantine"
    assert "the box is empty" in verdict.decision.reasons


def test_an_item_is_read_in_its_box_with_full_effort() -> None:
    item = first(Case.GOOD)
    reader, _ = inspect(item.frame_bgr)
    assert len(reader.calls) == 1
    call = reader.calls[0]
    assert call["roi"] is not None and call["sweep"] is False
    assert item.rma in call["codes"] and item.gtin.lstrip("0") in [c.lstrip("0") for c in call["codes"]]
