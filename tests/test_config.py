"""config.toml: the documented file equals the embedded defaults, and every bad input
is refused with the file, the line, the key and what to do."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from station.cli import main
from station.config import Config, ConfigError, load_config
from tests.station.test_doctor_root import as_user

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_file_documents_exactly_the_embedded_defaults() -> None:
    shipped = load_config(ROOT / "config.toml", env={})
    defaults = load_config(None, env={})
    for section in dataclasses.fields(Config):
        if section.name in ("source", "base_dir"):
            continue
        assert getattr(shipped, section.name) == getattr(defaults, section.name), section.name


def test_every_key_in_the_shipped_file_has_a_comment_above_or_in_its_group() -> None:
    lines = (ROOT / "config.toml").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            above = lines[max(0, number - 12) : number]
            assert any(a.lstrip().startswith("#") for a in above), f"line {number + 1} undocumented"


def test_unknown_key_names_file_line_and_choices(tmp_path: Path) -> None:
    path = write(tmp_path, '[camera]\nwidth = 640\nwidht = 480\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.line == 3
    assert info.value.key == "camera.widht"
    message = str(info.value)
    assert str(path) in message and ":3:" in message and "height" in message


def test_unknown_section_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[camra]\nwidth = 640\n')
    with pytest.raises(ConfigError, match="unknown section") as info:
        load_config(path, env={})
    assert info.value.line == 1


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[camera]\nwidth = "wide"\n', "camera.width", "whole number"),
        ('[camera]\nfps = true\n', "camera.fps", "a number"),
        ('[station]\nmode = "turbo"\n', "station.mode", "'conveyor', 'bench'"),
        ('[barcode]\nformats = "QRCode"\n', "barcode.formats", "a list"),
        ('[policy]\ndefect_repair = 1.5\n', "policy.defect_repair", "out of range"),
        ('[hardware.lanes]\nrestock = "one"\n', "hardware.lanes.restock", "whole number"),
        ('[sync]\nport = 0\n', "sync.port", "out of range"),
        ('[sync]\nconfig_signed = "yes"\n', "sync.config_signed", "true or false"),
    ],
)
def test_wrong_types_and_ranges_are_refused(tmp_path: Path, text: str, key: str, expected: str) -> None:
    path = write(tmp_path, "# a comment\n" + text)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(path, env={})
    assert info.value.key == key
    assert info.value.line is not None and info.value.line >= 2


def test_syntax_error_reports_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[camera]\nwidth = 640\nheight = = 3\n')
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(path, env={})
    assert info.value.line == 3


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"file not found.*and in config.reference.toml beside"):
        load_config(tmp_path / "nope.toml", env={})


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root: the user who may not read the file is played by another uid")
def test_a_file_this_user_may_not_read_says_how_to_read_it(tmp_path: Path) -> None:
    path = write(tmp_path, '[station]\nid = "dock-1"\n')
    path.chmod(0o600)
    with pytest.raises(AssertionError, match=r"this user may not read it — run the command with sudo, or "
                                             r"as a user of the file.s group"):
        as_user(65534, lambda: load_config(path, env={}))


def test_environment_overrides_the_broker_password(tmp_path: Path) -> None:
    path = write(tmp_path, '[sync]\npassword = "in-file"\n')
    assert load_config(path, env={}).sync.password == "in-file"
    assert load_config(path, env={"STATION_MQTT_PASSWORD": "s3cret"}).sync.password == "s3cret"


def test_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[station]\ndata_dir = "data"\n[storage]\ndb_path = "x.db"\n')
    config = load_config(path, env={})
    assert config.data_dir == tmp_path / "data"
    assert config.in_data_dir(config.storage.db_path) == tmp_path / "data" / "x.db"


def test_cli_refuses_to_start_on_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[camera]\nwidth = -3.5\n')
    code = main(["--config", str(path), "version"])
    assert code == 2
    err = capsys.readouterr().err
    assert "refusing to start" in err and "camera.width" in err and ":2:" in err


@pytest.mark.parametrize(("table", "problem"), [
    ('[camera]\nsource = "device"\ndevice = ""\n', "source = 'device' but device is empty"),
    ('[camera]\nsource = "folder"\ndevice = "  "\n', "source = 'folder' but device is empty"),
    ('[cameras.gate]\nsource = "stream"\ndevice = "192.168.10.30"\n',
     "'192.168.10.30' is not a camera stream"),
    ('[cameras.gate]\nsource = "stream"\n', "'0' is not a camera stream"),  # device left at its default
    ('[cameras.gate]\nsource = "stream"\ndevice = "rtsp://u:pw@:554/x"\n', "rtsp://***@?:554/x is not"),
])
def test_a_camera_that_cannot_be_opened_as_written_is_refused_on_its_line(
    tmp_path: Path, table: str, problem: str,
) -> None:
    path = write(tmp_path, table)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key.endswith(".device")
    assert problem in str(info.value) and "set device to" in str(info.value)
    assert "pw" not in str(info.value)  # a password in the address is never printed


def test_cameras_that_need_no_device_or_name_a_stream_load(tmp_path: Path) -> None:
    path = write(tmp_path, '[camera]\nsource = "gige"\ndevice = ""\n'  # the first GigE camera found
                           '[cameras.gate]\nsource = "stream"\ndevice = "rtsp://dock:pw@10.0.0.9/h264"\n')
    config = load_config(path, env={})
    assert config.camera.device == "" and config.cameras["gate"].device.startswith("rtsp://")


def test_a_disk_reserve_above_the_level_that_frees_space_is_refused_on_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[storage]\nmin_free_disk_mb = 100\nstop_free_disk_mb = 500\n")
    with pytest.raises(ConfigError, match="would stop inspecting before it deleted old images") as info:
        load_config(path, env={})
    assert (info.value.key, info.value.line) == ("storage.stop_free_disk_mb", 3)
    assert "set stop_free_disk_mb below min_free_disk_mb" in info.value.fix
    # 0 never deletes images for space: any reserve goes with it.
    never = load_config(write(tmp_path, "[storage]\nmin_free_disk_mb = 0\n"), env={})
    assert never.storage.stop_free_disk_mb == 200


@pytest.mark.parametrize(("text", "key", "line", "said"), [
    ('[camera]\nsource = "gige"\ndevice = "192.168.10.20"\n\n[cameras.left]\nsource = "gige"\n'
     'device = "192.168.10.20"\n', "cameras.left.device", 7,
     "'192.168.10.20' is the device of camera 'top' too"),
    ('[camera]\nsource = "gige"\ndevice = ""\n\n[cameras.left]\nsource = "gige"\ndevice = ""\n',
     "cameras.left.device", 7, "the first one found is the device of camera 'top' too"),
    ('[camera]\nname = "top"\noffset_m = 0.5\n', "camera.offset_m", 3,
     "[camera] is the camera the trigger is timed for, at 0"),
])
def test_two_cameras_on_one_device_and_an_offset_first_camera_are_refused_on_their_line(
        tmp_path: Path, text: str, key: str, line: int, said: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(said)) as info:
        load_config(write(tmp_path, text), env={})
    assert (info.value.key, info.value.line) == (key, line)


def test_cameras_that_open_nothing_of_their_own_may_share_a_device(tmp_path: Path) -> None:
    text = ('[camera]\nsource = "video"\ndevice = "belt.mp4"\n\n[cameras.left]\nsource = "video"\n'
            'device = "belt.mp4"\nchecks = ["defect"]\n')
    assert set(load_config(write(tmp_path, text), env={}).all_cameras) == {"top", "left"}
