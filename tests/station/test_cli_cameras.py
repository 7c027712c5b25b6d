"""`station cameras list / test`: the installer sees the configured cameras (passwords hidden) and
measures one; a camera that delivers nothing is reported unfit with what to check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[2]

CONFIG = """
[station]
data_dir = "{data}"
[camera]
frozen_after_s = 0.5
[cameras.left]
checks = ["defect"]
[cameras.door]
source = "stream"
device = "rtsp://admin:s3cret@10.0.0.7:554/stream1"
[cameras.gone]
source = "device"
device = "/dev/video-not-here"
frozen_after_s = 0.5
"""


def station(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(data=tmp_path / "var"), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "station", "--config", str(config), "cameras", *args],
                          check=False, capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_list_shows_every_configured_camera_without_its_password(tmp_path: Path) -> None:
    done = station(tmp_path, "list", "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [c["name"] for c in listed["configured"]] == ["top", "left", "door", "gone"]
    door = listed["configured"][2]
    assert door["device"] == "rtsp://***@10.0.0.7:554/stream1"
    assert "s3cret" not in done.stdout + done.stderr
    assert listed["configured"][1]["checks"] == ["defect"]
    assert "video_devices" in listed["connected"]


def test_test_measures_a_live_camera_and_saves_its_frame(tmp_path: Path) -> None:
    saved = tmp_path / "left.png"
    done = station(tmp_path, "test", "left", "--seconds", "2", "--save", str(saved), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["state"] == "live"
    assert result["frames"] > 10 and result["fps"] > 5
    assert result["size"] == "1280x720"
    assert result["sharpness_median"] > 0
    image = cv2.imread(str(saved))
    assert image is not None and image.shape == (720, 1280, 3)


def test_a_camera_that_delivers_nothing_is_unfit_and_says_what_to_check(tmp_path: Path) -> None:
    done = station(tmp_path, "test", "gone", "--seconds", "1.5")
    assert done.returncode == 1
    assert "not fit for use" in done.stdout
    assert "no video device '/dev/video-not-here' on this PC: unplugged, or it has another" in done.stdout


def test_an_unknown_camera_name_lists_the_known_ones(tmp_path: Path) -> None:
    done = station(tmp_path, "test", "roof")
    assert done.returncode == 2
    assert "no camera 'roof'" in done.stderr and "top, left, door, gone" in done.stderr
