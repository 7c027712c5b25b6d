"""`station doctor`: on the embedded defaults every check passes (ok or warn with a reason); each
check fails when what it looks at is broken — a config with several errors (all shown), a missing
model file, a wrong sha256, a camera and a port that are not there, a calibration of another
camera, a locked data folder, a broker that does not answer, a full disk, a clock in the past."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calibration.files import CalibrationFile, save_calibration, utc_now
from station.cli import main
from station.config import Config, load_config
from station.config_check import config_problems
from station.datalock import DataLock
from station.doctor import (
    CheckResult,
    Status,
    check_broker,
    check_calibration,
    check_cameras,
    check_clock,
    check_conveyor,
    check_disk,
    check_models,
    check_outbox,
    held_lock,
    run_checks,
)
from station.store import Store
from station.verdict import Verdict
from sync import outbox
from sync.broker import LocalBroker, find_mosquitto

PROJECT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[station]\ndata_dir = "data"\n' + text, encoding="utf-8")
    return path


def _load(tmp_path: Path, text: str) -> Config:
    return load_config(_config(tmp_path, text), env={})


def _lines(out: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.mark.skipif(find_mosquitto() is None, reason="the demo line's broker needs mosquitto")
def test_on_the_embedded_defaults_every_check_is_ok_or_a_warning_with_a_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STATION_CONFIG", raising=False)
    code = main(["doctor", "--json", "--camera-seconds", "1"])
    results = _lines(capsys.readouterr().out)
    assert code == 0, [r for r in results if r["status"] not in ("ok", "warn")]
    checks = {r["check"] for r in results}
    assert checks >= {"config", "lock", "disk", "clock", "models", "calibration", "camera", "conveyor",
                      "outbox", "broker"}
    for result in results:
        assert result["status"] in ("ok", "warn"), result
        assert result["message"]
        if result["status"] == "warn":
            assert result["fix"], result
    by_check = {r["check"]: r for r in results}
    assert "simulator said HELLO" in by_check["conveyor"]["message"]
    assert "acknowledged by central" in by_check["broker"]["message"]
    assert "frames/s" in by_check["camera"]["message"]
    # The demo line passes, but says which of its parts stand in for the dock's own.
    for demo in ("camera", "conveyor", "broker"):
        assert by_check[demo]["status"] == "warn" and "Before production" in by_check[demo]["fix"]
    assert "never reach the site's central" in by_check["broker"]["message"]


def test_a_config_with_two_errors_shows_both_with_their_lines_and_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path, '[camera]\nwidth = "wide"\n\n[hardware]\nretries = 500\n')
    code = main(["--config", str(path), "doctor"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{path}:4: [camera.width] expected a whole number" in out
    assert f"{path}:7: [hardware.retries] 500 is out of range — set it between 0 and 100" in out
    assert "2 config errors" in out
    assert main(["--config", str(path), "doctor", "--json"]) == 1
    results = _lines(capsys.readouterr().out)
    assert [(r["check"], r["status"]) for r in results] == [("config", "fail"), ("config", "fail"),
                                                            ("others", "fail")]
    assert all(r["fix"] for r in results)


def test_config_problems_lists_every_error_and_none_for_a_good_file(tmp_path: Path) -> None:
    bad = _config(tmp_path, '[camera]\nfps = 0\ncolour = 3\n\n[bogus]\nx = 1\n\n'
                  '[hardware]\nsilence_ms = 100\n')
    problems = config_problems(bad, env={})
    assert [(p.key, p.line) for p in problems] == [
        ("camera.fps", 4), ("camera.colour", 5), ("bogus", 7), ("hardware.silence_ms", 11)]
    good = _config(tmp_path, '[camera]\nfps = 25\n')
    assert config_problems(good, env={}) == []
    assert config_problems(None, env={}) == []


def _copy_model(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(PROJECT / "models" / name, folder)
    return folder


def test_a_missing_model_file_and_a_wrong_sha256_fail(tmp_path: Path) -> None:
    defect = _copy_model(tmp_path, "defect")
    (defect / "model.onnx").unlink()
    conformity = _copy_model(tmp_path, "conformity")
    manifest = json.loads((conformity / "manifest.json").read_text())
    manifest["sha256"] = "0" * 64
    (conformity / "manifest.json").write_text(json.dumps(manifest))
    config = _load(tmp_path, f'[models]\ndefect_dir = "{defect}"\nconformity_dir = "{conformity}"\n')
    results = check_models(config)
    assert [r.status for r in results] == [Status.FAIL, Status.FAIL]
    assert "the defect model does not load" in results[0].message and "model.onnx" in results[0].message
    assert "sha256" in results[1].message and "does not match" in results[1].message
    assert all("manual review" in r.fix for r in results)
    # One piece of advice, in the fix: the model error's own (after its dash) is not repeated.
    assert all(" — " not in r.message for r in results)
    shipped = check_models(load_config(None, env={}))
    # Both models, then the SKU references (the demo line enrols its own at start).
    assert [r.status for r in shipped] == [Status.OK, Status.OK, Status.OK]
    assert "SKU references" in shipped[2].message
    assert "matches its manifest" in shipped[0].message


def test_a_camera_that_is_not_there_fails(tmp_path: Path) -> None:
    config = _load(tmp_path, '[camera]\nsource = "device"\ndevice = "/dev/video-none"\n')
    (result,) = check_cameras(config, seconds=1.0)
    assert result.status is Status.FAIL
    assert "camera top (device /dev/video-none)" in result.message
    assert "station cameras list" in result.fix


def test_a_port_that_is_not_there_fails_and_the_simulator_answers(tmp_path: Path) -> None:
    config = _load(tmp_path, '[hardware]\nport = "/dev/ttyNOT-THERE"\n')
    result = check_conveyor(config)
    assert result.status is Status.FAIL
    assert "/dev/ttyNOT-THERE" in result.message and "dialout" in result.fix
    sim = check_conveyor(load_config(None, env={}))
    # The demo line's simulator answers, and is not taken for a conveyor.
    assert sim.status is Status.WARN and "nothing diverted" in sim.message
    assert "no real conveyor" in sim.message and "Before production" in sim.fix
    bench = check_conveyor(load_config(_bench(tmp_path), env={}))
    assert bench.status is Status.OK and "bench mode" in bench.message


def test_a_controller_the_station_would_refuse_at_its_heartbeat_is_refused_by_the_doctor_too(
        tmp_path: Path) -> None:
    """The simulator's 1000 ms watchdog is too short for a station heartbeating every 600 ms: the
    station would refuse its HELLO, so the doctor does, and says what to set instead of the cable."""
    config = _load(tmp_path, '[hardware]\nport = "sim"\nheartbeat_ms = 600\nsilence_ms = 1500\n')
    result = check_conveyor(config)
    assert result.status is Status.FAIL
    assert "watchdog_ms 1000 not above twice the station's heartbeat period (600 ms)" in result.message
    assert "PROTOCOL.md" in result.fix and "cable" not in result.fix


def test_a_real_port_gets_hello_and_welcome_and_nothing_is_diverted(tmp_path: Path) -> None:
    from hardware.simulator import SimulatorRunner

    with SimulatorRunner() as controller:
        config = _load(tmp_path, f'[hardware]\nport = "{controller.path}"\n')
        result = check_conveyor(config)
        with controller.lock:
            diverted = [t for t in controller.controller.truth if t.commanded_lane is not None]
    assert result.status is Status.OK, result
    assert f"the controller on {controller.path} said HELLO" in result.message
    assert "session up" in result.message
    assert diverted == []


def test_a_modbus_plc_is_checked_over_modbus(tmp_path: Path) -> None:
    """With controller = "modbus" the PLC's registers are read (the simulated one answers), not a HELLO."""
    sim = check_conveyor(_load(tmp_path, '[hardware]\ncontroller = "modbus"\n[hardware.modbus]\n'
                                         'port = "sim"\ntransport = "tcp"\n'))
    assert sim.status is Status.WARN and "no real conveyor" in sim.message, sim
    assert "simulated PLC answered over Modbus" in sim.message and "nothing diverted" in sim.message
    gone = check_conveyor(_load(tmp_path, '[hardware]\ncontroller = "modbus"\n[hardware.modbus]\n'
                                          'port = "127.0.0.1:9"\ntransport = "tcp"\n'))
    assert gone.status is Status.FAIL
    assert "127.0.0.1:9" in gone.message and "[hardware.modbus]" in gone.fix
    # Why, on the line itself (it was only in the log lines above it).
    assert "did not answer over Modbus in 6 s: cannot open the PLC's TCP port 127.0.0.1:9" in gone.message


def test_a_controller_whose_default_lane_is_not_the_manual_lane_fails(tmp_path: Path) -> None:
    """Every item the station says nothing about goes to the controller's default lane: it must be
    the manual-review lane, or such items would go, unchecked, to restock (lane 1 here)."""
    from hardware.simulator import SimSettings, SimulatorRunner

    with SimulatorRunner(SimSettings(default_lane=1)) as controller:
        result = check_conveyor(_load(tmp_path, f'[hardware]\nport = "{controller.path}"\n'))
    assert result.status is Status.FAIL
    assert "its default lane is 1, but [hardware.lanes] manual = 0" in result.message
    assert "set the controller's default lane to the manual-review lane (0)" in result.fix


def _bench(tmp_path: Path) -> Path:
    path = tmp_path / "bench.toml"
    path.write_text('[station]\nmode = "bench"\ndata_dir = "data"\n', encoding="utf-8")
    return path


def test_calibration_of_another_resolution_fails_a_missing_one_warns_a_right_one_passes(
        tmp_path: Path) -> None:
    text = '[camera]\nsource = "device"\ndevice = "/dev/video7"\nwidth = 1280\nheight = 720\n'
    config = _load(tmp_path, text)
    (missing,) = check_calibration(config)
    assert missing.status is Status.WARN and "not calibrated" in missing.message
    save_calibration(tmp_path / "calibration.toml", CalibrationFile("/dev/video7", (640, 480), utc_now()))
    (other,) = check_calibration(config)
    assert other.status is Status.FAIL and "640x480" in other.message
    save_calibration(tmp_path / "calibration.toml", CalibrationFile("/dev/video7", (1280, 720), utc_now()))
    (right,) = check_calibration(config)
    assert right.status is Status.OK and "for 1280x720" in right.message
    sides = _load(tmp_path, text + '\n[cameras.left]\nsource = "device"\ndevice = "/dev/video8"\n'
                  'calibration = "left.toml"\n\n[cameras.right]\nsource = "device"\ndevice = "/dev/video9"\n')
    top, left, right_side = check_calibration(sides)
    assert top.status is Status.OK
    assert left.status is Status.WARN and "camera left: not calibrated" in left.message
    assert right_side.status is Status.OK and "first camera only" in right_side.message


def test_a_locked_data_folder_fails_and_the_devices_it_holds_are_not_touched(tmp_path: Path) -> None:
    config = _load(tmp_path, '[sync]\nbroker = ""\n')
    running = DataLock(config.data_dir)
    running.acquire()
    try:
        shown: list[CheckResult] = []
        results = run_checks(config, shown.append, camera_seconds=0.5)
    finally:
        running.release()
    by_check = {r.check: r for r in results}
    assert shown == results
    assert by_check["lock"].status is Status.FAIL and "a station is running" in by_check["lock"].message
    assert by_check["camera"].status is Status.WARN and "not checked" in by_check["camera"].message
    assert by_check["conveyor"].status is Status.WARN
    with held_lock(config) as free:
        assert free.status is Status.OK


def test_disk_space_against_the_storage_limits(tmp_path: Path) -> None:
    config = _load(tmp_path, "[storage]\nstop_free_disk_mb = 100\nmin_free_disk_mb = 1000\n")
    assert check_disk(config, lambda _p: 50_000_000).status is Status.FAIL
    low = check_disk(config, lambda _p: 500_000_000)
    assert low.status is Status.WARN and "min_free_disk_mb" in low.message
    assert check_disk(config, lambda _p: 5_000_000_000).status is Status.OK


def test_a_reserve_larger_than_the_disk_says_to_lower_the_setting(tmp_path: Path) -> None:
    """No cleaning can free 9 TB on a 128 GB disk: the fix is the setting (in MB), not the disk."""
    config = _load(tmp_path, "[storage]\nstop_free_disk_mb = 9000000\nmin_free_disk_mb = 9500000\n")
    disk = 128_000_000_000
    result = check_disk(config, lambda _p: 100_000_000_000, lambda _p: disk)
    assert result.status is Status.FAIL
    assert "more than the whole disk" in result.message and "128000 MB" in result.message
    assert result.fix.startswith("set [storage] stop_free_disk_mb in MB, well below 128000")
    config = _load(tmp_path, "[storage]\nmin_free_disk_mb = 9000000\n")
    result = check_disk(config, lambda _p: 100_000_000_000, lambda _p: disk)
    assert result.status is Status.WARN and "min_free_disk_mb" in result.fix


def test_a_full_disk_names_the_setting_it_is_below(tmp_path: Path) -> None:
    config = _load(tmp_path, "[storage]\nstop_free_disk_mb = 100\n")
    full = check_disk(config, lambda _p: 50_000_000)
    assert "[storage] stop_free_disk_mb" in full.message and full.fix.startswith("free space")


def test_a_clock_before_the_build_date_fails_and_ntp_is_reported() -> None:
    built = datetime(2026, 11, 1, tzinfo=UTC)
    past = check_clock(built - timedelta(days=9000), built, lambda: "yes")
    assert past.status is Status.FAIL and "battery" in past.fix
    assert check_clock(built + timedelta(days=1), built, lambda: "yes").status is Status.OK
    unsynced = check_clock(built + timedelta(days=1), built, lambda: "no")
    # What a clock off by minutes costs the dock, said where the fixer reads: central's offers refused.
    assert unsynced.status is Status.WARN and "model offers and actions are refused" in unsynced.message
    unknown = check_clock(built + timedelta(days=1), built, lambda: None)
    assert unknown.status is Status.WARN and unknown.fix


def test_the_outbox_says_what_waits_for_central_and_warns_when_it_has_waited_long(
        tmp_path: Path, make_verdict: Callable[..., Verdict]) -> None:
    config = _load(tmp_path, "")
    assert check_outbox(config).message == "no database yet: nothing waits for central"
    store = Store.from_config(config)
    try:
        first = store.record_verdict(make_verdict(1))
        second = store.record_verdict(make_verdict(2))
        created = first.created_at.timestamp()
        fresh = check_outbox(config, now=created + 60)
        assert fresh.status is Status.OK
        assert fresh.message.startswith("2 verdict revision(s) and purge(s) wait for central's")
        stale = check_outbox(config, now=created + 2 * 3600)
        assert stale.status is Status.WARN and "central has not acknowledged them" in stale.message
        assert "subscribed to this station's topics" in stale.fix
        # Read while the station holds its database open: what central acknowledged no longer counts.
        with sqlite3.connect(config.in_data_dir(config.storage.db_path)) as conn:
            keys = [f"{v.verdict_id}:1" for v in (first, second)]
            assert outbox.mark_delivered(conn, keys, created + 1) == 2
        assert check_outbox(config, now=created + 2 * 3600).message == (
            "every verdict revision was acknowledged by central")
    finally:
        store.close()


def test_an_outbox_that_cannot_be_read_is_a_warning_that_says_what_to_do(tmp_path: Path) -> None:
    config = _load(tmp_path, "")
    db = config.in_data_dir(config.storage.db_path)
    db.parent.mkdir(parents=True)
    db.write_bytes(b"not a database" * 100)
    result = check_outbox(config)
    assert result.status is Status.WARN and str(db) in result.message
    assert "station migrate" in result.fix


def test_broker_not_configured_warns_not_answering_fails(tmp_path: Path) -> None:
    none = check_broker(_load(tmp_path, '[sync]\nbroker = ""\n'))
    assert none.status is Status.WARN and "outbox" in none.message
    from sync.broker import free_port

    closed = _load(tmp_path, f'[sync]\nbroker = "127.0.0.1"\nport = {free_port()}\n')
    down = check_broker(closed)
    assert down.status is Status.FAIL and "cannot connect" in down.message


@pytest.mark.skipif(find_mosquitto() is None, reason="needs mosquitto")
def test_a_configured_broker_confirms_a_probe_and_says_central_was_not_asked(tmp_path: Path) -> None:
    with LocalBroker(folder=tmp_path / "broker") as broker:
        config = _load(tmp_path, f'[sync]\nbroker = "127.0.0.1"\nport = {broker.port}\n')
        result = check_broker(config)
    assert result.status is Status.OK
    assert "PUBACK" in result.message and "central's acknowledgement is not tested" in result.message


def test_text_output_says_what_to_do_and_help_says_warnings_pass(capsys: pytest.CaptureFixture[str]) -> None:
    line = CheckResult("disk", Status.FAIL, "10 MB free", "free space").line()
    assert line.startswith("FAIL  disk") and line.endswith("— free space")
    with pytest.raises(SystemExit):
        main(["doctor", "--help"])
    assert "a warning counts as passing" in capsys.readouterr().out
