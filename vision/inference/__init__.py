"""ONNX model runtime of the station: the defect and conformity models and the SKU gallery.

Runs on onnxruntime only (no torch). Each model folder holds `model.onnx` and
`manifest.json`; the manifest carries the pre- and post-processing so that a model
and its thresholds travel together (docs/models.md).
"""

from vision.inference.conformity import ConformityModel, ConformityResult, Gallery, GalleryError
from vision.inference.defect import DefectModel, DefectResult, Region
from vision.inference.runtime import InputSpec, ModelError, ModelInfo, OnnxModel, preprocess

__all__ = [
    "ConformityModel",
    "ConformityResult",
    "DefectModel",
    "DefectResult",
    "Gallery",
    "GalleryError",
    "InputSpec",
    "ModelError",
    "ModelInfo",
    "OnnxModel",
    "Region",
    "preprocess",
]
