"""The fleet's figures from central's database (`station central report`): per station and per
site, items per hour, disposition mix, no-read, override and fraud-flag rates, the flags raised
and the model versions that decided.

Read from the receiver's `verdicts` table, SQLite or PostgreSQL alike, the latest revision of
each verdict only: an item the operator overrode counts once, under the operator's disposition,
as one override. Like the station's own report (station/kpi.py), items per hour are the items
divided by the clock hours (UTC) in which there was at least one item, so a station that worked
two hours of the last 24 shows its working rate, not a twelfth of it. The window (`since`) is on
the verdict's `decided_at`. The database is only read.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.postgres import connect, is_database_url

__all__ = ["FleetFigures", "FleetReport", "fleet_report", "fleet_table"]

logger = logging.getLogger(__name__)

DISPOSITIONS = ("restock", "repair", "recycle", "manual_review", "quarantine")


@dataclass(frozen=True)
class FleetFigures:
    """The figures of one station (`station_id` set) or of a whole site (`station_id` None)."""

    site_id: str
    station_id: str | None
    items: int
    hours_worked: int
    dispositions: dict[str, int]
    no_read: int
    overridden: int
    fraud_flagged: int
    flags: dict[str, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)  # "defect 2026.11.24" -> items it decided
    first: str | None = None
    last: str | None = None

    @property
    def items_per_hour(self) -> float | None:
        """Items per clock hour worked; None without items."""
        return self.items / self.hours_worked if self.hours_worked else None

    def rate(self, count: int) -> float:
        """`count` as a share of the items (0 without items)."""
        return count / self.items if self.items else 0.0

    def to_json(self) -> dict[str, Any]:
        """One JSON object of these figures."""
        per_hour = self.items_per_hour
        return {
            "site_id": self.site_id, "station_id": self.station_id, "items": self.items,
            "hours_worked": self.hours_worked,
            "items_per_hour": round(per_hour, 2) if per_hour is not None else None,
            "dispositions": self.dispositions,
            "no_read_rate": round(self.rate(self.no_read), 4),
            "override_rate": round(self.rate(self.overridden), 4),
            "fraud_flag_rate": round(self.rate(self.fraud_flagged), 4),
            "flags": self.flags, "models": self.models, "first": self.first, "last": self.last,
        }


@dataclass(frozen=True)
class FleetReport:
    """Every station's and every site's figures since `since` (None: the whole database)."""

    since: datetime | None
    stations: tuple[FleetFigures, ...]
    sites: tuple[FleetFigures, ...]

    def to_json(self) -> dict[str, Any]:
        """One JSON object (`station central report --json`)."""
        return {"since": _iso(self.since) if self.since else None,
                "sites": [s.to_json() for s in self.sites],
                "stations": [s.to_json() for s in self.stations]}


def _iso(at: datetime) -> str:
    # The shape of `decided_at` (UTC, "Z"), so that text comparison is time order.
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class _Dialect:
    """What differs between SQLite and PostgreSQL in these queries: JSON access and placeholders."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.mark = "%s" if postgres else "?"

    def text(self, *path: str) -> str:
        if self.postgres:
            return "payload" + "".join(f"->'{p}'" for p in path[:-1]) + f"->>'{path[-1]}'"
        return f"json_extract(payload, '$.{'.'.join(path)}')"

    def array_length(self, *path: str) -> str:
        if self.postgres:
            return "jsonb_array_length(payload" + "".join(f"->'{p}'" for p in path) + ")"
        return f"json_array_length(payload, '$.{'.'.join(path)}')"

    def elements(self, alias: str, *path: str) -> str:
        """A table function over a JSON array of the row, one row per element as `<alias>.value`."""
        if self.postgres:
            return "jsonb_array_elements(payload" + "".join(f"->'{p}'" for p in path) + f") AS {alias}(value)"
        return f"json_each(payload, '$.{'.'.join(path)}') AS {alias}"

    def element_text(self, alias: str, key: str | None = None) -> str:
        if self.postgres:
            return f"{alias}.value->>'{key}'" if key else f"({alias}.value #>> '{{}}')"
        return f"json_extract({alias}.value, '$.{key}')" if key else f"{alias}.value"


def _latest(d: _Dialect, since: datetime | None) -> tuple[str, list[Any]]:
    """A WITH clause `latest`: the latest revision of each verdict, decided in the window."""
    where, params = "", []
    if since is not None:
        where, params = f"WHERE v.decided_at >= {d.mark}", [_iso(since)]
    return (
        "WITH latest AS (SELECT v.site_id, v.station_id, v.disposition, v.decided_at, v.payload"
        " FROM verdicts v JOIN (SELECT verdict_id, MAX(revision) AS revision FROM verdicts"
        " GROUP BY verdict_id) m"
        f" ON v.verdict_id = m.verdict_id AND v.revision = m.revision {where}) ",
        params,
    )


def _figures(conn: Any, d: _Dialect, since: datetime | None, by_station: bool) -> list[FleetFigures]:
    keys = "site_id, station_id" if by_station else "site_id"
    width = 2 if by_station else 1
    with_latest, params = _latest(d, since)

    def rows(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in conn.execute(with_latest + sql, params).fetchall()]

    def key(row: tuple[Any, ...]) -> tuple[str, str | None]:
        return (row[0], row[1] if by_station else None)

    main = rows(
        f"SELECT {keys}, COUNT(*), COUNT(DISTINCT substr(decided_at, 1, 13)),"
        f" SUM(CASE WHEN {d.array_length('item', 'codes')} = 0 THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN {d.text('decision', 'source')} = 'operator' THEN 1 ELSE 0 END),"
        f" MIN(decided_at), MAX(decided_at) FROM latest GROUP BY {keys} ORDER BY {keys}")
    dispositions: dict[tuple[str, str | None], dict[str, int]] = {}
    for row in rows(f"SELECT {keys}, disposition, COUNT(*) FROM latest GROUP BY {keys}, disposition"):
        dispositions.setdefault(key(row), {})[row[width]] = int(row[width + 1])
    flag = d.element_text("f")
    flags: dict[tuple[str, str | None], dict[str, int]] = {}
    for row in rows(f"SELECT {keys}, {flag}, COUNT(*) FROM latest, {d.elements('f', 'decision', 'flags')}"
                    f" GROUP BY {keys}, {flag}"):
        flags.setdefault(key(row), {})[row[width]] = int(row[width + 1])
    # Items with at least one fraud flag (the policy's `fraud_review`, and any later `fraud_*`).
    fraud = {key(row): int(row[width]) for row in rows(
        f"SELECT {keys}, COUNT(*) FROM latest WHERE EXISTS (SELECT 1 FROM"
        f" {d.elements('f', 'decision', 'flags')} WHERE substr({flag}, 1, 5) = 'fraud') GROUP BY {keys}")}
    name, version = d.element_text("m", "name"), d.element_text("m", "version")
    models: dict[tuple[str, str | None], dict[str, int]] = {}
    for row in rows(f"SELECT {keys}, {name}, {version}, COUNT(*) FROM latest, {d.elements('m', 'models')}"
                    f" GROUP BY {keys}, {name}, {version}"):
        models.setdefault(key(row), {})[f"{row[width]} {row[width + 1]}"] = int(row[width + 2])
    result = []
    for row in main:
        k = key(row)
        items, hours, no_read, overridden, first, last = row[width:]
        result.append(FleetFigures(
            site_id=k[0], station_id=k[1], items=int(items), hours_worked=int(hours),
            dispositions={name: dispositions.get(k, {}).get(name, 0) for name in DISPOSITIONS}
            | dispositions.get(k, {}),
            no_read=int(no_read or 0), overridden=int(overridden or 0), fraud_flagged=fraud.get(k, 0),
            flags=dict(sorted(flags.get(k, {}).items())), models=dict(sorted(models.get(k, {}).items())),
            first=first, last=last))
    return result


def fleet_report(db: Path | str, since: datetime | None = None) -> FleetReport:
    """The figures of every station and site in central's database: a SQLite file, or a
    postgres:// / postgresql:// URL. Raises FileNotFoundError for a SQLite file that is not there."""
    text = str(db)
    if is_database_url(text):
        with connect(text) as pg:
            pg.read_only = True
            dialect = _Dialect(postgres=True)
            return FleetReport(since, tuple(_figures(pg, dialect, since, True)),
                               tuple(_figures(pg, dialect, since, False)))
    path = Path(db)
    if not path.exists():
        raise FileNotFoundError(f"no central database at {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
    try:
        dialect = _Dialect(postgres=False)
        return FleetReport(since, tuple(_figures(conn, dialect, since, True)),
                           tuple(_figures(conn, dialect, since, False)))
    finally:
        conn.close()


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def fleet_table(report: FleetReport) -> str:
    """The report as a plain-text table: one line per station, each site's total under its stations,
    then the model versions per station."""
    header = ("site", "station", "items", "items/h", *DISPOSITIONS, "no-read", "override", "fraud flag")
    lines: list[Sequence[str]] = [header]
    sites = {s.site_id: s for s in report.sites}
    order = sorted({s.site_id for s in report.stations})
    for site in order:
        for f in (s for s in report.stations if s.site_id == site):
            lines.append(_row(f))
        lines.append(_row(sites[site]))
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = [f"period: since {_iso(report.since)}Z" if report.since else "period: all verdicts in the database"]
    for row in lines:
        out.append("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(row, widths, strict=True))))
    if not report.stations:
        out.append("(no verdicts in this period)")
        return "\n".join(out)
    out.append("")
    out.append("model versions (items decided):")
    for f in report.stations:
        versions = ", ".join(f"{name} ×{count}" for name, count in f.models.items()) or "none recorded"
        out.append(f"  {f.site_id}/{f.station_id}: {versions}")
    flagged = [(f, f.flags) for f in report.stations if f.flags]
    if flagged:
        out.append("")
        out.append("flags raised:")
        for f, flags in flagged:
            out.append(f"  {f.site_id}/{f.station_id}: " + ", ".join(f"{k} ×{v}" for k, v in flags.items()))
    return "\n".join(out)


def _row(f: FleetFigures) -> list[str]:
    per_hour = f.items_per_hour
    return [f.site_id, f.station_id or "(site total)", str(f.items),
            f"{per_hour:.1f}" if per_hour is not None else "–",
            *(str(f.dispositions.get(name, 0)) for name in DISPOSITIONS),
            _pct(f.rate(f.no_read)), _pct(f.rate(f.overridden)), _pct(f.rate(f.fraud_flagged))]
