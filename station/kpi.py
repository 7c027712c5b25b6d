"""Key figures of the station from its own record: throughput, disposition mix, no-read,
override, late and lost rates, decision latency — as numbers, a table and a PNG chart.

Computed from the latest revision of each verdict (`StoreReader.latest_verdicts`), so an
overridden item counts under the operator's disposition and as one override.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from station.palette import disposition_colour
from station.verdict import DecisionSource, Disposition, Verdict

__all__ = ["HourBucket", "Kpis", "compute_kpis", "kpi_table", "parse_since", "percentile", "plot_kpis"]

logger = logging.getLogger(__name__)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class HourBucket:
    """Items of one clock hour, by disposition, and their latency."""

    start: datetime
    dispositions: dict[str, int]
    latency_p50_ms: float | None
    latency_p95_ms: float | None

    @property
    def items(self) -> int:
        """Items in this hour."""
        return sum(self.dispositions.values())


@dataclass(frozen=True)
class Kpis:
    """The figures of one period."""

    since: datetime | None
    first: datetime | None
    last: datetime | None
    items: int
    items_per_hour: float | None
    dispositions: dict[str, int]
    no_read_rate: float
    override_rate: float
    late_rate: float
    lost_rate: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    hours: tuple[HourBucket, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """One JSON object (for `station report --json` and the stats message)."""
        def iso(at: datetime | None) -> str | None:
            return at.isoformat().replace("+00:00", "Z") if at else None

        return {
            "since": iso(self.since), "first": iso(self.first), "last": iso(self.last),
            "items": self.items,
            "items_per_hour": round(self.items_per_hour, 2) if self.items_per_hour is not None else None,
            "dispositions": self.dispositions,
            "no_read_rate": round(self.no_read_rate, 4), "override_rate": round(self.override_rate, 4),
            "late_rate": round(self.late_rate, 4), "lost_rate": round(self.lost_rate, 4),
            "latency_p50_ms": self.latency_p50_ms, "latency_p95_ms": self.latency_p95_ms,
            "hours": [{"start": iso(h.start), "dispositions": h.dispositions,
                       "latency_p50_ms": h.latency_p50_ms, "latency_p95_ms": h.latency_p95_ms}
                      for h in self.hours],
        }


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def compute_kpis(verdicts: Iterable[Verdict], since: datetime | None = None) -> Kpis:
    """The figures of these verdicts (latest revisions, one per item)."""
    items = 0
    dispositions: Counter[str] = Counter({d.value: 0 for d in Disposition})
    no_read = overridden = late = lost = 0
    latencies: list[float] = []
    first: datetime | None = None
    last: datetime | None = None
    by_hour: dict[datetime, tuple[Counter[str], list[float]]] = {}
    for verdict in verdicts:
        items += 1
        disposition = verdict.decision.disposition.value
        dispositions[disposition] += 1
        no_read += not verdict.item.codes
        overridden += verdict.decision.source is DecisionSource.OPERATOR
        late += verdict.routing.late
        lost += verdict.routing.lost
        total = verdict.timings_ms.get("total")
        at = verdict.created_at
        first = at if first is None or at < first else first
        last = at if last is None or at > last else last
        hour = at.replace(minute=0, second=0, microsecond=0)
        counts, hour_latency = by_hour.setdefault(hour, (Counter(), []))
        counts[disposition] += 1
        if total is not None:
            latencies.append(float(total))
            hour_latency.append(float(total))
    span_h = 0.0
    if first is not None and last is not None:
        start = since if since is not None and since < first else first
        span_h = (last - start).total_seconds() / 3600.0
    hours = tuple(
        HourBucket(h, dict(c), _round(percentile(lat, 50)), _round(percentile(lat, 95)))
        for h, (c, lat) in sorted(by_hour.items())
    )

    def rate(n: int) -> float:
        return n / items if items else 0.0

    return Kpis(
        since=since, first=first, last=last, items=items,
        # Over less than a second a rate means nothing: say so rather than print a huge number.
        items_per_hour=items / span_h if span_h >= 1 / 3600 else None,
        dispositions=dict(dispositions),
        no_read_rate=rate(no_read), override_rate=rate(overridden),
        late_rate=rate(late), lost_rate=rate(lost),
        latency_p50_ms=_round(percentile(latencies, 50)), latency_p95_ms=_round(percentile(latencies, 95)),
        hours=hours,
    )


def kpi_table(k: Kpis) -> str:
    """The figures as an aligned text table."""
    def pct(x: float) -> str:
        return f"{100 * x:.1f} %"

    def ms(x: float | None) -> str:
        return f"{x:.1f} ms" if x is not None else "-"

    period = f"{k.first:%Y-%m-%d %H:%M} – {k.last:%Y-%m-%d %H:%M} UTC" if k.first and k.last else "no items"
    rows = [
        ("period", period),
        ("items", str(k.items)),
        ("items / hour", f"{k.items_per_hour:.1f}" if k.items_per_hour is not None else "-"),
        *((f"  {name}", f"{n} ({pct(n / k.items) if k.items else '-'})")
          for name, n in k.dispositions.items()),
        ("no-read rate", pct(k.no_read_rate)),
        ("override rate", pct(k.override_rate)),
        ("late rate", pct(k.late_rate)),
        ("lost rate", pct(k.lost_rate)),
        ("latency p50", ms(k.latency_p50_ms)),
        ("latency p95", ms(k.latency_p95_ms)),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def plot_kpis(k: Kpis, path: Path) -> Path:
    """A PNG with items per hour by disposition (stacked bars) and latency p50/p95 per hour."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a dock PC's service account
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True, constrained_layout=True)
    starts = [h.start for h in k.hours]
    width = timedelta(minutes=50)
    base = [0] * len(starts)
    for name in (d.value for d in Disposition):
        counts = [h.dispositions.get(name, 0) for h in k.hours]
        top.bar(starts, counts, width=width, bottom=base, label=name.replace("_", " "),
                color=disposition_colour(name), align="edge")
        base = [b + c for b, c in zip(base, counts, strict=True)]
    top.set_ylabel("items per hour")
    rate = f"{k.items_per_hour:.1f}/h" if k.items_per_hour is not None else "-/h"
    top.set_title(f"{k.items} items, {rate} — no-read {100 * k.no_read_rate:.1f} %, "
                  f"override {100 * k.override_rate:.1f} %, late {100 * k.late_rate:.1f} %, "
                  f"lost {100 * k.lost_rate:.1f} %")
    top.legend(loc="upper left", fontsize="small", ncols=5)
    centres = [s + timedelta(minutes=25) for s in starts]
    bottom.plot(centres, [h.latency_p50_ms for h in k.hours], marker="o", label="p50")
    bottom.plot(centres, [h.latency_p95_ms for h in k.hours], marker="o", label="p95")
    bottom.set_ylabel("trigger → decision (ms)")
    bottom.set_xlabel("hour (UTC)")
    bottom.legend(loc="upper left", fontsize="small")
    fig.autofmt_xdate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def parse_since(text: str) -> datetime:
    """A --since value: an ISO date/time (UTC unless it says otherwise) or a span like 24h, 7d."""
    text = text.strip()
    units = {"h": 3600, "d": 86400, "w": 7 * 86400}
    if text[:-1].isdigit() and text[-1:] in units:
        return datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: write a date (2026-11-24), a time (2026-11-24T08:00) "
                         "or a span (24h, 7d)") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
