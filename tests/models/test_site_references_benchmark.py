"""benchmarks/site_references.py: the stream goes through the station's own Store, LiveModels and
SiteReferences, so confirmed items of a product seen elsewhere than its references make it match."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import cv2
import numpy as np

from models.datasets import is_holdout
from tests.benchmark_scripts import load_benchmark
from tests.vision.test_inference_runtime import make_conformity_model


def _benchmark() -> ModuleType:
    return load_benchmark("site_references")


def test_site_references_make_the_other_shops_items_match(tmp_path: Path) -> None:
    bench = _benchmark()
    model = make_conformity_model(tmp_path / "model")
    rng = np.random.default_rng(0)
    # Two products. The training pictures (the gallery) are of another shop, where each product
    # has the colour the other one has at the dock (another light, another variety): without site
    # references every dock item matches the wrong product. The folder layout's held-back 20 % (a
    # hash of the file name) are the dock's items, framed on the grey belt.
    shop = {"SKU-A": (20, 20, 210), "SKU-B": (210, 60, 20)}
    dock = {"SKU-A": shop["SKU-B"], "SKU-B": shop["SKU-A"]}
    for sku, there in shop.items():
        (tmp_path / "data" / sku).mkdir(parents=True)
        for i in range(40):
            name = f"{i:02d}.png"
            frame = np.full((240, 320, 3), 90, dtype=np.uint8)
            colour = dock[sku] if is_holdout(f"{sku}/{name}", 0.2) else there
            frame[60:180, 100:220] = np.clip(np.array(colour) + rng.integers(-8, 8, 3), 0, 255)
            cv2.imwrite(str(tmp_path / "data" / sku / name), frame)
    results = bench.measure(tmp_path / "data", model, [0, 2], None)
    table = results[str(model)]
    assert set(table) == {f"K = {k}, {rows}" for k in (0, 2) for rows in ("every item", "after 2 seen")}
    seen = table["K = 2, after 2 seen"]["items"]
    assert table["K = 0, after 2 seen"]["items"] == seen >= 4  # the same items in both rows
    assert table["K = 0, every item"]["top1"] == 0.0  # every dock item taken for the other product
    assert table["K = 2, after 2 seen"]["top1"] == 1.0  # once two of each were confirmed
    # The first two of each product were judged before any site reference: still wrong.
    assert table["K = 2, every item"]["top1"] < 1.0
