"""One `station run` per data folder: a second is refused, naming the holder; a dead one does not block."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.sync.conftest import wait_for

CONFIG = """
[station]
data_dir = "data"
[sync]
broker = ""
"""


def _station(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "station", "--config", str(config), "run", "--headless", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def _holder_pid(lock_file: Path) -> int | None:
    try:
        pid = json.loads(lock_file.read_text(encoding="utf-8")).get("pid")
    except (OSError, ValueError):
        return None
    return pid if isinstance(pid, int) else None


def test_second_station_on_one_data_folder_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    lock_file = tmp_path / "data" / "station.lock"
    first = subprocess.Popen(_station(config, "--rate", "5"), cwd=tmp_path, env=_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _holder_pid(lock_file) == first.pid, 30, "the first station to take the lock")
        second = subprocess.run(_station(config, "--items", "1"), cwd=tmp_path, env=_env(),
                                check=False, capture_output=True, text=True, timeout=60)
        assert second.returncode == 3, second.stderr[-2000:]
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, second.stderr[-2000:]
        assert f"pid {first.pid}" in lines[0] and str(tmp_path / "data") in lines[0]
        assert "stop that station first" in lines[0]
        assert first.poll() is None  # the first one was not disturbed
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    # The holder died without cleaning up: its lock file is left, but must not block.
    assert _holder_pid(lock_file) == first.pid
    third = subprocess.run(_station(config, "--items", "1", "--rate", "20"), cwd=tmp_path, env=_env(),
                           check=False, capture_output=True, text=True, timeout=120)
    assert third.returncode == 0, third.stderr[-3000:]
