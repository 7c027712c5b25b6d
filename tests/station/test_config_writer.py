"""Settings written back to config.toml (thresholds from the window or central, the mode): the file keeps
its mode, so a config holding secrets stays readable by its owner alone, and its backups do not pile up
(central may send a change a second)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from station.config_writer import BACKUPS_KEPT, write_policy, write_settings


def test_the_config_keeps_its_mode(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[ui]\nsupervisor_pin = "7391"\n[policy]\ndefect_repair = 0.5\n', encoding="utf-8")
    config.chmod(0o600)
    old = os.umask(0o022)
    try:
        backup = write_policy(config, {"defect_repair": 0.42})
    finally:
        os.umask(old)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert "defect_repair = 0.42" in config.read_text(encoding="utf-8")


def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[station]\nmode = "conveyor"\n', encoding="utf-8")
    for n in range(BACKUPS_KEPT + 5):  # as central's changes come, older backups than these exist
        old = tmp_path / f"config.toml.2026010{n // 10}-0000{n % 10:02d}.bak"
        old.write_text(f"# backup {n}\n", encoding="utf-8")
        os.utime(old, ns=(n * 10**9, n * 10**9))
    newest = write_settings(config, "station", {"mode": "bench"})
    kept = sorted(tmp_path.glob("config.toml.*.bak"))
    assert len(kept) == BACKUPS_KEPT and newest in kept
    assert not (tmp_path / "config.toml.20260100-000000.bak").exists()  # the oldest went first
