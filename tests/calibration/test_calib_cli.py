"""`station calibrate ...` end to end on image files, including each command's refusals."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.board import BoardSpec, detect_board
from calibration.files import load_calibration
from calibration.synthetic import (
    BELT_GREY,
    BELT_ORIGIN,
    BELT_PX_PER_MM,
    Camera,
    belt_texture,
    belt_with_board,
    board_views,
    degrade,
    render_plane,
    top_camera_pose,
)
from station.cli import main

SPEC = BoardSpec()
CAMERA = Camera()


@pytest.fixture(autouse=True)
def _no_project_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # embedded defaults, not the project's config.toml
    monkeypatch.delenv("STATION_CONFIG", raising=False)


def _write_views(folder: Path, views, prefix: str = "view") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, view in enumerate(views):
        cv2.imwrite(str(folder / f"{prefix}{i:02d}.png"), view, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return folder


def _png_dpi(data: bytes) -> float:
    at = data.index(b"pHYs")
    per_metre, _y, unit = struct.unpack(">IIB", data[at + 4:at + 13])
    assert unit == 1
    assert zlib.crc32(data[at:at + 13]) & 0xFFFFFFFF == struct.unpack(">I", data[at + 13:at + 17])[0]
    return per_metre * 0.0254


def test_board_is_rendered_at_true_size_and_detectable(tmp_path, capsys):
    out = tmp_path / "board.png"
    assert main(["calibrate", "board", "--out", str(out), "--dpi", "200"]) == 0
    data = out.read_bytes()
    assert _png_dpi(data) == pytest.approx(200, abs=0.01)
    page = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)
    detection = detect_board(page, SPEC)
    assert detection.count == SPEC.corner_count
    # Corner spacing in the file is the square size at 200 dpi: 30 mm = 236.2 px.
    px = detection.image_points[np.argsort(detection.ids)]
    spacing = np.linalg.norm(px[1] - px[0])
    assert spacing == pytest.approx(30.0 / 25.4 * 200, abs=0.6)
    assert "210 x 150 mm" in capsys.readouterr().out


def test_board_refuses_a_board_that_does_not_fit_its_dictionary(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text("[calibration]\nboard_squares_x = 12\nboard_squares_y = 9\n"
                      "board_dictionary = \"DICT_4X4_50\"\n", encoding="utf-8")
    code = main(["--config", str(config), "calibrate", "board", "--out", str(tmp_path / "b.png")])
    assert code == 1
    assert "54 markers do not fit in DICT_4X4_50" in capsys.readouterr().err


def test_intrinsics_then_plane_then_colour_build_one_file(tmp_path, capsys):
    images = _write_views(tmp_path / "views", board_views(SPEC, CAMERA))
    out = tmp_path / "cam.toml"
    code = main(["calibrate", "intrinsics", "--images", str(images), "--out", str(out),
                 "--camera-id", "cam-7", "--json"])
    assert code == 0, capsys.readouterr().err
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = lines[-1]
    assert summary["fx"] == pytest.approx(CAMERA.fx, rel=0.01)
    assert summary["rms_px"] < 0.3
    assert len(summary["per_view_errors_px"]) >= 15
    assert all(line["status"] in ("accepted", "too_few_corners") for line in lines[:-1])

    rng = np.random.default_rng(4)
    rot, t = top_camera_pose()
    plane_img, _m = render_plane(CAMERA, rot, t, belt_with_board(SPEC, rng), BELT_PX_PER_MM, BELT_ORIGIN,
                                 fill=BELT_GREY)
    cv2.imwrite(str(tmp_path / "plane.png"), degrade(plane_img, rng))
    assert main(["calibrate", "plane", "--image", str(tmp_path / "plane.png"), "--intrinsics", str(out),
                 "--json"]) == 0
    plane = json.loads(capsys.readouterr().out)
    assert plane["camera_height_mm"] == pytest.approx(650, rel=0.02)

    card = np.full((720, 1280, 3), 180, np.uint8)
    card[100:200, 100:200] = (100, 119, 140)  # grey card under a warm lamp
    cv2.imwrite(str(tmp_path / "grey.png"), card)
    assert main(["calibrate", "colour", "--image", str(tmp_path / "grey.png"), "--patch", "100,100,100,100",
                 "--out", str(out)]) == 0

    saved = load_calibration(out, live_resolution=(1280, 720), camera_id="cam-7")
    assert saved.intrinsics is not None and saved.plane is not None and saved.colour is not None
    # Each step keeps its own date; the file's date is that of the last step.
    assert saved.section_dates is not None and set(saved.section_dates) == {"intrinsics", "plane", "colour"}
    assert saved.calibrated_at("colour") == saved.created_at
    assert saved.calibrated_at("intrinsics") <= saved.calibrated_at("plane") <= saved.created_at
    assert saved.colour.gains_bgr[0] > saved.colour.gains_bgr[2]  # blue boosted against the warm cast


def test_intrinsics_refuses_too_few_views(tmp_path, capsys):
    images = _write_views(tmp_path / "few", board_views(SPEC, CAMERA)[:5])
    code = main(["calibrate", "intrinsics", "--images", str(images), "--out", str(tmp_path / "c.toml")])
    assert code == 1
    err = capsys.readouterr().err
    assert "refused" in err and "only 5 usable views" in err and "at least 10" in err
    assert not (tmp_path / "c.toml").exists()


def test_intrinsics_refuses_blurred_views(tmp_path, capsys):
    rng = np.random.default_rng(6)
    views = board_views(SPEC, CAMERA)
    shaky = [degrade(v, rng, blur_sigma=6.0, noise=1.0) for v in views[:12]]
    images = _write_views(tmp_path / "shaky", shaky, prefix="shaky")
    code = main(["calibrate", "intrinsics", "--images", str(images), "--out", str(tmp_path / "c.toml")])
    assert code == 1
    err = capsys.readouterr().err
    assert "12 blurred" in err and "shaky00.png" in err


def test_intrinsics_refuses_the_wrong_board(tmp_path, capsys):
    other = board_views(BoardSpec(dictionary="DICT_4X4_50"), CAMERA, count=4)
    images = _write_views(tmp_path / "other", other)
    code = main(["calibrate", "intrinsics", "--images", str(images), "--out", str(tmp_path / "c.toml")])
    assert code == 1
    err = capsys.readouterr().err
    assert "DICT_4X4_50" in err and "station calibrate board" in err


def test_plane_refuses_an_image_without_the_board(tmp_path, capsys):
    rng = np.random.default_rng(8)
    rot, t = top_camera_pose()
    empty, _m = render_plane(CAMERA, rot, t, belt_texture(rng), BELT_PX_PER_MM, BELT_ORIGIN, fill=BELT_GREY)
    cv2.imwrite(str(tmp_path / "empty.png"), empty)
    code = main(["calibrate", "plane", "--image", str(tmp_path / "empty.png"), "--intrinsics", "none",
                 "--out", str(tmp_path / "p.toml")])
    assert code == 1
    assert "board not found" in capsys.readouterr().err


def test_plane_refuses_intrinsics_of_another_resolution(tmp_path, capsys):
    images = _write_views(tmp_path / "views", board_views(SPEC, CAMERA)[:12])
    out = tmp_path / "cam.toml"
    assert main(["calibrate", "intrinsics", "--images", str(images), "--out", str(out)]) == 0
    small = cv2.resize(board_views(SPEC, CAMERA)[0], (640, 360))
    cv2.imwrite(str(tmp_path / "small.png"), small)
    code = main(["calibrate", "plane", "--image", str(tmp_path / "small.png"), "--intrinsics", str(out)])
    assert code == 1
    assert "640x360" in capsys.readouterr().err


def test_colour_refuses_a_bad_patch_argument(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((100, 100, 3), 120, np.uint8))
    code = main(["calibrate", "colour", "--image", str(tmp_path / "grey.png"), "--patch", "10,10,50",
                 "--out", str(tmp_path / "c.toml")])
    assert code == 1
    assert "X,Y,WIDTH,HEIGHT" in capsys.readouterr().err


def test_quality_reports_each_file(tmp_path, capsys):
    sharp = cv2.cvtColor(board_views(SPEC, CAMERA)[7], cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(tmp_path / "sharp.png"), sharp)
    cv2.imwrite(str(tmp_path / "soft.png"), cv2.GaussianBlur(sharp, (0, 0), 6.0))
    code = main(["calibrate", "quality", "--json", str(tmp_path / "sharp.png"), str(tmp_path / "soft.png")])
    assert code == 1  # one of them fails
    results = {Path(r["path"]).name: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert results["sharp.png"]["ok"] is True
    assert results["soft.png"]["ok"] is False


def test_show_checks_the_file_against_the_configured_camera(tmp_path, capsys):
    images = _write_views(tmp_path / "views", board_views(SPEC, CAMERA)[:12])
    out = tmp_path / "calibration.toml"
    args = ["calibrate", "intrinsics", "--images", str(images), "--out", str(out), "--camera-id", "c1"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["calibrate", "show", "--file", str(out), "--camera-id", "c1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["intrinsics"]["fx"] == pytest.approx(CAMERA.fx, rel=0.02)
    assert "plane" not in shown
    config = tmp_path / "config.toml"
    config.write_text("[camera]\nwidth = 1920\nheight = 1080\n", encoding="utf-8")
    assert main(["--config", str(config), "calibrate", "show", "--file", str(out)]) == 1
    err = capsys.readouterr().err
    assert "1280x720" in err and "1920x1080" in err


def test_live_intrinsics_from_the_configured_camera_stops_when_guidance_is_ready(tmp_path, capsys):
    # The camera here is a folder source replaying the board views, as a live camera would show them.
    frames = _write_views(tmp_path / "camera", board_views(SPEC, CAMERA))
    config = tmp_path / "config.toml"
    config.write_text(f'[camera]\nsource = "folder"\ndevice = "{frames}"\nfps = 200.0\n', encoding="utf-8")
    out = tmp_path / "live.toml"
    code = main(["--config", str(config), "calibrate", "intrinsics", "--live", "--views", "15",
                 "--save", str(tmp_path / "kept"), "--out", str(out), "--json"])
    assert code == 0, capsys.readouterr().err
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    progress, summary = lines[:-1], lines[-1]
    assert progress[-1]["ready"] is True and progress[-1]["views"] >= 15
    assert progress[0]["ready"] is False and progress[0]["hints"]  # guidance while collecting
    assert summary["fx"] == pytest.approx(CAMERA.fx, rel=0.01)
    assert len(list((tmp_path / "kept").glob("*.png"))) == summary["views"]


def test_live_intrinsics_refuses_the_synthetic_camera(tmp_path, capsys):
    assert main(["calibrate", "intrinsics", "--live", "--out", str(tmp_path / "c.toml")]) == 1
    assert "synthetic camera cannot be calibrated" in capsys.readouterr().err


def test_plane_on_raw_pixels_will_not_overwrite_a_file_with_intrinsics(tmp_path, capsys):
    images = _write_views(tmp_path / "views", board_views(SPEC, CAMERA)[:12])
    out = tmp_path / "cam.toml"
    assert main(["calibrate", "intrinsics", "--images", str(images), "--out", str(out)]) == 0
    rng = np.random.default_rng(9)
    rot, t = top_camera_pose()
    plane_img, _m = render_plane(CAMERA, rot, t, belt_with_board(SPEC, rng), BELT_PX_PER_MM, BELT_ORIGIN,
                                 fill=BELT_GREY)
    cv2.imwrite(str(tmp_path / "plane.png"), plane_img)
    code = main(["calibrate", "plane", "--image", str(tmp_path / "plane.png"), "--intrinsics", "none",
                 "--out", str(out)])
    assert code == 1
    assert "holds intrinsics" in capsys.readouterr().err
    assert load_calibration(out).intrinsics is not None  # untouched
    raw_out = tmp_path / "raw.toml"
    assert main(["calibrate", "plane", "--image", str(tmp_path / "plane.png"), "--intrinsics", "none",
                 "--out", str(raw_out)]) == 0
    raw = load_calibration(raw_out)
    assert raw.intrinsics is None and raw.plane is not None and raw.plane.camera_height_mm is None
