"""`station eval` never changes a model folder unless asked (`--write`), and refuses data laid out for
the other task before anything runs: evaluating the conformity model on a defect folder once replaced
its recorded 0.730 / 0.980 with 0.375 / 0.618."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]

def defect_folder(root: Path) -> Path:
    rng = np.random.default_rng(3)
    for label in ("good", "tear"):
        (root / label).mkdir(parents=True)
        for i in range(4):
            image = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
            if label == "tear":
                cv2.line(image, (10, 10), (80, 70), (0, 0, 0), 6)
            cv2.imwrite(str(root / label / f"{i}.png"), image)
    return root


def digests(folder: Path) -> dict[str, str]:
    files = sorted(p for p in folder.iterdir() if p.is_file())
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def station(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "station", *args], check=False, capture_output=True,
                          text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_a_conformity_model_refuses_defect_data_and_stays_as_it_was(tmp_path: Path) -> None:
    before = digests(ROOT / "models" / "conformity")
    done = station("eval", "--model", str(ROOT / "models" / "conformity"),
                   "--data", str(defect_folder(tmp_path / "data")), "--write")
    assert done.returncode == 2
    assert "holds defect data" in done.stderr and "conformity model" in done.stderr
    assert digests(ROOT / "models" / "conformity") == before


def test_eval_writes_nothing_into_the_model_folder_unless_asked(tmp_path: Path) -> None:
    model = tmp_path / "defect"
    shutil.copytree(ROOT / "models" / "defect", model)
    data = defect_folder(tmp_path / "data")
    before = digests(model)
    done = station("eval", "--model", str(model), "--data", str(data), "--split", "all", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["summary"]["images"] == 8
    assert digests(model) == before

    out = tmp_path / "report"
    assert station("eval", "--model", str(model), "--data", str(data), "--split", "all",
                   "--out", str(out)).returncode == 0
    assert (out / "eval.json").is_file() and (out / "eval_roc.png").is_file()
    assert digests(model) == before

    written = station("eval", "--model", str(model), "--data", str(data), "--split", "all", "--write")
    assert written.returncode == 0, written.stderr
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["metrics"]["all"]["images"] == 8
    assert digests(model) != before
