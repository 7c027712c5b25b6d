"""What the station starts dies with it: no local Mosquitto outlives a killed `station run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sync.broker import LocalBroker
from tests.sync.conftest import wait_for

CONFIG = """
[station]
data_dir = "data"
"""


def _brokers_of(config_file: Path) -> list[int]:
    """Pids of live mosquitto processes running on `config_file` (zombies have no cmdline)."""
    needle = os.fsencode(str(config_file))
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"mosquitto") and needle in cmdline:
            found.append(int(entry.name))
    return found


def _start_station(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "station", "--config", str(config), "run", "--headless", *args],
        cwd=tmp_path, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def test_killed_station_leaves_no_broker_and_a_restart_runs_one(tmp_path: Path) -> None:
    broker_conf = tmp_path / "data" / "mosquitto" / "mosquitto.conf"
    station = _start_station(tmp_path)
    try:
        wait_for(lambda: len(_brokers_of(broker_conf)) == 1, 60, "the station's mosquitto to run")
    finally:
        station.send_signal(signal.SIGKILL)
        station.wait(30)
    wait_for(lambda: _brokers_of(broker_conf) == [], 10, "the killed station's mosquitto to end")

    again = _start_station(tmp_path)
    try:
        wait_for(lambda: len(_brokers_of(broker_conf)) == 1, 60, "the restarted station's mosquitto")
        assert again.poll() is None
        assert len(_brokers_of(broker_conf)) == 1
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(60)
    wait_for(lambda: _brokers_of(broker_conf) == [], 10, "mosquitto to stop with the station")


def test_a_leftover_broker_of_the_data_folder_is_stopped_at_start(tmp_path: Path) -> None:
    # A broker whose owner could not take it down (no parent-death signal on this path):
    # only its pid file in the data folder says it is there.
    folder = tmp_path / "data" / "mosquitto"
    leftover = LocalBroker(folder)
    leftover.start()
    process = leftover._process
    assert process is not None
    leftover._process = None  # forgotten, as by a process that died
    try:
        assert _brokers_of(leftover.config_file) == [process.pid]
        station = _start_station(tmp_path, "--items", "1", "--rate", "20")
        assert station.wait(120) == 0
        assert process.wait(10) is not None  # the leftover was stopped by the new start
        assert _brokers_of(leftover.config_file) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
