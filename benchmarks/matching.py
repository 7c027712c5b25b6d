"""How a conformity model's gallery is scored: top-1 and verification AUROC on an evaluation split
for several ways of turning a query's similarities to every reference image into one score per
product. The station's Gallery takes the best-matching reference (`max`); the others are what a
change of that rule would buy, measured, not assumed.

    .venv/bin/python benchmarks/matching.py --data GROCERY_ROOT [--models models/conformity ...]
                                            [--ensemble] [--site-photos 0,1,2] [--threads 2] [--json]

Gallery = every training image (grocery: train.txt), queries = the evaluation split (val.txt),
embedded by the station's ConformityModel from the image files, as `station enroll` would.
Rules: `max` (the station's), `centroid` (cosine to the mean of a product's references),
`top-k mean` (mean of its k best references) and `a·max + (1−a)·centroid`.

`--ensemble` adds, for every combination of two or more of the given models, the station's rule
on the mean of their cosine similarities (each model's embedding L2-normalised, concatenated and
scaled by 1/sqrt(n)): what averaging separately trained models would buy, at n times the cost per
item, i.e. roughly the ceiling of distilling them into one network.

`--site-photos 0,1,2` scores enrolment at the site: for each product, its first k photos of the
evaluation split (in file order) join the gallery, as `station enroll` on the dock's own camera
would add them, and the product's photos from the largest k on are the queries, the same ones
for every k (k = 0 is the training gallery alone on those queries). Grocery's val.txt was shot
in another shop than train.txt, so this is what enrolling a few photos at a new site buys. The
rows "only k site photos" leave the training images out of the gallery: a dock whose references
all come from its own camera (its products are then the evaluation split's).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, this folder comes first on the path and benchmarks/models.py would stand
    # for the models package: the project's root takes its place.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np
import numpy.typing as npt

from models.datasets import Sample, Split, conformity_samples
from models.training.metrics import class_score_metrics
from vision.inference import ConformityModel, ModelError
from vision.inference.runtime import read_bgr

ROOT = Path(__file__).resolve().parents[1]
Scores = npt.NDArray[np.float32]
Results = dict[str, dict[str, dict[str, float]]]  # model -> row -> top1, verification_auroc, ...


def _embed(model: ConformityModel, paths: list[Path]) -> Scores:
    # Not models.training.evaluate's: that module needs torch, and this benchmark runs on the
    # station's own install (onnxruntime only).
    out = []
    for start in range(0, len(paths), 32):
        images = []
        for path in paths[start:start + 32]:
            image = read_bgr(path)
            if image is None:
                raise SystemExit(f"matching: cannot read {path} — replace the file or drop it from the list")
            images.append(image)
        out.append(np.asarray(model.embed_batch(images), dtype=np.float32))
    return np.concatenate(out)


def rules(gallery: Scores, gallery_y: npt.NDArray[np.int64], queries: Scores,
          classes: int) -> dict[str, Scores]:
    """Per-product scores (queries x classes) under each rule."""
    sims = queries @ gallery.T
    members = [gallery_y == c for c in range(classes)]
    best = np.stack([sims[:, m].max(1) for m in members], 1)
    centroids = np.stack([gallery[m].mean(0) for m in members])
    centroid = queries @ (centroids / np.linalg.norm(centroids, axis=1, keepdims=True)).T

    def top(k: int) -> Scores:
        return np.stack([np.sort(sims[:, m], 1)[:, -k:].mean(1) for m in members], 1)

    out: dict[str, Scores] = {"max (station)": best, "centroid": centroid}
    out |= {f"top-{k} mean": top(k) for k in (3, 5, 10)}
    out |= {f"{a:g}·max + {1 - a:g}·centroid": a * best + (1 - a) * centroid for a in (0.3, 0.5, 0.7)}
    return out


def ensemble(embedded: list[tuple[Scores, Scores]]) -> tuple[Scores, Scores]:
    """(gallery, queries) of several models as one: the cosine of two ensemble embeddings is the
    mean of the models' cosines."""
    scale = 1.0 / np.sqrt(len(embedded))
    return (np.concatenate([g for g, _ in embedded], 1) * scale,
            np.concatenate([q for _, q in embedded], 1) * scale)


def site_enrolment(gallery: Scores, gallery_y: npt.NDArray[np.int64], queries: Scores,
                   query_y: npt.NDArray[np.int64], classes: int, ks: list[int],
                   site_only: bool = False) -> dict[int, dict[str, float]]:
    """The station's rule with each product's first k queries (in order) enrolled, for each k in
    `ks`, scored on the queries from the largest k on (the same for every k). `site_only`: the
    enrolled photos are the whole gallery (k = 0 is then left out), as at a dock that has only
    its own references; the products are then those of the queries."""
    rank = np.zeros(len(query_y), dtype=np.int64)
    seen: dict[int, int] = {}
    for i, label in enumerate(query_y.tolist()):
        rank[i] = seen.get(label, 0)
        seen[label] = rank[i] + 1
    kept = rank >= max(ks)
    if not kept.any():
        raise SystemExit(f"matching: no product has more than {max(ks)} evaluation photos to query "
                         "after enrolling — use smaller --site-photos")
    out = {}
    for k in ks:
        added = rank < k
        if site_only:
            if k == 0:
                continue
            present = np.unique(query_y)  # each product of the queries has its k photos enrolled
            index = np.searchsorted(present, query_y)
            best = rules(queries[added], index[added], queries[kept], len(present))["max (station)"]
            out[k] = class_score_metrics(best, np.arange(len(present)), index[kept])
            continue
        best = rules(np.concatenate([gallery, queries[added]]), np.concatenate([gallery_y, query_y[added]]),
                     queries[kept], classes)["max (station)"]
        out[k] = class_score_metrics(best, np.arange(classes), query_y[kept])
    return out


def labelled_split(data: Path, tool: str) -> tuple[list[Sample], list[Sample], list[str],
                                                  npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The gallery (training) and query (evaluation) samples, the products, and each sample's
    product index; `tool` names the benchmark in the refusal."""
    train, queries = conformity_samples(data, Split.TRAIN), conformity_samples(data, Split.HOLDOUT)
    skus = sorted({s.label for s in train})
    index = {sku: i for i, sku in enumerate(skus)}
    unknown = sorted({s.label for s in queries} - set(skus))
    if unknown:
        raise SystemExit(f"{tool}: evaluation products without training images: {unknown[:5]}")
    return (train, queries, skus, np.array([index[s.label] for s in train]),
            np.array([index[s.label] for s in queries]))


def measure(model_dirs: list[Path], data: Path, threads: int, combine: bool = False,
            site_photos: list[int] | None = None) -> Results:
    train, queries, skus, gallery_y, query_y = labelled_split(data, "matching")
    classes = np.arange(len(skus))
    embedded: dict[str, tuple[Scores, Scores]] = {}
    results: Results = {}
    for model_dir in model_dirs:
        model = ConformityModel.load(model_dir, intra_op_threads=threads)
        gallery, found = _embed(model, [s.path for s in train]), _embed(model, [s.path for s in queries])
        embedded[str(model_dir)] = gallery, found
        results[str(model_dir)] = {name: class_score_metrics(s, classes, query_y)
                                   for name, s in rules(gallery, gallery_y, found, len(skus)).items()}
        if site_photos:
            site = site_enrolment(gallery, gallery_y, found, query_y, len(skus), site_photos)
            results[str(model_dir)] |= {f"max, {k} site photo{'s' if k != 1 else ''} each": m
                                        for k, m in site.items()}
            alone = site_enrolment(gallery, gallery_y, found, query_y, len(skus), site_photos, site_only=True)
            results[str(model_dir)] |= {f"max, only {k} site photo{'s' if k != 1 else ''} each": m
                                        for k, m in alone.items()}
    for n in range(2, len(embedded) + 1) if combine else ():
        for names in itertools.combinations(embedded, n):
            gallery, found = ensemble([embedded[name] for name in names])
            best = rules(gallery, gallery_y, found, len(skus))["max (station)"]
            label = " + ".join(Path(name).name for name in names)
            results[label] = {"max (station)": class_score_metrics(best, classes, query_y)}
    return results


def _counts(text: str) -> list[int]:
    try:
        counts = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of photo counts: give e.g. 0,1,2") from None
    if counts[0] < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: photo counts are 0 or more, e.g. 0,1,2")
    return counts


def arguments(doc: str) -> argparse.ArgumentParser:
    """The options every gallery benchmark takes: --data, --models, --threads, --json."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="conformity data: the grocery root (train.txt / val.txt) or DIR/<sku>/*")
    parser.add_argument("--models", type=Path, nargs="+", default=[ROOT / "models" / "conformity"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    return parser


def measured(tool: str, run: Callable[[], Results]) -> Results:
    """`run()`, with its refusals (each names the file and the fix) as one line, not a traceback."""
    try:
        return run()
    except (OSError, ValueError, ModelError) as exc:
        raise SystemExit(f"{tool}: {exc}") from None


def show(results: Results, as_json: bool, heading: str,
         extra: Callable[[dict[str, float]], str] = lambda _: "", extra_heading: str = "") -> None:
    """The results as one JSON object, or a table: model, `heading`, top-1, AUROC and `extra`
    (under `extra_heading`)."""
    if as_json:
        print(json.dumps(results))
        return
    width = max(12, *(len(Path(m).name) for m in results))
    column = max(len(heading), *(len(name) for table in results.values() for name in table))
    print(f"{'model':{width}s} {heading:{column}s} {'top-1':>7s} {'AUROC':>7s}{extra_heading}")
    for model, table in results.items():
        for name, m in table.items():
            print(f"{Path(model).name:{width}s} {name:{column}s} {m['top1']:7.1%} "
                  f"{m['verification_auroc']:7.4f}{extra(m)}")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--ensemble", action="store_true",
                        help="also score every combination of two or more of the models, averaged")
    parser.add_argument("--site-photos", type=_counts, default=None, metavar="K,K...",
                        help="also score with each product's first K evaluation photos enrolled, e.g. 0,1,2")
    args = parser.parse_args()
    show(measured("matching", lambda: measure(args.models, args.data, args.threads, args.ensemble,
                                              args.site_photos)), args.json, "rule")

if __name__ == "__main__":
    main()
