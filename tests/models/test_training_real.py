"""The shipped models on the real data sets' held-back splits (never retrained here).

- models/magnetic-tile: image AUROC >= 0.95 (target) on the magnetic-tile split the training held back
  (the manifest's hash rule), scored through the station's ONNX runtime.
- models/magnetic-tile-labels: the same tiles trained with their masks ignored (`--masks off`):
  image AUROC >= 0.95, and its heatmap's hottest point on the damage (the masks are read here
  only to measure that) at least as often as it does now.
- models/conformity: on GroceryStoreDataset val.txt, with a gallery of every train.txt image,
  top-1 identification >= 70 % and verification AUROC >= 0.98.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.datasets import Split, conformity_samples, defect_samples
from models.training.metrics import auroc
from vision.inference import ConformityModel, DefectModel, Gallery
from vision.inference.runtime import read_bgr

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

# The targets, and floors at what the shipped models measure now (regression guards).
DEFECT_TARGET, DEFECT_FLOOR = 0.95, 0.98
LABELS_ONLY_TARGET, LABELS_ONLY_FLOOR = 0.95, 0.95
POINTING_FLOOR = 0.35
TOP1_TARGET, TOP1_FLOOR = 0.70, 0.72
VERIFY_TARGET, VERIFY_FLOOR = 0.98, 0.98

ROOT = Path(__file__).resolve().parents[2]


def _defect_auroc(shared_data: Path, name: str = "magnetic-tile") -> float:
    folder = ROOT / "models" / name
    model = DefectModel.load(folder, intra_op_threads=2)
    manifest = json.loads((folder / "manifest.json").read_text())
    holdout = manifest["training"]["split"]["holdout_fraction"]
    samples = defect_samples(shared_data / "defects" / "magnetic-tile", Split.HOLDOUT, holdout)
    tiles = shared_data / "defects" / "magnetic-tile"
    train_keys = {s.key for s in defect_samples(tiles, Split.TRAIN, holdout)}
    assert samples and not train_keys & {s.key for s in samples}
    scores, labels = [], []
    for s in samples:
        image = read_bgr(s.path)
        assert image is not None
        scores.append(model.predict(image).score)
        labels.append(s.label != "good")
    area = auroc(labels, scores)
    # The manifest reports what this test measures.
    assert manifest["metrics"]["holdout"]["auroc"] == pytest.approx(area, abs=1e-6)
    return area


def test_shipped_defect_model_meets_the_target_and_holds_its_floor(shared_data: Path) -> None:
    area = _defect_auroc(shared_data)
    assert area >= DEFECT_TARGET, f"held-back image AUROC {area:.4f}"
    assert area >= DEFECT_FLOOR, f"held-back image AUROC {area:.4f}: below what the shipped model measured"


def test_shipped_labels_only_defect_model_meets_the_target(shared_data: Path) -> None:
    manifest = json.loads((ROOT / "models" / "magnetic-tile-labels" / "manifest.json").read_text())
    assert manifest["training"]["recipe"]["masks"] == "off"
    area = _defect_auroc(shared_data, "magnetic-tile-labels")
    assert area >= LABELS_ONLY_TARGET, f"held-back image AUROC {area:.4f}"
    assert area >= LABELS_ONLY_FLOOR, f"held-back AUROC {area:.4f}: below what the shipped model measured"


def test_labels_only_heatmap_points_at_the_damage(shared_data: Path) -> None:
    """The pointing game on held-back damaged tiles: is the heatmap's hottest point on the damage
    (its mask dilated by 4 px)? Chance is the damaged share of a tile's area (a few per cent)."""
    folder = ROOT / "models" / "magnetic-tile-labels"
    model = DefectModel.load(folder, intra_op_threads=2)
    tiles = shared_data / "defects" / "magnetic-tile"
    hits = total = 0
    for s in defect_samples(tiles, Split.HOLDOUT, 0.3):
        if s.label == "good" or s.mask is None:
            continue
        image, mask = read_bgr(s.path), cv2.imread(str(s.mask), cv2.IMREAD_GRAYSCALE)
        assert image is not None and mask is not None
        heat = model.predict(image).heatmap
        near = cv2.resize(cv2.dilate(mask, np.ones((9, 9), np.uint8)), (heat.shape[1], heat.shape[0]),
                          interpolation=cv2.INTER_NEAREST)
        y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
        hits += bool(near[y, x])
        total += 1
    assert total > 50
    assert hits / total >= POINTING_FLOOR, f"hottest point on the damage in {hits} of {total} tiles"


def _grocery(shared_data: Path) -> tuple[float, float]:
    grocery = shared_data / "products" / "grocery"
    model = ConformityModel.load(ROOT / "models" / "conformity", intra_op_threads=2)
    gallery = Gallery(model_sha256=model.info.sha256)
    train = conformity_samples(grocery, Split.TRAIN)
    for start in range(0, len(train), 32):
        chunk = train[start:start + 32]
        embeddings = model.embed_batch([read_bgr(s.path) for s in chunk])  # type: ignore[misc]
        for s, e in zip(chunk, embeddings, strict=True):
            gallery.add(s.label, e)
    hits, pair_labels, pair_scores = 0, [], []
    val = conformity_samples(grocery, Split.HOLDOUT)
    for s in val:
        image = read_bgr(s.path)
        assert image is not None
        sims = gallery.similarities(model.embed(image))
        hits += max(sims, key=lambda k: sims[k]) == s.label
        pair_labels += [sku == s.label for sku in sims]
        pair_scores += list(sims.values())
    return hits / len(val), auroc(np.array(pair_labels), np.array(pair_scores))


def test_shipped_conformity_model_holds_its_floor(shared_data: Path) -> None:
    top1, area = _grocery(shared_data)
    assert top1 >= TOP1_FLOOR, f"top-1 {top1:.3f}"
    assert area >= VERIFY_FLOOR, f"verification AUROC {area:.4f}"


def test_shipped_conformity_model_meets_the_target(shared_data: Path) -> None:
    top1, area = _grocery(shared_data)
    assert top1 >= TOP1_TARGET, f"top-1 {top1:.3f}"
    assert area >= VERIFY_TARGET, f"verification AUROC {area:.4f}"
