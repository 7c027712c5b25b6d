"""The shipped models on the real data sets' held-back splits (never retrained here).

- models/magnetic-tile: image AUROC >= 0.95 (target) on the magnetic-tile split the training held back
  (the manifest's hash rule), scored through the station's ONNX runtime.
- models/conformity: on GroceryStoreDataset val.txt, with a gallery of every train.txt image,
  top-1 identification >= 70 % and verification AUROC >= 0.98.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.datasets import Split, conformity_samples, defect_samples
from models.training.metrics import auroc
from vision.inference import ConformityModel, DefectModel, Gallery
from vision.inference.runtime import read_bgr

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

# The targets, and floors at what the shipped models measure now (regression guards).
DEFECT_TARGET, DEFECT_FLOOR = 0.95, 0.98
TOP1_TARGET, TOP1_FLOOR = 0.70, 0.72
VERIFY_TARGET, VERIFY_FLOOR = 0.98, 0.98

ROOT = Path(__file__).resolve().parents[2]


def _defect_auroc(shared_data: Path) -> float:
    folder = ROOT / "models" / "magnetic-tile"
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
