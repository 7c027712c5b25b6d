"""Shared pieces of training: seeding, image loading, data digests, ONNX export with parity check."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import random
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from models.datasets import Sample
from vision.inference.runtime import MANIFEST_FILE, MANIFEST_SCHEMA, MODEL_FILE, InputSpec, file_sha256

logger = logging.getLogger(__name__)

# Two cores, shared: more threads only fight each other.
MAX_THREADS = 2


class ExportError(Exception):
    """An export that must not ship (parity failed, graph invalid); the message says why."""


def seed_everything(seed: int, threads: int = MAX_THREADS) -> torch.Generator:
    """Seed Python, numpy and torch so a run is reproducible, and cap torch's threads."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, min(MAX_THREADS, threads)))
    torch.use_deterministic_algorithms(True, warn_only=True)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    """A BGR uint8 image, or `FileNotFoundError` naming the file and what to do: every file with an
    image suffix in a data folder is read, so one broken copy stops a training or an evaluation."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: not a readable image (empty, truncated or not an image OpenCV "
                                "decodes) — replace it or move it out of the data folder, then run again")
    return np.asarray(image, dtype=np.uint8)


def read_mask(path: Path | None, shape: tuple[int, int]) -> npt.NDArray[np.float32]:
    """A pixel mask in [0, 1] of `shape` (H, W); no mask = all zeros."""
    if path is None:
        return np.zeros(shape, dtype=np.float32)
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise FileNotFoundError(f"{path}: not a readable mask — replace it or move it out of the data "
                                "folder (an image without a mask is trained on its label alone)")
    if mask.shape != shape:
        mask = cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return (mask > 127).astype(np.float32)


def data_digest(samples: Sequence[Sample]) -> str:
    """sha256 over the training samples' relative paths, labels and file sizes."""
    digest = hashlib.sha256()
    for s in sorted(samples, key=lambda s: s.key):
        digest.update(f"{s.key}\t{s.label}\t{s.path.stat().st_size}\n".encode())
    return digest.hexdigest()


def code_version() -> str:
    """`git describe` of the project when it is a checkout, else the package version."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=root,
                             capture_output=True, text=True, timeout=10, check=True)
        return f"git {out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        try:
            return metadata.version("returns-station")
        except metadata.PackageNotFoundError:
            return "unknown"


def today_version() -> str:
    """Model version string: the UTC date of training, as the verdicts carry it."""
    return dt.datetime.now(dt.UTC).strftime("%Y.%m.%d.%H%M")


def export_onnx(model: nn.Module, spec: InputSpec, out_dir: Path, output_names: Sequence[str]) -> Path:
    """Export `model` (eval mode) to ONE self-contained out_dir/model.onnx with a dynamic batch."""
    import onnx

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MODEL_FILE
    model.eval()
    example = torch.zeros(1, spec.channels, spec.height, spec.width)
    torch.onnx.export(
        model, (example,), str(path), input_names=["image"], output_names=list(output_names),
        dynamic_axes={"image": {0: "batch"}, **{n: {0: "batch"} for n in output_names}},
        opset_version=17, dynamo=False,
    )
    # Re-save inline so no side-car .onnx.data file exists: the sha256 covers the whole model.
    proto = onnx.load(str(path), load_external_data=True)
    onnx.checker.check_model(proto)
    onnx.save_model(proto, str(path), save_as_external_data=False)
    for extra in out_dir.glob("model.onnx.data"):
        extra.unlink()
    return path


def parity_check(model: nn.Module, onnx_path: Path, batch: npt.NDArray[np.float32],
                 output_names: Sequence[str], atol: float = 1e-3) -> dict[str, float]:
    """Max |torch - onnxruntime| per output on `batch`; raises `ExportError` above `atol`."""
    import onnxruntime as ort

    model.eval()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst: dict[str, float] = dict.fromkeys(output_names, 0.0)
    for start in range(0, len(batch), 16):
        chunk = batch[start:start + 16]
        with torch.no_grad():
            expected = model(torch.from_numpy(chunk))
        if isinstance(expected, torch.Tensor):
            expected = (expected,)
        got = session.run(list(output_names), {"image": chunk})
        for name, e, g in zip(output_names, expected, got, strict=True):
            worst[name] = max(worst[name], float(np.abs(e.numpy() - g).max()))
    bad = {k: v for k, v in worst.items() if v > atol}
    if bad:
        raise ExportError(f"{onnx_path}: torch and onnxruntime disagree on {len(batch)} evaluation images "
                          f"(max abs difference {bad}, tolerance {atol}) — the export is not shipped")
    logger.info("parity torch vs onnxruntime on %d images: %s", len(batch), worst)
    return worst


def json_safe(value: Any) -> Any:
    """`value` with every NaN or infinite float as None: a figure with nothing to measure (an AUROC of a
    split without one kind) is null in the manifest, which strict JSON readers (browsers, PostgreSQL's
    jsonb, most languages) accept, where Python's default NaN makes the whole file unreadable to them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write manifest.json with the schema, file name and sha256 of model.onnx filled in."""
    model_path = out_dir / MODEL_FILE
    full = {"schema": MANIFEST_SCHEMA, **manifest, "onnx_file": MODEL_FILE, "sha256": file_sha256(model_path)}
    path = out_dir / MANIFEST_FILE
    path.write_text(json.dumps(json_safe(full), indent=2, sort_keys=False, allow_nan=False) + "\n",
                    encoding="utf-8")
    return path


def update_manifest(out_dir: Path, **changes: Any) -> None:
    """Merge keys into an existing manifest.json (used by eval to record its metrics)."""
    path = out_dir / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(json_safe(manifest), indent=2, allow_nan=False) + "\n", encoding="utf-8")
