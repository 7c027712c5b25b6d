"""KPI arithmetic on verdicts: rates, percentiles, the per-hour buckets of the chart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from station.kpi import KpiRecord, compute_kpis, kpi_table, parse_since, percentile
from station.store import Store, StoreReader
from station.store.queries import RecordQueries
from station.verdict import Disposition, Verdict
from tests.benchmark_scripts import load_benchmark


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 95) == 48.0


def test_rates_and_hour_buckets(make_verdict: Callable[..., Verdict]) -> None:
    t0 = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    verdicts = [
        make_verdict(0, created=t0, total_ms=10.0),
        make_verdict(1, created=t0 + timedelta(minutes=20), total_ms=30.0, late=True),
        make_verdict(2, created=t0 + timedelta(minutes=40), codes=(), rma=None,
                     disposition=Disposition.MANUAL_REVIEW, confidence=0.0, total_ms=20.0),
        make_verdict(3, created=t0 + timedelta(minutes=60), total_ms=40.0).override(
            Disposition.RECYCLE, "op-1", "cracked"),
    ]
    k = compute_kpis(verdicts)
    assert k.items == 4 and k.items_per_hour == 2.0  # 2 items in each of the 2 clock hours worked
    assert k.dispositions["restock"] == 2 and k.dispositions["recycle"] == 1
    assert (k.no_read_rate, k.override_rate, k.late_rate, k.lost_rate) == (0.25, 0.25, 0.25, 0.0)
    assert [h.start.hour for h in k.hours] == [8, 9]
    assert [h.items for h in k.hours] == [2, 2]
    assert [h.override_rate for h in k.hours] == [0.0, 0.5]  # the overridden item is 09:30's
    assert k.hours[0].latency_p50_ms == 20.0
    assert ["no-read", "rate", "25.0", "%"] in [line.split() for line in kpi_table(k).splitlines()]


def test_the_windows_hours_are_the_docks_wall_clock_hours(
    make_verdict: Callable[..., Verdict], dock_zone: Callable[[str], None], tmp_path: Path,
) -> None:
    """In Mumbai (UTC+5:30) 10:10 and 10:40 UTC are 15:40 and 16:10 on the wall: two hours there."""
    t0 = datetime(2026, 11, 24, 10, 10, tzinfo=UTC)
    verdicts = [make_verdict(0, created=t0), make_verdict(1, created=t0 + timedelta(minutes=30))]
    dock_zone("IST-5:30")
    assert [h.items for h in compute_kpis(verdicts).hours] == [2]  # the report: UTC hours, as it says
    local = compute_kpis(verdicts, local_hours=True).hours
    assert [(f"{h.start:%H:%M}", h.items) for h in local] == [("15:00", 1), ("16:00", 1)]
    # The Statistics page asks the record for the same: its labels are the wall clock's.
    store = Store(tmp_path / "station.db", tmp_path / "images")
    now = datetime.now(UTC)
    for seq in range(3):
        store.record_verdict(make_verdict(seq, created=now - timedelta(minutes=seq)))
    store.close()
    kpis = RecordQueries(tmp_path / "station.db").kpis()
    labels = [label for label, _count in kpis["items_per_hour"]]
    # The override chart has a bar per hour too (none overridden here), under the same labels.
    assert kpis["override_rate_per_hour"] == [[label, 0.0] for label in labels]
    assert set(labels) <= {f"{now.astimezone():%H}:00", f"{(now - timedelta(minutes=2)).astimezone():%H}:00"}
    assert f"{now.astimezone():%H}:00" != f"{now:%H}:00"  # the zone does move the label


def test_items_per_hour_counts_clock_hours_of_work_whatever_the_period(
    make_verdict: Callable[..., Verdict],
) -> None:
    # 7 items in 7 minutes: 7 per hour worked, as the Statistics page's bar for that hour shows,
    # whether the report looks back 1 hour or a day, and never extrapolated to 60/h.
    t0 = datetime(2026, 11, 24, 8, 10, tzinfo=UTC)
    seven = [make_verdict(i, created=t0 + timedelta(minutes=i)) for i in range(7)]
    for since in (None, t0 - timedelta(hours=1), t0 - timedelta(hours=24)):
        k = compute_kpis(seven, since)
        assert k.items_per_hour == 7.0, since
        assert ["items", "/", "hour", "7.0"] in [line.split() for line in kpi_table(k).splitlines()]
    # The same 7 minutes across a clock hour (08:57-09:03): two hours worked.
    t1 = datetime(2026, 11, 24, 8, 57, tzinfo=UTC)
    k = compute_kpis([make_verdict(i, created=t1 + timedelta(minutes=i)) for i in range(7)])
    assert [h.items for h in k.hours] == [3, 4] and k.items_per_hour == 3.5
    # An idle hour between two worked ones does not count.
    gap = [make_verdict(0, created=t0), make_verdict(1, created=t0 + timedelta(hours=2))]
    assert compute_kpis(gap).items_per_hour == 1.0
    assert compute_kpis([make_verdict()]).items_per_hour == 1.0


def test_no_items_no_rate() -> None:
    k = compute_kpis([])
    assert k.items == 0 and k.items_per_hour is None
    assert ["items", "/", "hour", "-"] in [line.split() for line in kpi_table(k).splitlines()]
    assert ["période", "aucun", "article"] in [line.split() for line in kpi_table(k, "fr").splitlines()]


def test_since_today_is_midnight_on_the_docks_clock(dock_zone: Callable[[str], None]) -> None:
    dock_zone("IST-5:30")
    since = parse_since("today")
    local = since.astimezone()
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert local.date() == datetime.now().date()
    assert parse_since(" Today ") == since
    with pytest.raises(ValueError, match="write today, a date"):
        parse_since("yesterday")


def test_the_records_read_in_sql_are_the_verdicts_own(
    make_verdict: Callable[..., Verdict], tmp_path: Path,
) -> None:
    """The Statistics page reads `kpi_records` instead of rebuilding verdicts: the same records, so the
    same figures, for overrides (a later revision), no-reads, late and lost items."""
    store = Store(tmp_path / "station.db", tmp_path / "images")
    t0 = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    store.record_verdict(make_verdict(0, created=t0, total_ms=12.5))
    store.record_verdict(make_verdict(1, created=t0 + timedelta(minutes=5), late=True, total_ms=80.0))
    store.record_verdict(make_verdict(2, created=t0 + timedelta(minutes=9), codes=(), rma=None, lost=True,
                                      disposition=Disposition.MANUAL_REVIEW, confidence=0.0))
    overridden = store.record_verdict(make_verdict(3, created=t0 + timedelta(hours=1)))
    store.record_override(overridden.verdict_id, Disposition.RECYCLE, "op-1", "cracked")
    store.close()
    with StoreReader(tmp_path / "station.db") as reader:
        from_verdicts = [KpiRecord.of(v) for v in reader.latest_verdicts()]
        from_rows = list(reader.kpi_records())
    assert from_rows == from_verdicts
    assert [(r.disposition, r.overridden, r.no_read, r.late, r.lost) for r in from_rows] == [
        ("restock", False, False, False, False), ("restock", False, False, True, False),
        ("manual_review", False, True, False, True), ("recycle", True, False, False, False)]
    figures = RecordQueries(tmp_path / "station.db", kpi_window_h=24 * 3650).kpis()
    expected = compute_kpis(from_verdicts, local_hours=True)
    assert figures["items_total"] == expected.items == 4
    assert figures["override_rate"] == expected.override_rate == 0.25
    assert figures["dispositions"] == expected.dispositions


def test_the_kpi_benchmark_runs_and_checks_both_ways_agree(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    benchmark = load_benchmark("kpi")
    monkeypatch.setattr("sys.argv", ["kpi.py", "--items", "40", "--reps", "1"])
    assert benchmark.main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["items", "verdicts", "rebuilt", "ms", "SQL", "rows", "ms", "faster"]
    assert lines[1].split()[0] == "40" and lines[1].endswith("x")
