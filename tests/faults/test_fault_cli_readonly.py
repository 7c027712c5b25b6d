"""A data folder on a read-only mount: commands that read still work, commands that write
say which folder and what to do, in one line, never with a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.faults.conftest import mounted_read_only
from tests.faults.test_fault_cli_images import station


@pytest.fixture
def readonly_data(tmp_path: Path) -> Iterator[Path]:
    """A real station database made in a writable folder, then bind-mounted read-only."""
    made = tmp_path / "made"
    writable = tmp_path / "writable.toml"
    writable.write_text(f'[station]\ndata_dir = "{made}"\n', encoding="utf-8")
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,name,gtins\nSKU-RO-1,Read-only mug,4006381333931\n", encoding="utf-8")
    (tmp_path / "w").mkdir()
    done = station(tmp_path / "w", "--config", str(writable), "catalog", "import", str(catalog))
    assert done.returncode == 0, done.stderr
    mounted = tmp_path / "mnt"
    mounted.mkdir()
    with mounted_read_only(made, mounted):
        (tmp_path / "config.toml").write_text(f'[station]\ndata_dir = "{mounted}"\n', encoding="utf-8")
        yield mounted


def test_reading_commands_work_on_a_read_only_data_folder(tmp_path: Path, readonly_data: Path) -> None:
    shown = station(tmp_path, "catalog", "show", "--json", "SKU-RO-1")
    assert shown.returncode == 0, shown.stderr
    assert '"name": "Read-only mug"' in shown.stdout
    report = station(tmp_path, "report", "--json")
    assert report.returncode == 0, report.stderr
    assert "Traceback" not in shown.stderr + report.stderr


@pytest.mark.parametrize("command", [
    ["run", "--headless", "--items", "1"],
    ["purge", "--rma", "R-1"],
    ["inspect", "--json", "photo.png"],
    ["catalog", "import", "catalog.csv"],
])
def test_writing_commands_name_the_read_only_folder(
    tmp_path: Path, readonly_data: Path, command: list[str]
) -> None:
    cv2.imwrite(str(tmp_path / "photo.png"), np.zeros((64, 64, 3), np.uint8))
    done = station(tmp_path, *(str(tmp_path / a) if a.endswith((".png", ".csv")) else a for a in command))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"data folder {readonly_data} is not writable" in done.stderr
    assert "read-only file system" in done.stderr and "[station] data_dir" in done.stderr
