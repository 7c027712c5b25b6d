"""`station train` refuses a model below chance or below the model it would replace, leaves --out as it
was, exports it with --force (recorded in the manifest), and writes metrics.csv + curves.png per epoch
(needs torch: the `train` marker)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from station.cli import main as station_main

pytestmark = [pytest.mark.train]


def main(argv: list[str]) -> int:
    """The station CLI on embedded defaults (the checkout's config.toml is not part of these tests)."""
    return station_main(["--config", "/dev/null", *argv])


def _noise(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(110, 12, (64, 64)).clip(0, 255).astype(np.uint8)


def _bar(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros((64, 64), np.uint8)
    x, y = (int(v) for v in rng.integers(4, 40, 2))
    cv2.rectangle(mask, (x, y), (x + 18, y + 5), 255, -1)
    image[mask > 0] = 235
    return mask


def _defect_data(root: Path) -> None:
    """Good = grey noise; 'scratch' = the same with a bright bar and its mask."""
    rng = np.random.default_rng(0)
    (root / "good").mkdir(parents=True)
    (root / "scratch").mkdir()
    for i in range(36):
        cv2.imwrite(str(root / "good" / f"g{i:02d}.png"), _noise(rng))
    for i in range(24):
        image = _noise(rng)
        mask = _bar(image, rng)
        cv2.imwrite(str(root / "scratch" / f"s{i:02d}.png"), image)
        cv2.imwrite(str(root / "scratch" / f"s{i:02d}_mask.png"), mask)


def _split(root: Path) -> tuple[list[Path], list[Path]]:
    """The images a default run trains and validates on (the split depends on the file names and the
    seed, not on the pixels, so the images can be redrawn after it is known)."""
    from models.datasets import Split, defect_samples
    from models.training.defect import DefectRecipe, _split_validation

    recipe = DefectRecipe()
    train, validation = _split_validation(defect_samples(root, Split.TRAIN, recipe.holdout),
                                          recipe.val_fraction, recipe.seed)
    assert {s.label for s in validation} == {"good", "scratch"}
    return [s.path for s in train], [s.path for s in validation]


def _invert_validation(root: Path) -> None:
    """The validation images swap looks (good ones carry the bar, scratches are clean): whatever the
    model learns from the training images scores below chance there."""
    rng = np.random.default_rng(1)
    for path in _split(root)[1]:
        image = _noise(rng)
        if path.parent.name == "good":
            _bar(image, rng)
        cv2.imwrite(str(path), image)


def _swap_training(root: Path) -> None:
    """The training images swap looks (good ones carry the bar, scratches are clean): the model learns
    the opposite of what the (unchanged) validation images show."""
    rng = np.random.default_rng(2)
    for path in _split(root)[0]:
        image = _noise(rng)
        if path.parent.name == "good":
            _bar(image, rng)
        cv2.imwrite(str(path), image)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


TINY = ["--epochs", "3", "--size", "64", "--seed", "0", "--no-eval", "--views", "1"]


def test_below_chance_is_refused_then_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, out = tmp_path / "data", tmp_path / "model"
    _defect_data(data)
    _invert_validation(data)
    code = main(["train", "defect", "--data", str(data), "--out", str(out), *TINY])
    err = capsys.readouterr().err
    assert code == 3, err
    assert not out.exists()
    assert "below chance (0.500)" in err and "--force" in err and "--epochs" in err, err
    # The refused run is kept for a look, with one row per epoch.
    refused = tmp_path / "model.refused"
    assert len(_rows(refused / "metrics.csv")) == 3
    assert (refused / "curves.png").stat().st_size > 1000
    assert not (tmp_path / "model.training").exists()

    code = main(["train", "defect", "--data", str(data), "--out", str(out), *TINY, "--force", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    manifest = json.loads(captured.out.strip().splitlines()[-1])
    assert manifest == json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    forced = manifest["forced"]
    assert forced["validation"] == manifest["metrics"]["validation"]["auroc"] < 0.5
    assert "below chance" in forced["reason"] and forced["replaced"] is None
    assert "--force" in captured.err
    rows = _rows(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert set(rows[0]) == {"epoch", "loss", "val_auroc", "lr", "seconds"}
    assert all(float(r["loss"]) > 0 and float(r["lr"]) > 0 and float(r["seconds"]) >= 0 for r in rows)
    assert float(rows[-1]["val_auroc"]) < 0.5
    assert (out / "curves.png").stat().st_size > 1000
    assert not (tmp_path / "model.training").exists()


def test_worse_than_the_model_in_out_is_refused_and_out_untouched(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data, out = tmp_path / "data", tmp_path / "model"
    _defect_data(data)
    assert main(["train", "defect", "--data", str(data), "--out", str(out), "--epochs", "6", "--size", "64",
                 "--seed", "0", "--views", "1"]) == 0
    capsys.readouterr()
    before = _tree(out)
    old = json.loads(before["manifest.json"])
    assert {"metrics.csv", "curves.png", "eval.json"} <= set(before)

    # The same files, but the training images now teach the opposite: the new model scores far below
    # the old one on the (unchanged) validation images.
    _swap_training(data)
    # Image labels only: the (now wrong) masks of the old scratches would still point at nothing.
    code = main(["train", "defect", "--data", str(data), "--out", str(out), "--epochs", "3", "--size", "64",
                 "--seed", "0", "--views", "1", "--masks", "off"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert _tree(out) == before
    assert f"of the model it would replace ({old['name']} {old['version']}" in err, err
    assert f"{out} is unchanged" in err
    refused = json.loads((tmp_path / "model.refused" / "manifest.json").read_text(encoding="utf-8"))
    replaced = refused["metrics"]["validation"]["replaced"]
    assert replaced["sha256"] == old["sha256"]
    assert replaced["images"] == refused["metrics"]["validation"]["images"]
    assert replaced["auroc"] > refused["metrics"]["validation"]["auroc"]


def test_conformity_writes_metrics_per_epoch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    data, out = tmp_path / "data", tmp_path / "model"
    colours = {"SKU-RED": (30, 30, 200), "SKU-BLUE": (200, 40, 30), "SKU-GREEN": (40, 190, 40)}
    for sku, bgr in colours.items():
        (data / sku).mkdir(parents=True)
        for i in range(10):
            image = np.clip(np.array(bgr) + rng.integers(-40, 40, (40, 40, 3)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(data / sku / f"{i:02d}.png"), image)
    code = main(["train", "conformity", "--data", str(data), "--out", str(out), "--epochs", "2",
                 "--size", "32", "--width", "8", "--no-eval", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    manifest = json.loads(captured.out.strip().splitlines()[-1])
    assert "forced" not in manifest and manifest["metrics"]["validation"]["top1"] >= 1 / 3
    rows = _rows(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "val_top1", "val_verification_auroc", "lr", "seconds"}
    assert all(r["val_top1"] for r in rows)  # the last eval_epochs (3) epochs are validated
    assert (out / "curves.png").stat().st_size > 1000

    # A second run into the same folder scores the model there on its own validation split.
    code = main(["train", "conformity", "--data", str(data), "--out", str(out), "--epochs", "1",
                 "--size", "32", "--width", "8", "--no-eval"])
    capsys.readouterr()
    assert code in (0, 3)
    second = (out if code == 0 else tmp_path / "model.refused") / "manifest.json"
    validation = json.loads(second.read_text(encoding="utf-8"))["metrics"]["validation"]
    replaced = validation["replaced"]
    assert replaced["sha256"] == manifest["sha256"] and replaced["images"] == validation["images"]
    assert (code == 0) == (validation["top1"] >= replaced["top1"])


def _manifest(task: str, value: float | None, replaced: float | None = None,
              labels: int = 2) -> dict[str, object]:
    key = "auroc" if task == "defect" else "top1"
    validation: dict[str, object] = {key: value, "images": 10}
    if replaced is not None:
        validation["replaced"] = {key: replaced, "name": "old", "version": "v1"}
    return {"task": task, "labels": [f"l{i}" for i in range(labels)], "metrics": {"validation": validation}}


def test_judgement_rules() -> None:
    from models.training.acceptance import judge

    assert judge(_manifest("defect", 0.5)).accepted  # chance itself is not below chance
    assert not judge(_manifest("defect", 0.375)).accepted
    assert judge(_manifest("defect", 0.9, replaced=0.9)).accepted  # a tie replaces
    refused = judge(_manifest("defect", 0.8, replaced=0.9))
    assert not refused.accepted and "0.900" in refused.problems[0] and refused.replaced == 0.9
    assert len(judge(_manifest("defect", 0.3, replaced=0.9)).problems) == 2
    unmeasured = judge(_manifest("defect", None, replaced=0.9))
    assert unmeasured.accepted and unmeasured.unmeasured
    assert judge(_manifest("defect", math.nan)).unmeasured
    # Conformity: chance is one product in `labels`.
    assert not judge(_manifest("conformity", 0.2, labels=4)).accepted
    assert judge(_manifest("conformity", 0.25, labels=4)).accepted


def test_install_replaces_artefacts_and_keeps_other_files(tmp_path: Path) -> None:
    from models.training.acceptance import install

    out, staging = tmp_path / "model", tmp_path / "model.training"
    out.mkdir()
    staging.mkdir()
    for name in ("model.onnx", "manifest.json", "eval.json", "notes.txt"):
        (out / name).write_text("old " + name)
    for name in ("model.onnx", "manifest.json", "metrics.csv"):
        (staging / name).write_text("new " + name)
    refused = tmp_path / "model.refused"  # an earlier run, refused: not this one's refusal
    refused.mkdir()
    (refused / "model.onnx").write_text("refused")
    install(staging, out)
    assert _tree(out) == {"manifest.json": b"new manifest.json", "metrics.csv": b"new metrics.csv",
                          "model.onnx": b"new model.onnx", "notes.txt": b"old notes.txt"}
    assert not staging.exists() and not refused.exists()


def test_metrics_csv_grows_while_the_run_goes(tmp_path: Path) -> None:
    """A run stopped after two of five epochs has those two rows on disk."""
    from models.training.progress import TrainingLog

    log = TrainingLog(tmp_path, ("val_auroc",), epochs=5, steps_per_epoch=2, chance=0.5)
    for epoch in (1, 2):
        log.start_epoch()
        log.step(epoch, 0.7)
        log.step(epoch, 0.6)
        log.end_epoch(epoch, 0.6, {"val_auroc": 0.7 if epoch == 2 else None}, 1e-3)
    rows = _rows(tmp_path / "metrics.csv")
    assert [(r["epoch"], r["val_auroc"]) for r in rows] == [("1", ""), ("2", "0.7")]
    assert log.bar.total == 10 and log.bar.n == 4  # one bar over every step of the run
    log.close()
    assert (tmp_path / "curves.png").stat().st_size > 1000


@pytest.mark.parametrize(("option", "value", "said"), [
    ("--epochs", "0", "whole number of at least 1"),
    ("--epochs", "ten", "whole number of at least 1"),
    ("--size", "8", "at least 32"),
    ("--width", "0", "at least 4"),
    ("--threads", "5", "from 1 to 2"),
    ("--holdout", "1", "above 0 and below 1"),
    ("--cutmix", "nan", "from 0 up to 1"),
    ("--weight-decay", "-1", "from 0 up to 1"),
    ("--ema", "1", "from 0 and below 1"),
])
def test_a_setting_out_of_range_is_refused_with_what_to_write_before_anything_is_made(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, said: str) -> None:
    out = tmp_path / "model"
    with pytest.raises(SystemExit) as exited:
        main(["train", "conformity", "--data", str(tmp_path), "--out", str(out), option, value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: '{value}': write a" in err and said in err
    assert list(tmp_path.iterdir()) == []
