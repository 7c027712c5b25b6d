"""One colour per disposition: the window's card and list and the KPI report's chart draw it the same."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from station.kpi import compute_kpis, plot_kpis
from station.palette import DISPOSITION_COLOURS, disposition_colour, grade_colour
from station.ui.charts import BarChart
from station.verdict import Disposition
from tests.ui.feeder import make_item
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui


def _pixels_of(image: np.ndarray, colour: str) -> int:
    """How many pixels of a BGR image are exactly `colour` (#rrggbb)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return int(np.count_nonzero(np.all(image == (b, g, r), axis=2)))


def test_every_disposition_has_its_own_colour_and_unknown_values_are_grey() -> None:
    assert set(DISPOSITION_COLOURS) == {d.value for d in Disposition}
    assert len(set(DISPOSITION_COLOURS.values())) == len(Disposition)
    assert disposition_colour(Disposition.REPAIR) == disposition_colour("repair") == "#1565c0"
    assert disposition_colour("scrap") == grade_colour("E") == "#616161"


def test_the_card_and_the_list_paint_the_disposition_in_the_tables_colour(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot)
    view = make_item(1, frame=False)
    for disposition in Disposition:
        decision = dataclasses.replace(view.verdict.decision, disposition=disposition)
        window.card.show_item(dataclasses.replace(view, verdict=dataclasses.replace(view.verdict,
                                                                                    decision=decision)))
        # The disposition's block is painted in its colour (the word is white on it).
        banner = window.card.banner
        assert f"background: {DISPOSITION_COLOURS[disposition]};" in banner.styleSheet()
        painted = banner.grab().toImage().pixelColor(banner.width() - 4, banner.height() // 2)
        assert painted.name() == DISPOSITION_COLOURS[disposition]
    window.recent.model.add(view)
    shown = window.recent.model.data(window.recent.model.index(0, 5), Qt.ItemDataRole.ForegroundRole)
    assert shown.name() == disposition_colour(view.verdict.decision.disposition)


def test_the_kpi_chart_draws_each_disposition_in_the_windows_colour(tmp_path: Path) -> None:
    verdicts = []
    for seq, disposition in enumerate(Disposition, start=1):
        verdict = make_item(seq, frame=False).verdict
        verdicts.append(dataclasses.replace(
            verdict, decision=dataclasses.replace(verdict.decision, disposition=disposition)))
    image = cv2.imread(str(plot_kpis(compute_kpis(verdicts), tmp_path / "kpi.png")))
    assert image is not None
    for disposition in Disposition:
        assert _pixels_of(image, DISPOSITION_COLOURS[disposition]) > 50, disposition


def test_a_full_bars_value_is_drawn_below_the_charts_title(qtbot: QtBot) -> None:
    """The tallest bar reaches the axis top; its value must not print over the title."""
    chart = BarChart("")  # no title: anything dark in the title's band is the bar's value
    qtbot.addWidget(chart)
    chart.resize(420, 240)
    chart.set_bars([("restock", 5.0, "#2e7d32"), ("recycle", 2.0, "#6d4c41")])
    image = chart.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    band = chart.fontMetrics().height() + 4  # where _frame writes the title
    dark = [(x, y) for y in range(band) for x in range(0, image.width())
            if QColor(image.pixel(x, y)).lightness() < 128]
    assert dark == []
    below = [(x, y) for y in range(band, band * 3) for x in range(0, image.width())
             if QColor(image.pixel(x, y)).lightness() < 128]
    assert below  # the value is drawn, just lower
