"""`station cameras test` as the installer runs it: the real command and capture thread on real
image files, with cameras that are slow to open (as an RTSP stream is) or that fail late."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

import vision.camera
from station.cli import main
from station.commands.cameras import _Pace
from vision.camera import FolderSource, Frame, SourceError

# Longer than the --seconds the tests ask for: the camera gives nothing within them.
OPENING_S = 1.5


def write_frames(folder: Path, count: int, burnt_rows: int = 0) -> None:
    """Checkerboards; with `burnt_rows`, frame i has `burnt_rows * (i + 1)` white rows more."""
    folder.mkdir()
    for i in range(count):
        image = np.zeros((120, 160, 3), np.uint8)
        image[::2, ::2] = 255
        image[1::2, 1::2] = 255
        if burnt_rows:
            image[: burnt_rows * (i + 1)] = 255
            image[burnt_rows * (i + 1):] = np.maximum(image[burnt_rows * (i + 1):], 200)
        cv2.imwrite(str(folder / f"{i:02d}.png"), image)


def config_for(tmp_path: Path, frames: Path) -> list[str]:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[station]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[camera]\nname = "top"\nsource = "folder"\ndevice = "{frames}"\n',
        encoding="utf-8",
    )
    return ["--config", str(config)]


class Unplugged(FolderSource):
    """A folder camera that delivers a few frames, then is gone and cannot be opened again."""

    def __init__(self, folder: Path, fps: float, name: str) -> None:
        super().__init__(folder, fps=fps, name=name)
        self.opened = 0
        self.read_count = 0

    def open(self) -> None:
        self.opened += 1
        if self.opened > 1:
            raise SourceError("camera 'X' is gone: check its cable")
        super().open()

    def read(self) -> tuple[np.ndarray, int | None] | None:
        self.read_count += 1
        if self.read_count > 5:
            raise SourceError("camera 'X' stopped delivering frames: check its cable")
        return super().read()


class SlowToOpen(FolderSource):
    """A folder camera whose opening takes `OPENING_S` (as an RTSP stream's does), then fails or not."""

    def __init__(self, folder: Path, fps: float, name: str, fails: str | None) -> None:
        super().__init__(folder, fps=fps, name=name)
        self.fails = fails

    def open(self) -> None:
        time.sleep(OPENING_S)
        if self.fails is not None:
            raise SourceError(self.fails)
        super().open()


def slow_cameras(monkeypatch: pytest.MonkeyPatch, fails: str | None = None) -> None:
    """Cameras of the config open as `SlowToOpen` (the command takes `open_source` from vision.camera)."""

    def open_source(kind: str, device: str, width: int, height: int, fps: float, *args: Any,
                    name: str = "camera", **kwargs: Any) -> SlowToOpen:
        assert kind == "folder"
        return SlowToOpen(Path(device), fps, name, fails)

    monkeypatch.setattr(vision.camera, "open_source", open_source)


def run_test(cfg: list[str], capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any]]:
    code = main([*cfg, "cameras", "test", "top", "--seconds", "1", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_a_camera_slow_to_open_is_measured_once_it_delivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stream that takes longer to open than --seconds is a working camera, not one without frames."""
    frames = tmp_path / "frames"
    write_frames(frames, 3)
    slow_cameras(monkeypatch)
    code, result = run_test(config_for(tmp_path, frames), capsys)
    assert code == 0, result
    assert result["state"] == "live" and result["frames"] > 0 and result["fps"] > 0
    assert result["size"] == "160x120" and result["sharpness_median"] is not None
    assert not any(p.startswith("no frames") for p in result["problems"])


def test_a_camera_whose_opening_fails_after_the_seconds_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reason of a failed opening, not "did not deliver", even when the opening outlasts --seconds."""
    frames = tmp_path / "frames"
    write_frames(frames, 3)
    slow_cameras(monkeypatch, fails="camera 'X' not found: check its cable")
    code, result = run_test(config_for(tmp_path, frames), capsys)
    assert code == 1
    assert result["state"] == "down" and result["frames"] == 0
    assert result["problems"][0].startswith("no frames: camera 'X' not found: check its cable")


def test_a_camera_that_goes_down_during_the_test_is_not_said_to_have_given_no_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = tmp_path / "frames"
    write_frames(frames, 3)

    def open_source(kind: str, device: str, width: int, height: int, fps: float, *args: Any,
                    name: str = "camera", **kwargs: Any) -> Unplugged:
        return Unplugged(Path(device), fps, name)

    monkeypatch.setattr(vision.camera, "open_source", open_source)
    code, result = run_test(config_for(tmp_path, frames), capsys)
    assert code == 1
    assert result["frames"] == 5 and result["state"] == "down"
    first = result["problems"][0]
    # the reason of the failed read, or of the failed reopening after it
    assert first.startswith("stopped delivering after 5 frames: ") and "check its cable" in first, first


def test_each_problem_is_listed_once_with_how_many_frames_showed_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Over-exposed frames, each by its own share: one "over-exposed" line, not one per share."""
    frames = tmp_path / "frames"
    write_frames(frames, 5, burnt_rows=12)
    code, result = run_test(config_for(tmp_path, frames), capsys)
    assert code == 0, result
    over = [p for p in result["problems"] if p.startswith("over-exposed")]
    assert len(over) == 1, result["problems"]
    assert over[0].endswith("frames judged)") and "less light or exposure" in over[0]
    assert len(result["problems"]) == len({p.split(" (")[0] for p in result["problems"]})


def test_problems_are_printed_once_each_in_the_plain_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = tmp_path / "frames"
    write_frames(frames, 5, burnt_rows=12)
    code = main([*config_for(tmp_path, frames), "cameras", "test", "top", "--seconds", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert sum(line.startswith("problem            over-exposed") for line in out.splitlines()) == 1
    assert out.rstrip().endswith("delivers frames, but see the problems above")


def frame(seq: int, t: float) -> Frame:
    return Frame(image=np.zeros((2, 2, 3), np.uint8), camera="top", seq=seq, t_capture=t)


def test_the_frame_rate_leaves_out_what_a_stream_buffered_while_it_opened() -> None:
    """A 15 fps stream that hands over 10 buffered pictures at once when it opens is a 15 fps stream;
    a reopening in the middle counts neither its down time nor its own burst."""
    pace = _Pace(settle_s=1.0)
    t = 100.0
    seq = 0
    for _ in range(10):  # the burst of the opening, all within 10 ms
        seq += 1
        pace.add(frame(seq, t + seq * 0.001))
    for i in range(1, 46):  # then 3 s at 15 fps
        seq += 1
        pace.add(frame(seq, t + 0.01 + i / 15))
    t += 20.0  # down for a while, then reopened: numbers start again, with a burst
    for seq in range(1, 11):
        pace.add(frame(seq, t + seq * 0.001))
    for i in range(1, 31):
        pace.add(frame(10 + i, t + 0.01 + i / 15))
    assert pace.fps(fallback=0.0) == 15.0


def test_too_few_frames_for_a_rate_give_the_plain_count() -> None:
    pace = _Pace(settle_s=1.0)
    pace.add(frame(1, 5.0))
    pace.add(frame(2, 5.1))
    assert pace.fps(fallback=7.5) == 7.5
