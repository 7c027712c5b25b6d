"""`station eval`: score an exported model (through the ONNX runtime the station uses) on a split,
write metrics JSON and PNG plots into the model folder and the metrics into its manifest."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from models.datasets import GOOD, Sample, Split, conformity_samples, defect_samples, grocery_iconic
from models.training.common import json_safe, read_image, update_manifest
from models.training.metrics import auroc, confusion, per_class, roc_curve
from vision.inference import ConformityModel, DefectModel, Gallery
from vision.inference.runtime import read_manifest

logger = logging.getLogger(__name__)


def _plot_roc(path: Path, curves: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]],
              title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    for name, (fpr, tpr, area) in curves.items():
        ax.plot(fpr, tpr, label=f"{name} (AUROC {area:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_confusion(path: Path, matrix: npt.NDArray[np.int64], labels: list[str], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(4.0, 0.5 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_heatmaps(path: Path, examples: list[tuple[str, npt.NDArray[np.uint8], npt.NDArray[np.float32],
                                                    float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not examples:
        return
    cols = min(4, len(examples))
    rows = (len(examples) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, image, heat, score) in zip(axes.flat, examples, strict=False):
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        heat_full = cv2.resize(heat, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
        ax.imshow(rgb)
        ax.imshow(heat_full, cmap="jet", alpha=0.4, vmin=0, vmax=1)
        ax.set_title(f"{title}\nscore {score:.2f}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def evaluate_defect(model_dir: Path, samples: list[Sample], split_name: str,
                    plots: Path | None = None) -> dict[str, Any]:
    """Image AUROC (defective vs good), confusion matrix and per-class precision/recall on `samples`;
    the ROC, confusion and heatmap plots go into `plots` when given."""
    model = DefectModel.load(model_dir, intra_op_threads=2)
    labels = model.labels
    truth, predicted, scores, ms = [], [], [], []
    examples: list[tuple[str, npt.NDArray[np.uint8], npt.NDArray[np.float32], float]] = []
    rng = np.random.default_rng(0)
    chosen = set(rng.permutation(len(samples))[:64].tolist())
    for i, s in enumerate(tqdm(samples, desc="evaluating", unit="img", leave=False)):
        image = read_image(s.path)
        start = time.perf_counter()
        result = model.predict(image)
        ms.append((time.perf_counter() - start) * 1000)
        true = "ok" if s.label == GOOD else s.label
        truth.append(true)
        predicted.append(result.label if result.label in labels else "ok")
        scores.append(result.score)
        if i in chosen and (true != "ok" or len(examples) < 2) and len(examples) < 8:
            examples.append((f"{true} → {result.label}", image, result.heatmap, result.score))
    y = np.array([t != "ok" for t in truth])
    s_arr = np.array(scores)
    known = [t if t in labels else "ok" for t in truth]
    matrix = confusion(known, predicted, labels)
    area = auroc(y, s_arr)
    fpr, tpr, _ = roc_curve(y, s_arr)
    threshold = model.threshold
    flagged = s_arr >= threshold
    summary = {
        "split": split_name,
        "images": len(samples),
        "defective": int(y.sum()),
        "auroc": area,
        "threshold": threshold,
        "recall_at_threshold": float(flagged[y].mean()) if y.any() else float("nan"),
        "false_positive_rate_at_threshold": float(flagged[~y].mean()) if (~y).any() else float("nan"),
        "accuracy_at_threshold": float((flagged == y).mean()),
        "class_accuracy": float(np.trace(matrix) / max(1, matrix.sum())),
        "latency_ms_p50_batch1": float(np.median(ms)) if ms else float("nan"),
    }
    if plots is not None:
        _plot_roc(plots / "eval_roc.png", {"defective vs good": (fpr, tpr, area)},
                  f"{model.info.name} — {split_name}")
        _plot_confusion(plots / "eval_confusion.png", matrix, labels, f"{model.info.name} — {split_name}")
        _plot_heatmaps(plots / "eval_heatmaps.png", examples)
    return {"summary": summary, "labels": labels, "confusion": matrix.tolist(),
            "per_class": per_class(matrix, labels)}


def _embed_all(model: ConformityModel, samples: list[Sample], desc: str) -> npt.NDArray[np.float32]:
    out = []
    for start in tqdm(range(0, len(samples), 16), desc=desc, unit="batch", leave=False):
        out.append(model.embed_batch([read_image(s.path) for s in samples[start:start + 16]]))
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def _identification(gallery: Gallery, queries: npt.NDArray[np.float32], truth: list[str]) -> dict[str, float]:
    """Top-1 identification and verification AUROC (every query against every enrolled SKU)."""
    correct = 0
    pair_labels: list[bool] = []
    pair_scores: list[float] = []
    for q, t in zip(queries, truth, strict=True):
        sims = gallery.similarities(q)
        correct += max(sims, key=lambda k: sims[k]) == t
        for sku, sim in sims.items():
            pair_labels.append(sku == t)
            pair_scores.append(sim)
    return {"top1": correct / max(1, len(truth)), "verification_auroc": auroc(pair_labels, pair_scores),
            "gallery_images": float(len(gallery))}


def evaluate_conformity(
    model_dir: Path, data: Path, split_name: str, plots: Path | None = None
) -> dict[str, Any]:
    """Top-1 identification and verification AUROC of held-back images against galleries built from the
    training images (every image; per-SKU mean) and, for the grocery set, the catalog images."""
    model = ConformityModel.load(model_dir, intra_op_threads=2)
    train = conformity_samples(data, Split.TRAIN)
    queries_s = conformity_samples(data, Split.HOLDOUT if split_name == "holdout" else Split.ALL)
    train_e = _embed_all(model, train, "embedding gallery")
    query_e = _embed_all(model, queries_s, "embedding queries")
    truth = [s.label for s in queries_s]
    results: dict[str, dict[str, float]] = {}
    every = Gallery(model_sha256=model.info.sha256)
    means = Gallery(model_sha256=model.info.sha256)
    for sku in sorted({s.label for s in train}):
        rows = train_e[[i for i, s in enumerate(train) if s.label == sku]]
        every.add(sku, rows)
        means.add(sku, rows.mean(0))
    results["gallery_all_train_images"] = _identification(every, query_e, truth)
    results["gallery_train_means"] = _identification(means, query_e, truth)
    if (data / "classes.csv").is_file():
        iconic = grocery_iconic(data)
        icon_g = Gallery(model_sha256=model.info.sha256)
        for s, e in zip(iconic, _embed_all(model, iconic, "embedding catalog"), strict=True):
            icon_g.add(s.label, e)
        results["gallery_catalogue_images"] = _identification(icon_g, query_e, truth)
    # The ROC of the default gallery, for the plot.
    pair_labels, pair_scores = [], []
    for q, t in zip(query_e, truth, strict=True):
        for sku, sim in every.similarities(q).items():
            pair_labels.append(sku == t)
            pair_scores.append(sim)
    fpr, tpr, _ = roc_curve(pair_labels, pair_scores)
    if plots is not None:
        verification = results["gallery_all_train_images"]["verification_auroc"]
        _plot_roc(plots / "eval_roc.png", {"same vs other SKU": (fpr, tpr, verification)},
                  f"{model.info.name} — {split_name}")
    best = results["gallery_all_train_images"]
    summary = {"split": split_name, "images": len(queries_s), "top1": best["top1"],
               "verification_auroc": best["verification_auroc"], "gallery": "all training images"}
    return {"summary": summary, "galleries": results}


def writable_folder(folder: Path) -> None:
    """Create `folder` if needed and prove it takes a file (a read-only mount, a file in the way or a
    folder of another user raise the OSError here); nothing is left in it."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder):
        pass


def data_task(data: Path) -> str | None:
    """Which task a data folder's layout is for: "defect" (good/ beside defect classes, or the magnetic
    tile's MT_* folders), "conformity" (the grocery lists, or one folder per product), None when unsure."""
    data = Path(data)
    if (data / "train.txt").is_file() and (data / "classes.csv").is_file():
        return "conformity"
    folders = [p.name for p in data.iterdir() if p.is_dir()] if data.is_dir() else []
    if "good" in folders or "MT_Free" in folders:
        return "defect"
    return "conformity" if folders else None


def evaluate_model(model_dir: Path, data: Path, split: str = "holdout", *, write: bool = False,
                   out: Path | None = None) -> dict[str, Any]:
    """Evaluate `model_dir` on `data` (`split` = "holdout" or "all") and return the metrics.

    Nothing is written unless asked: `out` receives eval.json and the plots; `write` puts them in the
    model folder and records the metrics in its manifest (what `station train` does for the model it
    just made). Data laid out for the other task is refused before anything runs.
    """
    model_dir, data = Path(model_dir), Path(data)
    manifest = read_manifest(model_dir)
    task = manifest.get("task")
    found = data_task(data)
    if task in ("defect", "conformity") and found is not None and found != task:
        layouts = {"defect": "DIR/good/ plus one folder per defect class (or the magnetic tile's MT_*/)",
                   "conformity": "DIR/<sku>/* (one folder per product) or the grocery lists"}
        raise ValueError(f"{data} holds {found} data but {model_dir} is a {task} model: give it a folder "
                         f"laid out as {layouts[task]}")
    plots = model_dir if write else out
    if plots is not None:
        writable_folder(plots)  # now, not after minutes of scoring
    if task == "defect":
        holdout = float(manifest.get("training", {}).get("split", {}).get("holdout_fraction", 0.3))
        samples = defect_samples(data, Split.HOLDOUT if split == "holdout" else Split.ALL, holdout)
        if not samples:
            raise ValueError(f"{data}: the {split} split is empty — use --split all for a folder the model "
                             "was not trained on")
        metrics = evaluate_defect(model_dir, samples, split, plots)
    elif task == "conformity":
        metrics = evaluate_conformity(model_dir, data, split, plots)
    else:
        raise ValueError(f"{model_dir}: unknown task {task!r} in manifest.json")
    metrics["data"] = str(data)
    if plots is not None:
        (plots / "eval.json").write_text(json.dumps(json_safe(metrics), indent=2) + "\n", encoding="utf-8")
    if write:
        all_metrics = dict(manifest.get("metrics", {}))
        all_metrics[split] = metrics["summary"]
        update_manifest(model_dir, metrics=all_metrics)
    logger.info("%s on %s (%s): %s", model_dir, data, split, metrics["summary"])
    return metrics
