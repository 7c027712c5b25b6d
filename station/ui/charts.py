"""Small bar and line charts drawn with QPainter (QtCharts is not part of PySide6-Essentials)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from station.ui.card_words import figure_words, percent_words

logger = logging.getLogger(__name__)

_AXIS = QColor(120, 120, 120)
_TEXT = QColor(30, 30, 30)
LABEL_MIN_SCALE = 0.75  # bar labels shrink at most to this share of the chart's type before being cut
SERIES_COLOURS = (QColor("#1565c0"), QColor("#c62828"), QColor("#2e7d32"), QColor("#ef6c00"))
TICKS = (0.0, 0.5, 1.0)  # where the y axis is labelled, as shares of its top


def nice_ceiling(value: float) -> float:
    """The next 1/2/5 x 10^n at or above `value` (an axis top people can read)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0):
        top = step * 10.0**exponent
        if top >= value:
            return top
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def value_words(value: float, percent: bool) -> str:
    """A value on an axis or a bar, as the window's language writes it (0,5 and 50 % in French).

    Below 10 a value keeps its tenth ("2,5 %", "3,1 %"): rounded, the middle of a 0-5 % axis read
    "3 %" and sat under a bar of 3,1 % labelled "3 %", against the 3,1 % written above the charts."""
    shown = value * 100 if percent else value
    decimals = 0 if abs(shown) >= 10 or round(shown, 6) == int(shown) else 1
    if percent:
        return percent_words(value, decimals)
    return figure_words(value, decimals)


def tick_words(top_value: float, percent: bool) -> list[str]:
    """The y axis's three labels, bottom to top: 0, the middle and the top."""
    return [value_words(top_value * fraction, percent) for fraction in TICKS]


class _Chart(QWidget):
    def __init__(self, title: str, percent: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.percent = percent
        self.empty_text = QCoreApplication.translate("KpiPanel", "no data yet")
        self.setMinimumSize(260, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(420, 240)

    def _frame(self, painter: QPainter, top_value: float, headroom: float = 0.0) -> QRectF:
        """Draws the title and the y axis; returns the plot area, `headroom` px below the title."""
        metrics = painter.fontMetrics()
        line = metrics.height()
        painter.setPen(_TEXT)
        painter.drawText(QRectF(0, 0, self.width(), line + 4), Qt.AlignmentFlag.AlignCenter, self.title)
        ticks = tick_words(top_value, self.percent)
        left = max(metrics.horizontalAdvance(tick) for tick in ticks) + 10  # "0,5" is wider than "1"
        top = line + 10 + headroom
        plot = QRectF(left, top, self.width() - left - 34, self.height() - top - line - 10)
        painter.setPen(QPen(_AXIS, 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        painter.drawLine(plot.bottomLeft(), plot.topLeft())
        for fraction, tick in zip(TICKS, ticks, strict=True):
            y = plot.bottom() - fraction * plot.height()
            painter.drawText(
                QRectF(0, y - line / 2, left - 4, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                tick,
            )
        return plot

    def _empty(self, painter: QPainter) -> None:
        painter.setPen(_TEXT)
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, f"{self.title}\n{self.empty_text}")


class BarChart(_Chart):
    """Labelled bars, each with its own colour and its value on top."""

    def __init__(self, title: str, percent: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(title, percent, parent)
        self._bars: list[tuple[str, float, QColor]] = []

    def set_bars(self, bars: Sequence[tuple[str, float, str]]) -> None:
        """(label, value, colour) per bar."""
        self._bars = [(label, float(value), QColor(colour)) for label, value, colour in bars]
        self.update()

    def bars(self) -> list[tuple[str, float]]:
        """The labels and values shown."""
        return [(label, value) for label, value, _c in self._bars]

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), QColor("white"))
            if not self._bars:
                self._empty(painter)
                return
            top = nice_ceiling(max(v for _l, v, _c in self._bars))
            line = painter.fontMetrics().height()
            plot = self._frame(painter, top, headroom=line)  # a full bar's value stays clear of the title
            slot = plot.width() / len(self._bars)
            label_font = self._label_font(painter, [label for label, _v, _c in self._bars], slot)
            for i, (label, value, colour) in enumerate(self._bars):
                h = plot.height() * value / top
                bar = QRectF(plot.left() + i * slot + slot * 0.15, plot.bottom() - h, slot * 0.7, h)
                painter.fillRect(bar, colour)
                painter.setPen(_TEXT)
                painter.drawText(
                    QRectF(bar.left() - 10, bar.top() - line, bar.width() + 20, line),
                    Qt.AlignmentFlag.AlignCenter,
                    value_words(value, self.percent),
                )
                value_font = painter.font()
                painter.setFont(label_font)
                painter.drawText(
                    QRectF(plot.left() + i * slot, plot.bottom() + 2, slot, line),
                    Qt.AlignmentFlag.AlignCenter,
                    painter.fontMetrics().elidedText(label, Qt.TextElideMode.ElideRight, int(slot)),
                )
                painter.setFont(value_font)
        finally:
            painter.end()

    @staticmethod
    def _label_font(painter: QPainter, labels: list[str], slot: float) -> QFont:
        """The painter's font, smaller (down to LABEL_MIN_SCALE) when a bar's words are wider than
        its slot: long words (« Contrôle manuel ») shrink a little before they are cut."""
        font = QFont(painter.font())
        widest = max((painter.fontMetrics().horizontalAdvance(label) for label in labels), default=0)
        room = slot - 4
        if widest <= room or widest == 0:
            return font
        scale = max(LABEL_MIN_SCALE, room / widest)
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * scale)
        else:
            font.setPixelSize(max(1, round(font.pixelSize() * scale)))
        return font


class LineChart(_Chart):
    """One or more series over shared x labels (e.g. hours), with a legend."""

    def __init__(self, title: str, percent: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(title, percent, parent)
        self._labels: list[str] = []
        self._series: list[tuple[str, list[float]]] = []

    def set_series(self, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> None:
        """x labels and (name, values) per series; values align with labels."""
        self._labels = list(labels)
        self._series = [(name, [float(v) for v in values]) for name, values in series]
        self.update()

    def series(self) -> list[tuple[str, list[float]]]:
        """The series shown."""
        return list(self._series)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), QColor("white"))
            values = [v for _n, vs in self._series for v in vs]
            if not self._labels or not values:
                self._empty(painter)
                return
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            top = nice_ceiling(max(values))
            plot = self._frame(painter, top)
            n = len(self._labels)
            step = plot.width() / max(1, n - 1) if n > 1 else 0.0
            line = painter.fontMetrics().height()

            def point(i: int, v: float) -> QPointF:
                x = plot.left() + (i * step if n > 1 else plot.width() / 2)
                return QPointF(x, plot.bottom() - plot.height() * v / top)

            every = max(1, math.ceil(n / 8))  # at most ~8 x labels so they never overlap
            painter.setPen(_TEXT)
            for i, label in enumerate(self._labels):
                if i % every == 0:
                    x = point(i, 0).x()
                    painter.drawText(
                        QRectF(x - 30, plot.bottom() + 2, 60, line), Qt.AlignmentFlag.AlignCenter, label
                    )
            legend_x = plot.left() + 6
            for k, (name, vs) in enumerate(self._series):
                colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
                painter.setPen(QPen(colour, 2.5))
                points = [point(i, v) for i, v in enumerate(vs[:n])]
                if len(points) == 1:
                    painter.drawEllipse(points[0], 3, 3)
                else:
                    painter.drawPolyline(QPolygonF(points))
                painter.drawText(QPointF(legend_x, plot.top() + line), name)
                legend_x += painter.fontMetrics().horizontalAdvance(name) + 20
        finally:
            painter.end()
