"""`station run` with its window stops on SIGTERM (a service stop) before systemd would kill it, exit 0,
every item recorded."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gui, pytest.mark.slow]

# The unit's TimeoutStopSec (scripts/systemd/returns-station.service): after it systemd kills the
# station, and whatever it held is lost. A limit of the service contract, not a speed target.
STOP_TIMEOUT_S = 60.0

CONFIG = """
[station]
data_dir = "data"
[sync]
broker = ""
"""


def _items_recorded(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0) as conn:
            return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet, or the first migration still running
        return 0


def test_sigterm_closes_the_window_and_stops_the_station_cleanly(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    err = tmp_path / "station.err"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    with err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "station", "--config", str(tmp_path / "config.toml"),
             "run", "--rate", "5"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )
        try:
            db = tmp_path / "data" / "station.db"
            deadline = time.monotonic() + 120
            while _items_recorded(db) < 3 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            assert proc.poll() is None, err.read_text(encoding="utf-8")[-3000:]
            assert _items_recorded(db) >= 3, err.read_text(encoding="utf-8")[-3000:]
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running {STOP_TIMEOUT_S:.0f} s after SIGTERM, where systemd kills it:\n"
                            + err.read_text(encoding="utf-8")[-3000:])
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = err.read_text(encoding="utf-8")
    assert code == 0, text[-3000:]
    assert "closing the window" in text
    assert "leaked" not in text  # nothing of a native library outlives the interpreter
    summary = json.loads(text.rsplit("station stopped: ", 1)[1].splitlines()[0])
    # Every item the station decided is in the record: nothing in hand was dropped at the stop.
    assert summary["unrecorded"] == 0
    assert _items_recorded(db) == summary["items"] >= 3
