"""Every window test runs without a display unless one is chosen (Qt's offscreen platform), and with
the type `station run` gives the window."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from station.ui.app import BASE_POINT_SIZE
from station.ui.translation import install


@pytest.fixture(autouse=True)
def station_font(qapp: QApplication) -> Iterator[None]:
    """The type `station run` gives the window (`application()`), not Qt's smaller default: a layout
    that fits only the default type would pass here and overlap on the dock."""
    font = qapp.font()
    before = font.pointSizeF()
    font.setPointSizeF(BASE_POINT_SIZE)
    qapp.setFont(font)
    yield
    font.setPointSizeF(before)
    qapp.setFont(font)


@pytest.fixture
def french(qapp: QApplication) -> Iterator[QApplication]:
    """The window's French catalogue installed for this test; English again after it."""
    assert install(qapp, "fr")
    yield qapp
    install(qapp, "en")  # the next test starts in English


@pytest.fixture(params=["en", "fr"])
def language(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    """The test once in English and once in French ("en", "fr"), that catalogue installed."""
    assert install(qapp, request.param)
    yield request.param
    install(qapp, "en")
