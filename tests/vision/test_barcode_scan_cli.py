"""`station scan`: one JSON line per file, errors as lines with what to do, exit code 1 if any failed."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from station.cli import main


def write_symbol(path: Path, content: str, fmt: zxingcpp.BarcodeFormat, **options: object) -> Path:
    barcode = zxingcpp.create_barcode(content, fmt, **options)
    img = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=3))
    canvas = np.full((img.shape[0] + 80, img.shape[1] + 80), 240, np.uint8)
    canvas[40 : 40 + img.shape[0], 40 : 40 + img.shape[1]] = img
    assert cv2.imwrite(str(path), canvas)
    return path


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    gs1 = write_symbol(tmp_path / "gs1.png", "(01)09501101530003(10)LOT42", zxingcpp.BarcodeFormat.Code128,
                       gs1=True)
    ean = write_symbol(tmp_path / "ean.jpg", "4006381333931", zxingcpp.BarcodeFormat.EAN13)
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((100, 100), 255, np.uint8))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    return {"gs1": gs1, "ean": ean, "blank": blank, "broken": broken, "missing": tmp_path / "missing.png"}


@pytest.fixture
def cfg(tmp_path: Path) -> list[str]:
    """An empty settings file: embedded defaults, whatever ./config.toml holds."""
    path = tmp_path / "empty.toml"
    path.write_text("", encoding="utf-8")
    return ["--config", str(path)]


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_scan_json_gives_one_line_per_file_in_the_design_shape(
    images: dict[str, Path], cfg: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*cfg, "scan", "--json", str(images["gs1"]), str(images["ean"]), str(images["blank"])])
    assert code == 0
    lines = json_lines(capsys.readouterr().out)
    assert [line["path"] for line in lines] == [str(images["gs1"]), str(images["ean"]), str(images["blank"])]
    for line in lines:
        assert set(line) == {"path", "codes", "ms"}
        assert isinstance(line["ms"], float)
    gs1_codes, ean_codes, blank_codes = (line["codes"] for line in lines)
    assert gs1_codes == [{
        "format": "Code128",
        "text": "(01)09501101530003(10)LOT42",
        "gs1": {"01": "09501101530003", "10": "LOT42"},
        "quad": gs1_codes[0]["quad"],  # type: ignore[index]
    }]
    quad = gs1_codes[0]["quad"]  # type: ignore[index]
    assert len(quad) == 4 and all(len(p) == 2 and all(isinstance(v, int) for v in p) for p in quad)
    assert [(c["format"], c["text"], c["gs1"]) for c in ean_codes] == [  # type: ignore[attr-defined]
        ("EAN13", "4006381333931", None)]
    assert blank_codes == []


def test_missing_and_broken_files_get_an_error_line_and_the_run_goes_on(
    images: dict[str, Path], cfg: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*cfg, "scan", "--json", str(images["missing"]), str(images["broken"]), str(images["ean"])])
    assert code == 1
    missing, broken, ean = json_lines(capsys.readouterr().out)
    assert set(missing) == {"path", "error"} and "check the path" in str(missing["error"])
    assert set(broken) == {"path", "error"} and "not an image" in str(broken["error"])
    assert ean["codes"] and ean["path"] == str(images["ean"])


def test_scan_without_json_prints_a_readable_table(
    images: dict[str, Path], cfg: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*cfg, "scan", str(images["gs1"]), str(images["missing"])]) == 1
    out, err = capsys.readouterr()
    assert "Code128" in out and "(01)09501101530003(10)LOT42" in out
    assert f"{images['missing']}: ERROR" in err and "ERROR" not in out


def test_formats_turned_off_in_config_are_not_reported(
    images: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[barcode]\nformats = ["QRCode", "DataMatrix"]\n', encoding="utf-8")
    assert main(["--config", str(config), "scan", "--json", str(images["ean"])]) == 0
    (line,) = json_lines(capsys.readouterr().out)
    assert line["codes"] == []
