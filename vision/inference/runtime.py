"""Load an exported model folder (model.onnx + manifest.json) and run it with onnxruntime.

`OnnxModel.load` refuses a folder whose files are missing, whose sha256 does not match
its manifest, or whose graph does not take the input the manifest describes; each
refusal is a `ModelError` naming the file, the problem and what to do.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import cv2
import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

MANIFEST_SCHEMA = "returns.model/1"
MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"
COLOURS = ("gray", "rgb", "bgr")


class ModelError(Exception):
    """A model folder the station refuses to run; the message names the file and the fix."""


@dataclass(frozen=True)
class ModelInfo:
    """What a verdict records about a model it used."""

    name: str
    version: str
    sha256: str


@dataclass(frozen=True)
class InputSpec:
    """The image a model takes, as its manifest describes it (always NCHW float32)."""

    height: int
    width: int
    colour: str  # "gray", "rgb" or "bgr"
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def channels(self) -> int:
        """1 for grey models, 3 for colour ones."""
        return 1 if self.colour == "gray" else 3

    @classmethod
    def from_manifest(cls, section: dict[str, Any]) -> InputSpec:
        """Read the manifest's `input` section; `ValueError` says which key is wrong."""
        if not isinstance(section, dict):
            raise ValueError(f"input must be an object (height, width, colour, mean, std), "
                             f"got {_json_repr(section)}")
        if section.get("layout", "NCHW") != "NCHW":
            raise ValueError(f"input.layout {section.get('layout')!r} is not supported (only NCHW)")
        colour = str(section["colour"])
        if colour not in COLOURS:
            raise ValueError(f"input.colour {colour!r} is not one of {COLOURS}")
        spec = cls(
            height=int(section["height"]),
            width=int(section["width"]),
            colour=colour,
            mean=tuple(float(v) for v in section["mean"]),
            std=tuple(float(v) for v in section["std"]),
        )
        if len(spec.mean) != spec.channels or len(spec.std) != spec.channels:
            raise ValueError(f"input.mean/std need {spec.channels} values for colour {colour!r}")
        return spec

    def to_manifest(self) -> dict[str, Any]:
        """The manifest's `input` section."""
        return {
            "layout": "NCHW",
            "height": self.height,
            "width": self.width,
            "channels": self.channels,
            "colour": self.colour,
            "resize": "stretch, cv2.INTER_AREA",
            "scale": 1 / 255,
            "mean": list(self.mean),
            "std": list(self.std),
        }


def resize_for(spec: InputSpec, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A BGR (or grey) uint8 image converted to the model's colour order and size, still uint8 HWC."""
    if image.ndim == 2:
        image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    elif image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected a BGR image (H, W, 3), got shape {image.shape}")
    elif image.shape[2] == 4:
        image = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    if spec.colour == "gray":
        converted = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[:, :, None]
    elif spec.colour == "rgb":
        converted = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    else:
        converted = image
    resized = cv2.resize(converted, (spec.width, spec.height), interpolation=cv2.INTER_AREA)
    if resized.ndim == 2:
        resized = resized[:, :, None]
    return np.ascontiguousarray(resized, dtype=np.uint8)


def normalise(spec: InputSpec, resized: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """uint8 HWC (or NHWC) of the model's size -> normalised float32 CHW (or NCHW)."""
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    x = (resized.astype(np.float32) / 255.0 - mean) / std
    return np.ascontiguousarray(np.moveaxis(x, -1, -3), dtype=np.float32)


def preprocess(spec: InputSpec, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
    """BGR uint8 images -> the model's NCHW float32 batch (training uses this same function)."""
    return np.stack([normalise(spec, resize_for(spec, image)) for image in images])


def read_bgr(path: Path) -> npt.NDArray[np.uint8] | None:
    """An image file as BGR uint8, or None when it is missing or not an image."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if image is None else np.asarray(image, dtype=np.uint8)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of a model folder, or `ModelError` saying what is missing or broken."""
    path = directory / MANIFEST_FILE
    if directory.is_file():
        raise ModelError(f"{directory} is a file: give the model's folder ({directory.parent}), "
                         f"which holds {MODEL_FILE} and {MANIFEST_FILE}")
    if not directory.is_dir():
        raise ModelError(f"{directory}: model folder not found — train or copy a model there, "
                         "or point [models] in config.toml at an existing folder")
    if not path.is_file():
        raise ModelError(f"{path}: manifest missing — re-export the model (station train ...) "
                         "so the folder holds model.onnx and manifest.json")
    try:
        manifest: Any = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: manifest is not valid JSON ({exc}) — re-export the model") from exc
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the manifest ({exc.strerror or exc}) — check the "
                         "file's permissions, or copy the model folder again") from exc
    if not isinstance(manifest, dict):
        raise ModelError(f"{path}: the manifest must be a JSON object, got {_json_repr(manifest)} — "
                         "re-export the model")
    if manifest.get("schema") != MANIFEST_SCHEMA:
        raise ModelError(f"{path}: schema {manifest.get('schema')!r} is not {MANIFEST_SCHEMA!r} — "
                         "re-export the model with this version of the station")
    check_manifest_types(path, manifest)
    return manifest


def _json_repr(value: object, limit: int = 60) -> str:
    """A manifest value as JSON writes it (null, "x", [..]), cut short for a one-line message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def check_manifest_types(path: Path, manifest: dict[str, Any]) -> None:
    """`ModelError` naming the first manifest field of the wrong type (the fields every task reads).

    Absent optional fields keep their defaults (onnx_file "model.onnx", thresholds {});
    a field that is present must have the type the station reads it as.
    """
    def refuse(field: str, wanted: str) -> ModelError:
        return ModelError(f"{path}: {field} must be {wanted}, got {_json_repr(manifest[field])} — "
                          "re-export the model (station train ...) or fix that field of the manifest")

    if "onnx_file" in manifest:
        name = manifest["onnx_file"]
        if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
            raise refuse("onnx_file", f'the model file\'s name in this folder, e.g. "{MODEL_FILE}"')
    if "input" not in manifest:
        raise ModelError(f"{path}: input is missing (height, width, colour, mean, std) — re-export the model")
    if not isinstance(manifest["input"], dict):
        raise refuse("input", "an object (height, width, colour, mean, std)")
    if "thresholds" in manifest and not isinstance(manifest["thresholds"], dict):
        raise refuse("thresholds", 'an object such as {"defect": 0.5, "region": 0.5}')
    if "sha256" in manifest and not isinstance(manifest["sha256"], str):
        raise refuse("sha256", "the hex sha256 of the model file (a string)")


class OnnxModel:
    """One exported model: verified, loaded into onnxruntime and warmed up."""

    task = ""  # subclasses name the manifest task they accept

    def __init__(self, directory: Path, manifest: dict[str, Any], session: Any, spec: InputSpec) -> None:
        self.directory = directory
        self.manifest = manifest
        self.session = session
        self.spec = spec
        self.input_name: str = session.get_inputs()[0].name
        self.output_names: list[str] = [o.name for o in session.get_outputs()]
        self.info = ModelInfo(
            name=str(manifest.get("name", directory.name)),
            version=str(manifest.get("version", "")),
            sha256=str(manifest["sha256"]),
        )

    @classmethod
    def load(cls, directory: Path, intra_op_threads: int = 1, inter_op_threads: int = 1) -> Self:
        """Verify and load `directory`/model.onnx; raises `ModelError` naming the file and the fix."""
        import onnxruntime as ort

        directory = Path(directory)
        manifest = read_manifest(directory)
        manifest_path = directory / MANIFEST_FILE
        if cls.task and manifest.get("task") != cls.task:
            raise ModelError(f"{manifest_path}: task is {manifest.get('task')!r}, this slot needs a "
                             f"{cls.task!r} model — point the setting at a {cls.task} model folder")
        model_path = directory / str(manifest.get("onnx_file", MODEL_FILE))
        if not model_path.is_file():
            raise ModelError(f"{model_path}: model file missing — copy the whole model folder again "
                             "or re-export it")
        expected = str(manifest.get("sha256", ""))
        try:
            actual = file_sha256(model_path)
        except OSError as exc:
            raise ModelError(f"{model_path}: cannot read the model file ({exc.strerror or exc}) — check "
                             "its permissions, or copy the model folder again") from exc
        if actual != expected:
            raise ModelError(f"{model_path}: sha256 {actual[:12]}… does not match the manifest's "
                             f"{expected[:12]}… — the file is corrupt or belongs to another manifest; "
                             "copy the model folder again")
        try:
            spec = InputSpec.from_manifest(manifest["input"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{manifest_path}: bad input section ({exc}) — re-export the model") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = inter_op_threads
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(model_path), sess_options=options,
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"{model_path}: onnxruntime cannot load it ({exc}) — "
                             "re-export the model") from exc
        inputs = session.get_inputs()
        shape = list(inputs[0].shape) if len(inputs) == 1 else []
        wanted = [spec.channels, spec.height, spec.width]
        if len(shape) != 4 or [int(d) if isinstance(d, int) else d for d in shape[1:]] != wanted:
            raise ModelError(f"{model_path}: the graph takes input {shape} but the manifest describes "
                             f"[N, {spec.channels}, {spec.height}, {spec.width}] — model and manifest do "
                             "not belong together; re-export the model")
        model = cls(directory, manifest, session, spec)
        model.check_outputs()
        # The first run allocates and plans; do it now so the first item is not slow.
        warm = model.run(np.zeros((1, spec.channels, spec.height, spec.width), dtype=np.float32))
        model.check_warm_outputs(warm)
        logger.info("loaded model %s version %s from %s", model.info.name, model.info.version, directory)
        return model

    def check_outputs(self) -> None:
        """Subclasses refuse graphs that lack the outputs their post-processing reads."""

    def check_warm_outputs(self, outputs: dict[str, npt.NDArray[np.float32]]) -> None:
        """Subclasses refuse graphs whose outputs, seen on a real run, do not fit the manifest."""

    def _require_outputs(self, *names: str) -> None:
        missing = [n for n in names if n not in self.output_names]
        if missing:
            raise ModelError(f"{self.directory / MODEL_FILE}: graph lacks output(s) {missing} needed by a "
                             f"{self.task} model — re-export it with `station train {self.task}`")

    def preprocess(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        """BGR uint8 images -> this model's input batch."""
        return preprocess(self.spec, images)

    def run(self, batch: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
        """Run the graph on a prepared batch; outputs by name."""
        outputs = self.session.run(None, {self.input_name: batch})
        return {name: np.asarray(value, dtype=np.float32) for name, value in zip(self.output_names, outputs,
                                                                                    strict=True)}
