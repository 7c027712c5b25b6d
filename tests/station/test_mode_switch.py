"""The window's "Switch mode" saves `[station] mode` for the next start: the conveyor link or the bench's
scanner port and motion trigger are opened when the station starts, so a switch that only changed the
top line left the conveyor feeding items under a "bench mode" heading, and was gone at the next start."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.actions import ActionError, OperatorActions
from station.config import UiConfig, load_config
from station.state import StationState
from station.store import Store


def _actions(store: Store, config_file: Path | None, language: str = "en") -> OperatorActions:
    return OperatorActions(StationState(), store, None, None,  # type: ignore[arg-type]  # no item here
                           UiConfig(language=language), session="s", config_file=config_file,
                           on_revision=lambda: None)


def test_the_mode_is_saved_for_the_next_start_with_a_backup(tmp_path: Path, store: Store) -> None:
    config = tmp_path / "config.toml"
    text = '# the dock at door 4\n[station]\nid = "dock-04"  # its name at central\nmode = "conveyor"\n'
    config.write_text(text, encoding="utf-8")
    actions = _actions(store, config)
    actions.set_mode("bench")
    assert load_config(config, env={}).station.mode == "bench"
    saved = config.read_text(encoding="utf-8")
    assert "# the dock at door 4" in saved and "# its name at central" in saved  # comments kept
    backups = list(tmp_path.glob("config.toml.*.bak"))
    assert [b.read_text(encoding="utf-8") for b in backups] == [text]
    assert actions.state.mode == "conveyor"  # this run goes on as it started
    audit = store.conn.execute("SELECT action, detail FROM audit WHERE action = 'set_mode'").fetchall()
    assert len(audit) == 1 and '"bench"' in audit[0][1]


@pytest.mark.parametrize(("language", "words"), [("en", "built-in settings"), ("fr", "réglages intégrés")])
def test_on_the_built_in_settings_the_switch_says_where_to_set_the_mode(
    store: Store, language: str, words: str,
) -> None:
    with pytest.raises(ActionError) as refused:
        _actions(store, None, language).set_mode("bench")
    assert words in str(refused.value) and '[station] mode = "bench"' in str(refused.value)
