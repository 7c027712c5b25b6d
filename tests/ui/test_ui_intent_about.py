"""About (F5) names the station, the site, the software version and the models judging items now."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from station.commands.version import versions
from station.verdict import ModelRef
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui


def test_about_shows_station_site_version_and_the_models_in_use(qtbot: QtBot) -> None:
    in_use = [ModelRef("defect", "2026.11.24", "a" * 64), ModelRef("conformity", "2026.11.20", "b" * 64)]
    about = {**versions(), "station_id": "dock-01", "site_id": "site-01",
             "config": "/etc/returns-station/config.toml", "data_dir": "/var/lib/returns-station"}
    window, _actions = open_window(
        qtbot, window_kwargs={"about": about, "models_source": lambda: list(in_use)}
    )
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.about_page)
    page = window.about_page
    assert (page.station_label.text(), page.site_label.text()) == ("dock-01", "site-01")
    assert page.version_label.text() == about["station"]
    assert page.config_label.text() == "/etc/returns-station/config.toml"
    assert page.data_label.text() == "/var/lib/returns-station"
    assert page.models_label.text().splitlines() == [
        "defect 2026.11.24 (sha256 aaaaaaaaaaaa…)", "conformity 2026.11.20 (sha256 bbbbbbbbbbbb…)"]
    # Central promotes a new defect model: the page names it the next time it is shown.
    in_use[0] = ModelRef("defect", "2026.12.01", "c" * 64)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: page.models_label.text().startswith("defect 2026.12.01"))
    libraries = [page.tree.topLevelItem(i).text(0) for i in range(page.tree.topLevelItemCount())]
    assert "libraries" in libraries and "station_id" not in libraries and "data_dir" not in libraries


def test_about_says_when_the_station_runs_on_the_embedded_defaults(qtbot: QtBot) -> None:
    about = {**versions(), "config": "<defaults>", "data_dir": "/tmp/var"}
    window, _actions = open_window(qtbot, window_kwargs={"about": about})
    assert window.about_page.config_label.text() == "none: the embedded defaults"


def test_about_without_models_says_items_go_to_manual_review(qtbot: QtBot) -> None:
    window, _actions = open_window(qtbot, window_kwargs={"about": versions(), "models_source": list})
    assert "manual review" in window.about_page.models_label.text()
