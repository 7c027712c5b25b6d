"""Hostile image files given to `station scan / inspect / score`: each gets one error line
(or is read), the rest of the batch is still processed, and the exit code says some failed."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np

from models.synthetic import ReturnsGenerator

REPO = Path(__file__).resolve().parents[2]


def station(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    if not config.exists():
        config.write_text(f'[station]\ndata_dir = "{tmp_path / "var"}"\n', encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "station", "--config", str(config), *args],
                          check=False, capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def huge_png(path: Path, side: int = 20000) -> None:
    """A mono PNG of side x side black pixels: a few hundred KB on disk, 400 MB decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(1)
    row = bytes(side + 1)  # filter byte 0 then the row
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    path.write_bytes(png)


def hostile_files(tmp_path: Path) -> dict[str, Path]:
    names = ("empty.jpg", "deep16.tiff", "one.png", "huge.png", "good.png")
    files = {name: tmp_path / name for name in names}
    files["empty.jpg"].write_bytes(b"")
    frame = ReturnsGenerator(seed=7).generate(0).frame_bgr
    assert cv2.imwrite(str(files["deep16.tiff"]), frame.astype(np.uint16) * 257)
    assert cv2.imwrite(str(files["one.png"]), np.zeros((1, 1, 3), np.uint8))
    huge_png(files["huge.png"])
    assert cv2.imwrite(str(files["good.png"]), frame)
    return files


def test_scan_batch_goes_on_past_empty_16bit_and_oversized_files(tmp_path: Path) -> None:
    files = hostile_files(tmp_path)
    done = station(tmp_path, "scan", "--json", *(str(p) for p in files.values()))
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    lines = {Path(str(line["path"])).name: line for line in json_lines(done.stdout)}
    assert list(lines) == list(files)
    assert "empty" in str(lines["empty.jpg"]["error"])
    assert "20000x20000" in str(lines["huge.png"]["error"]) and "MP" in str(lines["huge.png"]["error"])
    # The 16-bit TIFF is the good frame scaled to 16 bits: read as 8 bits, it gives the same codes.
    assert "error" not in lines["deep16.tiff"]
    assert lines["deep16.tiff"]["codes"] == lines["good.png"]["codes"] != []
    assert "error" not in lines["one.png"]


def test_inspect_batch_goes_on_past_tiny_empty_and_oversized_files(tmp_path: Path) -> None:
    files = hostile_files(tmp_path)
    done = station(tmp_path, "inspect", "--json", *(str(p) for p in files.values()))
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    lines = {Path(str(line["path"])).name: line for line in json_lines(done.stdout)}
    assert list(lines) == list(files)
    assert "too small" in str(lines["one.png"]["error"])
    assert "empty" in str(lines["empty.jpg"]["error"])
    assert "MP" in str(lines["huge.png"]["error"])
    assert lines["good.png"]["schema"] == lines["deep16.tiff"]["schema"] == "returns.verdict/1"


def test_inspect_without_json_prints_a_line_per_bad_file_on_stderr(tmp_path: Path) -> None:
    files = hostile_files(tmp_path)
    done = station(tmp_path, "inspect", str(files["one.png"]), str(files["good.png"]))
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    assert f"{files['one.png']}: ERROR" in done.stderr and "too small" in done.stderr
    assert f"{files['good.png']}:" in done.stdout


def test_inspect_on_an_empty_folder_says_no_images(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    done = station(tmp_path, "inspect", "--json", str(folder))
    assert done.returncode != 0
    assert done.stdout == ""
    assert "no images found" in done.stderr and str(folder) in done.stderr


def test_score_reports_each_bad_file_and_goes_on(tmp_path: Path) -> None:
    files = hostile_files(tmp_path)
    done = station(tmp_path, "score", "--model", str(REPO / "models" / "defect"), "--json",
                   *(str(p) for p in files.values()))
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    lines = {Path(str(line["path"])).name: line for line in json_lines(done.stdout)}
    assert list(lines) == list(files)
    assert {name for name, line in lines.items() if "error" in line} == {"empty.jpg", "one.png", "huge.png"}
    assert "score" in lines["good.png"] and "score" in lines["deep16.tiff"]
