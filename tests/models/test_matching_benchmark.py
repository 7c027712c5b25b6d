"""benchmarks/matching.py: each gallery rule scores a product as its docstring says, and the
station's rule (`max`) gives what `retrieval_metrics`, used by training, gives."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from models.training.metrics import class_score_metrics, retrieval_metrics
from tests.benchmark_scripts import load_benchmark


def _benchmark() -> ModuleType:
    return load_benchmark("matching")


def _unit(v: list[list[float]]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_each_rule_scores_a_product_from_its_own_references() -> None:
    bench = _benchmark()
    # Product 0 has one reference right on the query and three far from it; product 1 has a
    # dozen references near it.
    gallery = _unit([[1, 0], [0, 1], [0, 1], [0, 1]] + [[0.8, 0.6]] * 12)
    labels = np.array([0, 0, 0, 0] + [1] * 12)
    query = _unit([[1, 0]])
    scores = bench.rules(gallery, labels, query, 2)
    assert scores["max (station)"][0].tolist() == pytest.approx([1.0, 0.8])
    assert scores["top-3 mean"][0].tolist() == pytest.approx([1 / 3, 0.8])
    centroid = _unit([[0.25, 0.75]])[0, 0]
    assert scores["centroid"][0].tolist() == pytest.approx([centroid, 0.8])
    assert scores["0.5·max + 0.5·centroid"][0].tolist() == pytest.approx([(1 + centroid) / 2, 0.8])
    # The best single reference picks product 0; a product's average picks product 1.
    assert int(scores["max (station)"].argmax(1)[0]) == 0
    assert int(scores["centroid"].argmax(1)[0]) == 1


def test_the_stations_rule_scores_as_training_validates() -> None:
    bench = _benchmark()
    rng = np.random.default_rng(0)
    gallery = _unit(rng.normal(size=(60, 8)).tolist())
    labels = np.repeat(np.arange(6), 10)
    queries = _unit((gallery[::5] + rng.normal(scale=0.6, size=(12, 8))).tolist())
    truth = labels[::5]
    best = bench.rules(gallery, labels, queries, 6)["max (station)"]
    station = class_score_metrics(best, np.arange(6), truth)
    assert station == retrieval_metrics(gallery, labels, queries, truth)
    assert 0 < station["top1"] <= 1 and 0.5 < station["verification_auroc"] <= 1


def test_an_ensemble_scores_the_mean_of_its_models_similarities() -> None:
    bench = _benchmark()
    rng = np.random.default_rng(1)
    a = (_unit(rng.normal(size=(20, 6)).tolist()), _unit(rng.normal(size=(5, 6)).tolist()))
    b = (_unit(rng.normal(size=(20, 3)).tolist()), _unit(rng.normal(size=(5, 3)).tolist()))
    gallery, queries = bench.ensemble([a, b])
    assert gallery.shape == (20, 9) and queries.shape == (5, 9)
    # Still unit vectors, so the station's Gallery can store them as they are.
    assert np.linalg.norm(gallery, axis=1) == pytest.approx(np.ones(20), abs=1e-6)
    mean = (a[1] @ a[0].T + b[1] @ b[0].T) / 2
    assert queries @ gallery.T == pytest.approx(mean, abs=1e-6)


def test_site_enrolment_adds_each_products_first_photos_and_queries_the_same_rest() -> None:
    bench = _benchmark()
    # The training gallery was shot elsewhere: product 0's references sit nearer the site's
    # photos of product 1 than product 1's references do, so without site photos product 1's
    # queries are taken for product 0.
    gallery = _unit([[1, 0, 0], [0, 0, 1]])
    gallery_y = np.array([0, 1])
    site = {0: [0.2, 1, 0], 1: [0.9, 0.1, 0.3]}
    queries = _unit([site[c] for c in (0, 1, 0, 1, 0, 1, 1)])
    query_y = np.array([0, 1, 0, 1, 0, 1, 1])
    scores = bench.site_enrolment(gallery, gallery_y, queries, query_y, 2, [0, 2, 1])
    assert sorted(scores) == [0, 1, 2]
    # The queries are each product's photos from the third on: 1 of product 0, 2 of product 1.
    kept = np.array([False, False, False, False, True, True, True])
    plain = class_score_metrics(bench.rules(gallery, gallery_y, queries[kept], 2)["max (station)"],
                                np.arange(2), query_y[kept])
    assert scores[0] == plain and scores[0]["top1"] == pytest.approx(1 / 3)
    assert scores[1]["top1"] == scores[2]["top1"] == 1.0
    # A dock whose gallery is its own photos only: no k = 0 row, and the training references
    # (which pull product 1's queries to product 0) play no part.
    alone = bench.site_enrolment(gallery, gallery_y, queries, query_y, 2, [0, 1, 2], site_only=True)
    assert sorted(alone) == [1, 2] and alone[1]["top1"] == alone[2]["top1"] == 1.0
    far = _unit([[0, 0, 1]] * 7)  # every query the same as product 1's training reference
    assert bench.site_enrolment(gallery, gallery_y, far, query_y, 2, [1], site_only=True)[1]["top1"] < 1.0
    with pytest.raises(SystemExit, match="smaller --site-photos"):
        bench.site_enrolment(gallery, gallery_y, queries, query_y, 2, [0, 4])
