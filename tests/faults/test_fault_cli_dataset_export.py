"""`station dataset export` into a folder that already holds files refuses, so old images are
not trained on as part of the new export, unless --into-existing says so."""

from __future__ import annotations

from pathlib import Path

from tests.faults.test_fault_cli_images import station


def test_export_refuses_a_non_empty_folder_unless_asked(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,name,gtins\nSKU-DS-1,Mug,4006381333931\n", encoding="utf-8")
    assert station(tmp_path, "catalog", "import", str(catalog)).returncode == 0
    out = tmp_path / "export"
    old = out / "defect" / "tear" / "old-item.png"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"an image from an earlier export")
    refused = station(tmp_path, "dataset", "export", "--out", str(out))
    assert refused.returncode == 1
    assert f"{out} is not empty" in refused.stderr and "--into-existing" in refused.stderr
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["old-item.png"]
    added = station(tmp_path, "dataset", "export", "--out", str(out), "--into-existing")
    assert added.returncode == 0, added.stderr
    assert old.read_bytes() == b"an image from an earlier export"
    assert (out / "export.json").is_file()
    fresh = station(tmp_path, "dataset", "export", "--out", str(tmp_path / "new"))
    assert fresh.returncode == 0, fresh.stderr
