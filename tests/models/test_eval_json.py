"""The reports `station eval` and `station train` write are strict JSON: a figure with nothing to count
(the precision of a class never predicted, an AUROC of a split without one kind) is null, not NaN,
which browsers, PostgreSQL's jsonb and most languages refuse to read."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from station.cli import main as station_main

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.train]


def _strict(text: str) -> object:
    def refuse(constant: str) -> object:
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_a_class_never_predicted_has_no_precision_rather_than_nan() -> None:
    from models.training.metrics import confusion, per_class

    matrix = confusion(["ok", "ok", "tear"], ["ok", "ok", "ok"], ["ok", "tear", "dent"])
    figures = per_class(matrix, ["ok", "tear", "dent"])
    assert figures["tear"] == {"precision": None, "recall": 0.0, "support": 1.0}
    assert figures["dent"] == {"precision": None, "recall": None, "support": 0.0}


def test_manifest_metrics_without_a_figure_are_null(tmp_path: Path) -> None:
    from models.training.common import update_manifest

    (tmp_path / "manifest.json").write_text(json.dumps({"task": "defect"}), encoding="utf-8")
    update_manifest(tmp_path, metrics={"holdout": {"auroc": math.nan, "images": 3, "curve": [math.inf, 1.0]}})
    manifest = _strict((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == {"task": "defect", "metrics": {"holdout": {"auroc": None, "images": 3,
                                                                  "curve": [None, 1.0]}}}


def test_eval_json_line_is_strict_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "defect"
    shutil.copytree(ROOT / "models" / "defect", model)
    data = tmp_path / "data"
    rng = np.random.default_rng(4)
    for label in ("good", "dent"):
        (data / label).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(data / label / f"{i}.png"), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    code = station_main(["--config", "/dev/null", "eval", "--model", str(model), "--data", str(data),
                         "--split", "all", "--json"])
    assert code == 0
    report = _strict(capsys.readouterr().out.strip().splitlines()[-1])
    assert isinstance(report, dict) and report["summary"]["images"] == 6
    # Six images and seven classes: some class is never predicted, and has no precision.
    never = [label for label, column in zip(report["labels"], zip(*report["confusion"], strict=True),
                                            strict=True) if sum(column) == 0]
    assert never and all(report["per_class"][label]["precision"] is None for label in never)


def test_eval_json_of_a_split_without_damage_is_strict_json(tmp_path: Path) -> None:
    """Only good images: no AUROC to measure, which eval.json says as null, not NaN."""
    model = tmp_path / "defect"
    shutil.copytree(ROOT / "models" / "defect", model)
    data, out = tmp_path / "data", tmp_path / "report"
    (data / "good").mkdir(parents=True)
    rng = np.random.default_rng(5)
    for i in range(4):
        cv2.imwrite(str(data / "good" / f"{i}.png"), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    code = station_main(["--config", "/dev/null", "eval", "--model", str(model), "--data", str(data),
                         "--split", "all", "--out", str(out)])
    assert code == 0
    report = _strict((out / "eval.json").read_text(encoding="utf-8"))
    assert isinstance(report, dict) and report["summary"]["auroc"] is None
