"""Bad input found by an audit of the command line: model manifests with fields of the wrong
type, a model file given for its folder, [sync] TLS files that are not there, an unreachable
or unparsable broker and a database URL with a password given to `station central`, a
STATION_CONFIG that points nowhere, a hand scanner port on a conveyor station. Each gets one
line that says what to do, a non-zero exit and no traceback."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

import station.app
from station.cli import main
from station.config import ConfigError, load_config
from station.config_check import config_problems
from station.devices import unused_scanner
from sync.central import hide_db_password, shown_db
from sync.mqtt import BrokerAddress, TlsFilesError, make_client
from sync.probe import BrokerProbeError, probe_broker
from vision.camera.errors import SourceError

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[station]\ndata_dir = "{tmp_path / "var"}"\n{extra}', encoding="utf-8")
    return path


def _station(tmp_path: Path, *args: str, extra: str = "") -> int:
    return main(["--config", str(_config(tmp_path, extra)), *args])


def _no_traceback(*texts: str) -> None:
    assert all("Traceback" not in text for text in texts)


# -- 1, 2: model manifests and model paths (`station score --model`) --------------------------


def _model(tmp_path: Path, **changes: Any) -> Path:
    folder = tmp_path / "defect"
    shutil.copytree(REPO / "models" / "defect", folder)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.update(changes)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def _photo(tmp_path: Path) -> Path:
    photo = tmp_path / "photo.png"
    assert cv2.imwrite(str(photo), np.full((128, 128, 3), 200, np.uint8))
    return photo


@pytest.mark.parametrize(("changes", "words"), [
    ({"input": None}, ("input must be an object", "got null")),
    ({"input": "256x256"}, ("input must be an object", '"256x256"')),
    ({"thresholds": "x"}, ("thresholds must be an object", '"defect"')),
    ({"thresholds": {"defect": "x"}}, ("thresholds.defect must be a number from 0 to 1", '"x"')),
    ({"thresholds": {"region": 7}}, ("thresholds.region must be a number from 0 to 1", "7")),
    ({"onnx_file": None}, ("onnx_file must be the model file's name", "got null")),
    ({"onnx_file": "../model.onnx"}, ("onnx_file must be the model file's name",)),
    ({"sha256": None}, ("sha256 must be the hex sha256",)),
], ids=["input-null", "input-string", "thresholds-string", "threshold-string", "threshold-range",
        "onnx_file-null", "onnx_file-path", "sha256-null"])
def test_a_manifest_field_of_the_wrong_type_is_refused_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict[str, Any],
        words: tuple[str, ...]) -> None:
    model = _model(tmp_path, **changes)
    code = _station(tmp_path, "score", "--model", str(model), "--json", str(_photo(tmp_path)))
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    _no_traceback(out, err)
    assert len(err.strip().splitlines()) == 1
    assert str(model / "manifest.json") in err and "re-export the model" in err
    assert all(word in err for word in words), err


def test_a_manifest_that_is_not_an_object_is_refused(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    model = _model(tmp_path)
    (model / "manifest.json").write_text("[1, 2]", encoding="utf-8")
    assert _station(tmp_path, "score", "--model", str(model), str(_photo(tmp_path))) == 2
    out, err = capsys.readouterr()
    _no_traceback(out, err)
    assert "must be a JSON object" in err and "re-export the model" in err


def test_the_model_file_given_for_its_folder_is_named_as_a_file(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    model = _model(tmp_path)
    assert _station(tmp_path, "score", "--model", str(model / "model.onnx"), str(_photo(tmp_path))) == 2
    out, err = capsys.readouterr()
    _no_traceback(out, err)
    assert "not found" not in err
    assert f"{model / 'model.onnx'} is a file: give the model's folder ({model})" in err


def test_a_good_manifest_still_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _model(tmp_path)
    assert _station(tmp_path, "score", "--model", str(model), "--json", str(_photo(tmp_path))) == 0
    record = json.loads(capsys.readouterr().out)
    assert 0.0 <= record["score"] <= 1.0


# -- 3: [sync] TLS files ------------------------------------------------------------------------

TLS = '[sync]\nbroker = "127.0.0.1"\nport = 1\ntls = true\nca_file = "nope-ca.pem"\n'


def test_a_missing_tls_file_refuses_the_config_with_its_key_and_line(tmp_path: Path) -> None:
    path = _config(tmp_path, TLS)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert (caught.value.key, caught.value.line) == ("sync.ca_file", 7)
    assert str(tmp_path / "nope-ca.pem") in str(caught.value) and "does not exist" in str(caught.value)
    assert "set [sync] ca_file" in caught.value.fix
    (tmp_path / "nope-ca.pem").write_text("a CA\n", encoding="utf-8")
    assert load_config(path, env={}).sync.ca_file == Path("nope-ca.pem")  # relative to the config's folder
    # Without TLS the files would not be used: refused on their line, saying to switch TLS on.
    with pytest.raises(ConfigError) as plain:
        load_config(_config(tmp_path, TLS.replace("tls = true", "tls = false")), env={})
    assert (plain.value.key, plain.value.line) == ("sync.ca_file", 7) and "set tls = true" in str(plain.value)


def test_station_run_refuses_to_start_with_one_line(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert _station(tmp_path, "run", "--headless", "--items", "1", extra=TLS) == 2
    out, err = capsys.readouterr()
    _no_traceback(out, err)
    assert err.count("\n") == 1 and err.startswith("station: refusing to start:")
    assert "[sync.ca_file]" in err and "nope-ca.pem does not exist" in err
    assert not (tmp_path / "var" / "station.db").exists()  # nothing was opened


def test_doctor_lists_the_missing_tls_file_as_a_config_error(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    extra = TLS + "[camera]\nfps = 0\n"
    assert _station(tmp_path, "doctor", "--json", extra=extra) == 1
    out, err = capsys.readouterr()
    _no_traceback(out, err)
    lines = [json.loads(line) for line in out.splitlines()]
    config = [line["message"] for line in lines if line["check"] == "config"]
    assert len(config) == 2
    assert any("[sync.ca_file]" in m and "nope-ca.pem does not exist" in m for m in config)
    assert any("[camera.fps]" in m for m in config)
    problems = config_problems(_config(tmp_path, extra), env={})
    assert {p.key for p in problems} == {"sync.ca_file", "camera.fps"}
    (tmp_path / "nope-ca.pem").write_text("a CA\n", encoding="utf-8")
    (tmp_path / "key.pem").mkdir()  # a folder where the key file should be
    with pytest.raises(ConfigError, match=r"key_file .*key\.pem is not a file") as caught:
        load_config(_config(tmp_path, TLS + 'key_file = "key.pem"\n'), env={})
    assert caught.value.key == "sync.key_file"


def test_a_tls_file_that_is_not_pem_is_named_when_the_client_is_made(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n", encoding="utf-8")
    with pytest.raises(TlsFilesError) as caught:
        make_client("c", BrokerAddress("127.0.0.1", 8883, tls=True, ca_file=bad))
    assert f"ca_file {bad}" in str(caught.value) and "[sync].ca_file" in str(caught.value)
    # `station doctor`'s probe uses the same rules, so it names the file too.
    with pytest.raises(BrokerProbeError) as probed:
        probe_broker(BrokerAddress("127.0.0.1", 8883, tls=True, ca_file=bad), "doctor", "t", b"{}")
    assert f"ca_file {bad}" in str(probed.value)


def test_a_station_whose_start_fails_stops_what_it_started(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """A CA file removed after the config loaded: the publisher cannot be made. The parts already
    started (camera, pipeline, simulated conveyor) are stopped before the error goes up, so no
    thread is left running when the process ends (it aborted with exit 134 before)."""
    from station.app import RunOptions, Station

    config = load_config(_config(tmp_path, '[sync]\nbroker = "127.0.0.1"\nport = 1\n'
                                           '[barcode]\nscanner_port = "/dev/ttyNOPE9"\n'), env={})
    config = dataclasses.replace(config, sync=dataclasses.replace(
        config.sync, tls=True, ca_file=tmp_path / "gone-ca.pem"))
    before = set(threading.enumerate())
    station = Station(config, RunOptions(headless=True))
    with caplog.at_level(logging.WARNING), pytest.raises(FileNotFoundError, match="ca_file"):
        station.start()
    left = [t.name for t in set(threading.enumerate()) - before if t.is_alive() and t.name != "codes_0"]
    assert left == []
    # 7: the scanner port of a conveyor station is reported at start, not silently ignored.
    assert any("scanner_port = '/dev/ttyNOPE9' is not used" in r.getMessage() for r in caplog.records)


# -- 4, 5: station central ------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "words"), [
    ("mqtt://127.0.0.1:abc", "the port is a number from 1 to 65535"),
    ("mqtt://127.0.0.1:0", "port 0"),
    ("mqtt://broker host:1883", "not a host name"),
    ("mqtt://127.0.0.1:1883/verdicts", "no path"),
    ("ftp://127.0.0.1", "scheme must be mqtt://"),
])
def test_central_refuses_an_unparsable_broker_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      url: str, words: str) -> None:
    assert _station(tmp_path, "central", "--broker", url, "--db", str(tmp_path / "c.db")) == 2
    out, err = capsys.readouterr()
    _no_traceback(out, err)
    assert words in out and "write it like mqtt://127.0.0.1:1883" in out
    assert not (tmp_path / "c.db").exists()


def test_central_text_stats_say_why_it_is_disconnected(tmp_path: Path) -> None:
    central = subprocess.Popen(
        [sys.executable, "-m", "station", "central", "--broker", "mqtt://127.0.0.1:1", "--db",
         str(tmp_path / "c.db"), "--stats-interval", "0.5"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert central.stdout is not None
        line = central.stdout.readline()
        while "disconnected:" not in line and line:
            line = central.stdout.readline()
    finally:
        central.send_signal(signal.SIGINT)
        try:
            _, err = central.communicate(timeout=30)
        finally:
            if central.poll() is None:
                central.kill()
                central.communicate()
    assert "(disconnected: cannot reach the broker at 127.0.0.1:1" in line and "refused" in line
    assert central.returncode == 0
    _no_traceback(err)


@pytest.fixture
def no_signal_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """`station central` sets SIGINT / SIGTERM handlers: not in the test process."""
    def keep(signum: int, handler: Callable[..., Any]) -> Any:
        return signal.getsignal(signum)

    monkeypatch.setattr(signal, "signal", keep)


def test_central_masks_the_database_password(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
        no_signal_handlers: None) -> None:
    url = "postgresql://u:s3cret-pw@127.0.0.1:1/db"
    with caplog.at_level(logging.DEBUG):
        code = _station(tmp_path, "central", "--broker", "mqtt://127.0.0.1:1", "--db", url)
        report = _station(tmp_path, "central", "report", "--db", url)
    out, err = capsys.readouterr()
    assert (code, report) == (1, 1)
    _no_traceback(out, err)
    assert "s3cret-pw" not in out + err + caplog.text
    assert out.count("postgresql://u:***@127.0.0.1:1/db") == 2
    assert "station central: cannot open the database" in out and "check --db" in out
    assert all(line.startswith("station central") for line in out.splitlines())  # one line each
    assert "database server is running" in out  # a URL: the server's side is what to check


def test_central_on_a_sqlite_file_it_cannot_create_says_which_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], no_signal_handlers: None) -> None:
    db = tmp_path / "no-such-folder" / "central.db"
    assert _station(tmp_path, "central", "--broker", "mqtt://127.0.0.1:1", "--db", str(db)) == 1
    out, err = capsys.readouterr()
    _no_traceback(out, err)
    assert f"cannot open the database {db}" in out
    assert "check that --db names a file in a folder that exists and this user may write" in out
    assert "database server" not in out  # no PostgreSQL advice for a file


def test_central_names_a_tls_file_it_cannot_use(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                no_signal_handlers: None) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n", encoding="utf-8")
    common = ("central", "--broker", "mqtts://127.0.0.1:1", "--db", str(tmp_path / "c.db"))
    assert _station(tmp_path, *common, "--ca", str(tmp_path / "nope.pem")) == 2
    assert _station(tmp_path, *common, "--ca", str(bad)) == 2
    out, err = capsys.readouterr()
    _no_traceback(out, err)
    missing, unusable = out.splitlines()
    assert f"--ca {tmp_path / 'nope.pem'} is not a file" in missing
    assert f"cannot use the TLS files (--ca {bad})" in unusable and "PEM" in unusable
    assert [t.name for t in threading.enumerate() if t.name.startswith("central")] == []


def test_database_urls_are_shown_without_their_password() -> None:
    assert shown_db("postgresql://u:p@127.0.0.1:1/db") == "postgresql://u:***@127.0.0.1:1/db"
    assert shown_db("postgres://h/db?user=u&password=topsecret") == "postgres://h/db?user=u&password=***"
    assert shown_db("postgresql://u@h/db") == "postgresql://u@h/db"
    assert shown_db("/srv/central.db") == "/srv/central.db"
    url = "postgresql://u:p%40ss-word@h/db"
    assert hide_db_password(f"login for {url} failed: p@ss-word", url) == \
        "login for postgresql://u:***@h/db failed: ***"


# -- 6: STATION_CONFIG ------------------------------------------------------------------------------


def test_a_station_config_pointing_nowhere_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    nope = tmp_path / "nope.toml"
    monkeypatch.setenv("STATION_CONFIG", str(nope))
    assert main(["version"]) == 2
    out, err = capsys.readouterr()
    _no_traceback(out, err)
    assert "STATION_CONFIG points to this file, which does not exist — fix or unset STATION_CONFIG" in err
    assert "--config" not in err
    with pytest.raises(ConfigError, match="leave out --config"):  # given as --config
        load_config(nope, env={"STATION_CONFIG": str(nope)}, from_option=True)
    with pytest.raises(ConfigError, match="leave out --config"):
        load_config(nope, env={})
    with pytest.raises(ConfigError) as caught:  # ./config.toml, not the command line nor the environment
        load_config(nope, env={}, from_option=False)
    assert "--config" not in str(caught.value) and "STATION_CONFIG" not in str(caught.value)


# -- 7: the hand scanner port in conveyor mode ------------------------------------------------------


def test_a_scanner_port_is_reported_unused_in_conveyor_mode_only(tmp_path: Path) -> None:
    conveyor = load_config(_config(tmp_path, '[barcode]\nscanner_port = "/dev/ttyNOPE9"\n'), env={})
    why = unused_scanner(conveyor)
    assert why is not None and "bench mode only" in why and 'mode = "bench"' in why
    bench = dataclasses.replace(conveyor, station=dataclasses.replace(conveyor.station, mode="bench"))
    assert unused_scanner(bench) is None
    assert unused_scanner(load_config(_config(tmp_path), env={})) is None



def test_station_run_refuses_a_camera_no_source_can_open_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A camera refused when the line is built (a GigE camera on a PC without Aravis, say) stops the
    start with one line naming the settings to check, not a traceback."""
    def no_camera(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        raise SourceError("GigE Vision needs Aravis 0.8: apt install gir1.2-aravis-0.8")

    monkeypatch.setattr(station.app, "open_cameras", no_camera)
    assert _station(tmp_path, "run", "--headless", "--items", "1", extra='[sync]\nbroker = ""\n') == 2
    out, err = capsys.readouterr()
    _no_traceback(out, err)
    line = [entry for entry in err.splitlines() if not entry[:4].isdigit()]  # log lines aside
    assert line == ["station run: refusing to start: GigE Vision needs Aravis 0.8: apt install "
                    "gir1.2-aravis-0.8 — check [camera] / [cameras.NAME] source and device "
                    "(`station cameras list` shows what is connected)"]
