"""Metrics without scikit-learn: ROC/AUROC, confusion matrices, per-class precision/recall."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def roc_curve(labels: npt.ArrayLike, scores: npt.ArrayLike) -> tuple[npt.NDArray[np.float64],
                                                                     npt.NDArray[np.float64],
                                                                     npt.NDArray[np.float64]]:
    """False-positive rate, true-positive rate and thresholds (descending); ties handled as one step."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tps = np.cumsum(y)[distinct]
    fps = (distinct + 1) - tps
    pos, neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    tpr = np.r_[0.0, tps / pos]
    fpr = np.r_[0.0, fps / neg]
    return fpr, tpr, np.r_[np.inf, s[distinct]]


def auroc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Area under the ROC curve (probability a positive outranks a negative, ties count half)."""
    y = np.asarray(labels, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    fpr, tpr, _ = roc_curve(y, scores)
    return float(np.trapezoid(tpr, fpr))


def best_threshold(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """The score threshold maximising balanced accuracy (Youden's J) — chosen on validation only."""
    fpr, tpr, thresholds = roc_curve(labels, scores)
    j = tpr - fpr
    k = int(np.argmax(j[1:])) + 1
    # Midway to the next lower score, so a score equal to a validation positive is flagged.
    upper = thresholds[k]
    lower = thresholds[k + 1] if k + 1 < len(thresholds) else upper
    return float((upper + lower) / 2) if np.isfinite(upper) else 0.5


def confusion(true: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> npt.NDArray[np.int64]:
    """Confusion matrix, rows = true label, columns = predicted, in `labels` order."""
    index = {name: i for i, name in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(true, pred, strict=True):
        matrix[index[t], index[p]] += 1
    return matrix


def per_class(matrix: npt.NDArray[np.int64], labels: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Precision, recall and support of each class from a confusion matrix; None where a figure has no
    images to count (a class never predicted has no precision), which JSON writes as null, not NaN."""
    out: dict[str, dict[str, float | None]] = {}
    for i, name in enumerate(labels):
        tp = float(matrix[i, i])
        predicted = float(matrix[:, i].sum())
        actual = float(matrix[i, :].sum())
        out[name] = {
            "precision": tp / predicted if predicted else None,
            "recall": tp / actual if actual else None,
            "support": actual,
        }
    return out


def retrieval_metrics(gallery: npt.NDArray[np.float32], gallery_labels: npt.NDArray[np.int64],
                      queries: npt.NDArray[np.float32],
                      query_labels: npt.NDArray[np.int64]) -> dict[str, float]:
    """Top-1 (nearest gallery image) and verification AUROC (query vs each class's closest image)."""
    sims = queries @ gallery.T
    classes = np.unique(gallery_labels)
    per_class = np.stack([sims[:, gallery_labels == c].max(1) for c in classes], 1)
    return class_score_metrics(per_class, classes, query_labels)


def class_score_metrics(scores: npt.NDArray[np.float32], classes: npt.NDArray[np.int64],
                        query_labels: npt.NDArray[np.int64]) -> dict[str, float]:
    """Top-1 and verification AUROC of a (queries x classes) score matrix whose columns are `classes`."""
    top1 = float((classes[scores.argmax(1)] == query_labels).mean())
    same = classes[None, :] == query_labels[:, None]
    return {"top1": top1, "verification_auroc": auroc(same.ravel(), scores.ravel())}
