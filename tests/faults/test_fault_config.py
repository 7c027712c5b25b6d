"""Config that would break the station at run time is refused at load, with file, line, key and fix."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from station import config as config_module
from station.config import Config, ConfigError, load_config

BAD = {
    "slash in the station id": ('[station]\nid = "dock/02"\n', "station.id", 2),
    "plus in the station id": ('[station]\nid = "dock+01"\n', "station.id", 2),
    "empty station id": ('[station]\nid = ""\n', "station.id", 2),
    "hash in the site id": ('[station]\nsite = "site#1"\n', "station.site", 2),
    "negative retries": ("[hardware]\nretries = -1\n", "hardware.retries", 2),
    "zero ack timeout": ("[hardware]\nack_timeout_ms = 0\n", "hardware.ack_timeout_ms", 2),
    "two dispositions on one lane": (
        "[hardware.lanes]\nmanual = 0\nrestock = 1\nrepair = 1\n", "hardware.lanes.repair", 4),
    "negative lane": ("[hardware.lanes]\nmanual = 0\nrestock = -3\n", "hardware.lanes.restock", 3),
    "negative roi": ("[camera]\nroi = [0, -5, 10, 10]\n", "camera.roi", 2),
    "zero status interval": ("[ui]\nlog_status_every_s = 0\n", "ui.log_status_every_s", 2),
    "zero baud rate": ("[hardware]\nbaudrate = 0\n", "hardware.baudrate", 2),
}


@pytest.mark.parametrize("name", list(BAD))
def test_loader_refuses_with_file_line_and_key(tmp_path: Path, name: str) -> None:
    text, key, line = BAD[name]
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert caught.value.key == key
    assert caught.value.line == line
    assert str(path) in str(caught.value)
    assert caught.value.fix


def _keys(cls: type) -> list[tuple[str, object]]:
    """(key, type) of a section's table, keys of flat settings types included."""
    hints = typing.get_type_hints(cls)
    found: list[tuple[str, object]] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        found.extend(_keys(hints[f.name]) if f.metadata.get("flat") else [(f.name, hints[f.name])])
    return found


def test_every_numeric_key_has_a_range() -> None:
    missing = []
    hints = typing.get_type_hints(Config)
    for section in dataclasses.fields(Config):
        if section.name in ("source", "base_dir", "cameras"):
            continue  # [cameras.NAME] tables are [camera] sections: same keys, same ranges
        for name, hint in _keys(hints[section.name]):
            args = typing.get_args(hint)
            numeric = hint in (int, float) or any(a in (int, float) for a in args)
            if numeric and (section.name, name) not in config_module.RANGES:
                missing.append(f"{section.name}.{name}")
    assert missing == []


def test_shipped_config_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    assert load_config(root / "config.toml", env={}).ui.log_status_every_s == 30.0


@pytest.mark.parametrize("text", [
    '[station]\nid = "dock/02"\n',
    "[hardware]\nretries = -1\nack_timeout_ms = 0\n",
    "[hardware.lanes]\nmanual = 0\nrestock = 1\nrepair = 1\n",
])
def test_station_run_refuses_before_starting(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-m", "station", "--config", str(path), "run", "--headless", "--items", "1"],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"station: refusing to start: {path}:")
    assert "Traceback" not in result.stderr
    # Refused before anything was opened: no data folder, no database.
    assert not (tmp_path / "var").exists()
