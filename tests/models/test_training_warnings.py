"""`station train` says how many images a validation split needs when it gave no figure: an export of a
dock's first days (3 to 12 pictures per product) trained a conformity model validated on nothing, and
the warning said only "add images of every kind"."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from station.cli import main as station_main

pytestmark = [pytest.mark.train]


def main(argv: list[str]) -> int:
    """The station CLI on embedded defaults (the checkout's config.toml is not part of these tests)."""
    return station_main(["--config", "/dev/null", *argv])


def test_a_conformity_run_without_validation_images_says_how_many_a_product_needs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    data, out = tmp_path / "data", tmp_path / "model"
    for sku in ("SKU-A", "SKU-B", "SKU-C"):
        (data / sku).mkdir(parents=True)
        for i in range(6):  # the last 10 % of 6 images is none
            cv2.imwrite(str(data / sku / f"{i}.png"), rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
    code = main(["train", "conformity", "--data", str(data), "--out", str(out), "--epochs", "1",
                 "--size", "32", "--width", "8", "--no-eval"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "the validation split (0 images) gave no top-1" in err
    assert "so a product needs at least 10 of them to have one there" in err


def test_a_defect_run_without_a_validation_figure_says_what_it_needs() -> None:
    from models.training.acceptance import judge, unmeasured_message

    manifest: dict[str, object] = {
        "task": "defect", "labels": ["ok", "tear"], "training": {"recipe": {"val_fraction": 0.15}},
        "metrics": {"validation": {"auroc": None, "images": 1}}}
    judgement = judge(manifest)
    assert judgement.unmeasured
    said = unmeasured_message(judgement, manifest)
    assert "gave no AUROC" in said and "at least 2 images in good/ and 2 of a defect class" in said
