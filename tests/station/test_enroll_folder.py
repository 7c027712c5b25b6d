"""`station enroll --folder`: the frames of items whose product an operator confirmed, exported by
`station dataset export`, become the dock's references in one command — every SKU as recorded
(even one a file name cannot hold), a few pictures each, unusable pictures left out and named."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from station.cli import main
from station.config import load_config
from station.store import FrameImage, Store
from station.verdict import Verdict
from tests.vision.test_inference_runtime import make_conformity_model
from vision.inference import ConformityModel, Gallery
from vision.locate import item_view

ODD_SKU = "ACME 12/3"  # a space and a slash: its export folder cannot be named like it


def _frame(colour: tuple[int, int, int], x: int) -> np.ndarray:
    """A frame of the station's camera: grey belt, a box of the product's colour."""
    frame = np.full((240, 320, 3), 90, dtype=np.uint8)
    frame[60:180, x:x + 120] = colour
    frame[90:120, x + 20:x + 80] = (240, 240, 240)
    return frame


@pytest.fixture
def setup(tmp_path: Path, make_verdict: Callable[..., Verdict]) -> tuple[list[str], Path]:
    """A data directory with three confirmed items of SKU-A (red) and two of ODD_SKU (blue)."""
    config = tmp_path / "config.toml"
    config.write_text(f'[station]\ndata_dir = "data"\n[models]\nconformity_dir = "{tmp_path / "model"}"\n',
                      encoding="utf-8")
    make_conformity_model(tmp_path / "model")
    store = Store.from_config(load_config(config, env={}))
    for i, (sku, colour) in enumerate([("SKU-A", (20, 20, 210))] * 3 + [(ODD_SKU, (210, 60, 20))] * 2):
        verdict = make_verdict(i + 1, confidence=0.5 + i / 20)
        item = dataclasses.replace(verdict.item, expected_sku=sku, observed_sku=sku)
        recorded = store.record_verdict(dataclasses.replace(verdict, item=item),
                                        [FrameImage("top", _frame(colour, 40 + 30 * i))])
        store.confirm(recorded.verdict_id, "op-1")
    store.close()
    return ["--config", str(config)], tmp_path


def test_an_export_is_enrolled_with_every_sku_as_recorded(
        setup: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, tmp_path = setup
    out = tmp_path / "export"
    assert main([*cfg, "dataset", "export", "--out", str(out)]) == 0
    folders = json.loads((out / "export.json").read_text())["sku_folders"]
    assert folders == {"SKU-A": "SKU-A", "ACME_12_3": ODD_SKU}
    capsys.readouterr()

    assert main([*cfg, "enroll", "--folder", str(out), "--crop", "item", "--per-sku", "2", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["enrolled"] == {"SKU-A": 2, ODD_SKU: 2} and info["skipped"] == []
    gallery_path = tmp_path / "data" / "gallery.npz"
    gallery = Gallery.load(gallery_path)
    assert gallery.skus == [ODD_SKU, "SKU-A"] and len(gallery) == 4
    # The references are the station's own view of each item: a new frame of the blue product,
    # cut as the station cuts it, matches ODD_SKU, the exact SKU a verdict will expect.
    model = ConformityModel.load(tmp_path / "model")
    crop, _, found = item_view(_frame((210, 60, 20), 150))
    assert found
    assert gallery.match(model.embed(crop), ODD_SKU).best_sku == ODD_SKU
    assert len(list(Gallery.pictures_folder(gallery_path).iterdir())) == 4

    # The same export enrolled again (next week's, which still holds these items) adds only what
    # is new: here SKU-A's third picture.
    assert main([*cfg, "enroll", "--folder", str(out), "--crop", "item", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["enrolled"] == {"SKU-A": 1, ODD_SKU: 0} and info["already_enrolled"] == 4
    assert len(Gallery.load(gallery_path)) == 5

    # The export's conformity/ folder itself gives the same SKUs; --replace starts each afresh.
    assert main([*cfg, "enroll", "--folder", str(out / "conformity"), "--crop", "item", "--replace",
                 "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["enrolled"] == {"SKU-A": 3, ODD_SKU: 2} and info["removed"] == 5
    assert len(Gallery.load(gallery_path)) == 5


def test_pictures_it_cannot_use_are_left_out_and_named(
        setup: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, tmp_path = setup
    products = tmp_path / "refs"
    (products / "SKU-A").mkdir(parents=True)
    (products / "SKU-B").mkdir()
    (products / "empty").mkdir()  # no picture: not a product
    cv2.imwrite(str(products / "SKU-A" / "1.png"), _frame((20, 20, 210), 60))
    cv2.imwrite(str(products / "SKU-A" / "2.png"), np.full((240, 320, 3), 90, dtype=np.uint8))  # no item
    (products / "SKU-B" / "broken.jpg").write_bytes(b"not a jpeg")
    cv2.imwrite(str(products / "SKU-B" / "ok.png"), _frame((210, 60, 20), 100))
    (products / "SKU-B" / "notes.txt").write_text("ignored: not a picture")
    assert main([*cfg, "enroll", "--folder", str(products), "--crop", "item", "--json"]) == 0
    captured = capsys.readouterr()
    info = json.loads(captured.out)
    assert info["enrolled"] == {"SKU-A": 1, "SKU-B": 1}
    assert sorted(Path(p).name for p in info["skipped"]) == ["2.png", "broken.jpg"]
    assert "2 picture(s) left out" in captured.err and "1 unreadable, 1 with no item found" in captured.err
    assert (products / "SKU-B" / "broken.jpg").is_file()  # left where it is

    # When no picture shows an item, nothing is enrolled and the gallery stays as it was.
    before = (tmp_path / "data" / "gallery.npz").read_bytes()
    (products / "SKU-A" / "1.png").unlink()
    (products / "SKU-B" / "ok.png").unlink()
    assert main([*cfg, "enroll", "--folder", str(products), "--crop", "item"]) == 2
    assert "no item found in" in capsys.readouterr().err
    assert (tmp_path / "data" / "gallery.npz").read_bytes() == before


@pytest.mark.parametrize(("args", "message"), [
    (["SKU-1", "a.png", "--folder", "."], "not both"),
    ([], "or a folder of products (station enroll --folder DIR)"),
    (["SKU-1"], "give at least one picture of SKU-1"),
    (["SKU-1", "a.png", "--per-sku", "2"], "--per-sku goes with --folder"),
    (["--folder", "{tmp}/nowhere"], "not a folder"),
    (["--folder", "{tmp}"], "no product folder with pictures"),
])
def test_wrong_arguments_say_what_to_give(setup: tuple[list[str], Path], capsys: pytest.CaptureFixture[str],
                                          args: list[str], message: str) -> None:
    cfg, tmp_path = setup
    (tmp_path / "empty-dir").mkdir()
    assert main([*cfg, "enroll", *(a.format(tmp=tmp_path / "empty-dir") for a in args)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("station enroll: ") and message in err
    assert not (tmp_path / "data" / "gallery.npz").exists()


def test_an_export_without_confirmed_products_and_a_bad_count(
        setup: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, tmp_path = setup
    export = tmp_path / "defects-only"
    export.mkdir()
    (export / "export.json").write_text(json.dumps({"items": 0, "sku_folders": {}}))
    assert main([*cfg, "enroll", "--folder", str(export)]) == 2
    assert "no item of it had its product confirmed" in capsys.readouterr().err
    (export / "export.json").write_text("[1, 2]")
    (export / "conformity").mkdir()
    assert main([*cfg, "enroll", "--folder", str(export)]) == 2
    assert "not the export.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*cfg, "enroll", "--folder", str(export), "--per-sku", "0"])
    assert "give 1 or more" in capsys.readouterr().err


def test_two_skus_that_come_to_the_same_file_name_keep_apart() -> None:
    from station.dataset_export import _sku_folder

    folders: dict[str, str] = {}
    assert _sku_folder("A/B", folders) == "A_B"
    second = _sku_folder("A B", folders)
    assert second.startswith("A_B-") and len(second) == len("A_B-") + 8
    assert _sku_folder("A/B", folders) == "A_B" and _sku_folder("A B", folders) == second
    assert folders == {"A_B": "A/B", second: "A B"}
