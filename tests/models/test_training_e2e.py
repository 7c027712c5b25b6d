"""A tiny training run end to end: station train -> ONNX export -> parity -> held-back eval -> station score
and station enroll, on generated images (needs torch: the `train` marker)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from station.cli import main as station_main
from vision.inference import ConformityModel, DefectModel, Gallery
from vision.inference.runtime import file_sha256

pytestmark = [pytest.mark.train]


def main(argv: list[str]) -> int:
    """The station CLI on embedded defaults (the checkout's config.toml is not part of these tests)."""
    return station_main(["--config", "/dev/null", *argv])



def _defect_data(root: Path) -> None:
    """Good = grey noise; 'scratch' = the same with a bright bar, with its pixel mask."""
    rng = np.random.default_rng(0)
    (root / "good").mkdir(parents=True)
    (root / "scratch").mkdir()
    for i in range(36):
        texture = rng.normal(110, 12, (64, 64)).clip(0, 255).astype(np.uint8)
        cv2.imwrite(str(root / "good" / f"g{i:02d}.png"), texture)
    for i in range(24):
        texture = rng.normal(110, 12, (64, 64)).clip(0, 255).astype(np.uint8)
        mask = np.zeros((64, 64), np.uint8)
        x, y = (int(v) for v in rng.integers(4, 40, 2))
        cv2.rectangle(mask, (x, y), (x + 18, y + 5), 255, -1)
        texture[mask > 0] = 235
        cv2.imwrite(str(root / "scratch" / f"s{i:02d}.png"), texture)
        cv2.imwrite(str(root / "scratch" / f"s{i:02d}_mask.png"), mask)


def test_defect_train_export_parity_eval_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, out = tmp_path / "data", tmp_path / "model"
    _defect_data(data)
    code = main(["train", "defect", "--data", str(data), "--out", str(out), "--epochs", "6", "--size", "64",
                 "--seed", "1", "--json"])
    assert code == 0
    manifest = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # One self-contained ONNX file whose digest the manifest carries.
    assert sorted(p.name for p in out.glob("model.onnx*")) == ["model.onnx"]
    assert manifest["sha256"] == file_sha256(out / "model.onnx")
    assert manifest["labels"] == ["ok", "scratch"] and manifest["task"] == "defect"
    assert manifest["training"]["recipe"]["crop"] == 0  # a 128 px patch of a 64 px image is no patch
    assert max(manifest["parity"]["max_abs_diff"].values()) <= 1e-3
    assert manifest["training"]["data_digest"] and manifest["code_version"]
    # The number of test-time views is chosen on validation and recorded with what each count scored.
    validation = manifest["metrics"]["validation"]
    assert manifest["test_time_views"] in (1, 2, 4, 8)
    assert sorted(validation["auroc_by_views"]) == ["1", "2", "4", "8"]
    assert validation["auroc"] == validation["auroc_by_views"][str(manifest["test_time_views"])]
    assert set(validation["auroc_per_class"]) == {"scratch"}
    holdout = manifest["metrics"]["holdout"]
    assert holdout["images"] > 0 and holdout["auroc"] >= 0.8, holdout
    for plot in ("eval_roc.png", "eval_confusion.png", "eval_heatmaps.png"):
        assert (out / plot).stat().st_size > 1000

    model = DefectModel.load(out)
    bad, good = data / "scratch" / "s00.png", data / "good" / "g00.png"
    assert main(["score", "--model", str(out), "--json", str(bad), str(good)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in rows] == [str(bad), str(good)]
    assert rows[0]["score"] > rows[1]["score"]
    assert rows[0]["score"] == pytest.approx(model.predict(cv2.imread(str(bad))).score, abs=1e-5)


@pytest.mark.parametrize("recipe", [[], ["--loss", "cosface", "--cutmix", "0.5", "--trivial", "0.5"],
                                    ["--precision", "bf16"],
                                    ["--weight-decay", "0.05", "--ema", "0.9", "--white-balance", "0.08",
                                     "--erase", "0.25", "--mixstyle", "0.5"]],
                         ids=["softmax", "cosface+cutmix", "softmax-bf16", "softmax-averaged"])
def test_conformity_train_export_enroll_match(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              recipe: list[str]) -> None:
    rng = np.random.default_rng(0)
    data, out = tmp_path / "data", tmp_path / "model"
    colours = {"SKU-RED": (30, 30, 200), "SKU-BLUE": (200, 40, 30), "SKU-GREEN": (40, 190, 40)}
    for sku, bgr in colours.items():
        (data / sku).mkdir(parents=True)
        for i in range(12):
            image = np.clip(np.array(bgr) + rng.integers(-40, 40, (48, 48, 3)), 0, 255).astype(np.uint8)
            cv2.circle(image, (int(rng.integers(10, 38)), int(rng.integers(10, 38))), 8, (255, 255, 255), -1)
            cv2.imwrite(str(data / sku / f"{i:02d}.png"), image)
    code = main(["train", "conformity", "--data", str(data), "--out", str(out), "--epochs", "3",
                 "--size", "32", "--json", *recipe])
    assert code == 0
    manifest = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert manifest["training"]["recipe"]["loss"] == ("cosface" if "cosface" in recipe else "softmax")
    assert manifest["training"]["recipe"]["precision"] == ("bf16" if "bf16" in recipe else "fp32")
    assert manifest["training"]["recipe"]["ema"] == (0.9 if "--ema" in recipe else 0.0)
    assert manifest["training"]["recipe"]["weight_decay"] == (0.05 if "--weight-decay" in recipe else 5e-4)
    assert manifest["training"]["recipe"]["white_balance"] == (0.08 if "--white-balance" in recipe else 0.0)
    assert manifest["training"]["recipe"]["erase"] == (0.25 if "--erase" in recipe else 0.0)
    assert manifest["training"]["recipe"]["mixstyle"] == (0.5 if "--mixstyle" in recipe else 0.0)
    assert manifest["training"]["recipe"]["trivial"] == (0.5 if "--trivial" in recipe else 0.0)
    assert manifest["task"] == "conformity" and manifest["sha256"] == file_sha256(out / "model.onnx")
    assert max(manifest["parity"]["max_abs_diff"].values()) <= 1e-3
    assert manifest["metrics"]["holdout"]["images"] > 0

    gallery = tmp_path / "gallery.npz"
    for sku in colours:
        refs = [str(p) for p in sorted((data / sku).glob("*.png"))[:3]]
        assert main(["enroll", sku, *refs, "--model", str(out), "--gallery", str(gallery)]) == 0
    model = ConformityModel.load(out)
    loaded = Gallery.load(gallery, model.info.sha256)
    assert loaded.skus == sorted(colours) and len(loaded) == 9
    hits = 0
    for sku in colours:
        for path in sorted((data / sku).glob("*.png"))[6:]:
            hits += loaded.match(model.embed(cv2.imread(str(path))), sku).best_sku == sku
    assert hits >= 0.8 * 18


def test_defect_train_without_eval_reports_the_written_model(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """--no-eval skips the held-back split; the printed manifest is still the one on disk, digest included."""
    data, out = tmp_path / "data", tmp_path / "model"
    _defect_data(data)
    code = main(["train", "defect", "--data", str(data), "--out", str(out), "--epochs", "2", "--size", "64",
                 "--no-eval", "--json"])
    assert code == 0
    manifest = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert manifest == json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sha256"] == file_sha256(out / "model.onnx")
    assert "holdout" not in manifest["metrics"]


def test_defect_train_on_image_labels_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--masks off: the masks beside the images are not read, and image labels alone train a model
    that tells damaged from good (localisation is measured on real tiles: test_training_real)."""
    from models.datasets import Split, defect_labels, defect_samples
    from models.training.defect import _load
    from vision.inference.runtime import InputSpec

    data, out = tmp_path / "data", tmp_path / "model"
    _defect_data(data)
    samples = defect_samples(data, Split.ALL, 0.3)
    spec = InputSpec(64, 64, "gray", (0.0,), (1.0,))
    arrays = _load(samples, spec, defect_labels(samples), "test", use_masks=False)
    damaged = arrays.labels != 0
    assert damaged.any() and not arrays.has_mask[damaged].any() and arrays.masks[damaged].max() == 0
    assert arrays.has_mask[~damaged].all()  # a good image's map is known to be clean

    code = main(["train", "defect", "--data", str(data), "--out", str(out), "--epochs", "12", "--size", "64",
                 "--masks", "off", "--seed", "1", "--json"])
    assert code == 0
    manifest = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert manifest["training"]["recipe"]["masks"] == "off"
    assert manifest["metrics"]["holdout"]["auroc"] >= 0.9
    # The station's runtime reads it like any defect model: the damaged image scores higher.
    model = DefectModel.load(out)
    bad, good = data / "scratch" / "s00.png", data / "good" / "g00.png"
    assert model.predict(cv2.imread(str(bad))).score > model.predict(cv2.imread(str(good))).score


def test_conformity_trains_with_a_group_loss_on_the_grocery_layout(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--coarse`: the grocery layout's groups (the folder above each product) train a second loss;
    the exported model is the plain embedding, scored on val.txt."""
    rng = np.random.default_rng(1)
    root, out = tmp_path / "grocery", tmp_path / "model"
    products = [("Golden-Delicious", "Apple", (40, 200, 220)), ("Granny-Smith", "Apple", (40, 200, 60)),
                ("Anjou", "Pear", (60, 180, 160)), ("Banana", "Banana", (30, 220, 240))]
    rows = ["Class Name (str),Class ID (int),Coarse Class Name (str),Coarse Class ID (int),"
            "Iconic Image Path (str),Product Description Path (str)"]
    lists: dict[str, list[str]] = {"train": [], "val": []}
    for fine, (name, group, bgr) in enumerate(products):
        coarse = sorted({g for _, g, _ in products}).index(group)
        rows.append(f"{name},{fine},{group},{coarse},/icons/{name}.jpg,/icons/{name}.txt")
        (root / "icons").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "icons" / f"{name}.jpg"), np.full((40, 40, 3), bgr, np.uint8))
        for split, count in (("train", 10), ("val", 3)):
            folder = Path(split, "Fruit", group, name) if group != name else Path(split, "Fruit", name)
            (root / folder).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                image = np.clip(np.array(bgr) + rng.integers(-30, 30, (40, 40, 3)), 0, 255).astype(np.uint8)
                cv2.imwrite(str(root / folder / f"{name}_{i:03d}.jpg"), image)
                lists[split].append(f"{(folder / f'{name}_{i:03d}.jpg').as_posix()}, {fine}, {coarse}")
    (root / "classes.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for split, lines in lists.items():
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["train", "conformity", "--data", str(root), "--out", str(out), "--epochs", "3",
                 "--size", "32", "--coarse", "0.5", "--force", "--json"])
    assert code == 0
    manifest = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert manifest["training"]["recipe"]["coarse"] == 0.5
    assert manifest["labels"] == sorted(name for name, _, _ in products)
    assert manifest["metrics"]["holdout"]["images"] == 12
    assert manifest["outputs"]["embedding"].startswith("L2-normalised embedding (N, ")
