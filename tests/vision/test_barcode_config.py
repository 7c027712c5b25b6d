"""The [barcode] settings refuse what the reader cannot do, saying where and what to use instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.config import BarcodeConfig, ConfigError, load_config
from vision.barcode import BARCODE_FORMATS


def test_defaults_list_every_format_the_reader_knows() -> None:
    assert BarcodeConfig().formats == BARCODE_FORMATS


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ('formats = ["EAN13", "Aztec"]', "Aztec", 4),
        ('engines = ["quagga"]', "zxing", 4),
        ("engines = []", "zxing", 4),
        # a number out of its range is caught by the key's own range: its own line
        ("slow_path_budget_ms = -1.0", "slow_path_budget_ms", 5),
    ],
)
def test_bad_barcode_settings_name_the_file_and_section(tmp_path: Path, body: str, message: str,
                                                        line: int) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[station]\nid = \"dock-09\"\n\n[barcode]\n{body}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert str(path) in text and "barcode" in text and message in text
    assert err.value.line == line
