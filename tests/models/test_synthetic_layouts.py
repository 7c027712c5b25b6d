"""`station demo ...` on disk: the layouts are what `station train`, `station catalog import` and
`station manifest import` read."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.datasets import Split, conformity_samples, defect_labels, defect_samples
from models.synthetic import Catalog, Damage, ReturnsGenerator
from station.catalog import read_catalog, read_manifest
from station.cli import main


@pytest.fixture()
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # embedded defaults; logs land in tmp, not the project
    monkeypatch.delenv("STATION_CONFIG", raising=False)
    return tmp_path


def test_defect_layout_is_what_training_reads(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = in_tmp / "defect"
    assert main(["demo", "generate", "--out", str(out), "--items", "30", "--seed", "3", "--layout", "defect",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    samples = defect_samples(out, Split.ALL)
    assert len(samples) == sum(summary["counts"].values())
    labels = {s.label for s in samples}
    assert "good" in labels
    assert labels - {"good"} <= {d.value for d in Damage}
    assert defect_labels(samples)[0] == "ok"
    damaged = [s for s in samples if s.label != "good"]
    assert damaged, "30 items should hold some damage"
    for sample in samples:
        image = cv2.imread(str(sample.path))
        assert image is not None and image.shape == (256, 256, 3)
        if sample.label == "good":
            assert sample.mask is None
        else:
            assert sample.mask is not None, f"{sample.path} has no mask beside it"
            mask = cv2.imread(str(sample.mask), cv2.IMREAD_GRAYSCALE)
            assert mask.shape == (256, 256) and (mask == 255).any()
            assert set(np.unique(mask)) <= {0, 255}
    truth = [json.loads(line) for line in (out / "truth.jsonl").read_text().splitlines()]
    assert len(truth) == len(samples)
    assert all((out / t["path"]).is_file() for t in truth)


def test_conformity_layout_has_one_folder_per_observed_sku(in_tmp: Path) -> None:
    out = in_tmp / "conf"
    assert main(["demo", "generate", "--out", str(out), "--items", "16", "--seed", "3",
                 "--layout", "conformity", "--crop", "128"]) == 0
    samples = conformity_samples(out, Split.ALL)
    gen = ReturnsGenerator(Catalog.load(), 3)
    expected = sorted(p.observed_sku for p in (gen.plan(i) for i in range(16)) if p.observed_sku)
    assert sorted(s.label for s in samples) == expected
    assert all(cv2.imread(str(s.path)).shape == (128, 128, 3) for s in samples)


def test_frames_layout_writes_full_frames_masks_and_truth(in_tmp: Path) -> None:
    out = in_tmp / "frames"
    assert main(["demo", "generate", "--out", str(out), "--items", "6", "--seed", "3"]) == 0
    truth = [json.loads(line) for line in (out / "truth.jsonl").read_text().splitlines()]
    assert [t["index"] for t in truth] == list(range(6))
    for record in truth:
        frame = cv2.imread(str(out / record["path"]))
        assert frame.shape == (720, 1280, 3)
        assert ("mask_path" in record) == (record["damage"] is not None)
    gen = ReturnsGenerator(Catalog.load(), 3)
    # The file on disk is the generator's frame, pixel for pixel (PNG is lossless).
    again = cv2.imread(str(out / truth[2]["path"]))
    assert np.array_equal(again, gen.generate(2).frame_bgr)


def test_catalog_and_manifest_files_import(in_tmp: Path) -> None:
    for suffix in (".csv", ".json"):
        catalog_file = in_tmp / f"catalog{suffix}"
        manifest_file = in_tmp / f"manifest{suffix}"
        assert main(["demo", "catalog", "--out", str(catalog_file)]) == 0
        assert main(["demo", "manifest", "--items", "40", "--seed", "5", "--out", str(manifest_file)]) == 0
        entries = read_catalog(catalog_file)
        catalog = Catalog.load()
        assert [e.sku for e in entries] == [s.sku for s in catalog]
        for entry, sku in zip(entries, catalog, strict=True):
            assert entry.gtins[0].endswith(sku.gtin)
            assert entry.reference_image and Path(entry.reference_image).is_file()
        manifest = read_manifest(manifest_file)
        gen = ReturnsGenerator(catalog, 5)
        assert [(m.rma, m.expected_sku) for m in manifest] == [
            (gen.plan(i).rma, gen.plan(i).expected_sku) for i in range(40)]
        assert all(m.declared_reason is not None for m in manifest)


def test_committed_demo_manifest_matches_seed_zero() -> None:
    manifest = read_manifest(Path(__file__).resolve().parents[2] / "models" / "demo" / "manifest.csv")
    gen = ReturnsGenerator(Catalog.load(), 0)
    assert len(manifest) == 1000
    for index in (0, 1, 999):
        assert manifest[index].rma == gen.plan(index).rma
        assert manifest[index].expected_sku == gen.plan(index).expected_sku


def test_bad_output_type_is_refused_with_a_message(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "catalog", "--out", str(in_tmp / "catalog.xlsx")]) == 1
    assert "use .csv or .json" in capsys.readouterr().err


def test_missing_catalog_is_refused_with_its_path(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = in_tmp / "nope.json"
    code = main(["demo", "manifest", "--items", "3", "--out", str(in_tmp / "m.csv"),
                 "--catalog", str(missing)])
    assert code == 2
    assert str(missing) in capsys.readouterr().err
