"""A zbar-only EAN/UPC read needs a second look; files are read the same in every run."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from station.cli import main
from vision.barcode import BARCODE_FORMATS, BarcodeReader
from vision.barcode.engines import ZbarEngine, ZxingEngine
from vision.barcode.gs1 import is_valid_mod10

TRUE = "4006381333931"
# The 2nd and 4th digits of TRUE swapped: both weigh 3 in the check sum, so the check digit
# still passes. A smudge that turns one into the other is the misread the rule is for.
SWAPPED = "4600381333931"


def ean13(content: str) -> np.ndarray:
    barcode = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.EAN13)
    return np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=2)).copy()


def on_canvas(img: np.ndarray) -> np.ndarray:
    canvas = np.full((img.shape[0] + 80, img.shape[1] + 80), 235, np.uint8)
    canvas[40 : 40 + img.shape[0], 40 : 40 + img.shape[1]] = img
    return canvas


def damaged_ean() -> np.ndarray:
    """TRUE printed, the columns of the swapped digits smudged over the whole height except a
    three-row streak where ink-starved bars (a pixel thinner) happen to spell SWAPPED."""
    true, wrong = ean13(TRUE), ean13(SWAPPED)
    wrong = cv2.dilate(wrong, np.ones((1, 2), np.uint8))  # white grows into the bars: starved ink
    cols = np.where((true != wrong).any(axis=0))[0]
    x0, x1 = int(cols.min()) - 2, int(cols.max()) + 3
    img = true.copy()
    smudge = np.random.default_rng(1).random((img.shape[0], x1 - x0)) < 0.5
    img[:, x0:x1] = np.where(smudge, 0, 255)
    mid = img.shape[0] // 2
    img[mid : mid + 3] = wrong[mid : mid + 3]
    return on_canvas(img)


def sound_but_ink_starved() -> np.ndarray:
    """A whole, undamaged SWAPPED symbol with thin bars: zbar reads it, zxing-cpp does not."""
    return on_canvas(cv2.dilate(ean13(SWAPPED), np.ones((1, 2), np.uint8)))


def test_the_constructed_damage_is_a_zbar_only_read_that_passes_the_check_digit() -> None:
    image = damaged_ean()
    assert is_valid_mod10(SWAPPED) and SWAPPED != TRUE
    assert [r.content for r in ZbarEngine(BARCODE_FORMATS).decode(image)] == [SWAPPED]
    assert [r for r in ZxingEngine(BARCODE_FORMATS).decode(image) if not r.error] == []


@pytest.mark.parametrize("budget_ms", [None, 10_000.0], ids=["work-budget", "time-budget"])
def test_a_zbar_only_damaged_ean_that_passes_its_check_digit_is_not_certain(budget_ms: float | None) -> None:
    result = BarcodeReader(slow_path_budget_ms=budget_ms).read(damaged_ean())
    assert SWAPPED not in [c.text for c in result.codes]
    (uncertain,) = [c for c in result.uncertain if c.text == SWAPPED]
    assert uncertain.engines == ("zbar",) and "only zbar" in uncertain.problem


def test_a_sound_symbol_only_zbar_reads_is_confirmed_by_a_second_look_and_certain() -> None:
    image = sound_but_ink_starved()
    assert [r for r in ZxingEngine(BARCODE_FORMATS).decode(image) if not r.error] == []
    result = BarcodeReader(slow_path_budget_ms=None).read(image)
    assert [(c.text, c.engines, c.problem) for c in result.codes] == [(SWAPPED, ("zbar",), "")]


def slow_path_frames() -> list[np.ndarray]:
    """Frames the fast path cannot read: the slow path and its budget decide what is found."""
    inverted = cv2.bitwise_not(ean13(TRUE))
    faded = (150 + ean13(TRUE).astype(np.float32) * (40 / 255)).astype(np.uint8)
    noise = np.random.default_rng(7).normal(128, 20, (480, 640)).clip(0, 255).astype(np.uint8)
    return [on_canvas(inverted), on_canvas(faded), noise, damaged_ean()]


def test_with_a_work_budget_the_same_frames_give_the_same_result_every_time() -> None:
    runs = []
    for _ in range(2):
        reader = BarcodeReader(slow_path_budget_ms=None)  # a fresh reader: no state carried over
        runs.append([{k: v for k, v in reader.read(f).to_json().items() if k != "ms"}
                     for f in slow_path_frames()])
    assert runs[0] == runs[1]
    assert any(r["codes"] for r in runs[0])  # the frames do exercise reading, not only failing


def test_a_zero_work_budget_spends_nothing_on_the_slow_path() -> None:
    inverted = on_canvas(cv2.bitwise_not(ean13(TRUE)))
    assert [c.text for c in BarcodeReader(slow_path_budget_ms=None).read(inverted).codes] == [TRUE]
    result = BarcodeReader(slow_path_budget_ms=None, slow_path_frames=0).read(inverted)
    assert result.codes == () and result.path_taken == "slow"


def test_station_scan_gives_the_same_codes_for_the_same_files_in_every_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = []
    for i, image in enumerate(slow_path_frames()):
        path = tmp_path / f"{i}.png"
        assert cv2.imwrite(str(path), image)
        paths.append(str(path))
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    outputs = []
    for _ in range(2):
        assert main(["--config", str(config), "scan", "--json", *paths]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
        outputs.append([(r["path"], r["codes"]) for r in lines])
    assert outputs[0] == outputs[1]
    assert [c["text"] for c in outputs[0][0][1]] == [TRUE]  # the inverted code, found on the slow path
