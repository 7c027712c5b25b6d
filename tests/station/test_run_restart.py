"""`station run` after "Restart now": the config file is read again and the station runs in the saved mode;
a run in the new mode that cannot start gives way to the mode that ran, with the file written back and a
health line saying so, so the operator's window comes back either way."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from station.commands import run as run_command
from station.config import Config, load_config
from station.ui.settings import EXIT_RESTART

CONFIG = '# door 4\n[station]\ndata_dir = "data"\nmode = "conveyor"\n[sync]\nbroker = ""\n'


def _runs(monkeypatch: pytest.MonkeyPatch, codes: list[int]) -> list[tuple[str, str | None]]:
    """Each run's mode and notice; the runs end with `codes` in turn (the first as the operator switches)."""
    seen: list[tuple[str, str | None]] = []

    def one_run(_args: argparse.Namespace, config: Config, carried: Any = None) -> int:
        seen.append((config.station.mode, carried.notice))
        if len(seen) == 1:  # the window saved the other mode, as OperatorActions.set_mode does
            from station.config_writer import write_settings

            write_settings(Path(config.source), "station", {"mode": "bench"})
        return codes[len(seen) - 1]

    monkeypatch.setattr(run_command, "_run_once", one_run)
    return seen


def test_the_station_starts_again_in_the_saved_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    seen = _runs(monkeypatch, [EXIT_RESTART, 0])
    assert run_command.run(argparse.Namespace(), load_config(config, env={})) == 0
    assert seen == [("conveyor", None), ("bench", None)]
    assert "starting again in bench mode" in capsys.readouterr().err


def test_a_mode_that_cannot_start_gives_way_to_the_mode_that_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    seen = _runs(monkeypatch, [EXIT_RESTART, 2, 0])
    assert run_command.run(argparse.Namespace(), load_config(config, env={})) == 0
    assert [mode for mode, _ in seen] == ["conveyor", "bench", "conveyor"]
    notice = seen[2][1]
    assert notice is not None and "could not start in bench mode" in notice
    assert load_config(config, env={}).station.mode == "conveyor"  # the file says what runs
    assert config.read_text(encoding="utf-8").startswith("# door 4\n")
    assert "running in conveyor mode as before" in capsys.readouterr().err


def test_when_the_mode_that_ran_cannot_start_either_the_run_ends_with_its_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    seen = _runs(monkeypatch, [EXIT_RESTART, 2, 3])
    assert run_command.run(argparse.Namespace(), load_config(config, env={})) == 3
    assert len(seen) == 3  # no loop: one way back only


def test_a_config_file_broken_since_the_start_ends_the_run_with_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")

    def one_run(_args: argparse.Namespace, _config: Config, carried: Any = None) -> int:
        config.write_text("[station\n", encoding="utf-8")  # someone's edit, half-way
        return EXIT_RESTART

    monkeypatch.setattr(run_command, "_run_once", one_run)
    assert run_command.run(argparse.Namespace(), load_config(config, env={})) == 2
    assert "cannot start again" in capsys.readouterr().err


@pytest.mark.slow
def test_a_station_started_again_shows_the_items_it_decided_before(tmp_path: Path) -> None:
    """After a restart the window's list and card are the record's last items, the newest on the card,
    with their stored pictures (the card loads them) and their products' catalogue pictures."""
    from station.app import RunOptions, Station
    from station.store import StoreReader

    config = tmp_path / "config.toml"
    config.write_text(f'[station]\ndata_dir = "{tmp_path / "var"}"\n[sync]\nbroker = ""\n'
                      "[ui]\nrecent_items = 10\n", encoding="utf-8")
    loaded = load_config(config, env={})
    first = Station(loaded, RunOptions(items=12, sim_rate_items_s=10))
    assert first.state.recent() == []  # a new data folder: nothing to show
    first.start()
    try:
        assert first.wait_items(12, timeout_s=120), first.stats()
    finally:
        first.stop()
    with StoreReader(loaded.in_data_dir(loaded.storage.db_path)) as reader:
        newest = [verdict.verdict_id for verdict in reader.recent(10)]

    again = Station(loaded, RunOptions())
    try:
        shown = again.state.recent()
        assert [view.verdict.verdict_id for view in reversed(shown)] == newest
        assert again.state.current is not None and again.state.current.verdict.verdict_id == newest[0]
        assert all(view.frame is None and view.verdict.inspection.images for view in shown)
        assert all(view.reference_image for view in shown if view.verdict.item.expected_sku)
    finally:
        again.stop()
