"""`station train` and `station eval` refuse a data folder of the other task, and a `station dataset
export` folder itself, before anything runs, saying which folder to pass: a conformity training on a
defect folder once trained a model of good/ and tear/ as products and was refused only afterwards,
leaving OUT.training behind, and eval on an export's folder said it "holds conformity data" to a
defect model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.datasets import layout_problem
from station.cli import main as station_main

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    """The station CLI on embedded defaults (the checkout's config.toml is not part of these tests)."""
    return station_main(["--config", "/dev/null", *argv])


def _pictures(folder: Path, count: int = 3) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(len(folder.name))
    for i in range(count):
        cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))


def _export(root: Path) -> Path:
    """What `station dataset export` writes: defect/<class>/, conformity/<sku>/ and export.json."""
    for sub in ("defect/good", "defect/tear", "conformity/SKU-A", "conformity/SKU-B"):
        _pictures(root / sub)
    (root / "export.json").write_text(json.dumps({"items": 6}), encoding="utf-8")
    return root


@pytest.mark.train
def test_conformity_training_on_defect_data_is_refused_before_it_trains(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _export(tmp_path / "export") / "defect"
    out = tmp_path / "models" / "conformity"
    assert main(["train", "conformity", "--data", str(data), "--out", str(out), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{data} holds defect data" in err and "a conformity model needs a folder laid out as" in err
    assert not (tmp_path / "models").exists()  # no OUT, no OUT.training


@pytest.mark.train
def test_training_on_an_export_folder_names_the_task_folder_to_pass(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _export(tmp_path / "export")
    out = tmp_path / "models" / "defect"
    assert main(["train", "defect", "--data", str(data), "--out", str(out), "--epochs", "1"]) == 2
    assert f"pass {data / 'defect'} as --data" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()


@pytest.mark.train
def test_eval_on_an_export_folder_names_the_task_folder_to_pass(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "defect"
    shutil.copytree(ROOT / "models" / "defect", model)
    report = (model / "eval.json").read_bytes()
    data = _export(tmp_path / "export")
    assert main(["eval", "--model", str(model), "--data", str(data), "--write"]) == 2
    err = capsys.readouterr().err
    assert f"pass {data / 'defect'} as --data" in err and "holds conformity data" not in err
    assert (model / "eval.json").read_bytes() == report


def test_layouts_of_each_task_pass(tmp_path: Path) -> None:
    export = _export(tmp_path / "export")
    assert layout_problem(export / "defect", "defect") is None
    assert layout_problem(export / "conformity", "conformity") is None
    grocery = tmp_path / "grocery"
    grocery.mkdir()
    (grocery / "train.txt").write_text("", encoding="utf-8")
    (grocery / "classes.csv").write_text("", encoding="utf-8")
    assert layout_problem(grocery, "conformity") is None
    assert "holds the grocery lists" in (layout_problem(grocery, "defect") or "")
    tiles = tmp_path / "tiles"
    (tiles / "MT_Free" / "Imgs").mkdir(parents=True)
    assert layout_problem(tiles, "defect") is None
    assert "magnetic-tile defect set" in (layout_problem(tiles, "conformity") or "")


@pytest.mark.train
def test_a_broken_picture_in_the_data_is_named_with_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "defect"
    shutil.copytree(ROOT / "models" / "defect", model)
    data = _export(tmp_path / "export") / "defect"
    broken = data / "tear" / "9.jpg"
    broken.write_bytes(b"\xff\xd8 cut short by a full disk")
    assert main(["eval", "--model", str(model), "--data", str(data), "--split", "all"]) == 2
    err = capsys.readouterr().err
    assert f"{broken}: not a readable image" in err
    assert "replace it or move it out of the data folder, then run again" in err


@pytest.mark.train
def test_a_conformity_model_is_not_scored_against_its_own_gallery(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --split all every training picture was a query and found itself in the gallery: a model
    read 97.5 % top-1 on a folder where its held-back figure was 82 %."""
    data = _export(tmp_path / "export") / "conformity"
    out = tmp_path / "report"
    assert main(["eval", "--model", str(ROOT / "models" / "conformity"), "--data", str(data),
                 "--split", "all", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--split all would match the folder's training pictures against themselves" in err
    assert "keep --split holdout" in err and not out.exists()


@pytest.mark.train
def test_a_broken_held_back_picture_stops_the_training_before_it_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only the closing evaluation reads the held-back images: a broken one there used to surface after
    the whole training, throwing the run away."""
    from models.datasets import Split, defect_samples

    data = _export(tmp_path / "export") / "defect"
    for label in ("good", "tear"):  # enough pictures for a training, a validation and a held-back split
        for i in range(3, 12):
            shutil.copy(data / label / "0.png", data / label / f"{i}.png")
    broken = defect_samples(data, Split.HOLDOUT)[0].path
    broken.write_bytes(b"\x89PNG cut short")
    out = tmp_path / "models" / "defect"
    assert main(["train", "defect", "--data", str(data), "--out", str(out), "--epochs", "1",
                 "--size", "64"]) == 2
    err = capsys.readouterr().err
    assert f"{broken}: not a readable image" in err and "training:" not in err
    assert not (tmp_path / "models").exists()


@pytest.mark.train
@pytest.mark.parametrize(("task", "options", "said"), [
    ("defect", ["--cutmix", "0.5", "--flip", "on"],
     "--cutmix, --flip are options of `station train conformity`, not of `station train defect`"),
    ("conformity", ["--holdout", "0.2"],
     "--holdout is an option of `station train defect`, not of `station train conformity`"),
    ("conformity", ["--views", "0"], "--views is an option of `station train defect`"),
])
def test_the_other_tasks_options_are_refused_not_ignored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], task: str, options: list[str], said: str) -> None:
    data = _export(tmp_path / "export") / task
    out = tmp_path / "models" / task
    assert main(["train", task, "--data", str(data), "--out", str(out), "--epochs", "1", *options]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "models").exists()


@pytest.mark.shared_data
def test_the_public_sets_pass_for_their_task_and_are_refused_for_the_other(shared_data: Path) -> None:
    tiles = shared_data / "defects" / "magnetic-tile"
    grocery = shared_data / "products" / "grocery"
    assert layout_problem(tiles, "defect") is None and layout_problem(grocery, "conformity") is None
    assert "magnetic-tile defect set" in (layout_problem(tiles, "conformity") or "")
    assert "holds the grocery lists" in (layout_problem(grocery, "defect") or "")
