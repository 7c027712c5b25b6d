"""The station itself on a simulated PLC over Modbus TCP: `[hardware] controller = "modbus"`
builds the Modbus link, and each item's confirmed lane reaches its verdict as a revision."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def test_a_headless_station_on_a_modbus_plc_records_each_items_lane(tmp_path: Path) -> None:
    data = tmp_path / "var"
    config = tmp_path / "config.toml"
    config.write_text(f'[station]\ndata_dir = "{data}"\n[sync]\nbroker = ""\n'
                      '[hardware]\ncontroller = "modbus"\n'
                      '[hardware.modbus]\ntransport = "tcp"\nport = "sim"\n',
                      encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "station", "--config", str(config), "run", "--headless", "--items", "6"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert "simulated PLC (Modbus TCP" in run.stderr
    lines = (run.stdout + run.stderr).splitlines()
    stopped = next(line for line in lines if line.startswith("station stopped: "))
    summary = json.loads(stopped.removeprefix("station stopped: "))
    assert summary["misrouted"] == 0 and summary["lost"] == 0 and summary["confirmed"] > 0
    conn = sqlite3.connect(data / "station.db")
    routings = [json.loads(payload)["routing"] for (payload,) in
                conn.execute("SELECT payload FROM verdicts WHERE revision > 1")]
    conn.close()
    confirmed = [r for r in routings if r.get("lane_confirmed") is not None]
    assert confirmed
    commanded = [r for r in confirmed if r["lane_commanded"] is not None]
    assert commanded
    assert all(r["lane_confirmed"] == r["lane_commanded"] for r in commanded)
