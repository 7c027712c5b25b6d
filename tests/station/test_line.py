"""The whole line on the embedded defaults: the synthetic camera, the controller simulator
on a real pseudo-terminal reached through pyserial, the real pipeline and a real SQLite
file. Every item ends with a recorded, routed verdict; late items go to the manual lane;
a camera that dies sends items to manual review; a kill -9 leaves a consistent database."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from station.app import RunOptions, Station
from station.config import Config, load_config
from station.state import Level
from vision.camera import SyntheticSource

pytestmark = pytest.mark.slow


def line_config(tmp_path: Path, extra: str = "") -> Config:
    path = tmp_path / "config.toml"
    text = f'[station]\ndata_dir = "{tmp_path / "var"}"\n[sync]\nbroker = ""\n{extra}'
    path.write_text(text, encoding="utf-8")
    return load_config(path, env={})


def verdict_rows(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        query = "SELECT verdict_id, revision, payload FROM verdicts ORDER BY verdict_id, revision"
        rows = conn.execute(query).fetchall()
        return [{"verdict_id": r[0], "revision": r[1], **json.loads(r[2])} for r in rows]


def latest(rows: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for row in rows:
        out[row["verdict_id"]] = row
    return out


def test_every_item_is_recorded_routed_and_confirmed(tmp_path: Path) -> None:
    config = line_config(tmp_path)
    station = Station(config, RunOptions(items=12, sim_speed_m_s=2.0, sim_spacing_m=1.0))
    station.start()
    try:
        assert station.wait_items(12, timeout_s=120), station.stats()
    finally:
        station.stop()
    rows = verdict_rows(config.in_data_dir(config.storage.db_path))
    final = latest(rows)
    assert len(final) == 12
    manual = config.hardware.lanes["manual"]
    for verdict in final.values():
        routing = verdict["routing"]
        assert routing["lost"] is False
        assert routing["lane_confirmed"] is not None, verdict["decision"]
        expected = routing["lane_commanded"] if routing["lane_commanded"] is not None else manual
        assert routing["lane_confirmed"] == expected  # nothing misrouted
        if routing["late"]:
            assert routing["lane_confirmed"] == manual
        assert verdict["decision"]["reasons"], "every decision says why"
        assert verdict["item"]["controller_item_id"] is not None
    assert station.conveyor is not None and station.conveyor.bridge.counters.misrouted == 0
    # each item's first revision went to the outbox in the same transaction
    with sqlite3.connect(config.in_data_dir(config.storage.db_path)) as conn:
        keys = {r[0] for r in conn.execute("SELECT key FROM outbox")}
    assert {f"{r['verdict_id']}:{r['revision']}" for r in rows} <= keys


def test_items_n_stops_on_a_belt_that_keeps_feeding(tmp_path: Path) -> None:
    """A real belt does not stop at N items: the run ends once N have their routing, the belt still full."""
    config = line_config(tmp_path)
    station = Station(config, RunOptions(items=None, sim_speed_m_s=2.0, sim_spacing_m=1.0))
    station.start()
    try:
        assert station.wait_items(4, timeout_s=60), station.stats()
    finally:
        station.stop()
    final = latest(verdict_rows(config.in_data_dir(config.storage.db_path)))
    routed = [v for v in final.values() if v["routing"]["lane_confirmed"] is not None or v["routing"]["lost"]]
    assert len(routed) >= 4


def test_a_restarted_station_counts_the_items_recorded_today_before_it(tmp_path: Path) -> None:
    config = line_config(tmp_path)
    day = datetime.now().date()
    for items in (3, 2):
        station = Station(config, RunOptions(items=items, sim_speed_m_s=2.0, sim_spacing_m=1.0))
        station.start()
        try:
            assert station.wait_items(items, timeout_s=60), station.stats()
            stats = station.stats()
        finally:
            station.stop()
    if datetime.now().date() != day:
        pytest.skip("the day changed during the test")
    assert stats["items"] == 2  # this run's
    assert stats["items_today"] == 5  # the record's: the first run's 3 as well
    assert 2 <= stats["items_this_hour"] <= 5


def test_a_late_decision_goes_to_the_manual_lane_and_says_late(tmp_path: Path) -> None:
    config = line_config(tmp_path)
    station = Station(config, RunOptions(items=3, sim_speed_m_s=2.0, sim_spacing_m=1.0))
    inspect = station.inspector.inspect

    def slow(trigger, frames, seq):  # type: ignore[no-untyped-def]
        if trigger.deadline is not None:
            time.sleep(max(0.0, trigger.deadline - time.monotonic()) + 0.05)
        return inspect(trigger, frames, seq)

    station.inspector.inspect = slow  # type: ignore[method-assign]
    station.start()
    try:
        assert station.wait_items(3, timeout_s=60), station.stats()
    finally:
        station.stop()
    final = latest(verdict_rows(config.in_data_dir(config.storage.db_path)))
    manual = config.hardware.lanes["manual"]
    assert len(final) == 3
    for verdict in final.values():
        assert verdict["routing"]["late"] is True
        assert verdict["routing"]["lane_commanded"] is None
        assert verdict["routing"]["lane_confirmed"] == manual


def test_a_dead_camera_sends_items_to_manual_review_and_turns_the_status_red(tmp_path: Path) -> None:
    config = line_config(tmp_path, '[camera]\nfrozen_after_s = 0.3\nreopen_backoff_s = 5.0\n')
    station = Station(config, RunOptions(items=3, sim_speed_m_s=2.0, sim_spacing_m=1.0))
    assert isinstance(station.camera.source, SyntheticSource)
    station.camera.source.fail_after = 3  # the cable is pulled after three frames
    station.start()
    try:
        assert station.wait_items(3, timeout_s=60), station.stats()
        health = station.state.health()["camera:top"]
    finally:
        station.stop()
    assert health.level is Level.ERROR and "manual review" in health.detail
    final = latest(verdict_rows(config.in_data_dir(config.storage.db_path)))
    for verdict in final.values():
        assert verdict["decision"]["disposition"] == "manual_review"
        assert any("camera" in r for r in verdict["decision"]["reasons"])


def test_kill_9_mid_run_leaves_no_half_item_and_the_next_run_goes_on(tmp_path: Path) -> None:
    config_path = tmp_path / "config.toml"
    config_path.write_text(f'[station]\ndata_dir = "{tmp_path / "var"}"\n[sync]\nbroker = ""\n',
                           encoding="utf-8")
    db = tmp_path / "var" / "station.db"
    command = [sys.executable, "-m", "station", "--config", str(config_path), "--log-level", "WARNING",
               "run", "--headless", "--rate", "4"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if db.exists():
                with sqlite3.connect(db) as conn:
                    try:
                        if conn.execute("SELECT count(*) FROM items").fetchone()[0] >= 5:
                            break
                    except sqlite3.OperationalError:  # created, not yet migrated
                        pass
            time.sleep(0.2)
        else:
            pytest.fail("the station recorded no items in 90 s")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        items = {r[0] for r in conn.execute("SELECT verdict_id FROM items")}
        first = {r[0] for r in conn.execute("SELECT verdict_id FROM verdicts WHERE revision = 1")}
        outbox = {r[0].split(":")[0] for r in conn.execute("SELECT key FROM outbox")}
        frames = conn.execute("SELECT verdict_id, path FROM frames").fetchall()
    assert items and items == first <= outbox  # no item without its verdict and outbox row
    for verdict_id, path in frames:
        assert verdict_id in items and (tmp_path / "var" / "images" / path).is_file()
    before = len(items)
    rerun = subprocess.run([*command[:-2], "--items", "3"], capture_output=True, text=True, env=env,
                           timeout=120, check=False)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] >= before + 3


def test_bench_mode_inspects_on_the_operators_key_and_routes_nothing(tmp_path: Path) -> None:
    config = load_config(_with(tmp_path, '[station]\nmode = "bench"\nmotion_trigger = false\n'), env={})
    station = Station(config)
    station.start()
    try:
        station.actions.sign_in("op-7")
        station.actions.trigger()
        station.actions.trigger()
        assert station.wait_items(2, timeout_s=60)
        first = station.state.recent()[0].verdict
        station.actions.override(first.verdict_id, "recycle", "seal broken")
    finally:
        station.stop()
    rows = verdict_rows(config.in_data_dir(config.storage.db_path))
    assert len(latest(rows)) == 2
    assert all(r["routing"]["lane_commanded"] is None for r in rows)
    overridden = latest(rows)[first.verdict_id]
    assert overridden["revision"] == 2 and overridden["decision"]["source"] == "operator"
    assert overridden["decision"]["disposition"] == "recycle"
    assert overridden["decision"]["operator_id"] == "op-7"


def _with(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bench.toml"
    path.write_text(f'{text}[sync]\nbroker = ""\n', encoding="utf-8")
    path.write_text(path.read_text().replace("[station]\n", f'[station]\ndata_dir = "{tmp_path / "var"}"\n'))
    return path


def test_the_screenshot_run_feeds_exactly_the_items_it_shows(tmp_path: Path) -> None:
    """`station run --screenshot --items N`: the demo line stops at N, so the top line, the list and
    the statistics in the saved pages all speak of the same N items."""
    config = line_config(tmp_path)
    shot = tmp_path / "shot.png"
    command = [sys.executable, "-m", "station", "--config", str(config.source), "--log-level", "WARNING",
               "run", "--size", "1366x768", "--screenshot", str(shot), "--items", "3"]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.is_file() and (tmp_path / "shot-statistics.png").is_file()
    with sqlite3.connect(config.in_data_dir(config.storage.db_path)) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 3
