"""Whether a freshly trained model may replace what `--out` holds, and the move into place.

A run trains into a staging folder beside `--out` (`<out>.training`). It is accepted when its
validation figure is at least chance (defect: AUROC 0.5; conformity: top-1 1/products) and at least
what the model already in `--out` (same task) scores on the same validation images. Only then are
its files moved into `--out`; a refused run is set aside in `<out>.refused` and `--out` is left as
it was. `--force` exports anyway and records why in the manifest (`forced`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models.datasets import Sample
from models.training.common import read_image
from models.training.metrics import auroc, retrieval_metrics
from models.training.progress import CURVES_FILE, METRICS_FILE
from vision.inference import ConformityModel, DefectModel, ModelError
from vision.inference.runtime import MANIFEST_FILE, MODEL_FILE, read_manifest

logger = logging.getLogger(__name__)

STAGING_SUFFIX = ".training"
REFUSED_SUFFIX = ".refused"
# What a training run writes into a model folder; an older copy not rewritten by the new run (an
# eval report after --no-eval) would describe the model it replaced, so it goes.
ARTEFACTS = (MODEL_FILE, MANIFEST_FILE, METRICS_FILE, CURVES_FILE, "eval.json", "eval_roc.png",
             "eval_confusion.png", "eval_heatmaps.png")
# Two runs scoring the same images equally are a tie, not a regression.
TOLERANCE = 1e-9


def staging_dir(out: Path) -> Path:
    """Where a run into `out` trains: a sibling folder, so the final move stays on one file system."""
    out = out.resolve()
    return out.with_name(out.name + STAGING_SUFFIX)


def refused_dir(out: Path) -> Path:
    """Where a refused run into `out` is kept for a look (its metrics.csv and curves.png)."""
    out = out.resolve()
    return out.with_name(out.name + REFUSED_SUFFIX)


def fresh_staging(out: Path) -> Path:
    """An empty staging folder for a run into `out` (what an earlier stopped run left there goes).

    Raises ValueError, naming the folder and what to do, when `out` is a file or the staging folder
    cannot be made: before the training, not when its model is to be moved into `out`."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file, not a folder: give --out the model folder to write")
    staging = staging_dir(out)
    try:
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
    except OSError as exc:
        raise ValueError(f"cannot make the training folder {staging} ({exc.strerror or exc}): choose an "
                         "--out in a folder you may write") from None
    return staging


def previous_model(out: Path, task: str) -> Path | None:
    """`out` when it holds a model of `task` (the one a new run would replace), else None."""
    if not (out / MANIFEST_FILE).is_file():
        return None
    try:
        manifest = read_manifest(out)
    except ModelError as exc:
        logger.warning("%s: %s — not compared with the new model", out, exc)
        return None
    if manifest.get("task") != task:
        logger.warning("%s holds a %s model, not a %s model: not compared with the new one", out,
                       manifest.get("task"), task)
        return None
    return out


def _identity(model: DefectModel | ConformityModel) -> dict[str, Any]:
    return {"name": model.info.name, "version": model.info.version, "sha256": model.info.sha256}


def score_previous_defect(out: Path, samples: Sequence[Sample], defective: npt.NDArray[np.bool_],
                          threads: int = 2) -> dict[str, Any] | None:
    """AUROC of the defect model in `out` (through the station's runtime) on the new run's validation
    images; None when `out` holds no defect model or it cannot be loaded."""
    folder = previous_model(out, "defect")
    if folder is None or not len(samples):
        return None
    try:
        model = DefectModel.load(folder, intra_op_threads=max(1, threads))
    except ModelError as exc:
        logger.warning("%s: %s — not compared with the new model", folder, exc)
        return None
    scores = [model.predict(read_image(s.path)).score for s in samples]
    area = auroc(defective, scores) if 0 < defective.sum() < len(defective) else float("nan")
    logger.info("the model in %s scores validation AUROC %.4f on the new run's %d validation images",
                folder, area, len(samples))
    return {**_identity(model), "auroc": None if math.isnan(area) else area, "images": len(samples)}


def score_previous_conformity(out: Path, gallery: Sequence[Sample], gallery_y: npt.NDArray[np.int64],
                              queries: Sequence[Sample], query_y: npt.NDArray[np.int64],
                              threads: int = 2) -> dict[str, Any] | None:
    """Top-1 and verification AUROC of the conformity model in `out` on the new run's validation split
    (gallery = the new run's training images); None when there is nothing to compare."""
    folder = previous_model(out, "conformity")
    if folder is None or not len(queries) or not len(gallery):
        return None
    try:
        model = ConformityModel.load(folder, intra_op_threads=max(1, threads))
    except ModelError as exc:
        logger.warning("%s: %s — not compared with the new model", folder, exc)
        return None

    def embed(samples: Sequence[Sample]) -> npt.NDArray[np.float32]:
        return np.concatenate([model.embed_batch([read_image(s.path) for s in samples[i:i + 16]])
                               for i in range(0, len(samples), 16)])

    metrics = retrieval_metrics(embed(gallery), gallery_y, embed(queries), query_y)
    logger.info("the model in %s scores %s on the new run's %d validation images", folder, metrics,
                len(queries))
    return {**_identity(model), **metrics, "images": len(queries)}


@dataclass(frozen=True)
class Judgement:
    """The verdict on a trained model: its validation figure against chance and against the model it
    replaces (scored on the same validation images); `problems` is empty when it may be exported."""

    task: str
    metric: str
    validation: float | None
    chance: float
    replaced: float | None
    images: int
    problems: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        """No reason to refuse the export."""
        return not self.problems

    @property
    def unmeasured(self) -> bool:
        """The validation split could not give a figure (too few images of a kind)."""
        return self.validation is None


def judge(manifest: dict[str, Any]) -> Judgement:
    """Judge a manifest written by `train_defect` / `train_conformity`."""
    task = str(manifest.get("task"))
    validation = manifest.get("metrics", {}).get("validation", {})
    if task == "defect":
        key, metric, chance = "auroc", "AUROC", 0.5
    elif task == "conformity":
        key, metric, chance = "top1", "top-1", 1.0 / max(1, len(manifest.get("labels", [])))
    else:
        raise ValueError(f"unknown task {task!r} in the manifest")
    value = validation.get(key)
    score = None if value is None or math.isnan(float(value)) else float(value)
    replaced_section = validation.get("replaced") or {}
    old = replaced_section.get(key)
    replaced = None if old is None or math.isnan(float(old)) else float(old)
    problems: list[str] = []
    if score is not None and score < chance - TOLERANCE:
        problems.append(f"validation {metric} {score:.3f} is below chance ({chance:.3f})")
    if score is not None and replaced is not None and score < replaced - TOLERANCE:
        problems.append(f"validation {metric} {score:.3f} is below the {replaced:.3f} of the model it would "
                        f"replace ({replaced_section.get('name')} {replaced_section.get('version')}, "
                        "scored on the same validation images)")
    images = int(validation.get("images") or 0)
    return Judgement(task, metric, score, chance, replaced, images, tuple(problems))


def refusal_message(judgement: Judgement, manifest: dict[str, Any], out: Path, refused: Path) -> str:
    """What `station train` says when it refuses: the numbers, what was kept where, what to do."""
    epochs = manifest.get("training", {}).get("recipe", {}).get("epochs")
    images = manifest.get("training", {}).get("images", {})
    state = f"{out} is unchanged" if out.exists() else f"{out} was not created"
    return (f"not exported: {'; '.join(judgement.problems)}.\n"
            f"{state}; the refused model with its {METRICS_FILE} and {CURVES_FILE} is in {refused}.\n"
            f"What to do: train longer (this run had {epochs} epochs: --epochs), give it more images "
            f"(it trained on {images.get('train')} and validated on {images.get('validation')}), "
            "or export it anyway with --force.")


def unmeasured_message(judgement: Judgement, manifest: dict[str, Any]) -> str:
    """What `station train` warns when the validation split gave no figure: how many images of what
    it takes, since "add images" alone does not say that a product needs ten of them."""
    recipe = manifest.get("training", {}).get("recipe", {})
    fraction = float(recipe.get("val_fraction") or 0.1)
    if judgement.task == "conformity":
        need = math.ceil(1 / fraction - 1e-9)
        kind = (f"each product validates on the last {fraction * 100:.0f} % of its training images, so a "
                f"product needs at least {need} of them to have one there (a DIR/<sku>/ folder holds 20 % "
                f"more back for the closing evaluation): add images until most products have {need} or more")
    else:
        kind = ("validation takes some of each class, so it needs at least 2 images in good/ and 2 of a "
                "defect class: add images of both")
    return (f"the validation split ({judgement.images} images) gave no {judgement.metric}, so the model "
            f"could not be checked against chance or the model it replaces; {kind}")


def record_forced(folder: Path, judgement: Judgement) -> dict[str, Any]:
    """Write the `forced` section into the staged manifest (the sha256 of model.onnx is unchanged)."""
    forced = {"reason": "; ".join(judgement.problems), "validation": judgement.validation,
              "replaced": judgement.replaced}
    path = folder / MANIFEST_FILE
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    manifest["forced"] = forced
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return forced


def set_aside(staging: Path, out: Path) -> Path:
    """Keep a refused run in `<out>.refused` (replacing an older refused run)."""
    refused = refused_dir(out)
    if refused.exists():
        shutil.rmtree(refused)
    staging.rename(refused)
    return refused


def install(staging: Path, out: Path) -> None:
    """Move the staged files into `out` (created if needed) and drop `out`'s artefacts the new run did
    not write; files of other kinds in `out` are kept. The manifest moves last: until then `out`'s
    manifest does not match its model.onnx and the station refuses the folder rather than run a mix."""
    out.mkdir(parents=True, exist_ok=True)
    staged = {p.name for p in staging.iterdir() if p.is_file()}
    for name in ARTEFACTS:
        if name not in staged and (out / name).is_file():
            (out / name).unlink()
    for name in sorted(staged - {MANIFEST_FILE}) + ([MANIFEST_FILE] if MANIFEST_FILE in staged else []):
        os.replace(staging / name, out / name)
    shutil.rmtree(staging)
    # A run refused earlier is no longer the one to look at: left beside, it read as this run's refusal.
    refused = refused_dir(out)
    if refused.is_dir():
        shutil.rmtree(refused)
        logger.info("removed %s: a run refused before the one installed in %s", refused, out)
