"""Outputs a command cannot write, values it cannot use, and a reader that goes away: each gets one
line that names the file or the value and what to do, a non-zero exit, and no temporary file left
behind; never a traceback, never "saved" for a file that is not there, never a run that hangs.

The folders that cannot be written are a path through a regular file (ENOTDIR), an existing folder
given as a file name, and a read-only bind mount (the tests run as root, whom chmod does not stop).
"""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.colour import calibrate_colour
from calibration.errors import CalibrationError
from calibration.files import CalibrationFile, save_calibration
from models.training import acceptance
from models.training import evaluate as evaluation
from station.cli import EXIT_READER_GONE, build_parser, main
from station.config import load_config
from station.kpi import parse_since
from station.store import FrameImage, Store
from station.verdict import Verdict
from tests.faults.conftest import mounted_read_only
from vision.inference import Gallery

REPO = Path(__file__).resolve().parents[2]
DEFECT_MODEL = REPO / "models" / "defect"


@pytest.fixture
def cfg(tmp_path: Path) -> list[str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return ["--config", str(config)]


@pytest.fixture
def seeded(cfg: list[str], make_verdict: Callable[..., Verdict]) -> list[str]:
    """A data folder holding one recorded item (for report and dataset export)."""
    store = Store.from_config(load_config(Path(cfg[1]), env={}))
    image = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    verdict = store.record_verdict(make_verdict(0), [FrameImage("top", image)])
    store.confirm(verdict.verdict_id, "op-1")
    store.close()
    return cfg


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    """A regular file: a path through it cannot be created (ENOTDIR)."""
    path = tmp_path / "plain"
    path.write_text("a file, not a folder", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def readonly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A read-only mount holding a copy of the defect model (`model/`)."""
    made = tmp_path_factory.mktemp("ro-made")
    shutil.copytree(DEFECT_MODEL, made / "model")
    mounted = tmp_path_factory.mktemp("ro")
    with mounted_read_only(made, mounted):
        yield mounted


def leftovers(folder: Path) -> list[Path]:
    """Temporary files a failed write would leave."""
    return [p for p in folder.rglob("*") if p.name.endswith((".tmp", ".part", ".tmp.npz"))]


def refused(capsys: pytest.CaptureFixture[str], code: int, *words: str) -> str:
    """The one line on stderr of a refusal with exit status `code`, holding every word."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def argparse_refuses(capsys: pytest.CaptureFixture[str], argv: list[str], *words: str) -> None:
    """argparse refuses the value: exit 2 and its `error:` line names it."""
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err, (word, err)


# -- 1, 3: report --png ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["plain/r.png", "folder", "out/r.txt", "out/chart2"])
def test_report_png_that_cannot_be_written_is_refused_before_the_figures(
    tmp_path: Path, seeded: list[str], plain: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    (tmp_path / "folder").mkdir()
    png = tmp_path / name
    code = main([*seeded, "report", "--png", str(png)])
    line = refused(capsys, code, "station report: cannot write", str(png))
    assert code == 1
    assert {"plain/r.png": "is a file, not a folder", "folder": "it is a folder",
            "out/r.txt": "ends in .png", "out/chart2": f"{tmp_path / 'out' / 'chart2.png'}"}[name] in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "folder.png").exists()


def test_report_png_is_written_under_exactly_the_name_printed(
    tmp_path: Path, seeded: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "charts" / "Week.PNG"
    assert main([*seeded, "report", "--png", str(png)]) == 0
    assert f"chart written to {png}" in capsys.readouterr().out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in png.parent.iterdir()) == ["Week.PNG"]


# -- 4: --since too far back -----------------------------------------------------------------------

@pytest.mark.parametrize("command", [["report"], ["dataset", "export", "--out", "OUT"]])
def test_since_before_the_first_year_is_refused(
    tmp_path: Path, seeded: list[str], capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    argv = [str(tmp_path / "export") if a == "OUT" else a for a in command]
    code = main([*seeded, *argv, "--since", "99999999d"])
    assert code == 2
    refused(capsys, code, "--since '99999999d'", "shorter span")
    assert not (tmp_path / "export").exists()


def test_parse_since_turns_every_overflow_into_the_one_message() -> None:
    for text in ("99999999d", "999999999999999999999w", "20000000h"):
        with pytest.raises(ValueError, match="shorter span"):
            parse_since(text)
    assert parse_since("3650d").year >= 2000


# -- 1: dataset export, eval, train into folders that cannot be written ----------------------------

def test_dataset_export_into_a_path_through_a_file(
    seeded: list[str], plain: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*seeded, "dataset", "export", "--out", str(plain / "ds")])
    refused(capsys, code, "station dataset export: cannot write", str(plain / "ds"),
            "is a file, not a folder", "--out")


def test_eval_out_through_a_file_is_refused_before_scoring(
    tmp_path: Path, cfg: list[str], plain: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "evaluate_defect", _must_not_score)
    (tmp_path / "data" / "good").mkdir(parents=True)
    code = main([*cfg, "eval", "--model", str(DEFECT_MODEL), "--data", str(tmp_path / "data"), "--split",
                 "all", "--out", str(plain / "ev")])
    refused(capsys, code, "station eval: cannot write", str(plain / "ev"), "not a folder", "--out")


def test_eval_write_on_a_read_only_model_is_refused_before_scoring(
    tmp_path: Path, cfg: list[str], readonly: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "evaluate_defect", _must_not_score)
    (tmp_path / "data" / "good").mkdir(parents=True)
    model = readonly / "model"
    code = main([*cfg, "eval", "--model", str(model), "--data", str(tmp_path / "data"), "--write"])
    refused(capsys, code, "station eval: cannot write", str(model), "read-only file system", "--out DIR")
    # The same check in the library, for `station train` and scripts.
    with pytest.raises(OSError):
        evaluation.evaluate_model(model, tmp_path / "data", "all", write=True)
    with pytest.raises(OSError):
        evaluation.evaluate_model(DEFECT_MODEL, tmp_path / "data", "all", out=readonly / "ev")


def _must_not_score(*args: object, **kwargs: object) -> dict[str, object]:
    raise AssertionError("scored although the report could not be written")


@pytest.mark.parametrize("where", ["file", "through-file", "read-only"])
def test_train_out_that_cannot_be_written_is_refused_before_training(
    tmp_path: Path, cfg: list[str], plain: Path, capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest, where: str
) -> None:
    out = plain if where == "file" else plain / "m" if where == "through-file" else \
        request.getfixturevalue("readonly") / "m"
    code = main([*cfg, "train", "defect", "--data", str(tmp_path), "--out", str(out)])
    refused(capsys, code, "station train: cannot write", str(out), "--out")
    assert not acceptance.staging_dir(out).exists()


def test_fresh_staging_names_an_out_it_cannot_use(plain: Path) -> None:
    with pytest.raises(ValueError, match="is a file, not a folder"):
        acceptance.fresh_staging(plain)
    with pytest.raises(ValueError, match="cannot make the training folder"):
        acceptance.fresh_staging(plain / "m")


# -- 1: calibrate board / plane / colour, enroll ----------------------------------------------------

@pytest.mark.parametrize("name", ["plain/b.png", "folder", "b.txt"])
def test_calibrate_board_out_that_cannot_be_written(
    tmp_path: Path, plain: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    (tmp_path / "folder").mkdir()
    out = tmp_path / name
    code = main(["calibrate", "board", "--out", str(out)])
    refused(capsys, code, "station calibrate board: cannot write", str(out))
    assert not (tmp_path / "b.txt").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["plain/c.toml", "folder"])
def test_calibrate_colour_out_that_cannot_be_written_leaves_no_temporary_file(
    tmp_path: Path, plain: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    (tmp_path / "folder").mkdir()
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((100, 100, 3), 110, np.uint8))
    out = tmp_path / name
    code = main(["calibrate", "colour", "--image", str(tmp_path / "grey.png"), "--patch", "10,10,50,50",
                 "--out", str(out)])
    refused(capsys, code, "station calibrate colour: cannot write", str(out))
    assert leftovers(tmp_path) == []


def test_save_calibration_onto_a_folder_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "cal").mkdir()
    with pytest.raises(OSError):
        save_calibration(tmp_path / "cal", CalibrationFile("c1", (640, 480), "2026-01-01T00:00:00Z",
                                                           colour=calibrate_colour(_grey(), (0, 0, 20, 20))))
    assert leftovers(tmp_path) == []


def test_calibrate_plane_onto_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cv2.imwrite(str(tmp_path / "belt.png"), _grey())
    code = main(["calibrate", "plane", "--image", str(tmp_path / "belt.png"), "--intrinsics", "none",
                 "--out", str(tmp_path)])
    refused(capsys, code, "station calibrate plane: cannot write", "it is a folder", "calibration.toml")


def _grey() -> np.ndarray:
    return np.full((64, 64, 3), 110, np.uint8)


@pytest.mark.parametrize("name", ["plain/g.npz", "folder"])
def test_enroll_gallery_that_cannot_be_written(
    tmp_path: Path, cfg: list[str], plain: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    (tmp_path / "folder").mkdir()
    cv2.imwrite(str(tmp_path / "item.png"), _grey())
    gallery = tmp_path / name
    code = main([*cfg, "enroll", "SKU-1", str(tmp_path / "item.png"), "--gallery", str(gallery),
                 "--model", str(REPO / "models" / "conformity")])
    line = refused(capsys, code, "station enroll: cannot write", str(gallery))
    assert ("--gallery" if name == "plain/g.npz" else f"e.g. {gallery / 'gallery.npz'}") in line
    assert leftovers(tmp_path) == []


def test_gallery_save_onto_a_folder_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "g.npz").mkdir()
    gallery = Gallery(model_sha256="0" * 64)  # no model needed to save one
    gallery.add("SKU-1", np.ones((1, 8), np.float32))
    with pytest.raises(OSError):
        gallery.save(tmp_path / "g.npz")
    assert leftovers(tmp_path) == []


# -- 5, 6: values refused at the command line ------------------------------------------------------

def test_enroll_refuses_an_empty_sku(capsys: pytest.CaptureFixture[str]) -> None:
    argparse_refuses(capsys, ["enroll", "", "img.png"], "argument SKU", "the SKU is empty")
    argparse_refuses(capsys, ["enroll", "  ", "img.png"], "the SKU is empty")


@pytest.mark.parametrize("lightness", ["nan", "inf", "150", "0", "-5"])
def test_calibrate_colour_refuses_a_lightness_no_grey_card_has(
    capsys: pytest.CaptureFixture[str], lightness: str
) -> None:
    argparse_refuses(capsys, ["calibrate", "colour", "--image", "g.png", "--patch", "1,1,5,5",
                              "--lightness", lightness], "argument --lightness", "from 20 up to 90")


def test_calibrate_colour_itself_refuses_a_lightness_that_is_not_a_grey() -> None:
    for lightness in (math.nan, math.inf, 0.0, 100.0):
        with pytest.raises(CalibrationError, match="cannot read L"):
            calibrate_colour(_grey(), (0, 0, 20, 20), lightness)


# -- 7: numbers the runs cannot use (a NaN speed once hung `sim run` forever) -------------------------

@pytest.mark.parametrize(("argv", "option"), [
    (["sim", "run", "--items", "3", "--speed", "nan"], "--speed"),
    (["sim", "run", "--items", "3", "--spacing", "inf"], "--spacing"),
    (["sim", "--speed", "0"], "--speed"),
    (["sim", "run", "--items", "-5"], "--items"),
    (["sim", "run", "--rate", "-1"], "--rate"),
    (["sim", "run", "--rate", "0"], "--rate"),
    (["sim", "run", "--fault-rate", "5"], "--fault-rate"),
    (["sim", "run", "--late-fraction", "2"], "--late-fraction"),
    (["sim", "run", "--camera-pos", "nan"], "--camera-pos"),
    (["run", "--headless", "--items", "2", "--speed", "-1"], "--speed"),
    (["run", "--headless", "--items", "2", "--speed", "nan"], "--speed"),
    (["run", "--headless", "--spacing", "0"], "--spacing"),
    (["run", "--headless", "--rate", "-3"], "--rate"),
    (["run", "--headless", "--items", "0"], "--items"),
    (["run", "--headless", "--drain-timeout", "nan"], "--drain-timeout"),
    (["demo", "manifest", "--items", "-1", "--out", "m.csv"], "--items"),
    (["demo", "generate", "--items", "1", "--out", "d", "--crop", "-5"], "--crop"),
    (["demo", "generate", "--items", "1", "--out", "d", "--start", "-1"], "--start"),
    (["dataset", "export", "--out", "d", "--limit", "-1"], "--limit"),
    (["hw", "selftest", "--sim", "--item-timeout", "-1"], "--item-timeout"),
    (["hw", "selftest", "--sim", "--baud", "-5"], "--baud"),
    (["hw", "selftest", "--sim", "--baud", "0"], "--baud"),
    (["hw", "firmware-run", "--speed", "nan"], "--speed"),
    (["hw", "firmware-run", "--fault-rate", "1.5"], "--fault-rate"),
    (["calibrate", "intrinsics", "--live", "--views", "0"], "--views"),
])
def test_numbers_out_of_range_are_refused_by_argparse(
    capsys: pytest.CaptureFixture[str], argv: list[str], option: str
) -> None:
    argparse_refuses(capsys, argv, f"argument {option}", "write a")


def test_selftest_refuses_a_baud_rate_before_opening_the_port() -> None:
    from hardware.selftest import run_selftest

    with pytest.raises(ValueError, match="baud rate"):
        run_selftest("/dev/null", 0)
    with pytest.raises(ValueError, match="item timeout"):
        run_selftest("/dev/null", 115200, math.nan)


# -- 1, 2: cameras test --save --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["out/f.txt", "folder", "plain/f.png"])
def test_cameras_test_save_that_cannot_be_written_is_refused_before_the_camera(
    tmp_path: Path, cfg: list[str], plain: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    (tmp_path / "folder").mkdir()
    save = tmp_path / name
    code = main([*cfg, "cameras", "test", "top", "--seconds", "1", "--save", str(save)])
    refused(capsys, code, "station cameras test: cannot write", str(save))
    assert not (tmp_path / "out").exists()


def test_cameras_test_save_into_a_read_only_folder_says_so(
    cfg: list[str], readonly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save = readonly / "f.png"
    code = main([*cfg, "cameras", "test", "top", "--seconds", "1", "--save", str(save)])
    refused(capsys, code, "cannot write", str(save), "read-only file system")


def test_cameras_test_saves_into_a_new_folder_and_says_so_only_when_it_did(
    tmp_path: Path, cfg: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    save = tmp_path / "new" / "frame.jpg"
    assert main([*cfg, "cameras", "test", "top", "--seconds", "1", "--save", str(save)]) == 0
    assert f"saved              {save}" in capsys.readouterr().out
    frame = cv2.imread(str(save))
    assert frame is not None and frame.shape[2] == 3
    assert leftovers(tmp_path) == []


# -- 8: a reader that goes away, a full disk on stdout ---------------------------------------------

class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_stops_the_command_quietly(
    tmp_path: Path, cfg: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), _grey())
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main([*cfg, "scan", "--json", str(tmp_path / "a.png")]) == EXIT_READER_GONE
    assert capsys.readouterr().err == ""


def _station(cfg: list[str], *args: str, stdout: int | io.TextIOWrapper) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "station", *cfg, *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, check=False, cwd=REPO, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_scan_into_a_pipe_closed_by_its_reader_ends_without_a_word(tmp_path: Path, cfg: list[str]) -> None:
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), _grey())
    read, write = os.pipe()
    os.close(read)  # as `| head -1` after its line
    try:
        done = _station(cfg, "scan", "--json", *(str(tmp_path / f"{i}.png") for i in range(3)), stdout=write)
    finally:
        os.close(write)
    assert done.returncode == EXIT_READER_GONE
    assert done.stderr == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_report_onto_a_full_device_says_so_in_one_line(seeded: list[str]) -> None:
    with open("/dev/full", "w", encoding="utf-8") as full:
        done = _station(seeded, "report", stdout=full)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "station report: cannot write the output: the disk is full — free space on the disk the output goes "
        "to, or send it elsewhere"]


# -- 9: scan says a bad file once -------------------------------------------------------------------

def test_scan_says_each_bad_file_once(
    tmp_path: Path, cfg: list[str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert main([*cfg, "scan", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count(str(bad)) == 1 and f"{bad}: ERROR" in err
    assert not [r for r in caplog.records if r.name == "station.commands.scan"]


def test_an_os_error_no_command_turned_into_words_is_still_one_line(
    seeded: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import station.commands.report as report

    def fails(args: object, config: object) -> int:
        raise PermissionError(13, "Permission denied", "/srv/returns/kpi.lock")

    monkeypatch.setattr(report, "run", fails)
    code = main([*seeded, "report"])
    assert code == 1
    refused(capsys, code, "station report: /srv/returns/kpi.lock:", "has no access", "give user")
