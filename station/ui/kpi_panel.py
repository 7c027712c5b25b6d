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
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from station import palette
from station.ui import theme
from station.ui.bridge import Background
from station.ui.card_words import number_words, percent_words
from station.ui.charts import BarChart, LineChart

logger = logging.getLogger(__name__)

KpiSource = Callable[[], dict[str, Any]]

FRESH_S = 2.0  # a report this recent is "now" when the page opens: not asked for again


def _hours(value: Any) -> str:
    """The statistics' window in hours as the language writes it: "8", "1,5"."""
    hours = float(value)
    return number_words(hours, 0 if hours == int(hours) else 1)


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
    """Four charts and a headline row, refreshed on show and every `refresh_s` seconds while shown."""

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
        self._loaded_at = float("-inf")  # when the last report came (time.monotonic())
        self._kpi: dict[str, Any] | None = None  # the last report shown, drawn again in a new language
        self._problem = ""
        self.headline = QLabel()
        self.headline.setFont(theme.scaled_font(QFont(self.font()), 15 * font_scale, bold=True))
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c62828;")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: the report's length is unknown
        self.busy.setMaximumWidth(160)
        self.busy.setVisible(False)
        self.items_chart = BarChart("")
        self.mix_chart = BarChart("")
        self.override_chart = BarChart("", percent=True)
        self.latency_chart = LineChart("")
        self.retranslate()
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
        self._timer.timeout.connect(self._tick)

    def retranslate(self) -> None:
        """Titles, empty charts and the last report in the language installed now."""
        self.items_chart.title = self.tr("Items per hour")
        self.mix_chart.title = self.tr("Disposition mix")
        self.override_chart.title = self.tr("Override rate")
        self.latency_chart.title = self.tr("Time from trigger to decision (ms)")
        for chart in (self.items_chart, self.mix_chart, self.override_chart, self.latency_chart):
            chart.empty_text = (self.tr("no data yet") if self._source is not None
                                else self.tr("no statistics source connected"))
            chart.update()
        if self._kpi is not None:
            self.show_kpi(self._kpi)
        else:
            self.headline.setText(self.tr("Statistics: waiting for the first report…"))
        if self._problem:
            self._show_problem()

    def _show_problem(self) -> None:
        self.error.setText(
            self.tr(
                "Statistics could not be read: {problem}. The figures below are the last good ones."
            ).format(problem=self._problem)
        )

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    @property
    def has_source(self) -> bool:
        """Whether a statistics source is connected."""
        return self._source is not None

    @property
    def busy_reporting(self) -> bool:
        """Whether a report is running now."""
        return self._worker.busy

    def start(self) -> None:
        """Load now and then every `refresh_s` while the page is shown."""
        if self._source is not None:
            self.refresh()
            self._timer.start()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """The operator opened the page (F2): figures of now, not of the last timer round."""
        super().showEvent(event)
        if self._timer.isActive() and time.monotonic() - self._loaded_at > FRESH_S:
            self.refresh()

    def _tick(self) -> None:
        """The timer's round: a report nobody sees is not made."""
        if self.isVisible():
            self.refresh()

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
        self._problem = text
        self._show_problem()

    def _loaded(self, _tag: str, kpi: object) -> None:
        self.busy.setVisible(False)
        self.loads += 1
        self._loaded_at = time.monotonic()
        if not isinstance(kpi, dict):
            self._failed("kpi", f"the report returned {type(kpi).__name__}, not a dict")
            return
        self._problem = ""
        self.error.setText("")
        self.show_kpi(kpi)

    def show_kpi(self, kpi: dict[str, Any]) -> None:
        """Draw one report."""
        self._kpi = kpi
        total = kpi.get("items_total")
        rate = kpi.get("override_rate")
        latency = kpi.get("latency_ms") if isinstance(kpi.get("latency_ms"), dict) else {}
        assert isinstance(latency, dict)
        parts = []
        if total is not None:
            parts.append(
                self.tr("{count} items in {hours} h").format(count=total, hours=_hours(kpi["window_h"]))
                if kpi.get("window_h") else self.tr("{count} items").format(count=total)
            )
        if isinstance(rate, int | float):
            parts.append(self.tr("overridden {percent}").format(percent=percent_words(rate, 1)))
        if latency.get("p50") is not None:
            parts.append(self.tr("time to decide: half within {p50} ms, 95 % within {p95} ms").format(
                p50=f"{latency['p50']:.0f}", p95=f"{latency.get('p95', 0):.0f}"))
        self.headline.setText("   ·   ".join(parts) or self.tr("Statistics: no items yet"))

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
            window = (self.tr("last {hours} h").format(hours=_hours(kpi["window_h"])) if kpi.get("window_h")
                      else self.tr("period"))
            overrides = [(window, [float(rate)])]
        self.override_chart.set_bars([(label, v[0], "#ef6c00") for label, v in overrides])
        lat = _pairs(kpi.get("latency_per_hour"))
        self.latency_chart.set_series(
            [label for label, _v in lat],
            [("p50", [v[0] for _l, v in lat]), ("p95", [v[-1] for _l, v in lat])],
        )
