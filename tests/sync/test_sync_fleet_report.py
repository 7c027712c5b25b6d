"""`station central report` on a known data set: the figures per station and per site, from
SQLite and from PostgreSQL alike, counting the latest revision of each verdict."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.central_store import StoredVerdict, open_verdict_store
from sync.fleet_report import fleet_report, fleet_table
from sync.loadgen import make_verdict


def _verdict(site: str, station: str, seq: int, decided_at: str, *, disposition: str = "restock",
             revision: int = 1, verdict_id: str | None = None, no_read: bool = False,
             flags: tuple[str, ...] = (), operator: bool = False,
             model: str = "2026.11.24") -> dict[str, Any]:
    v = make_verdict(station, site, "s-1", seq, random.Random(seq))
    v["verdict_id"] = verdict_id or f"00000000-0000-7000-8000-{site[-2:]}{station[-2:]}{seq:08d}"
    v["revision"] = revision
    v["decided_at"] = v["created_at"] = decided_at
    v["decision"].update(disposition=disposition, flags=list(flags),
                         source="operator" if operator else "auto",
                         operator_id="op-7" if operator else None,
                         override_reason="box crushed" if operator else None)
    if no_read:
        v["item"]["codes"] = []
    v["models"] = [{"name": "defect", "version": model, "sha256": "cd" * 32}]
    return v


def _data_set() -> list[dict[str, Any]]:
    overridden = "00000000-0000-7000-8000-000000000042"
    return [
        # site-01/dock-01: four items over two clock hours; one overridden (two revisions), one
        # no-read, one flagged for fraud review, one decided by a newer model.
        _verdict("site-01", "dock-01", 1, "2026-12-01T08:05:00.000Z"),
        _verdict("site-01", "dock-01", 2, "2026-12-01T08:10:00.000Z", no_read=True,
                 disposition="manual_review"),
        _verdict("site-01", "dock-01", 3, "2026-12-01T08:20:00.000Z", verdict_id=overridden),
        _verdict("site-01", "dock-01", 3, "2026-12-01T08:25:00.000Z", verdict_id=overridden, revision=2,
                 disposition="recycle", operator=True),
        _verdict("site-01", "dock-01", 4, "2026-12-01T09:01:00.000Z", flags=("fraud_review",),
                 disposition="quarantine", model="2026.12.01"),
        # site-01/dock-02: two items in one hour
        _verdict("site-01", "dock-02", 1, "2026-12-01T08:30:00.000Z", disposition="repair"),
        _verdict("site-01", "dock-02", 2, "2026-12-01T08:40:00.000Z", disposition="repair"),
        # site-02/dock-03: one item, two days earlier (outside --since 2026-12-01)
        _verdict("site-02", "dock-03", 1, "2026-11-29T10:00:00.000Z"),
    ]


def _fill(db: Path | str) -> None:
    store = open_verdict_store(db)
    try:
        store.store([StoredVerdict.from_json(v, json.dumps(v), 1.0) for v in _data_set()], [])
    finally:
        store.close()


def _check(db: Path | str) -> None:
    report = fleet_report(db, datetime(2026, 12, 1, tzinfo=UTC))
    stations = {(f.site_id, f.station_id): f for f in report.stations}
    assert set(stations) == {("site-01", "dock-01"), ("site-01", "dock-02")}
    d1 = stations["site-01", "dock-01"]
    assert (d1.items, d1.hours_worked, d1.items_per_hour) == (4, 2, 2.0)
    assert d1.dispositions == {"restock": 1, "repair": 0, "recycle": 1, "manual_review": 1, "quarantine": 1}
    assert (d1.no_read, d1.overridden, d1.fraud_flagged) == (1, 1, 1)
    assert d1.flags == {"fraud_review": 1}
    assert d1.models == {"defect 2026.11.24": 3, "defect 2026.12.01": 1}
    assert (d1.first, d1.last) == ("2026-12-01T08:05:00.000Z", "2026-12-01T09:01:00.000Z")
    d2 = stations["site-01", "dock-02"]
    assert (d2.items, d2.items_per_hour, d2.dispositions["repair"]) == (2, 2.0, 2)
    assert (d2.overridden, d2.flags) == (0, {})
    (site,) = report.sites
    assert (site.site_id, site.station_id, site.items, site.hours_worked) == ("site-01", None, 6, 2)
    assert site.items_per_hour == 3.0
    assert site.dispositions == {"restock": 1, "repair": 2, "recycle": 1, "manual_review": 1, "quarantine": 1}
    assert site.to_json()["override_rate"] == round(1 / 6, 4)
    assert site.models == {"defect 2026.11.24": 5, "defect 2026.12.01": 1}

    everything = fleet_report(db)
    assert {(s.site_id, s.items) for s in everything.sites} == {("site-01", 6), ("site-02", 1)}


def test_report_from_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "central.db"
    _fill(db)
    _check(db)
    table = fleet_table(fleet_report(db, datetime(2026, 12, 1, tzinfo=UTC)))
    assert [line.split()[:3] for line in table.splitlines() if "(site total)" in line] == [
        ["site-01", "(site", "total)"]]
    assert "site-01/dock-01: defect 2026.11.24 ×3, defect 2026.12.01 ×1" in table
    assert "site-01/dock-01: fraud_review ×1" in table


def test_report_from_postgres_matches_sqlite(tmp_path: Path, postgres_url: str) -> None:
    _fill(postgres_url)
    _check(postgres_url)
    sqlite_db = tmp_path / "central.db"
    _fill(sqlite_db)
    assert fleet_report(postgres_url).to_json() == fleet_report(sqlite_db).to_json()


def test_report_command(tmp_path: Path) -> None:
    db = tmp_path / "central.db"
    _fill(db)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "station", "central", "report", "--db", str(db), *args],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)

    done = run("--since", "2026-12-01", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [(s["site_id"], s["items"], s["items_per_hour"]) for s in data["sites"]] == [("site-01", 6, 3.0)]
    assert [s["station_id"] for s in data["stations"]] == ["dock-01", "dock-02"]
    table = run("--since", "2026-12-01")
    assert table.returncode == 0 and "dock-01" in table.stdout and "(site total)" in table.stdout
    assert run("--since", "yesterday").returncode == 2
    missing = subprocess.run([sys.executable, "-m", "station", "central", "report", "--db",
                              str(tmp_path / "nope.db")], cwd=tmp_path, capture_output=True, text=True,
                             timeout=120, check=False)
    assert missing.returncode == 1 and "nope.db" in missing.stdout
