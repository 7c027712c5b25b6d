"""The statistics' axes and bars say the values they are drawn at: a 3,1 % override rate on a 0-5 %
axis reads "3,1 %" above a middle line labelled "2,5 %", as the line above the charts says it."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from station.ui.charts import nice_ceiling, tick_words, value_words

pytestmark = pytest.mark.gui


def test_an_override_rate_axis_labels_its_middle_as_drawn(qapp: QApplication) -> None:
    top = nice_ceiling(0.031)
    assert tick_words(top, percent=True) == ["0%", "2.5%", "5%"]
    assert value_words(0.031, percent=True) == "3.1%"


def test_the_same_in_french(french: QApplication) -> None:
    assert tick_words(nice_ceiling(0.031), percent=True) == ["0 %", "2,5 %", "5 %"]
    assert value_words(0.031, percent=True) == "3,1 %"


def test_whole_values_stay_whole(qapp: QApplication) -> None:
    assert tick_words(nice_ceiling(0.4), percent=True) == ["0%", "25%", "50%"]
    assert tick_words(nice_ceiling(32), percent=False) == ["0", "25", "50"]
    assert value_words(7, percent=False) == "7"
    assert tick_words(nice_ceiling(4), percent=False) == ["0", "2.5", "5"]
