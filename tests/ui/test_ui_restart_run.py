"""`station run` on a conveyor, switched to bench from its window with "Restart now": the same process stops
the station (every item it decided recorded), starts it again in bench mode from the saved config file,
and tells systemd a reload (RELOADING, then READY), never a stop in between."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gui, pytest.mark.slow]

DRIVER = Path(__file__).with_name("restart_driver.py")
CONFIG = """[station]
data_dir = "data"
mode = "conveyor"
[sync]
broker = ""
"""


def test_restart_now_starts_the_station_again_in_the_saved_mode(
    tmp_path: Path, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, path = notify_socket
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    db = tmp_path / "data" / "station.db"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NOTIFY_SOCKET": path,
           "PYTHONPATH": str(Path(__file__).parents[2])}
    env.pop("DISPLAY", None)
    received: list[str] = []
    done = threading.Event()

    def read() -> None:  # as systemd does: every datagram as it comes
        sock.settimeout(0.5)
        while not done.is_set():
            try:
                received.append(sock.recv(4096).decode())
            except TimeoutError:
                continue

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            [sys.executable, str(DRIVER), str(db), "bench", "--config", str(config), "run", "--rate", "5"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    finally:
        done.set()
        reader.join()
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The operator at the bench is the same a second later: still signed in, not asked again.
    assert "window 2 mode bench operator op-7\n" in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert "starting again in bench mode" in proc.stderr
    assert 'mode = "bench"' in config.read_text(encoding="utf-8")
    assert list(tmp_path.glob("config.toml.*.bak"))  # the file as it was, kept

    # The first run's summary: nothing it decided is without a record.
    first = json.loads(proc.stderr.split("station stopped: ", 1)[1].splitlines()[0])
    assert first["unrecorded"] == 0 and first["items"] >= 3
    with sqlite3.connect(db) as conn:
        audit = conn.execute("SELECT action, detail FROM audit WHERE action IN ('start', 'set_mode') "
                             "ORDER BY rowid").fetchall()
    assert [(action, json.loads(detail).get("mode")) for action, detail in audit] == [
        ("start", "conveyor"), ("set_mode", "bench"), ("start", "bench")]
    with sqlite3.connect(db) as conn:
        signed = conn.execute("SELECT actor, detail FROM audit WHERE action = 'sign_in' "
                              "ORDER BY rowid").fetchall()
    sessions = [json.loads(detail)["session"] for _, detail in signed]
    assert [actor for actor, _ in signed] == ["op-7", "op-7"] and len(set(sessions)) == 2  # each run's own

    kinds = [message.split("=", 1)[0] for message in received if not message.startswith("WATCHDOG")]
    assert kinds == ["READY", "RELOADING", "READY", "STOPPING"], received
    reloading = next(m for m in received if m.startswith("RELOADING"))
    assert "MONOTONIC_USEC=" in reloading and "STATUS=starting again in bench mode" in reloading
