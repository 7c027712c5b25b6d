"""`station purge --rma R` for an RMA the station never saw says so and exits non-zero,
so a mistyped RMA is not taken for an erased customer."""

from __future__ import annotations

import json
from pathlib import Path

from tests.faults.test_fault_cli_images import station


def test_purge_of_an_unknown_rma_is_an_error(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("rma,expected_sku,declared_reason\nR-1042,SKU-1,damaged\n", encoding="utf-8")
    imported = station(tmp_path, "manifest", "import", str(manifest))
    assert imported.returncode == 0, imported.stderr
    typo = station(tmp_path, "purge", "--rma", "R-1024")
    assert typo.returncode == 1
    assert "no such RMA 'R-1024'" in typo.stderr and "check the RMA" in typo.stderr
    as_json = station(tmp_path, "purge", "--json", "--rma", "R-1024")
    assert as_json.returncode == 1
    assert "no such RMA" in json.loads(as_json.stdout)["error"]
    known = station(tmp_path, "purge", "--json", "--rma", "R-1042")
    assert known.returncode == 0, known.stderr
    assert json.loads(known.stdout)["manifest_erased"] is True
