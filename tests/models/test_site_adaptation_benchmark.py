"""benchmarks/site_adaptation.py: each half of the queries learns only from the other half, and
AdaBN on a folded graph gives the target images the activation statistics the source images had."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from models.training.metrics import class_score_metrics
from tests.benchmark_scripts import load_benchmark


def _benchmark() -> ModuleType:
    return load_benchmark("site_adaptation")


def _unit(v: np.ndarray | list[list[float]]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_centring_takes_each_half_the_other_halfs_mean() -> None:
    bench = _benchmark()
    rng = np.random.default_rng(0)
    gallery, queries = _unit(rng.normal(size=(10, 4))), _unit(rng.normal(size=(6, 4)))
    g, q = bench.centred(gallery, queries)
    assert g == pytest.approx(_unit(gallery - gallery.mean(0)), abs=1e-6)
    even, odd = queries[0::2], queries[1::2]
    assert q[0::2] == pytest.approx(_unit(even - odd.mean(0)), abs=1e-6)
    assert q[1::2] == pytest.approx(_unit(odd - even.mean(0)), abs=1e-6)
    # A query's own picture plays no part in what is taken from it.
    moved = queries.copy()
    moved[0] = _unit([[1, 2, 3, 4]])[0]
    assert bench.centred(gallery, moved)[1][1::2] != pytest.approx(q[1::2], abs=1e-3)
    assert bench.centred(gallery, moved)[1][2::2] == pytest.approx(q[2::2], abs=1e-6)


def test_expansion_enrols_only_confident_matches_of_the_other_half() -> None:
    bench = _benchmark()
    # The training references sit far from the site's photos; the site's photos of each product
    # sit close together, so a confident match from one half helps its twin in the other.
    gallery = _unit([[1, 0, 0], [0, 1, 0]])
    gallery_y = np.array([0, 1])
    queries = _unit([[0.8, 0.2, 1], [0.8, 0.2, 1.02], [0.55, 0.45, 1], [0.2, 0.9, 0.4]])
    truth = np.array([0, 0, 1, 1])
    station = bench.rules(gallery, gallery_y, queries, 2)["max (station)"]
    plain = class_score_metrics(station, np.arange(2), truth)
    never, enrolled, right = bench.expanded(gallery, gallery_y, queries, 2, 2.0, truth)
    assert (enrolled, right) == (0, 0)
    assert class_score_metrics(never, np.arange(2), truth) == plain
    best, enrolled, right = bench.expanded(gallery, gallery_y, queries, 2, 0.0, truth)
    assert enrolled == 4 and right == 3  # query 2 matches product 0 and is enrolled under it
    # Query 1 (product 0) is scored against query 0's enrolled twin: similarity ~1.
    assert best[1, 0] == pytest.approx(float(queries[1] @ queries[0]), abs=1e-6)
    assert best[1, 0] > 0.99 and best[0, 0] > 0.99


def test_adabn_gives_the_target_the_source_statistics() -> None:
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    bench = _benchmark()
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"]),
        helper.make_node("GlobalAveragePool", ["c2"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("BatchNormalization", ["flat", "gamma", "beta", "mean", "var"], ["embedding"]),
    ]
    init = [numpy_helper.from_array(rng.normal(size=s).astype(np.float32), n)
            for n, s in (("w1", (4, 3, 3, 3)), ("b1", (4,)), ("w2", (5, 4, 1, 1)), ("b2", (5,)),
                         ("gamma", (5,)), ("beta", (5,)), ("mean", (5,)))]
    init.append(numpy_helper.from_array(np.ones(5, dtype=np.float32), "var"))
    graph = helper.make_graph(nodes, "tiny",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 5])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folded = bench.FoldedGraph(model, threads=1)
    source_images = rng.normal(size=(40, 3, 8, 8)).astype(np.float32)
    target_images = (rng.normal(size=(30, 3, 8, 8)) * 2.5 + 1.0).astype(np.float32)  # another light
    outputs = ["c1", "c2"]
    source = folded.channel_stats(model, outputs, source_images)
    before = folded.channel_stats(model, outputs, target_images)
    assert not np.allclose(before[0][1], source[0][1], rtol=0.1)
    adapted = folded.adapted(source, target_images)
    after = folded.channel_stats(adapted, outputs, target_images)
    for (mean_s, std_s), (mean_t, std_t) in zip(source, after, strict=True):
        assert mean_t == pytest.approx(mean_s, abs=1e-3)
        assert std_t == pytest.approx(std_s, rel=1e-3)
    # The embedding's batch norm takes the target's own statistics: its output is standardised
    # there and then scaled by gamma and shifted by beta.
    embedded = folded._session(adapted, ["embedding"]).run(["embedding"], {"image": target_images})[0]
    gamma = numpy_helper.to_array(model.graph.initializer[4])
    beta = numpy_helper.to_array(model.graph.initializer[5])
    assert embedded.mean(0) == pytest.approx(beta, abs=1e-3)
    assert embedded.std(0) == pytest.approx(np.abs(gamma), rel=1e-2)
    # The source graph itself is left as it was.
    assert folded.channel_stats(model, outputs, target_images)[0][1] == pytest.approx(before[0][1])


def test_a_day_of_one_product_is_taken_off_that_products_queries() -> None:
    bench = _benchmark()
    rng = np.random.default_rng(2)
    gallery = _unit(rng.normal(size=(8, 4)))
    queries = _unit(rng.normal(size=(8, 4)))
    truth = np.array([0, 0, 0, 1, 1, 1, 2, 3])
    _, q = bench.centred_on_one_product(gallery, queries, truth, share=0.8)
    # Query 0 (even half): its day is 80 % product 0's odd photos (query 1), 20 % the odd others.
    day = 0.8 * queries[1] + 0.2 * queries[[3, 5, 7]].mean(0)
    assert q[0] == pytest.approx(_unit((queries[0] - day)[None])[0], abs=1e-6)
    # Query 6 (product 2, even): no photo of product 2 in the odd half, so the mixed day.
    assert q[6] == pytest.approx(_unit((queries[6] - queries[1::2].mean(0))[None])[0], abs=1e-6)
    # With no share for its own product it is the same as `centred` less the product itself.
    _, even = bench.centred_on_one_product(gallery, queries, truth, share=0.0)
    assert even[0] == pytest.approx(_unit((queries[0] - queries[[3, 5, 7]].mean(0))[None])[0], abs=1e-6)
