"""The defect model: is the item damaged, how badly, and where."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vision.inference.runtime import MODEL_FILE, ModelError, OnnxModel

logger = logging.getLogger(__name__)

OK_LABEL = "ok"

# (x, y, w, h, score) in the input image's pixels
Region = tuple[int, int, int, int, float]


@dataclass(frozen=True)
class DefectResult:
    """One image's defect judgement: score in [0, 1] (1 = surely damaged), label, where."""

    score: float
    label: str
    probs: dict[str, float]
    heatmap: npt.NDArray[np.float32]
    regions: tuple[Region, ...]

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"defect score {self.score} is outside [0, 1]")

    def to_json(self) -> dict[str, object]:
        """The verdict's `inspection.defect` object (the heatmap stays out: it is an image)."""
        return {
            "score": round(self.score, 6),
            "label": self.label,
            "probs": {k: round(v, 6) for k, v in self.probs.items()},
            "regions": [[x, y, w, h, round(s, 4)] for x, y, w, h, s in self.regions],
        }


class DefectModel(OnnxModel):
    """Runs a defect model; outputs `probs` (N, K) over its labels and `heatmap` (N, 1, h, w)."""

    task = "defect"

    def check_outputs(self) -> None:
        self._require_outputs("probs", "heatmap")
        labels = self.manifest.get("labels")
        if not isinstance(labels, list) or not labels or labels[0] != OK_LABEL:
            raise ModelError(f"{self.directory / 'manifest.json'}: labels must be a list starting with "
                             f"{OK_LABEL!r}, got {labels!r} — re-export the model")
        self.labels: list[str] = [str(v) for v in labels]

    def check_warm_outputs(self, outputs: dict[str, npt.NDArray[np.float32]]) -> None:
        # Scoring zips probabilities with labels: a mismatch must stop the load, not an item.
        classes = int(outputs["probs"].shape[-1])
        if classes != len(self.labels):
            graph = self.directory / str(self.manifest.get("onnx_file", MODEL_FILE))
            raise ModelError(f"{self.directory / 'manifest.json'}: lists {len(self.labels)} labels but "
                             f"{graph} outputs {classes} class probabilities — "
                             "model and manifest do not belong together; re-export the model")
        thresholds = self.manifest.get("thresholds", {})
        if not isinstance(thresholds, dict):  # read_manifest refuses it; a manifest built in code may not
            raise ModelError(f"{self.directory / 'manifest.json'}: thresholds must be an object such as "
                             f'{{"defect": 0.5, "region": 0.5}}, got {thresholds!r} — re-export the model')
        self.threshold = self._threshold(thresholds, "defect")
        self.region_threshold = self._threshold(thresholds, "region")

    def _threshold(self, thresholds: dict[str, object], key: str) -> float:
        """`thresholds.<key>` of the manifest (0.5 when absent), a number in [0, 1] or `ModelError`."""
        value = thresholds.get(key, 0.5)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ModelError(f"{self.directory / 'manifest.json'}: thresholds.{key} must be a number "
                             f"from 0 to 1, got {json.dumps(value)} — re-export the model or fix that "
                             "value in the manifest")
        return float(value)

    def predict(self, image: npt.NDArray[np.uint8]) -> DefectResult:
        """Judge one BGR uint8 image."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Sequence[npt.NDArray[np.uint8]]) -> list[DefectResult]:
        """Judge several BGR uint8 images in one run."""
        outputs = self.run(self.preprocess(images))
        return [self._result(image, outputs["probs"][i], outputs["heatmap"][i, 0])
                for i, image in enumerate(images)]

    def _result(self, image: npt.NDArray[np.uint8], probs: npt.NDArray[np.float32],
                heatmap: npt.NDArray[np.float32]) -> DefectResult:
        score = float(np.clip(1.0 - probs[0], 0.0, 1.0))
        if score >= self.threshold and len(self.labels) > 1:
            label = self.labels[1 + int(np.argmax(probs[1:]))]
        else:
            label = OK_LABEL
        full = np.asarray(cv2.resize(heatmap, (self.spec.width, self.spec.height),
                                     interpolation=cv2.INTER_LINEAR), dtype=np.float32)
        return DefectResult(
            score=score,
            label=label,
            probs={name: float(p) for name, p in zip(self.labels, probs, strict=True)},
            heatmap=full.astype(np.float32),
            regions=regions_of(full, self.region_threshold, image.shape[1], image.shape[0]),
        )


def regions_of(heatmap: npt.NDArray[np.float32], threshold: float, image_width: int,
               image_height: int, max_regions: int = 8) -> tuple[Region, ...]:
    """Connected areas of the heatmap at or above `threshold`, as boxes in the input image's pixels,
    strongest first."""
    binary = (heatmap >= threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    sx = image_width / heatmap.shape[1]
    sy = image_height / heatmap.shape[0]
    found: list[Region] = []
    for k in range(1, count):
        x, y, w, h = (int(v) for v in stats[k, :4])
        peak = float(heatmap[labels == k].max())
        found.append((int(x * sx), int(y * sy), max(1, round(w * sx)), max(1, round(h * sy)), peak))
    found.sort(key=lambda r: -r[4])
    return tuple(found[:max_regions])
