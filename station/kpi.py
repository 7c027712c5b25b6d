"""Key figures of the station from its own record: throughput, disposition mix, no-read,
override, late and lost rates, decision latency — as numbers, a table and a PNG chart.

Computed from the latest revision of each verdict (`StoreReader.latest_verdicts`), so an
overridden item counts under the operator's disposition and as one override. Items per hour
are counted per clock hour of actual work, as the window's Statistics page shows them: the
items divided by the clock hours that had at least one item, whatever the period asked for.
The table and the chart are written in the operator's language (`language`, "en" or "fr").
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.i18n import DEFAULT_LANGUAGE, QT_TRANSLATE_NOOP, disposition_words
from station.palette import SERIES_COLOURS, disposition_colour
from station.verdict import DecisionSource, Disposition, Verdict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["HourBucket", "KpiRecord", "Kpis", "compute_kpis", "kpi_figure", "kpi_table", "local_midnight",
           "parse_since", "percentile", "plot_kpis"]

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
    overridden: int = 0  # items of this hour an operator overrode

    @property
    def items(self) -> int:
        """Items in this hour."""
        return sum(self.dispositions.values())

    @property
    def override_rate(self) -> float:
        """Share of this hour's items an operator overrode, 0..1."""
        return self.overridden / self.items if self.items else 0.0


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
            "hours": [{"start": iso(h.start), "dispositions": h.dispositions, "overridden": h.overridden,
                       "latency_p50_ms": h.latency_p50_ms, "latency_p95_ms": h.latency_p95_ms}
                      for h in self.hours],
        }


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


@dataclass(frozen=True)
class KpiRecord:
    """What the figures read of one item's latest revision: read straight from the record's
    columns and JSON fields by `StoreReader.kpi_records` (no verdict is rebuilt), or taken from a
    `Verdict`."""

    created_at: datetime
    disposition: str
    overridden: bool
    no_read: bool
    late: bool
    lost: bool
    total_ms: float | None

    @classmethod
    def of(cls, verdict: Verdict) -> KpiRecord:
        """The record of a verdict."""
        total = verdict.timings_ms.get("total")
        return cls(verdict.created_at, verdict.decision.disposition.value,
                   verdict.decision.source is DecisionSource.OPERATOR, not verdict.item.codes,
                   verdict.routing.late, verdict.routing.lost, float(total) if total is not None else None)


def compute_kpis(verdicts: Iterable[Verdict | KpiRecord], since: datetime | None = None, *,
                 local_hours: bool = False) -> Kpis:
    """The figures of these verdicts (latest revisions, one per item), or of their `KpiRecord`s.

    The hour buckets are UTC clock hours (the report says so), or with `local_hours` the
    clock hours of this PC's time zone, as the dock's wall clock and the window show them."""
    items = 0
    dispositions: Counter[str] = Counter({d.value: 0 for d in Disposition})
    no_read = overridden = late = lost = 0
    latencies: list[float] = []
    first: datetime | None = None
    last: datetime | None = None
    by_hour: dict[datetime, tuple[Counter[str], list[float]]] = {}
    overridden_by_hour: Counter[datetime] = Counter()
    for given in verdicts:
        record = given if isinstance(given, KpiRecord) else KpiRecord.of(given)
        items += 1
        disposition = record.disposition
        dispositions[disposition] += 1
        no_read += record.no_read
        overridden += record.overridden
        late += record.late
        lost += record.lost
        total = record.total_ms
        at = record.created_at
        first = at if first is None or at < first else first
        last = at if last is None or at > last else last
        hour = (at.astimezone() if local_hours else at).replace(minute=0, second=0, microsecond=0)
        counts, hour_latency = by_hour.setdefault(hour, (Counter(), []))
        counts[disposition] += 1
        overridden_by_hour[hour] += record.overridden
        if total is not None:
            latencies.append(float(total))
            hour_latency.append(float(total))
    hours = tuple(
        HourBucket(h, dict(c), _round(percentile(lat, 50)), _round(percentile(lat, 95)),
                   overridden=overridden_by_hour[h])
        for h, (c, lat) in sorted(by_hour.items())
    )

    def rate(n: int) -> float:
        return n / items if items else 0.0

    return Kpis(
        since=since, first=first, last=last, items=items,
        # Per clock hour worked: 7 minutes of work read as the items of that one hour, not as a
        # rate stretched over the --since window nor extrapolated from the minutes.
        items_per_hour=items / len(hours) if hours else None,
        dispositions=dict(dispositions),
        no_read_rate=rate(no_read), override_rate=rate(overridden),
        late_rate=rate(late), lost_rate=rate(lost),
        latency_p50_ms=_round(percentile(latencies, 50)), latency_p95_ms=_round(percentile(latencies, 95)),
        hours=hours,
    )


# The report's words, marked for lupdate (the table pads them, so each is one label).
_PERIOD = QT_TRANSLATE_NOOP("Report", "period")
_PERIOD_SPAN = QT_TRANSLATE_NOOP("Report", "{first} – {last} UTC")
_NO_ITEMS = QT_TRANSLATE_NOOP("Report", "no items")
_ITEMS = QT_TRANSLATE_NOOP("Report", "items")
_ITEMS_PER_HOUR = QT_TRANSLATE_NOOP("Report", "items / hour")
_NO_READ = QT_TRANSLATE_NOOP("Report", "no-read rate")
_OVERRIDE = QT_TRANSLATE_NOOP("Report", "override rate")
_LATE = QT_TRANSLATE_NOOP("Report", "late rate")
_LOST = QT_TRANSLATE_NOOP("Report", "lost rate")
_P50 = QT_TRANSLATE_NOOP("Report", "latency p50")
_P95 = QT_TRANSLATE_NOOP("Report", "latency p95")
_PERCENT = QT_TRANSLATE_NOOP("Report", "{value:.1f} %")
_MS = QT_TRANSLATE_NOOP("Report", "{value:.1f} ms")
_SHARE = QT_TRANSLATE_NOOP("Report", "{count} ({share})")
_RATE = QT_TRANSLATE_NOOP("Report", "{value:.1f}")
_TITLE = QT_TRANSLATE_NOOP(
    "Report", "{items} items, {rate} per hour worked — no-read {no_read:.1f} %, override {override:.1f} %, "
    "late {late:.1f} %, lost {lost:.1f} %")
_TITLE_NO_RATE = QT_TRANSLATE_NOOP(
    "Report", "{items} items — no-read {no_read:.1f} %, override {override:.1f} %, late {late:.1f} %, "
    "lost {lost:.1f} %")
_Y_ITEMS = QT_TRANSLATE_NOOP("Report", "items per hour")
_Y_LATENCY = QT_TRANSLATE_NOOP("Report", "trigger → decision (ms)")
_X_HOUR = QT_TRANSLATE_NOOP("Report", "hour (UTC)")
_LEGEND_P50 = QT_TRANSLATE_NOOP("Report", "median (p50)")
_LEGEND_P95 = QT_TRANSLATE_NOOP("Report", "slowest 5 % (p95)")


def kpi_table(k: Kpis, language: str = DEFAULT_LANGUAGE) -> str:
    """The figures as an aligned text table, in `language`."""
    def pct(x: float) -> str:
        return _PERCENT.render(language, value=100 * x)

    def ms(x: float | None) -> str:
        return _MS.render(language, value=x) if x is not None else "-"

    period = _NO_ITEMS.render(language)
    if k.first and k.last:
        period = _PERIOD_SPAN.render(language, first=f"{k.first:%Y-%m-%d %H:%M}",
                                     last=f"{k.last:%Y-%m-%d %H:%M}")
    rows = [
        (_PERIOD.render(language), period),
        (_ITEMS.render(language), str(k.items)),
        (_ITEMS_PER_HOUR.render(language),
         _RATE.render(language, value=k.items_per_hour) if k.items_per_hour is not None else "-"),
        *((f"  {disposition_words(name, language)}",
           _SHARE.render(language, count=n, share=pct(n / k.items) if k.items else "-"))
          for name, n in k.dispositions.items()),
        (_NO_READ.render(language), pct(k.no_read_rate)),
        (_OVERRIDE.render(language), pct(k.override_rate)),
        (_LATE.render(language), pct(k.late_rate)),
        (_LOST.render(language), pct(k.lost_rate)),
        (_P50.render(language), ms(k.latency_p50_ms)),
        (_P95.render(language), ms(k.latency_p95_ms)),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def plot_kpis(k: Kpis, path: Path, language: str = DEFAULT_LANGUAGE) -> Path:
    """A PNG with items per hour by disposition (stacked bars) and latency p50/p95 per hour, in `language`."""
    fig = kpi_figure(k, language)  # first: it chooses the display-less backend
    import matplotlib.pyplot as plt

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Exactly under the name given (matplotlib would add ".png" to a name without one), whole
        # or not at all: drawn into a temporary sibling, then renamed over it.
        temporary = path.with_name(path.name + ".part")
        try:
            fig.savefig(temporary, dpi=100, format="png")
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    finally:
        plt.close(fig)
    return path


def kpi_figure(k: Kpis, language: str = DEFAULT_LANGUAGE) -> Figure:
    """The chart of `plot_kpis` (close it with `matplotlib.pyplot.close` when done).

    The colours are the window's (`station.palette`); the legends sit outside the plots, to the
    right, so they never hide a bar.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display on a dock PC's service account
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, constrained_layout=True)
    starts = [h.start for h in k.hours]
    width = timedelta(minutes=50)
    base = [0] * len(starts)
    for name in (d.value for d in Disposition):
        counts = [h.dispositions.get(name, 0) for h in k.hours]
        top.bar(starts, counts, width=width, bottom=base, label=disposition_words(name, language),
                color=disposition_colour(name), align="edge")
        base = [b + c for b, c in zip(base, counts, strict=True)]
    top.set_ylabel(_Y_ITEMS.render(language))
    figures = {"items": k.items, "no_read": 100 * k.no_read_rate, "override": 100 * k.override_rate,
               "late": 100 * k.late_rate, "lost": 100 * k.lost_rate}
    if k.items_per_hour is not None:
        title = _TITLE.render(language, rate=_RATE.render(language, value=k.items_per_hour), **figures)
    else:
        title = _TITLE_NO_RATE.render(language, **figures)
    top.set_title(title)
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    centres = [s + timedelta(minutes=25) for s in starts]
    p50_colour, p95_colour = SERIES_COLOURS[0], SERIES_COLOURS[1]
    bottom.plot(centres, [h.latency_p50_ms for h in k.hours], marker="o", color=p50_colour,
                label=_LEGEND_P50.render(language))
    bottom.plot(centres, [h.latency_p95_ms for h in k.hours], marker="o", color=p95_colour,
                label=_LEGEND_P95.render(language))
    bottom.set_ylabel(_Y_LATENCY.render(language))
    bottom.set_xlabel(_X_HOUR.render(language))
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    if starts:
        # One tick per clock hour (fewer over long periods), the hour as the bench reads it.
        import matplotlib.dates as mdates

        span_h = (starts[-1] - starts[0]).total_seconds() / 3600 + 1
        locator = mdates.HourLocator(interval=max(1, math.ceil(span_h / 12)))  # type: ignore[no-untyped-call]
        bottom.xaxis.set_major_locator(locator)
        hour_format = "%d/%m %H:%M" if language == "fr" else "%m-%d %H:%M"
        bottom.xaxis.set_major_formatter(mdates.DateFormatter(hour_format))  # type: ignore[no-untyped-call]
        bottom.set_xlim(starts[0] - timedelta(minutes=10), starts[-1] + timedelta(minutes=60))
    fig.autofmt_xdate()
    return fig


def local_midnight(now: datetime | None = None) -> datetime:
    """The start of the day `now` (default: now) falls in, on this PC's clock."""
    day = (now or datetime.now()).astimezone().date()
    return datetime.combine(day, time()).astimezone()


def parse_since(text: str) -> datetime:
    """A --since value: `today` (since midnight on this PC's clock), an ISO date/time (UTC unless it
    says otherwise) or a span like 24h, 7d."""
    text = text.strip()
    if text.lower() == "today":
        return local_midnight()
    units = {"h": 3600, "d": 86400, "w": 7 * 86400}
    if text[:-1].isdigit() and text[-1:] in units:
        try:
            return datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * units[text[-1]])
        except OverflowError:  # before the year 1
            raise ValueError(f"--since {text!r} reaches back before the calendar's first year: write a "
                             "shorter span (e.g. 3650d for ten years) or leave --since out for "
                             "everything") from None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: write today, a date (2026-11-24), a time (2026-11-24T08:00) "
                         "or a span (24h, 7d)") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
