"""What `[models] site_references` buys at a dock, through the station's own code: a stream of
items from another shop than the gallery's photos, each judged, confirmed by an operator, and
(K > 0) enrolled as a reference of its SKU while the SKU has fewer than K.

    .venv/bin/python benchmarks/site_references.py --data GROCERY_ROOT [--model models/conformity]
                                                   [--per-sku 0,1,2,3] [--shuffle SEED] [--json]

For each K, in a data folder of its own: the gallery file holds every training image (grocery:
train.txt, the picture as it is, as `station enroll --crop whole` enrols a product photo); the
evaluation photos (val.txt, another shop) then arrive one by one as items — in file order, i.e.
product after product, or shuffled with `--shuffle SEED` so products interleave as returns do.
Each is recorded by the station's Store with its photo as the frame (a JPEG, as on the line),
judged as the inspector judges it (the photo cut by `item_view`, embedded, matched against the
running gallery of `LiveModels`), confirmed under its true SKU, and handed to `SiteReferences`.

Printed per K: top-1 (the best-matching SKU is the item's) and verification AUROC over every
item, and over the items whose SKU already had K site references when they came (the dock once
each product has been seen K times; the same items for every K when K is the largest asked);
and what one enrolment costs its thread (read the frame, cut, embed, write the picture and the
gallery file), median and p95 over the references added.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, this folder comes first on the path and benchmarks/models.py would stand
    # for the models package: the project's root takes its place.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np

from benchmarks.matching import Results, _counts, _embed, labelled_split, measured
from models.datasets import Sample
from models.training.metrics import class_score_metrics
from station.config import load_config
from station.live_models import LiveModels, open_model_store
from station.site_references import SiteReferences
from station.store import FrameImage, Store
from station.verdict import Verdict
from sync.loadgen import make_verdict
from vision.inference import ConformityModel, Gallery
from vision.inference.runtime import read_bgr
from vision.locate import item_view

ROOT = Path(__file__).resolve().parents[1]
SESSION = str(uuid.UUID(int=0))  # one made-up station session for every item


def _stream(model_dir: Path, gallery: Gallery, items: list[Sample], skus: list[str], per_sku: int,
            folder: Path) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Per item: its similarity to every SKU when judged, and whether its SKU had `per_sku` site
    references by then; and the wall time of each enrolment that added a reference (ms)."""
    config_file = folder / "config.toml"
    config_file.write_text(f'[station]\ndata_dir = "data"\n[sync]\nbroker = ""\n[models]\n'
                           f'conformity_dir = "{model_dir.resolve()}"\nsite_references = {per_sku}\n',
                           encoding="utf-8")
    config = load_config(config_file, env={})
    gallery_path = config.in_data_dir(config.models.gallery)
    gallery.save(gallery_path)
    store = Store.from_config(config)
    models = LiveModels(config, open_model_store(config), lambda: {})
    references = SiteReferences(models, store, gallery_path, config.in_data_dir(config.storage.images_dir),
                                per_sku)
    scores = np.zeros((len(items), len(skus)), dtype=np.float32)
    settled = np.zeros(len(items), dtype=bool)
    enrolled: dict[str, int] = {}
    enrol_ms: list[float] = []
    rng = random.Random(0)
    try:
        for i, sample in enumerate(items):
            frame = read_bgr(sample.path)
            if frame is None:
                raise SystemExit(f"site_references: cannot read {sample.path} — replace the file")
            data = make_verdict("dock-01", "site-01", SESSION, i + 1, rng)
            data["item"]["expected_sku"] = data["item"]["observed_sku"] = sample.label
            data["decision"]["disposition"] = "restock"
            verdict = store.record_verdict(Verdict.from_json(data), [FrameImage("top", frame)])
            current = models.current()
            assert current.conformity is not None and current.gallery is not None
            similarities = current.gallery.similarities(current.conformity.embed(item_view(frame)[0]))
            scores[i] = [similarities.get(sku, -1.0) for sku in skus]
            settled[i] = enrolled.get(sample.label, 0) >= per_sku
            confirmed = store.confirm(verdict.verdict_id, "op-1")
            start = time.perf_counter()
            if references.enrol(confirmed) is not None:
                enrol_ms.append((time.perf_counter() - start) * 1000)
                enrolled[sample.label] = enrolled.get(sample.label, 0) + 1
    finally:
        store.close()
    return scores, settled, enrol_ms


def measure(data: Path, model_dir: Path, ks: list[int], shuffle: int | None) -> Results:
    train, queries, skus, gallery_y, query_y = labelled_split(data, "site_references")
    order = list(range(len(queries)))
    if shuffle is not None:
        random.Random(shuffle).shuffle(order)
    items, truth = [queries[i] for i in order], query_y[order]
    model = ConformityModel.load(model_dir, intra_op_threads=2)
    gallery = Gallery(model_sha256=model.info.sha256)
    embedded = _embed(model, [s.path for s in train])
    for index, sku in enumerate(skus):
        gallery.add(sku, embedded[gallery_y == index])
    classes = np.arange(len(skus))
    table: dict[str, dict[str, float]] = {}
    last_settled = np.ones(len(items), dtype=bool)
    runs = {}
    for k in ks:
        with tempfile.TemporaryDirectory(prefix="site-references-") as folder:
            runs[k] = _stream(model_dir, gallery, items, skus, k, Path(folder))
        if k == max(ks):
            last_settled = runs[k][1]
    for k, (scores, _, enrol_ms) in runs.items():
        every = class_score_metrics(scores, classes, truth)
        later = class_score_metrics(scores[last_settled], classes, truth[last_settled])
        table[f"K = {k}, every item"] = every | (
            {"enrol_ms_p50": float(np.median(enrol_ms)), "enrol_ms_p95": float(np.percentile(enrol_ms, 95)),
             "enrolled": float(len(enrol_ms))} if enrol_ms else {})
        table[f"K = {k}, after {max(ks)} seen"] = later | {"items": float(last_settled.sum())}
    return {str(model_dir): table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="conformity data: the grocery root (train.txt / val.txt) or DIR/<sku>/*")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "conformity")
    parser.add_argument("--per-sku", type=_counts, default=[0, 1, 2, 3], metavar="K,K...")
    parser.add_argument("--shuffle", type=int, default=None, metavar="SEED",
                        help="interleave the products in a random order (seeded) instead of file order")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measured("site_references", lambda: measure(args.data, args.model, args.per_sku, args.shuffle))
    if args.json:
        print(json.dumps(results))
        return
    for table in results.values():
        print(f"{'site references':28s} {'top-1':>7s} {'AUROC':>7s}")
        for name, m in table.items():
            items = f"  ({int(m['items'])} items)" if "items" in m else ""
            if "enrol_ms_p50" in m:
                items = (f"  ({int(m['enrolled'])} enrolled, each p50 {m['enrol_ms_p50']:.1f} ms, "
                         f"p95 {m['enrol_ms_p95']:.1f} ms)")
            print(f"{name:28s} {m['top1']:7.1%} {m['verification_auroc']:7.4f}{items}")


if __name__ == "__main__":
    main()
