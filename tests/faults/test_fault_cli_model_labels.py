"""A defect model whose manifest lists more labels than the graph outputs is refused at load,
naming the manifest and the mismatch, instead of crashing on the first image scored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from tests.faults.test_fault_cli_images import REPO, station


def test_label_count_mismatch_is_refused_at_load(tmp_path: Path) -> None:
    model = tmp_path / "defect"
    shutil.copytree(REPO / "models" / "defect", model)
    manifest_path = model / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    labels = len(manifest["labels"])
    manifest["labels"].append("water_damage")
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), np.full((128, 128, 3), 200, np.uint8))
    done = station(tmp_path, "score", "--model", str(model), "--json", str(photo))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert str(manifest_path) in done.stderr
    assert f"lists {labels + 1} labels" in done.stderr and f"outputs {labels} class" in done.stderr
