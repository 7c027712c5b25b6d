"""The statistics page: items/hour, disposition mix, override rate and latency from `kpi_source()`.

`kpi_source()` queries the database, so it runs on a worker thread (`Background`); the
page shows a busy bar while it runs and keeps the last figures when it fails.

The dict it expects (every key optional; missing parts show "no data yet"):
    {
      "window_h": 8,                                    # hours covered
      "items_total": 1234,
      "items_per_hour": [["21:00", 412], ...],          # oldest first
      "dispositions": {"restock": 900, "repair": 120, ...},
      "override_rate": 0.04,                            # share of items overridden, 0..1
      "override_rate_per_hour": [["21:00", 0.05], ...],
      "latency_ms": {"p50": 18.0, "p95": 31.0},
      "latency_per_hour": [["21:00", 17.5, 30.2], ...], # label, p50, p95
    }
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from station import palette
from station.ui import theme
from station.ui.bridge import Background
from station.ui.charts import BarChart, LineChart

logger = logging.getLogger(__name__)

KpiSource = Callable[[], dict[str, Any]]


def _pairs(value: Any) -> list[tuple[str, list[float]]]:
    """[[label, v1, v2...], ...] -> [(label, [v1, v2...])], skipping malformed rows."""
    rows = []
    for row in value or ():
        if isinstance(row, list | tuple) and len(row) >= 2:
            try:
                rows.append((str(row[0]), [float(v) for v in row[1:]]))
            except (TypeError, ValueError):
                continue
    return rows


class KpiPanel(QWidget):
    """Four charts and a headline row, refreshed every `refresh_s` seconds while visible."""

    def __init__(
        self,
        source: KpiSource | None,
        dispositions: tuple[str, ...],
        refresh_s: float,
        font_scale: float = 1.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._source = source
        self._dispositions = dispositions
        self._worker = Background("kpi", self)
        self._worker.finished.connect(self._loaded)
        self._worker.failed.connect(self._failed)
        self.loads = 0  # completed refreshes (the screenshot waits for the first)
        self.headline = QLabel("Statistics: waiting for the first report…")
        self.headline.setFont(theme.scaled_font(QFont(self.font()), 15 * font_scale, bold=True))
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c62828;")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: the report's length is unknown
        self.busy.setMaximumWidth(160)
        self.busy.setVisible(False)
        self.items_chart = BarChart("Items per hour")
        self.mix_chart = BarChart("Disposition mix")
        self.override_chart = BarChart("Override rate", percent=True)
        self.latency_chart = LineChart("Latency trigger→decision (ms)")
        if source is None:
            for chart in (self.items_chart, self.mix_chart, self.override_chart, self.latency_chart):
                chart.empty_text = "no statistics source connected"
        top = QHBoxLayout()
        top.addWidget(self.headline, 1)
        top.addWidget(self.busy)
        grid = QGridLayout()
        grid.addWidget(self.items_chart, 0, 0)
        grid.addWidget(self.mix_chart, 0, 1)
        grid.addWidget(self.override_chart, 1, 0)
        grid.addWidget(self.latency_chart, 1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.error)
        layout.addLayout(grid, 1)
        self._timer = QTimer(self)
        self._timer.setInterval(int(refresh_s * 1000))
        self._timer.timeout.connect(self.refresh)

    @property
    def has_source(self) -> bool:
        """Whether a statistics source is connected."""
        return self._source is not None

    def start(self) -> None:
        """Load now and then every `refresh_s`."""
        if self._source is not None:
            self.refresh()
            self._timer.start()

    def refresh(self) -> None:
        """Ask for new figures unless a report is still running (never queue reports up)."""
        if self._source is None or self._worker.busy:
            return
        self.busy.setVisible(True)
        self._worker.submit("kpi", self._source)

    def close_worker(self) -> None:
        """Stop refreshing and wait for a running report."""
        self._timer.stop()
        self._worker.close()

    def _failed(self, _tag: str, text: str) -> None:
        self.busy.setVisible(False)
        self.loads += 1
        self.error.setText(f"Statistics could not be read: {text}. The figures below are the last good ones.")

    def _loaded(self, _tag: str, kpi: object) -> None:
        self.busy.setVisible(False)
        self.loads += 1
        if not isinstance(kpi, dict):
            self._failed("kpi", f"the report returned {type(kpi).__name__}, not a dict")
            return
        self.error.setText("")
        self.show_kpi(kpi)

    def show_kpi(self, kpi: dict[str, Any]) -> None:
        """Draw one report."""
        total = kpi.get("items_total")
        rate = kpi.get("override_rate")
        latency = kpi.get("latency_ms") if isinstance(kpi.get("latency_ms"), dict) else {}
        assert isinstance(latency, dict)
        parts = []
        if total is not None:
            parts.append(f"{total} items" + (f" in {kpi['window_h']} h" if kpi.get("window_h") else ""))
        if isinstance(rate, int | float):
            parts.append(f"overridden {rate:.1%}")
        if latency.get("p50") is not None:
            parts.append(f"latency p50 {latency['p50']:.0f} ms, p95 {latency.get('p95', 0):.0f} ms")
        self.headline.setText("   ·   ".join(parts) or "Statistics: no items yet")

        per_hour = _pairs(kpi.get("items_per_hour"))
        self.items_chart.set_bars([(label, v[0], "#1565c0") for label, v in per_hour])
        mix = kpi.get("dispositions") if isinstance(kpi.get("dispositions"), dict) else {}
        assert isinstance(mix, dict)
        names = [d for d in self._dispositions if d in mix] + [d for d in mix if d not in self._dispositions]
        self.mix_chart.set_bars(
            [
                (theme.disposition_words(d), float(mix[d]), palette.disposition_colour(d))
                for d in names
            ]
        )
        overrides = _pairs(kpi.get("override_rate_per_hour"))
        if not overrides and isinstance(rate, int | float):  # only the period's rate: one bar for it
            window = f"last {kpi['window_h']:g} h" if kpi.get("window_h") else "period"
            overrides = [(window, [float(rate)])]
        self.override_chart.set_bars([(label, v[0], "#ef6c00") for label, v in overrides])
        lat = _pairs(kpi.get("latency_per_hour"))
        self.latency_chart.set_series(
            [label for label, _v in lat],
            [("p50", [v[0] for _l, v in lat]), ("p95", [v[-1] for _l, v in lat])],
        )
