"""The core commands end to end on a real data directory: catalog / manifest import (all or
nothing, errors naming row and column), purge, report (table, JSON, PNG), dataset export."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from station.cli import main
from station.config import load_config
from station.store import FrameImage, Store, StoreReader
from station.verdict import Disposition, Verdict


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[station]\ndata_dir = "data"\n', encoding="utf-8")
    return path


def station(config_file: Path, *args: str) -> int:
    return main(["--config", str(config_file), *args])


def open_store(config_file: Path) -> Store:
    return Store.from_config(load_config(config_file, env={}))


def test_catalog_import_all_or_nothing_with_row_and_column(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "cat.csv"
    good.write_text("sku,name,gtins,width_mm,height_mm,depth_mm\n"
                    "SKU-A,Kettle,4006381333931,150,200,100\n"
                    "SKU-B,Toaster,5012345678900;0012345678905,,,\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,gtins\nSKU-C,Mixer,4006381333931x\nSKU-D,Lamp,4006381333932\n", encoding="utf-8")
    assert station(config_file, "catalog", "import", str(bad)) == 1
    err = capsys.readouterr().err
    assert "bad.csv, row 2, column gtins" in err and "Nothing was imported" in err
    assert station(config_file, "catalog", "import", "--json", str(good)) == 0
    assert json.loads(capsys.readouterr().out) == {"file": str(good), "skus": 2, "gtins": 3}
    # A file whose LAST row is bad leaves the catalog exactly as it was.
    half = tmp_path / "half.json"
    half.write_text(json.dumps([{"sku": "SKU-E", "gtins": ["4006381333931"]},
                                {"sku": "SKU-F", "gtins": ["12"]}]), encoding="utf-8")
    assert station(config_file, "catalog", "import", str(half)) == 1
    assert "half.json, row 2, column gtins" in capsys.readouterr().err
    store = open_store(config_file)
    assert store.sku_for_gtin("04006381333931") == "SKU-A"
    assert store.catalog_entry("SKU-E") is None
    entry = store.catalog_entry("SKU-A")
    assert entry is not None and entry.dimensions_mm == (200.0, 150.0, 100.0)
    store.close()
    assert station(config_file, "catalog", "show", "--json", "4006381333931") == 0
    assert json.loads(capsys.readouterr().out)["sku"] == "SKU-A"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("rma,expected_sku\nR-1,SKU-A\nR-1,SKU-B\n", "row 3, column rma"),
        ("rma,expected_sku,declared_reason\nR-1,SKU-A,broken\n", "row 2, column declared_reason"),
        ("rma,expected_sku\nR-1,\n", "row 2, column expected_sku"),
        ("rma,expected_sku,colour\nR-1,SKU-A,red\n", "row 2, column colour"),
    ],
)
def test_manifest_import_errors_name_row_and_column(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, where: str
) -> None:
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    assert station(config_file, "manifest", "import", str(path)) == 1
    assert where in capsys.readouterr().err
    store = open_store(config_file)
    assert store.rma("R-1") is None
    store.close()


def seed(config_file: Path, make_verdict: Callable[..., Verdict]) -> dict[str, Verdict]:
    """Items over two hours: restocks, a confirmed repair, overrides, a no-read, a late and a lost one."""
    store = open_store(config_file)
    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    t0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    v: dict[str, Verdict] = {}
    specs: dict[str, dict[str, object]] = {
        "clean": {"confidence": 0.95, "total_ms": 10.0},
        "repair": {"disposition": Disposition.REPAIR, "score": 0.7, "label": "scratch", "confidence": 0.8,
                   "total_ms": 20.0},
        "unsure": {"confidence": 0.55, "total_ms": 30.0},
        "missed": {"confidence": 0.9, "total_ms": 40.0, "late": True},
        "noread": {"codes": (), "rma": None, "disposition": Disposition.MANUAL_REVIEW, "confidence": 0.0,
                   "total_ms": 50.0, "lost": True},
    }
    for i, (name, spec) in enumerate(specs.items()):
        verdict = make_verdict(i, created=t0 + timedelta(minutes=20 * i), **spec)
        v[name] = store.record_verdict(verdict, [FrameImage("top", image)])
    store.confirm(v["clean"].verdict_id, "op-1")
    store.confirm(v["repair"].verdict_id, "op-1")
    store.record_override(v["unsure"].verdict_id, Disposition.RESTOCK, "op-2", "looked fine to me")
    store.record_override(v["missed"].verdict_id, Disposition.RECYCLE, "op-2", "cracked housing")
    store.close()
    return v


def test_report_table_json_and_png(config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   make_verdict: Callable[..., Verdict]) -> None:
    seed(config_file, make_verdict)
    png = tmp_path / "kpi.png"
    assert station(config_file, "report", "--json", "--png", str(png)) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["items"] == 5
    assert data["dispositions"] == {"restock": 2, "repair": 1, "recycle": 1, "manual_review": 1,
                                    "quarantine": 0}
    assert data["no_read_rate"] == 0.2 and data["override_rate"] == 0.4
    assert data["late_rate"] == 0.2 and data["lost_rate"] == 0.2
    assert data["latency_p50_ms"] == 30.0 and data["latency_p95_ms"] == 48.0
    assert data["items_per_hour"] == 2.5  # 5 items in 2 clock hours of work
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert station(config_file, "report") == 0
    table = capsys.readouterr().out
    assert "override rate" in table and "40.0 %" in table and "latency p95" in table
    assert station(config_file, "report", "--since", "yesterday") == 2


def test_dataset_export_layout_and_uncertain_first(config_file: Path, tmp_path: Path,
                                                   make_verdict: Callable[..., Verdict],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    v = seed(config_file, make_verdict)
    out = tmp_path / "export"
    assert station(config_file, "dataset", "export", "--out", str(out), "--json") == 0
    result = json.loads(capsys.readouterr().out)
    # Confirmed (clean, repair) and overridden (unsure, missed) — not the unconfirmed no-read.
    assert result["items"] == 4 and result["not_settled"] == 1
    assert result["defect_classes"] == {"good": 2, "scratch": 1, "defect": 1}
    with (out / "export.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    order = list(dict.fromkeys(r["verdict_id"] for r in rows))
    # Overrides first (least confident first among them), then confirmed by rising confidence.
    assert order == [v["unsure"].verdict_id, v["missed"].verdict_id, v["repair"].verdict_id,
                     v["clean"].verdict_id]
    assert sorted(p.name for p in (out / "defect").iterdir()) == ["defect", "good", "scratch"]
    assert len(list((out / "conformity" / "SKU-A").glob("*.jpg"))) == 4
    # The table says why the no-read is not in it, and what would put such items in.
    assert station(config_file, "dataset", "export", "--out", str(tmp_path / "again")) == 0
    assert ("left out: 1 item no operator confirmed or overrode (only an operator's word is a label "
            "to train on: confirm or override items at the bench)") in capsys.readouterr().out
    first = sorted((out / "defect" / "good").glob("*.jpg"))[0]
    assert first.name.startswith("00001_") and first.stat().st_size > 0
    # The operator's override wins: "missed" was restock for the model, recycle for the operator.
    assert any(r["verdict_id"] == v["missed"].verdict_id and r["label"] == "defect" for r in rows)


def test_purge_command_erases_and_audits(config_file: Path, make_verdict: Callable[..., Verdict],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    v = seed(config_file, make_verdict)
    assert station(config_file, "purge", "--rma", "R-1042", "--actor", "dpo", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["items"] == 4 and result["frames_deleted"] == 4
    config = load_config(config_file, env={})
    with StoreReader(config.in_data_dir(Path("station.db")), config.in_data_dir(Path("images"))) as reader:
        assert reader.frame_paths(v["clean"].verdict_id) == []
        assert len(reader.frame_paths(v["noread"].verdict_id)) == 1  # no RMA: not this customer
        assert reader.audit_log(action="purge")[0].actor == "dpo"


def test_purge_expired_applies_retention(config_file: Path, make_verdict: Callable[..., Verdict],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    seed(config_file, make_verdict)
    assert station(config_file, "purge", "--expired", "--json") == 0
    assert json.loads(capsys.readouterr().out)["expired_frames"] == 0  # everything is recent
    # A site that keeps no images at all: the next run deletes every frame.
    config_file.write_text('[station]\ndata_dir = "data"\n[storage]\nimage_retention_days = 0\n',
                           encoding="utf-8")
    assert station(config_file, "purge", "--expired", "--json") == 0
    assert json.loads(capsys.readouterr().out)["expired_frames"] == 5
    assert list((config_file.parent / "data" / "images").rglob("*.jpg")) == []
    with pytest.raises(SystemExit) as refused:
        station(config_file, "purge")  # neither --rma nor --expired
    assert refused.value.code == 2
    assert "--rma" in capsys.readouterr().err
    with pytest.raises(SystemExit) as empty:
        station(config_file, "purge", "--rma", "  ")  # an RMA pasted as blanks: refused, nothing audited
    assert empty.value.code == 2
    assert "the RMA is empty: give the RMA number" in capsys.readouterr().err
    config = load_config(config_file, env={})
    with StoreReader(config.in_data_dir(Path("station.db"))) as reader:
        assert reader.audit_log(action="purge") == []


def test_catalog_json_with_embeddings(config_file: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cat.json"
    path.write_text(json.dumps([{"sku": "SKU-A", "name": "Kettle", "gtins": ["4006381333931"],
                                 "embeddings": [[0.1, 0.2], [0.3, 0.4, 0.5]]}]), encoding="utf-8")
    assert station(config_file, "catalog", "import", str(path)) == 1
    assert "row 1, column embeddings: vectors of different lengths [2, 3]" in capsys.readouterr().err
    path.write_text(json.dumps([{"sku": "SKU-A", "name": "Kettle", "gtins": ["4006381333931"],
                                 "embeddings": [[0.1, 0.2], [0.3, 0.4]]}]), encoding="utf-8")
    assert station(config_file, "catalog", "import", str(path)) == 0
    store = open_store(config_file)
    assert np.allclose(store.reference_embeddings()["SKU-A"], [[0.1, 0.2], [0.3, 0.4]])
    store.close()


def test_manifest_csv_with_a_quoted_address_on_two_lines(config_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('rma,expected_sku,declared_reason,customer_name,customer_address\n'
                    'R-1,SKU-A,Unopened,"Lovelace, Ada","12 Analytical Row\nLondon"\n'
                    'R-2,SKU-B,,,\n', encoding="utf-8")
    assert station(config_file, "manifest", "import", str(path)) == 0
    store = open_store(config_file)
    entry = store.manifest_entry("R-1")
    assert entry is not None and entry.customer_address == "12 Analytical Row\nLondon"
    assert entry.customer_name == "Lovelace, Ada" and entry.declared_reason is not None
    assert store.rma("R-2") is not None
    store.close()


def test_report_in_french_text_and_png(config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       make_verdict: Callable[..., Verdict]) -> None:
    seed(config_file, make_verdict)
    png = tmp_path / "rapport.png"
    assert station(config_file, "report", "--lang", "fr", "--png", str(png)) == 0
    table = capsys.readouterr().out
    for words in ("période", "articles / heure", "2,5", "Remise en stock", "Contrôle manuel", "Quarantaine",
                  "taux de corrections", "40,0 %", "délai p95", "graphique enregistré dans"):
        assert words in table, words
    assert "manual_review" not in table and "override rate" not in table
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The config's language is the default; --lang wins over it.
    french = tmp_path / "fr.toml"
    french.write_text(config_file.read_text(encoding="utf-8") + '[ui]\nlanguage = "fr"\n', encoding="utf-8")
    assert station(french, "report") == 0
    assert "taux de corrections" in capsys.readouterr().out
    assert station(french, "report", "--lang", "en") == 0
    assert "override rate" in capsys.readouterr().out


def test_report_chart_speaks_french_in_the_windows_colours_with_legends_beside_the_bars(
    make_verdict: Callable[..., Verdict],
) -> None:
    import matplotlib.colors
    import matplotlib.pyplot as plt

    from station.kpi import compute_kpis, kpi_figure
    from station.palette import SERIES_COLOURS, disposition_colour

    t0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    verdicts = [make_verdict(i, created=t0 + timedelta(minutes=7 * i), disposition=d, total_ms=10.0 + i)
                for i, d in enumerate([*Disposition, *Disposition])]
    fig = kpi_figure(compute_kpis(verdicts), "fr")
    try:
        fig.canvas.draw()
        top, bottom = fig.axes
        assert top.get_title().startswith("10 articles, 5,0 par heure travaillée — non lus")
        assert top.get_ylabel() == "articles par heure" and bottom.get_xlabel() == "heure (UTC)"
        labels = [t.get_text() for t in top.get_legend().get_texts()]
        assert labels == ["Remise en stock", "Réparation", "Recyclage", "Contrôle manuel", "Quarantaine"]
        assert [t.get_text() for t in bottom.get_legend().get_texts()] == ["médiane (p50)",
                                                                          "5 % les plus lents (p95)"]
        assert [line.get_color() for line in bottom.get_lines()] == list(SERIES_COLOURS[:2])
        colours = {disposition_colour(d.value) for d in Disposition}
        assert {matplotlib.colors.to_hex(bar.get_facecolor()) for bar in top.patches} <= colours
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        for axes in (top, bottom):
            legend_box = axes.get_legend().get_window_extent(renderer)
            assert not legend_box.overlaps(axes.get_window_extent(renderer)), "the legend covers the plot"
    finally:
        plt.close(fig)


@pytest.mark.parametrize("size", ["12x5", "1920", "wide x tall", "1920x-1080"])
def test_run_refuses_a_window_size_it_cannot_use_and_says_how_to_write_one(
    size: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--size", size])
    assert exited.value.code == 2
    assert "write WIDTHxHEIGHT, e.g. 1920x1080" in capsys.readouterr().err
