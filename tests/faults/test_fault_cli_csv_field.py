"""A CSV with a 5 MB field (an unclosed quote, a pasted blob) gives one error naming the file
and line, and nothing is imported, for the catalog and the manifest alike."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.faults.test_fault_cli_images import station


@pytest.mark.parametrize(("kind", "header", "good_row"), [
    ("catalog", "sku,name,gtins", "SKU-CSV-1,Mug,4006381333931"),
    ("manifest", "rma,expected_sku,declared_reason", "R-CSV-1,SKU-CSV-1,damaged"),
])
def test_huge_csv_field_is_a_clear_error_and_nothing_is_imported(
    tmp_path: Path, kind: str, header: str, good_row: str
) -> None:
    path = tmp_path / f"{kind}.csv"
    columns = header.count(",")
    huge_row = '"' + "x" * (5 * 1024 * 1024) + '"' + "," * columns
    path.write_text(f"{header}\n{good_row}\n{huge_row}\n", encoding="utf-8")
    done = station(tmp_path, kind, "import", str(path))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "_csv.Error" not in done.stderr
    assert f"{path}, row 3" in done.stderr and "longer than" in done.stderr
    assert "Nothing was imported" in done.stderr
    db = tmp_path / "var" / "station.db"
    if db.exists():
        table = "catalog" if kind == "catalog" else "manifest"
        with sqlite3.connect(db) as conn:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
