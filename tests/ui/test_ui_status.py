"""The status bar: a camera failure or a broker outage turns it red with words saying what to do."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from station.state import Health, Level
from station.ui.main_window import MainWindow
from station.ui.status_panel import StatusPanel
from tests.ui.feeder import from_worker, healthy
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui

RED = "#c62828"
GREEN = "#2e7d32"


def _chip_style(window: MainWindow, component: str) -> str:
    chip = window.status_panel.chip(component)
    assert chip is not None, f"no chip for {component}"
    return chip.styleSheet()


def test_all_green_and_no_problem_line_when_healthy(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot)
    from_worker(lambda: healthy(window.state))
    qtbot.waitUntil(lambda: window.status_panel.chip("disk") is not None)
    for component in ("camera:top", "conveyor", "mqtt", "models", "disk", "calibration"):
        assert GREEN in _chip_style(window, component)
    assert not window.status_panel.problem.isVisible()


def test_camera_failure_turns_the_status_red_with_what_to_do(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot)
    from_worker(lambda: healthy(window.state))
    detail = ("No frame from camera 'top' for 5 s. Check its USB cable; the station reopens it by itself. "
              "Items go to manual review meanwhile.")
    from_worker(lambda: window.state.set_health(Health("camera:top", Level.ERROR, "no frames", detail)))
    qtbot.waitUntil(lambda: RED in _chip_style(window, "camera:top"))
    chip = window.status_panel.chip("camera:top")
    assert chip is not None
    assert "Camera top: no frames" in chip.text()
    assert "Check its USB cable" in chip.toolTip()
    problem = window.status_panel.problem
    assert problem.isVisible()
    assert problem.text().startswith("Camera top: No frame from camera 'top' for 5 s.")
    assert RED in problem.styleSheet()
    assert GREEN in _chip_style(window, "mqtt")  # only the failing part turns red
    assert window.camera.banner() == "no frames: the picture below is not live"
    from_worker(lambda: window.state.set_health(Health("camera:top", Level.OK, "camera top live")))
    qtbot.waitUntil(lambda: GREEN in _chip_style(window, "camera:top"))
    assert window.camera.banner() == ""


def test_broker_outage_shows_backlog_and_recovers(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot)
    from_worker(lambda: healthy(window.state))
    outage = Health("mqtt", Level.ERROR, "disconnected, 412 waiting, oldest 3 min",
                    "Cannot reach the broker at 10.0.0.5:1883 (connection refused). Verdicts are kept in the "
                    "outbox and sent when it is back; call IT if this lasts.",
                    values={"backlog": 412, "oldest_s": 180.0})
    from_worker(lambda: window.state.set_health(outage))
    qtbot.waitUntil(lambda: RED in _chip_style(window, "mqtt"))
    assert "412 waiting" in window.status_panel.chip("mqtt").toolTip()  # type: ignore[union-attr]
    assert "MQTT: Cannot reach the broker at 10.0.0.5:1883" in window.status_panel.problem.text()
    back = Health("mqtt", Level.OK, "connected, 0 waiting")
    from_worker(lambda: window.state.set_health(back))
    qtbot.waitUntil(lambda: GREEN in _chip_style(window, "mqtt"))
    assert not window.status_panel.problem.isVisible()


def test_a_warning_is_amber_and_errors_are_listed_first(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot)
    from_worker(lambda: healthy(window.state))
    from_worker(lambda: window.state.set_health(
        Health("disk", Level.WARNING, "9 GB free", "Disk nearly full: oldest images are being deleted.")))
    from_worker(lambda: window.state.set_health(
        Health("conveyor", Level.ERROR, "link lost", "No heartbeat from the controller on /dev/ttyUSB0.")))
    qtbot.waitUntil(lambda: RED in _chip_style(window, "conveyor"))
    assert "#f9a825" in _chip_style(window, "disk")
    lines = window.status_panel.problem.text().splitlines()
    assert lines == ["Conveyor: No heartbeat from the controller on /dev/ttyUSB0.",
                     "Disk: Disk nearly full: oldest images are being deleted."]


def test_calibration_page_shows_the_calibration_health(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot)
    stale = Health("calibration", Level.WARNING, "calibration is 95 days old",
                   "Recalibrate with the ChArUco board (`station calibrate`).", values={"px_per_mm": 3.12})
    from_worker(lambda: window.state.set_health(stale))
    qtbot.waitUntil(lambda: window.calibration_page.health.status.text() == "calibration is 95 days old")
    assert "station calibrate" in window.calibration_page.health.detail.text()
    assert "px_per_mm: 3.12" in window.calibration_page.health.values.text()


def test_the_first_camera_comes_first_whatever_order_the_cameras_go_live_in(qtbot: QtBot) -> None:
    panel = StatusPanel(order=("camera:top", "camera:left", "camera:right"))
    qtbot.addWidget(panel)
    for component in ("disk", "camera:right", "camera:left", "conveyor", "camera:top", "camera:gate"):
        panel.set_health(Health(component, Level.OK, f"{component.replace(':', ' ')} fine"))
    panel.set_health(Health("camera:gate", Level.WARNING, "camera gate frozen"))  # each camera its own chip
    expected = ["camera:top", "camera:left", "camera:right", "camera:gate", "conveyor", "disk"]
    assert panel.components() == expected
    row = panel._chip_row  # and the row itself lays them out so
    laid_out = [w for w in (row.itemAt(i).widget() for i in range(row.count())) if w and not w.isHidden()]
    assert [w.objectName() for w in laid_out] == [f"chip:{c}" for c in expected]


def test_cameras_all_live_share_one_chip_and_one_in_trouble_gets_its_own(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot, cameras=("top", "left", "right"))
    panel = window.status_panel
    from_worker(lambda: healthy(window.state))
    for name in ("left", "right"):
        window.state.set_health(Health(f"camera:{name}", Level.OK, f"camera {name} live"))
    qtbot.waitUntil(lambda: panel.components()[:2] == ["cameras", "conveyor"])
    shared = panel._cameras
    assert shared.isVisibleTo(panel) and shared.text() == "3 cameras live"
    tips = shared.toolTip().splitlines()  # each camera's own words, the first camera first
    assert [tip.split()[1].rstrip(":") for tip in tips] == ["top", "left", "right"]
    chip = panel.chip("camera:left")
    assert chip is not None and not chip.isVisibleTo(panel)
    window.state.set_health(Health("camera:left", Level.ERROR, "camera left down", "no frames for 2.0 s"))
    qtbot.waitUntil(lambda: panel.components()[:3] == ["camera:top", "camera:left", "camera:right"])
    assert not shared.isVisibleTo(panel) and chip.isVisibleTo(panel)
    assert RED in _chip_style(window, "camera:left")
    assert "no frames for 2.0 s" in panel.problem.text()
    window.state.set_health(Health("camera:left", Level.OK, "camera left live"))  # back: shared again
    qtbot.waitUntil(lambda: panel.components()[0] == "cameras")
