"""Link settings: their own cross-key checks, and [hardware] of the config file holding them."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardware.link import SIM_PORT, LinkSettings, LinkSettingsError
from station.config import ConfigError, load_config


@pytest.mark.parametrize(("changes", "key"), [
    ({"heartbeat_ms": 500, "silence_ms": 500}, "silence_ms"),
    ({"reconnect_backoff_s": 20.0, "reconnect_backoff_max_s": 10.0}, "reconnect_backoff_s"),
])
def test_contradicting_settings_name_the_key_to_change(changes: dict[str, float], key: str) -> None:
    with pytest.raises(LinkSettingsError) as info:
        LinkSettings(**changes)  # type: ignore[arg-type]
    assert info.value.key == key and key in str(info.value)


def test_hardware_section_keys_fill_the_link_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[hardware]\nport = "/dev/ttyUSB3"\nheartbeat_ms = 100\nconfirm_timeout_s = 5.0\n',
                    encoding="utf-8")
    hardware = load_config(path, env={}).hardware
    assert hardware.link == LinkSettings(port="/dev/ttyUSB3", heartbeat_ms=100)
    assert hardware.confirm_timeout_s == 5.0
    assert load_config(None, env={}).hardware.link.port == SIM_PORT  # the demo line by default


def test_a_contradiction_in_the_file_is_reported_on_the_line_of_its_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[hardware]\nheartbeat_ms = 500\nretries = 2\nsilence_ms = 400\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key == "hardware.silence_ms" and info.value.line == 4
    assert "must be above heartbeat_ms" in str(info.value)
