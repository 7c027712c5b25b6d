"""The shipped models on the real data sets' held-back splits (never retrained here).

- models/magnetic-tile: image AUROC >= 0.95 on the magnetic-tile split the training held back
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

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_defect_model_on_the_held_back_magnetic_tiles(shared_data: Path) -> None:
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
    assert area >= 0.95, f"held-back image AUROC {area:.4f}"
    # The manifest reports what this test measures.
    assert manifest["metrics"]["holdout"]["auroc"] == pytest.approx(area, abs=1e-6)


def test_shipped_conformity_model_on_grocery_val(shared_data: Path) -> None:
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
    top1 = hits / len(val)
    area = auroc(np.array(pair_labels), np.array(pair_scores))
    assert top1 >= 0.70, f"top-1 {top1:.3f}"
    assert area >= 0.98, f"verification AUROC {area:.4f}"
