"""What a conformity model could learn from a site's own photos without anyone labelling them:
top-1 and verification AUROC on an evaluation split shot elsewhere than the gallery, for three
ways of adapting to the site's unlabelled pictures, next to the station as it is.

    .venv/bin/python benchmarks/site_adaptation.py --data GROCERY_ROOT [--models models/conformity ...]
                                                   [--threads 2] [--json]

Gallery = every training image (grocery: train.txt), queries = the evaluation split (val.txt,
another shop). The queries are split in two halves by position (even, odd); each half is scored
with what the other half taught, its labels unread, so every photo is scored once, by a method
that never saw it (a dock would learn from yesterday's frames and judge today's).

- `none`: the station's rule (best-matching reference), unchanged.
- `centre`: references less the gallery's mean embedding, queries less the other half's mean
  (a running mean of the dock's frames), re-normalised. `centre, 80% one`: the same on a day of
  returns that is 80 % the query's own product (its photos of the other half; the rest mixed).
- `expand ≥ t`: the other half's photos enrolled under the product the station matched them to,
  when that best similarity is at least t (self-enrolment with no barcode or operator to confirm;
  the share enrolled and the share of those enrolled under the right product are printed).
- `adabn`: each convolution's output channels re-standardised from their statistics over training
  images to those over the other half (AdaBN, on the exported graph, where batch norm is folded
  into the convolutions; the embedding's batch norm takes the other half's statistics); the
  references keep the model as shipped. Needs the `onnx` package (the train extra).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    # Run as a script, this folder comes first on the path and benchmarks/models.py would stand
    # for the models package: the project's root takes its place.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np
import numpy.typing as npt

from benchmarks.matching import Results, _embed, arguments, labelled_split, measured, rules, show
from models.training.metrics import class_score_metrics
from vision.inference import ConformityModel
from vision.inference.runtime import read_bgr

ROOT = Path(__file__).resolve().parents[1]
Array = npt.NDArray[np.float32]
EXPAND_AT = (0.6, 0.7, 0.8)
ONE_PRODUCT_SHARE = 0.8  # of a day's returns, for the hazard of centring
SOURCE_IMAGES = 800  # training images whose activations stand for the model's own statistics


def _unit(x: Array) -> Array:
    out: Array = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def halves(count: int) -> npt.NDArray[np.int64]:
    """0 / 1 per query: each half learns from the other."""
    return np.arange(count) % 2


def centred(gallery: Array, queries: Array) -> tuple[Array, Array]:
    """Gallery less its mean; each half of the queries less the other half's mean."""
    half = halves(len(queries))
    out = np.empty_like(queries)
    for h in (0, 1):
        out[half == h] = queries[half == h] - queries[half != h].mean(0)
    return _unit(gallery - gallery.mean(0)), _unit(out)


def centred_on_one_product(gallery: Array, queries: Array, truth: npt.NDArray[np.int64],
                           share: float = ONE_PRODUCT_SHARE) -> tuple[Array, Array]:
    """`centred` on a day of returns that is mostly one product: each query less a mean that is
    `share` its own product's photos of the other half and the rest the other half's other
    photos (its mixed mean when the other half has none of its product). `truth` builds the days
    and is not read for scoring."""
    half = halves(len(queries))
    out = np.empty_like(queries)
    for i, (h, product) in enumerate(zip(half, truth, strict=True)):
        other = half != h
        same = other & (truth == product)
        rest = queries[other & (truth != product)].mean(0)
        day = share * queries[same].mean(0) + (1 - share) * rest if same.any() else queries[other].mean(0)
        out[i] = queries[i] - day
    return _unit(gallery - gallery.mean(0)), _unit(out)


def expanded(gallery: Array, gallery_y: npt.NDArray[np.int64], queries: Array, classes: int,
             at: float, truth: npt.NDArray[np.int64]) -> tuple[Array, int, int]:
    """Scores of each half with the other half's confident matches enrolled under the product
    they matched; also how many were enrolled and how many of those under their true product
    (`truth` is read for that count only)."""
    half = halves(len(queries))
    best = np.empty((len(queries), classes), dtype=np.float32)
    enrolled = right = 0
    for h in (0, 1):
        taught = queries[half != h]
        scores = rules(gallery, gallery_y, taught, classes)["max (station)"]
        keep = scores.max(1) >= at
        matched = scores.argmax(1)[keep]
        enrolled += int(keep.sum())
        right += int((matched == truth[half != h][keep]).sum())
        best[half == h] = rules(np.concatenate([gallery, taught[keep]]), np.concatenate([gallery_y, matched]),
                                queries[half == h], classes)["max (station)"]
    return best, enrolled, right


class FoldedGraph:
    """The model's ONNX graph with its convolutions' outputs re-standardised (AdaBN)."""

    def __init__(self, base: Any, threads: int) -> None:
        import onnx  # the train extra; only AdaBN needs it

        self.onnx = onnx
        self.base = base
        self.threads = threads
        self.convs = [n for n in self.base.graph.node if n.op_type == "Conv"]
        self.norms = [n for n in self.base.graph.node if n.op_type == "BatchNormalization"]
        self.input = self.base.graph.input[0].name

    @classmethod
    def load(cls, model_dir: Path, threads: int) -> FoldedGraph:
        import onnx

        return cls(onnx.load(str(model_dir / "model.onnx")), threads)

    def _session(self, graph: Any, outputs: list[str]) -> Any:
        import onnxruntime as ort

        probe = self.onnx.ModelProto()
        probe.CopyFrom(graph)
        del probe.graph.output[:]
        probe.graph.output.extend(self.onnx.helper.make_empty_tensor_value_info(name) for name in outputs)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        # Fusing would fold the probed intermediate outputs away.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def channel_stats(self, graph: Any, outputs: list[str], batch: Array) -> list[tuple[Array, Array]]:
        """Per-channel mean and standard deviation of each named tensor over the images."""
        session = self._session(graph, outputs)
        sums: list[list[Any]] = [[0.0, 0.0, 0] for _ in outputs]
        for start in range(0, len(batch), 64):
            values = session.run(outputs, {self.input: batch[start:start + 64]})
            for acc, value in zip(sums, values, strict=True):
                axes = (0, 2, 3) if value.ndim == 4 else (0,)
                acc[0] = acc[0] + value.sum(axes, dtype=np.float64)
                acc[1] = acc[1] + np.square(value, dtype=np.float64).sum(axes)
                acc[2] += value.size // value.shape[1]
        return [(s / n, np.sqrt(np.maximum(q / n - (s / n) ** 2, 1e-10))) for s, q, n in sums]

    def adapted(self, source: list[tuple[Array, Array]], target: Array) -> Any:
        """A copy of the graph whose convolutions, one after the other (each sees the ones before
        it adapted), give the target images the statistics the source images had."""
        from onnx import numpy_helper

        graph = self.onnx.ModelProto()
        graph.CopyFrom(self.base)
        weights = {t.name: t for t in graph.graph.initializer}

        def put(name: str, value: Array) -> None:
            weights[name].CopyFrom(numpy_helper.from_array(value.astype(np.float32), name))

        for conv, (mean_s, std_s) in zip(self.convs, source, strict=True):
            (mean_t, std_t), = self.channel_stats(graph, [conv.output[0]], target)
            scale = std_s / std_t
            put(conv.input[1], numpy_helper.to_array(weights[conv.input[1]]) * scale[:, None, None, None])
            put(conv.input[2], (numpy_helper.to_array(weights[conv.input[2]]) - mean_t) * scale + mean_s)
        for norm in self.norms:
            (mean_t, std_t), = self.channel_stats(graph, [norm.input[0]], target)
            put(norm.input[3], mean_t)
            put(norm.input[4], std_t ** 2)
        return graph

    def embed(self, graph: Any, batch: Array) -> Array:
        session = self._session(graph, ["embedding"])
        return _unit(np.concatenate([session.run(["embedding"], {self.input: batch[start:start + 64]})[0]
                                     for start in range(0, len(batch), 64)]))


def adabn(model: ConformityModel, model_dir: Path, train_paths: list[Path], query_paths: list[Path],
          threads: int) -> Array:
    """Each half's embeddings from the graph adapted to the other half."""
    def batch(paths: list[Path]) -> Array:
        images = [read_bgr(p) for p in paths]
        unreadable = [str(p) for p, image in zip(paths, images, strict=True) if image is None]
        if unreadable:
            raise SystemExit(f"site_adaptation: cannot read {unreadable[0]} — replace the file or drop it "
                             "from the list")
        return np.concatenate([model.preprocess([i for i in images[s:s + 64] if i is not None])
                               for s in range(0, len(images), 64)])

    try:
        graph = FoldedGraph.load(model_dir, threads)
    except ImportError:
        raise SystemExit("site_adaptation: adabn needs the onnx package — install the train extra "
                         "(pip install -e '.[train]')") from None
    picked = np.random.default_rng(0).permutation(len(train_paths))[:SOURCE_IMAGES]
    source = graph.channel_stats(graph.base, [c.output[0] for c in graph.convs],
                                 batch([train_paths[i] for i in sorted(picked)]))
    queries = batch(query_paths)
    half = halves(len(queries))
    out = np.empty((len(queries), 0), dtype=np.float32)
    for h in (0, 1):
        embedded = graph.embed(graph.adapted(source, queries[half != h]), queries[half == h])
        if out.shape[1] == 0:
            out = np.empty((len(queries), embedded.shape[1]), dtype=np.float32)
        out[half == h] = embedded
    return out


def measure(model_dirs: list[Path], data: Path, threads: int) -> Results:
    train, queries, skus, gallery_y, query_y = labelled_split(data, "site_adaptation")
    classes = np.arange(len(skus))
    results: Results = {}
    for model_dir in model_dirs:
        model = ConformityModel.load(model_dir, intra_op_threads=threads)
        gallery, found = _embed(model, [s.path for s in train]), _embed(model, [s.path for s in queries])

        def station(g: Array, q: Array) -> dict[str, float]:
            return class_score_metrics(rules(g, gallery_y, q, len(skus))["max (station)"], classes, query_y)

        skewed = centred_on_one_product(gallery, found, query_y)
        table = {"none (station)": station(gallery, found), "centre": station(*centred(gallery, found)),
                 f"centre, {ONE_PRODUCT_SHARE:.0%} one": station(*skewed)}
        for at in EXPAND_AT:
            best, enrolled, right = expanded(gallery, gallery_y, found, len(skus), at, query_y)
            table[f"expand >= {at:g}"] = class_score_metrics(best, classes, query_y) | {
                "enrolled": enrolled / len(found), "enrolled_right": right / max(enrolled, 1)}
        table["adabn"] = station(gallery, adabn(model, model_dir, [s.path for s in train],
                                                [s.path for s in queries], threads))
        results[str(model_dir)] = table
    return results


def main() -> None:
    args = arguments(__doc__).parse_args()
    show(measured("site_adaptation", lambda: measure(args.models, args.data, args.threads)), args.json,
         "adaptation", _enrolled, "  enrolled (right)")


def _enrolled(m: dict[str, float]) -> str:
    return f"  {m['enrolled']:8.0%} ({m['enrolled_right']:.0%})" if "enrolled" in m else ""

if __name__ == "__main__":
    main()
