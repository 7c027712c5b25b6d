"""What the operator sees: overlays on the frame, items arriving from worker threads, the recent list,
past items with their history, statistics, settings, and the screenshot `station run` saves."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from station.config import load_config
from station.config_text import shown_config
from station.state import Overlay, StationState
from station.ui.app import run_app
from station.ui.camera_view import CameraView
from station.ui.item_dialog import ItemDialog
from station.ui.pages import SettingsPage
from station.ui.recent import FRAMES_KEPT
from station.ui.settings import UiSettings
from station.verdict import Disposition, ImageRef, Verdict
from tests.ui.feeder import Feeder, RecordingActions, demo_kpi, healthy, make_item
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui

GREY = 100


def _render(view: CameraView, qtbot: QtBot) -> QImage:
    qtbot.addWidget(view)
    view.resize(640, 360)  # exactly half of the 1280x720 frame
    view.show()
    qtbot.waitExposed(view)
    return view.grab().toImage()


def _colour(image: QImage, x: int, y: int) -> tuple[int, int, int]:
    c = QColor(image.pixel(x, y))
    return c.red(), c.green(), c.blue()


def _any_near(image: QImage, x: int, y: int, test: Any, radius: int = 2) -> bool:
    return any(test(_colour(image, x + dx, y + dy))
               for dx in range(-radius, radius + 1) for dy in range(-radius, radius + 1))


def _is_green(c: tuple[int, int, int]) -> bool:
    return c[1] > 180 and c[0] < 80 and c[2] < 80


def _is_red(c: tuple[int, int, int]) -> bool:
    return c[0] > 200 and c[1] < 80 and c[2] < 80


def _is_yellow(c: tuple[int, int, int]) -> bool:
    return c[0] > 200 and c[1] > 180 and c[2] < 60


def test_overlays_are_drawn_where_the_frame_says(qtbot: QtBot) -> None:
    frame = np.full((720, 1280, 3), GREY, np.uint8)
    overlay = Overlay(
        codes=(("4006381333931", ((100, 100), (400, 100), (400, 200), (100, 200))),),
        regions=((800, 400, 200, 150, 0.91),),
        heatmap=np.ones((10, 10), np.float32),
        item_box=(700, 300, 400, 300),
        roi=(20, 20, 1240, 680),
    )
    view = CameraView()
    view.set_frame(frame, overlay)
    image = _render(view, qtbot)
    assert _any_near(image, 50, 75, _is_green)  # left edge of the code's outline (frame 100,150)
    assert _any_near(image, 400, 237, _is_red)  # left edge of the defect box (frame 800,475)
    assert any(_any_near(image, 10, y, _is_yellow, 1) for y in range(100, 200, 4))  # dashed ROI
    heat = _colour(image, 360, 160)  # inside the item box, away from the box outline
    assert heat != (GREY, GREY, GREY) and heat[0] > heat[2]  # tinted toward red (hot)
    assert _colour(image, 300, 330) == (GREY, GREY, GREY)  # outside every overlay: the frame itself


def test_without_overlays_the_same_pixels_are_the_frame(qtbot: QtBot) -> None:
    view = CameraView()
    view.set_frame(np.full((720, 1280, 3), GREY, np.uint8), Overlay())
    image = _render(view, qtbot)
    for x, y in ((50, 75), (400, 237), (360, 160)):
        assert _colour(image, x, y) == (GREY, GREY, GREY)


def test_items_pushed_from_a_worker_thread_reach_the_list_and_card(qtbot: QtBot) -> None:
    state = StationState()
    window, _ = open_window(qtbot, state)
    feeder = Feeder(state, rate=200.0, count=40)
    feeder.start()
    qtbot.waitUntil(lambda: window.recent.model.rowCount() == 40, timeout=10000)
    feeder.join()
    newest = state.recent()[-1].verdict.item.rma
    qtbot.waitUntil(lambda: window.card.rma.text().startswith(f"RMA {newest}"))
    assert window.recent.model.verdict_at(0).item.rma == newest
    assert window.camera.has_frame()
    # Only the newest rows keep a frame in memory; the rest are shown from the record when opened.
    frames = [window.recent.model.view_at(r).frame is not None for r in range(40)]
    assert frames == [True] * FRAMES_KEPT + [False] * (40 - FRAMES_KEPT)


def test_recent_list_filters_by_disposition_and_searches_gtin(qtbot: QtBot) -> None:
    state = StationState()
    for seq in range(1, 31):
        state.add_item(make_item(seq, frame=False))
    window, _ = open_window(qtbot, state)
    recent = window.recent
    counts = Counter(v.verdict.decision.disposition for v in state.recent())
    rarest, expected = min(counts.items(), key=lambda kv: kv[1])
    assert expected < 30  # the filter has something to leave out
    recent.kind.setCurrentIndex(recent.kind.findData(rarest))
    shown = [recent.model.verdict_at(recent.proxy.mapToSource(recent.proxy.index(r, 0)).row())
             for r in range(recent.proxy.rowCount())]
    assert len(shown) == expected
    assert all(v.decision.disposition == rarest for v in shown)
    recent.kind.setCurrentIndex(0)
    gtin = state.recent()[4].verdict.item.gtins[0]
    recent.search.setText(gtin)
    assert recent.proxy.rowCount() == 1
    assert recent.count.text() == "1 of 30"


def test_a_past_item_opens_with_its_picture_and_history(qtbot: QtBot) -> None:
    state = StationState()
    for seq in range(1, 4):
        state.add_item(make_item(seq))
    asked: list[str] = []

    def history(verdict_id: str) -> list[Verdict]:
        asked.append(verdict_id)
        first = next(v.verdict for v in state.recent() if v.verdict.verdict_id == verdict_id)
        return [first, first.override(Disposition.RESTOCK, "op-7", "damage is only packaging")]

    window, _ = open_window(qtbot, state, window_kwargs={"history_source": history})
    window.recent.table.setFocus()
    window.recent.table.selectRow(2)  # the oldest
    qtbot.keyClick(window.recent.table, Qt.Key.Key_O)
    qtbot.waitUntil(lambda: len(window.findChildren(ItemDialog)) == 1)
    dialog = window.findChildren(ItemDialog)[0]
    oldest = state.recent()[0].verdict.verdict_id
    qtbot.waitUntil(lambda: dialog.history.rowCount() == 2)
    assert asked == [oldest]
    assert dialog.camera.has_frame()
    headers = [dialog.history.horizontalHeaderItem(c).text() for c in range(dialog.history.columnCount())]
    assert headers == ["Revision", "When", "Who", "What", "Why"]
    assert [dialog.history.item(1, c).text() for c in (0, 2, 3, 4)] == [
        "2", "op-7", "Overridden to restock", "damage is only packaging"]
    # The card is the live one, frozen on this item, picture included; an override names who and why.
    assert dialog.card.verdict_id == oldest
    picture = dialog.card.captured_image.pixmap()
    assert picture is not None and not picture.isNull()
    dialog.close()


def test_statistics_draw_from_the_kpi_source(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot, window_kwargs={"kpi_source": demo_kpi})
    window.kpi.start()  # open_window started it before; a second call while busy is ignored
    qtbot.waitUntil(lambda: window.kpi.loads >= 1)
    assert window.kpi.headline.text().startswith("3120 items in 8 h")
    assert "overridden 4.3%" in window.kpi.headline.text()
    assert window.kpi.mix_chart.bars()[0] == ("Restock", 2210.0)
    assert [name for name, _ in window.kpi.latency_chart.series()] == ["p50", "p95"]
    assert window.kpi.items_chart.bars()[0] == ("14:00", 310.0)
    report = demo_kpi()
    del report["override_rate_per_hour"]  # station/kpi.py gives only the period's rate
    window.kpi.show_kpi(report)
    assert window.kpi.override_chart.bars() == [("last 8 h", 0.043)]


def test_statistics_are_asked_for_when_the_page_opens_and_not_while_hidden(qtbot: QtBot) -> None:
    asked: list[int] = []

    def source() -> dict[str, Any]:
        asked.append(len(asked))
        return demo_kpi()

    window, _ = open_window(qtbot, window_kwargs={"kpi_source": source}, kpi_refresh_s=1.0)
    qtbot.waitUntil(lambda: window.kpi.loads >= 1)  # the report made at start
    assert not window.kpi.isVisible()  # the inspection page is in front
    qtbot.wait(2500)  # two rounds of the timer: nobody sees the page, no report
    assert len(asked) == 1
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: window.kpi.loads >= 2)  # opening the page asks at once
    assert window.kpi.isVisible() and len(asked) == 2
    qtbot.waitUntil(lambda: window.kpi.loads >= 3, timeout=5000)  # shown: the timer asks again


def test_a_failing_kpi_source_keeps_the_window_and_says_why(qtbot: QtBot) -> None:
    def broken() -> dict[str, Any]:
        raise OSError("database is locked")

    window, _ = open_window(qtbot, window_kwargs={"kpi_source": broken})
    qtbot.waitUntil(lambda: window.kpi.loads >= 1)
    assert "database is locked" in window.kpi.error.text()


def test_settings_page_sends_thresholds_within_range_and_mode(qtbot: QtBot) -> None:
    window, actions = open_window(qtbot)
    page = window.settings_page
    spin = page.spins["defect_repair"]
    spin.setValue(1.7)  # beyond the allowed 0..1: the box holds the maximum
    assert spin.value() == 1.0
    spin.setValue(0.42)
    page.apply.click()
    qtbot.waitUntil(lambda: len(actions.named("set_thresholds")) == 1)
    assert actions.named("set_thresholds")[0] == ({"defect_repair": 0.42, "conformity_min_similarity": 0.6},)
    page.bench.setChecked(True)
    page.switch.click()
    qtbot.waitUntil(lambda: actions.named("set_mode") == [("bench",)])
    # Saved for the next start: the station runs on with its conveyor link, and the top line says so.
    qtbot.waitUntil(lambda: "bench mode from the next start" in window.top.message_label.toolTip()
                    + window.top.message_label.text())
    assert "Conveyor mode" in window.top.mode_label.text()
    assert "defect_repair = 0.5" in page.config_view.toPlainText()


def test_settings_page_shows_what_the_station_runs_with_and_no_secret(qtbot: QtBot) -> None:
    """On the embedded defaults the page writes them out; from a file, the file; no PIN either way."""
    defaults = load_config(None, env={"STATION_SUPERVISOR_PIN": "9753"})
    page = SettingsPage(shown_config(defaults), (), "conveyor", "")
    qtbot.addWidget(page)
    text = page.config_view.toPlainText()
    assert text.startswith("# the station runs on the embedded defaults\n\n[station]\n")
    assert "[policy]\ndefect_repair = 0.5\n" in text and "9753" not in text
    from_file = SettingsPage('[ui]\nsupervisor_pin = "••••••"\n', (), "conveyor", "/etc/station/config.toml")
    qtbot.addWidget(from_file)
    assert from_file.config_view.toPlainText() == '[ui]\nsupervisor_pin = "••••••"\n'


def test_screenshot_waits_for_items_and_saves_every_page(qtbot: QtBot, tmp_path: Path) -> None:
    state = StationState()
    healthy(state)
    feeder = Feeder(state, rate=50.0, count=6)
    feeder.start()
    target = tmp_path / "shot.png"
    code = run_app(state, RecordingActions(state), UiSettings(screenshot_timeout_s=60.0),
                   kpi_source=demo_kpi, screenshot=target, items=6, about={"station": "0.1.0"})
    feeder.join()
    assert code == 0
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1366, 768)
    colours = {image.pixel(x, y) for x in range(0, 1366, 37) for y in range(0, 768, 29)}
    assert len(colours) > 20  # a rendered window, not a blank
    for page in ("statistics", "settings", "calibration", "about"):
        assert (tmp_path / f"shot-{page}.png").is_file()


def test_screenshot_times_out_with_exit_code_1(qtbot: QtBot, tmp_path: Path) -> None:
    state = StationState()
    code = run_app(state, RecordingActions(state), UiSettings(screenshot_timeout_s=0.5),
                   screenshot=tmp_path / "shot.png", items=3)
    assert code == 1
    assert (tmp_path / "shot.png").is_file()  # what was shown is still saved


def test_enter_in_search_looks_up_the_record_and_esc_comes_back(qtbot: QtBot) -> None:
    state = StationState()
    for seq in range(1, 4):
        state.add_item(make_item(seq))
    old = [make_item(seq, frame=False).verdict for seq in (901, 902)]
    asked: list[str] = []

    def search(text: str) -> list[Verdict]:
        asked.append(text)
        return old

    window, actions = open_window(qtbot, state, window_kwargs={"search_source": search})
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(window.recent.search, "R-1901")
    qtbot.keyClick(window.recent.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.recent.results is not None)
    assert asked == ["R-1901"]
    assert actions.named("confirm") == []
    assert window.recent.proxy.rowCount() == 2
    assert window.recent.count.text().startswith("2 found in the record")
    qtbot.keyClick(window.recent.table, Qt.Key.Key_O)
    qtbot.waitUntil(lambda: len(window.findChildren(ItemDialog)) == 1)
    dialog = window.findChildren(ItemDialog)[0]
    assert dialog.view.verdict.verdict_id == old[0].verdict_id
    assert not dialog.camera.has_frame()  # no image kept for it: the dialog says so instead
    dialog.close()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.recent.table.setFocus()
    qtbot.keyClick(window.recent.table, Qt.Key.Key_Escape)
    assert window.recent.results is None
    assert window.recent.count.text() == "0 of 3"  # back to the live list, still filtered by the words


def test_an_item_without_a_frame_in_memory_shows_its_stored_jpeg(qtbot: QtBot, tmp_path: Path) -> None:
    import cv2

    from station.state import ItemView
    from station.ui.item_dialog import load_stored_frame

    item = make_item(11)
    stored = "2026/11/24/item_top.jpg"
    (tmp_path / "2026/11/24").mkdir(parents=True)
    assert cv2.imwrite(str(tmp_path / stored), item.frame)
    inspection = dataclasses.replace(item.verdict.inspection, images=(ImageRef("top", "0" * 64, stored),))
    verdict = dataclasses.replace(item.verdict, inspection=inspection)
    frame = load_stored_frame(ItemView(verdict=verdict, frame=None), tmp_path)
    assert frame is not None
    assert np.array_equal(frame, cv2.imread(str(tmp_path / stored)))
    assert load_stored_frame(ItemView(verdict=verdict, frame=None), tmp_path / "elsewhere") is None


def test_the_card_shows_the_stored_picture_of_an_item_decided_before_this_start(
    qtbot: QtBot, tmp_path: Path,
) -> None:
    """After a restart the station hands the window the record's last items without frames in memory:
    the card shows the newest one's stored JPEG, not "No picture of this item"."""
    import cv2

    from station.state import ItemView, StationState

    item = make_item(12)
    stored = "2026/12/05/item_top.jpg"
    (tmp_path / "2026/12/05").mkdir(parents=True)
    assert cv2.imwrite(str(tmp_path / stored), item.frame)
    inspection = dataclasses.replace(item.verdict.inspection, images=(ImageRef("top", "0" * 64, stored),))
    state = StationState()
    state.add_item(ItemView(verdict=dataclasses.replace(item.verdict, inspection=inspection), frame=None))
    window, _ = open_window(qtbot, state, images_dir=tmp_path)
    qtbot.waitUntil(lambda: window.card.verdict_id == item.verdict.verdict_id)
    shown = window.inspect_page.camera._frame
    assert shown is not None and np.array_equal(shown, cv2.imread(str(tmp_path / stored)))
