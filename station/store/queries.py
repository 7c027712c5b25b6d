"""What the window asks of the record while the station runs: KPIs, an item's history, a search.

Each question opens its own read-only connection (`StoreReader`), so any thread may ask
while the recorder writes; the window asks from worker threads, never its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from station.kpi import compute_kpis
from station.store.store import StoreReader
from station.verdict import Verdict

__all__ = ["RecordQueries"]


class RecordQueries:
    """Read-only questions on the station's database file."""

    def __init__(self, db_path: Path, kpi_window_h: float = 8.0, search_limit: int = 50) -> None:
        self.db_path = db_path
        self.kpi_window_h = kpi_window_h
        self.search_limit = search_limit

    def kpis(self) -> dict[str, Any]:
        """The KPI panel's figures over the last `kpi_window_h` hours."""
        since = datetime.now(UTC) - timedelta(hours=self.kpi_window_h)
        with StoreReader(self.db_path) as reader:
            # The window's hours are the dock's wall-clock hours, like its item times and top line.
            k = compute_kpis(reader.kpi_records(since), since, local_hours=True)
        return {
            "window_h": self.kpi_window_h,
            "items_total": k.items,
            "items_per_hour": [[f"{h.start:%H:%M}", sum(h.dispositions.values())] for h in k.hours],
            "dispositions": k.dispositions,
            "override_rate": k.override_rate,
            "override_rate_per_hour": [[f"{h.start:%H:%M}", h.override_rate] for h in k.hours],
            "latency_ms": {"p50": k.latency_p50_ms, "p95": k.latency_p95_ms},
            "latency_per_hour": [[f"{h.start:%H:%M}", h.latency_p50_ms or 0.0, h.latency_p95_ms or 0.0]
                                 for h in k.hours],
        }

    def history(self, verdict_id: str) -> list[Verdict]:
        """Every revision of a verdict, oldest first."""
        with StoreReader(self.db_path) as reader:
            return reader.history(verdict_id)

    def latest(self, count: int) -> list[Verdict]:
        """The `count` newest items (latest revision each, newest first)."""
        with StoreReader(self.db_path) as reader:
            return reader.recent(count)

    def search(self, text: str) -> list[Verdict]:
        """Past items by RMA, GTIN or code text (latest revision each, newest first)."""
        with StoreReader(self.db_path) as reader:
            return reader.recent(self.search_limit, search=text)
