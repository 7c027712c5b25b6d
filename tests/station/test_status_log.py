"""`station run --headless` writing to a log (stderr not a terminal): plain status lines, one per interval."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

CONFIG = """
[station]
data_dir = "data"
[sync]
broker = ""
[ui]
log_status_every_s = 0.5
"""


def test_status_in_a_log_is_one_plain_line_per_interval(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    log = tmp_path / "station.err"
    started = time.monotonic()
    with log.open("wb") as stderr:
        result = subprocess.run(
            [sys.executable, "-m", "station", "--config", str(config), "run", "--headless",
             "--items", "50", "--rate", "20"],
            cwd=tmp_path, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
            check=False, stdout=subprocess.DEVNULL, stderr=stderr, timeout=120,
        )
    elapsed = time.monotonic() - started
    raw = log.read_bytes()
    text = raw.decode("utf-8")
    assert result.returncode == 0, text[-3000:]
    assert b"\r" not in raw  # read as bytes: text mode would turn a \r into a line break
    status = [line for line in text.splitlines() if " status: items " in line]
    # A plain line every 0.5 s while 50 items pass at 20/s: several, never one per loop turn.
    assert len(status) >= 2, text[-3000:]
    assert len(status) <= elapsed / 0.5 + 1
    assert all(line.count("items") == 1 and len(line) < 400 for line in status)
    assert "station stopped:" in text.splitlines()[-1]
