"""The ONNX runtime: loading, refusals, defect/conformity results, gallery matching, and the CLI on
tiny hand-built ONNX graphs (no torch needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from station.cli import main as station_main
from vision.inference import (
    ConformityModel,
    DefectModel,
    Gallery,
    GalleryError,
    ModelError,
)

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def main(argv: list[str]) -> int:
    """The station CLI on embedded defaults (the checkout's config.toml is not part of these tests)."""
    return station_main(["--config", "/dev/null", *argv])



def _write(folder: Path, graph: object, manifest: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save_model(model, str(folder / "model.onnx"))
    sha = hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest()
    full = {"schema": "returns.model/1", **manifest, "sha256": sha}
    (folder / "manifest.json").write_text(json.dumps(full))
    return folder


def make_defect_model(folder: Path, size: int = 16) -> Path:
    """A 'defect model' whose defect probability is the image's mean brightness and whose heatmap is
    the brightness of each 8x8 block."""
    nodes = [
        helper.make_node("AveragePool", ["image"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("Sigmoid", ["pooled"], ["heatmap"]),
        helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Unsqueeze", ["mean", "one"], ["m1"]),
        helper.make_node("Neg", ["m1"], ["neg"]),
        helper.make_node("Concat", ["neg", "m1"], ["logits"], axis=1),
        helper.make_node("Mul", ["logits", "gain"], ["scaled"]),
        helper.make_node("Softmax", ["scaled"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "defect",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, size, size])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 2]),
         helper.make_tensor_value_info("heatmap", TensorProto.FLOAT, ["N", 1, size // 8, size // 8])],
        initializer=[numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
                     numpy_helper.from_array(np.array(4.0, dtype=np.float32), "gain")],
    )
    manifest = {
        "name": "tiny-defect", "task": "defect", "version": "test",
        "input": {"layout": "NCHW", "height": size, "width": size, "channels": 1, "colour": "gray",
                  "mean": [0.5], "std": [0.5]},
        "labels": ["ok", "stain"], "thresholds": {"defect": 0.5, "region": 0.7},
    }
    return _write(folder, graph, manifest)


def make_conformity_model(folder: Path, size: int = 8) -> Path:
    """An 'embedding' that is a fixed random projection of the pixels, L2-normalised."""
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3 * size * size, 16)).astype(np.float32)
    nodes = [
        helper.make_node("Flatten", ["image"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["raw"]),
        helper.make_node("LpNormalization", ["raw"], ["embedding"], axis=1, p=2),
    ]
    graph = helper.make_graph(
        nodes, "conformity",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 16])],
        initializer=[numpy_helper.from_array(weights, "w")],
    )
    manifest = {
        "name": "tiny-conformity", "task": "conformity", "version": "test",
        "input": {"layout": "NCHW", "height": size, "width": size, "channels": 3, "colour": "rgb",
                  "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
        "labels": [], "thresholds": {},
    }
    return _write(folder, graph, manifest)


def _image(value: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    return np.full((*size, 3), value, dtype=np.uint8)


def test_defect_model_scores_labels_and_locates(tmp_path: Path) -> None:
    model = DefectModel.load(make_defect_model(tmp_path / "d"))
    dark = model.predict(_image(10))
    assert dark.label == "ok" and dark.score < 0.5 and dark.regions == ()
    assert set(dark.probs) == {"ok", "stain"} and abs(sum(dark.probs.values()) - 1) < 1e-5
    bright = _image(20)
    bright[:, 32:] = 250  # right half of a 64-wide image
    result = model.predict(bright)
    assert result.heatmap.shape == (16, 16) and result.heatmap.dtype == np.float32
    assert result.regions, "a bright half should be reported as a region"
    x, _y, w, h, score = result.regions[0]
    assert x >= 30 and x + w <= 64 and h == 48 and 0.7 <= score <= 1
    assert model.predict(_image(250)).label == "stain"
    assert model.info.name == "tiny-defect" and len(model.info.sha256) == 64
    assert json.loads(json.dumps(result.to_json()))["label"] in ("ok", "stain")


def test_refuses_model_whose_bytes_do_not_match_the_manifest(tmp_path: Path) -> None:
    folder = make_defect_model(tmp_path / "d")
    with (folder / "model.onnx").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match=r"model\.onnx: sha256 .* does not match"):
        DefectModel.load(folder)


def test_refuses_missing_files_with_their_names(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model folder not found"):
        DefectModel.load(tmp_path / "nowhere")
    folder = make_defect_model(tmp_path / "d")
    (folder / "model.onnx").unlink()
    with pytest.raises(ModelError, match=r"model\.onnx: model file missing"):
        DefectModel.load(folder)
    (folder / "manifest.json").unlink()
    with pytest.raises(ModelError, match=r"manifest\.json: manifest missing"):
        DefectModel.load(folder)


def test_refuses_graph_whose_input_differs_from_the_manifest(tmp_path: Path) -> None:
    folder = make_defect_model(tmp_path / "d", size=16)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["input"]["height"] = manifest["input"]["width"] = 32
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=r"takes input .*16, 16.* manifest describes \[N, 1, 32, 32\]"):
        DefectModel.load(folder)


def test_refuses_model_of_the_wrong_task(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="task is 'conformity'"):
        DefectModel.load(make_conformity_model(tmp_path / "c"))


def test_gallery_matches_expected_and_best_sku_and_survives_a_round_trip(tmp_path: Path) -> None:
    model = ConformityModel.load(make_conformity_model(tmp_path / "c"))
    rng = np.random.default_rng(1)
    def noisy(bgr: tuple[int, int, int]) -> np.ndarray:
        return np.clip(np.array(bgr) + rng.integers(0, 30, (48, 64, 3)), 0, 255).astype(np.uint8)

    red = [noisy((0, 0, 200)) for _ in range(3)]
    blue = [noisy((200, 0, 0)) for _ in range(3)]
    embedding = model.embed(red[0])
    assert embedding.shape == (16,) and abs(float(np.linalg.norm(embedding)) - 1) < 1e-5
    gallery = Gallery(model_sha256=model.info.sha256)
    gallery.add("SKU-RED", model.embed_batch(red[:2]))
    gallery.add("SKU-BLUE", model.embed_batch(blue[:2]))
    result = gallery.match(model.embed(red[2]), expected_sku="SKU-BLUE")
    assert result.best_sku == "SKU-RED"
    assert result.similarity is not None and result.similarity < result.best_similarity
    assert gallery.match(model.embed(red[2]), expected_sku="SKU-UNKNOWN").similarity is None
    path = tmp_path / "g" / "gallery.npz"
    gallery.save(path)
    again = Gallery.load(path, model.info.sha256)
    assert again.skus == ["SKU-BLUE", "SKU-RED"] and len(again) == 4
    assert again.match(model.embed(blue[2]), None).best_sku == "SKU-BLUE"
    with pytest.raises(GalleryError, match="enrol the SKUs again"):
        Gallery.load(path, "0" * 64)


def test_enroll_and_score_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cmodel = make_conformity_model(tmp_path / "c")
    dmodel = make_defect_model(tmp_path / "d")
    paths = []
    for i, colour in enumerate([(0, 0, 220), (0, 0, 200), (220, 0, 0)]):
        path = tmp_path / f"img{i}.png"
        cv2.imwrite(str(path), np.full((40, 40, 3), colour, dtype=np.uint8))
        paths.append(str(path))
    gallery = tmp_path / "var" / "gallery.npz"
    assert main(["enroll", "SKU-RED", paths[0], "--model", str(cmodel), "--gallery", str(gallery),
                 "--json"]) == 0
    assert main(["enroll", "SKU-BLUE", paths[2], "--model", str(cmodel), "--gallery", str(gallery)]) == 0
    capsys.readouterr()
    loaded = Gallery.load(gallery)
    assert loaded.skus == ["SKU-BLUE", "SKU-RED"]
    model = ConformityModel.load(cmodel)
    assert loaded.match(model.embed(cv2.imread(paths[1])), "SKU-RED").best_sku == "SKU-RED"

    assert main(["score", "--model", str(dmodel), "--json", paths[0], paths[2]]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in lines] == paths[::2]
    assert all(0 <= r["score"] <= 1 and r["label"] in ("ok", "stain") for r in lines)
    assert main(["score", "--model", str(cmodel), "--json", paths[0]]) == 0
    assert len(json.loads(capsys.readouterr().out)["embedding"]) == 16
    (dmodel / "model.onnx").write_bytes(b"junk")
    assert main(["score", "--model", str(dmodel), paths[0]]) == 2
    assert "sha256" in capsys.readouterr().err


def test_enroll_crop_item_embeds_what_the_station_judges_and_refuses_a_belt_without_item(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vision.locate import item_view

    cmodel = make_conformity_model(tmp_path / "c")
    model = ConformityModel.load(cmodel)
    # A frame of the station's camera: grey belt, a red box off-centre with a blue label on it.
    frame = np.full((240, 320, 3), 90, dtype=np.uint8)
    frame[60:180, 180:300] = (20, 20, 210)
    frame[90:120, 200:260] = (200, 40, 20)
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), frame)
    gallery = tmp_path / "gallery.npz"
    assert main(["enroll", "SKU-RED", str(path), "--crop", "item", "--model", str(cmodel),
                 "--gallery", str(gallery), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["crop"] == "item"
    crop, box, found = item_view(frame)
    assert found and 170 <= box[0] <= 180 and crop.shape[0] < 150  # the box, not the frame
    # The reference is the station's own view of the item, not the whole frame's.
    enrolled = Gallery.load(gallery).match(model.embed(crop), "SKU-RED").similarity
    assert enrolled == pytest.approx(1.0, abs=1e-5)
    assert Gallery.load(gallery).match(model.embed(frame), "SKU-RED").similarity < 0.99

    empty = tmp_path / "belt.png"
    cv2.imwrite(str(empty), np.full((240, 320, 3), 90, dtype=np.uint8))
    before = gallery.read_bytes()
    assert main(["enroll", "SKU-RED", str(path), str(empty), "--crop", "item", "--model", str(cmodel),
                 "--gallery", str(gallery)]) == 2
    err = capsys.readouterr().err
    assert f"no item found in {empty}" in err and "--crop whole" in err and "Nothing was enrolled" in err
    assert gallery.read_bytes() == before


def test_gallery_keeps_one_picture_per_reference_and_prunes_what_no_reference_names(tmp_path: Path) -> None:
    model = ConformityModel.load(make_conformity_model(tmp_path / "c"))
    path = tmp_path / "data" / "gallery.npz"
    red, blue = _image(40), _image(200)
    names = Gallery.keep_pictures(path, [red, red, blue])
    assert names[0] == names[1] != names[2]  # named by content: the same picture is kept once
    folder = Gallery.pictures_folder(path)
    assert folder == tmp_path / "data" / "gallery-pictures"
    assert sorted(p.name for p in folder.iterdir()) == sorted(set(names))
    assert np.array_equal(cv2.imread(str(folder / names[2])), blue)  # lossless, as embedded
    # A camera's full frame is kept at most PICTURE_SIDE on its longer side, in proportion.
    from vision.inference.conformity import PICTURE_SIDE

    large = Gallery.keep_pictures(path, [_image(120, (1080, 1920))])[0]
    assert cv2.imread(str(folder / large)).shape == (PICTURE_SIDE * 9 // 16, PICTURE_SIDE, 3)
    (folder / large).unlink()
    gallery = Gallery(model_sha256=model.info.sha256)
    gallery.add("SKU-RED", model.embed_batch([red]), names[:1])
    gallery.add("SKU-BLUE", model.embed_batch([blue]), names[2:])
    with pytest.raises(ValueError, match="2 picture names for 1 embeddings"):
        gallery.add("SKU-X", model.embed_batch([blue]), names[:2])
    (folder / "notes.txt").write_text("the site's own file")
    gallery.remove("SKU-BLUE")
    gallery.save(path)
    assert gallery.prune_pictures(path) == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted([names[0], "notes.txt"])
    assert Gallery.load(path, model.info.sha256).embedded_again(path, model)[0].skus == ["SKU-RED"]


def test_a_gallery_written_before_pictures_were_kept_still_loads(tmp_path: Path) -> None:
    model = ConformityModel.load(make_conformity_model(tmp_path / "c"))
    path = tmp_path / "gallery.npz"
    embeddings = model.embed_batch([_image(40), _image(200)])
    np.savez(path, embeddings=embeddings, skus=np.array(["SKU-A", "SKU-B"]),
             model_sha256=np.array(model.info.sha256))
    gallery = Gallery.load(path, model.info.sha256)
    assert gallery.skus == ["SKU-A", "SKU-B"]
    assert gallery.match(model.embed(_image(200)), "SKU-B").best_sku == "SKU-B"
    again, lost = gallery.embedded_again(path, model)
    assert lost == ["SKU-A", "SKU-B"] and len(again) == 0  # nothing to embed them from
    np.savez(path, embeddings=embeddings, skus=np.array(["SKU-A", "SKU-B"]), pictures=np.array([""]),
             model_sha256=np.array(model.info.sha256))
    with pytest.raises(GalleryError, match="do not line up"):
        Gallery.load(path)
