"""The Inspect page at the dock PC's two screen sizes: no words cut off or on top of each other, a
camera view that keeps its width whatever the verdict says, the disposition the largest type on
the page (readable at 1.5 m), and touch buttons a gloved finger can hit that do what the keys do."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
import itertools

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFontInfo, QFontMetrics
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from station.state import Health, ItemView, Level
from station.ui import theme
from station.ui.fit import ElidedLabel
from station.ui.main_window import MainWindow
from station.ui.recent import COLUMNS
from station.ui.translation import install
from station.verdict import Disposition, Routing
from tests.ui.feeder import RecordingActions, healthy, make_item
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui

SIZES = ((1366, 768), (1920, 1080))
LINK_LOST = ("No heartbeat from the controller on /dev/ttyUSB0 for 3 s. Check the serial cable and the "
             "controller's power; items go down the manual lane meanwhile.")
LONG_REASON = ("seen SKU-DRILL-18V, expected SKU-LAMP-E27: not the returned product; the customer "
               "declared it unopened and the conformity check found a similarity of 0.42 only")


def _item(seq: int, disposition: Disposition, *reasons: str) -> ItemView:
    view = make_item(seq)
    verdict = view.verdict
    decision = dataclasses.replace(verdict.decision, disposition=disposition,
                                   reasons=reasons or verdict.decision.reasons)
    return dataclasses.replace(view, verdict=dataclasses.replace(verdict, decision=decision))


def _settle(qtbot: QtBot, window: MainWindow, size: tuple[int, int]) -> None:
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    # Fonts follow the window's height: wait until the card has taken the new sizes.
    qtbot.waitUntil(lambda: window.card.disposition.font().pixelSize() >= round(size[1] * 0.06))
    qtbot.wait(50)  # one more round of layout after the font change


def _open(
    qtbot: QtBot, size: tuple[int, int], **window_kwargs: object
) -> tuple[MainWindow, RecordingActions]:
    window, actions = open_window(qtbot, window_kwargs=window_kwargs)
    healthy(window.state)
    window.state.set_counters({"items": 412, "outbox_backlog": 3, "overloaded": 0, "record_errors": 0,
                               "lost": 2, "late": 0})
    window.show_message("Confirmed R-1003: Restock.")
    _settle(qtbot, window, size)
    return window, actions


def _show(qtbot: QtBot, window: MainWindow, view: ItemView) -> None:
    window.state.add_item(view)
    qtbot.waitUntil(lambda: window.card.verdict_id == view.verdict.verdict_id)
    qtbot.wait(50)


def _visible_texts(window: MainWindow) -> list[QWidget]:
    widgets: list[QWidget] = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.visibleRegion().isEmpty():
            continue
        label = isinstance(widget, QLabel) and bool(widget.text()) and widget.pixmap().isNull()
        button = isinstance(widget, QAbstractButton) and bool(widget.text())
        if label or button:
            widgets.append(widget)
    return widgets


def _clipped(widget: QWidget) -> str | None:
    """Why `widget`'s words do not all show, or None when they do (or are elided with a tooltip)."""
    if isinstance(widget, ElidedLabel):
        if widget.is_elided() and widget.text() not in widget.toolTip():
            return f"{widget.text()!r} is elided without its words in the tooltip"
        return None
    metrics = QFontMetrics(widget.font())
    if isinstance(widget, QAbstractButton):
        need = metrics.horizontalAdvance(widget.text()) + 8  # the button's frame
        if need > widget.width():
            return f"button {widget.text()!r} needs {need} px, has {widget.width()}"
        return None
    assert isinstance(widget, QLabel)
    inside = widget.contentsRect()
    if widget.wordWrap():
        need_h = widget.heightForWidth(widget.width())
        return None if need_h <= widget.height() else (
            f"{widget.text()!r} needs {need_h} px of height, has {widget.height()}")
    lines = widget.text().split("\n")
    need_w = max(metrics.horizontalAdvance(line) for line in lines)
    need_h = metrics.height() * len(lines)
    if need_w > inside.width() or need_h > inside.height() + 1:
        return f"{widget.text()!r} needs {need_w}x{need_h} px, has {inside.width()}x{inside.height()}"
    return None


def _on_screen(widget: QWidget) -> QRect:
    shown = widget.visibleRegion().boundingRect()
    return QRect(widget.mapToGlobal(shown.topLeft()), shown.size())


@pytest.mark.parametrize("size", SIZES, ids=["1366x768", "1920x1080"])
def test_no_words_are_cut_off_or_overlap(qtbot: QtBot, size: tuple[int, int]) -> None:
    window, _ = _open(qtbot, size)
    items = (_item(1, Disposition.RESTOCK), _item(2, Disposition.MANUAL_REVIEW, LONG_REASON),
             _item(3, Disposition.QUARANTINE))
    sizes = set()
    for seq, view in enumerate(items):
        if seq == 2:  # a failing part: its chip turns red and the problem line appears above the chips
            window.state.set_health(Health("conveyor", Level.ERROR, "link lost", LINK_LOST))
            qtbot.waitUntil(window.status_panel.problem.isVisible)
        _show(qtbot, window, view)
        sizes.add((window.card.disposition.font().pixelSize(), window.card.reasons.font().pixelSize()))
        texts = _visible_texts(window)
        assert window.card.disposition in texts and window.inspect_page.confirm_button in texts
        problems = [why for why in map(_clipped, texts) if why]
        assert not problems, problems
        for a, b in itertools.combinations([w for w in texts if isinstance(w, QLabel)], 2):
            if a.isAncestorOf(b) or b.isAncestorOf(a):
                continue
            assert not _on_screen(a).intersects(_on_screen(b)), f"{a.text()!r} overlaps {b.text()!r}"
    assert len(sizes) == 1, sizes  # the type keeps its size whatever the item and the problem line


@pytest.mark.parametrize("size", SIZES, ids=["1366x768", "1920x1080"])
def test_the_camera_view_keeps_its_width_whatever_the_verdict_says(
    qtbot: QtBot, size: tuple[int, int]
) -> None:
    window, _ = _open(qtbot, size)
    _show(qtbot, window, _item(1, Disposition.RESTOCK))
    restock = (window.camera.geometry(), window.card.geometry())
    _show(qtbot, window, _item(2, Disposition.MANUAL_REVIEW, LONG_REASON, LONG_REASON))
    assert window.card.disposition.text() == "MANUAL REVIEW"
    assert (window.camera.geometry(), window.card.geometry()) == restock
    late = _item(3, Disposition.RECYCLE)
    late = dataclasses.replace(late, verdict=dataclasses.replace(
        late.verdict, routing=Routing(lane_commanded=3, lane_confirmed=0, late=True)))
    _show(qtbot, window, late)
    assert window.camera.width() == restock[0].width()
    # Camera and card keep their 3 : 2 shares of the page, not what their contents ask for.
    assert abs(window.camera.width() / window.card.width() - 1.5) < 0.15


@pytest.mark.parametrize("size", SIZES, ids=["1366x768", "1920x1080"])
def test_the_disposition_is_the_largest_type_and_readable_at_a_distance(
    qtbot: QtBot, size: tuple[int, int]
) -> None:
    window, _ = _open(qtbot, size)
    _show(qtbot, window, _item(1, Disposition.MANUAL_REVIEW, LONG_REASON))
    height = size[1]

    def pixels(widget: QWidget) -> int:
        return QFontInfo(widget.font()).pixelSize()

    disposition = pixels(window.card.disposition)
    assert disposition >= 0.06 * height
    assert pixels(window.card.reasons) >= 0.025 * height
    others = [w for w in _visible_texts(window) if w is not window.card.disposition]
    assert others and max(pixels(w) for w in others) < disposition


@pytest.mark.parametrize("size", SIZES, ids=["1366x768", "1920x1080"])
def test_touch_buttons_are_big_enough_for_gloves_and_leave_the_keys_working(
    qtbot: QtBot, size: tuple[int, int]
) -> None:
    window, actions = _open(qtbot, size)
    page = window.inspect_page
    view = _item(1, Disposition.RESTOCK)
    _show(qtbot, window, view)
    signals = (page.confirm_clicked, page.override_clicked, page.reinspect_clicked, page.supervisor_clicked)
    for button, signal in zip(page.touch_buttons(), signals, strict=True):
        assert button.isVisible() and button.height() >= 57, (button.text(), button.height())
        with qtbot.waitSignal(signal, timeout=2000):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(button.width() // 2, 10))
    # A tap never takes the focus from the page: Enter still confirms the item on the card.
    assert page.hasFocus() or window.focusWidget() is page
    qtbot.keyClick(page, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: actions.named("confirm") == [(view.verdict.verdict_id,)])


def test_a_larger_type_setting_shrinks_to_the_card_instead_of_overlapping(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot, font_scale=1.5)  # [ui] font_scale on the small 1366x768 panel
    healthy(window.state)
    window.state.set_health(Health("conveyor", Level.ERROR, "link lost", LINK_LOST))
    window.show_message("Override of R-1008 to Quarantine saved.")
    late = _item(8, Disposition.RESTOCK)
    late = dataclasses.replace(late, verdict=dataclasses.replace(
        late.verdict, routing=Routing(lane_commanded=1, lane_confirmed=0, late=True)))
    _show(qtbot, window, late)
    qtbot.wait(100)
    texts = _visible_texts(window)
    problems = [why for why in map(_clipped, texts) if why]
    assert not problems, problems
    for a, b in itertools.combinations([w for w in texts if isinstance(w, QLabel)], 2):
        assert not _on_screen(a).intersects(_on_screen(b)), f"{a.text()!r} overlaps {b.text()!r}"
    # The recent list keeps its filter and a few rows below the card.
    assert window.recent.isVisible() and window.recent.height() >= 0.14 * window.height()


@pytest.mark.parametrize("size", SIZES, ids=["1366x768", "1920x1080"])
def test_status_chips_keep_their_words_while_the_row_has_room(qtbot: QtBot, size: tuple[int, int]) -> None:
    window, _ = _open(qtbot, size)
    panel = window.status_panel
    chips = [chip for chip in (panel.chip(c) for c in ("camera:top", "conveyor", "mqtt", "models", "disk",
                                                        "calibration")) if chip is not None]
    assert len(chips) == 6
    if size == (1920, 1080):  # room for every word: nothing elided
        assert not [chip.text() for chip in chips if chip.is_elided()]
    # Short words only: every chip whole, whatever the screen.
    for component in ("conveyor", "models", "calibration"):
        window.state.set_health(Health(component, Level.OK, "OK"))
    qtbot.waitUntil(lambda: not any(chip.is_elided() for chip in chips))
    # Words longer than the row: the long chips are elided with their words on hover, and the
    # row is used to its end (no free space left beside a cut chip).
    long_words = ("calibrated 2026-11-20 with the ChArUco board, 0.31 px error, colour drift 0.4 dE, "
                  "plane 3.12 px/mm, camera 1280x720 at 30 fps, lens 6 mm, board 9x16 squares of 20 mm, "
                  "views kept 24 of 31, coverage 86 %")
    window.state.set_health(Health("calibration", Level.OK, long_words))
    calibration = panel.chip("calibration")
    assert calibration is not None
    qtbot.waitUntil(calibration.is_elided)
    assert long_words in calibration.toolTip()
    assert calibration.geometry().right() >= panel.contentsRect().right() - 8


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_window_fits_a_1024_wide_panel_pc(qtbot: QtBot, qapp: QApplication, language: str) -> None:
    """Shown at 1366 first, then made 1024x768: no page, in either language, holds the window wider
    than the screen."""
    assert install(qapp, language)
    try:
        _fits_1024(qtbot)
    finally:
        install(qapp, "en")


def _fits_1024(qtbot: QtBot) -> None:
    window, _ = _open(qtbot, (1366, 768), config_source="/etc/returns-station/config.toml")
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: window.width() == 1024)
    assert window.minimumSizeHint().width() <= 1024
    wide = {window.tabs.tabText(i): window.tabs.widget(i).minimumSizeHint().width()
            for i in range(window.tabs.count())}
    assert max(wide.values()) < 1000, wide
    panel = window.status_panel
    qtbot.waitUntil(lambda: panel.geometry().right() <= window.width())
    chips = [panel.chip(c) for c in ("camera:top", "conveyor", "mqtt", "models", "disk", "calibration")]
    assert all(chip is not None and chip.geometry().right() <= panel.width() for chip in chips)
    # The list gives the one-letter columns only their titles' width: the dispositions read whole.
    table = window.recent.table
    header = table.horizontalHeader()
    words = [theme.disposition_words(d.value) for d in Disposition]
    widest = max(table.fontMetrics().horizontalAdvance(w) for w in words)
    assert header.sectionSize(COLUMNS.index("Disposition")) >= widest + 8
    assert header.sectionSize(COLUMNS.index("Grade")) < header.sectionSize(COLUMNS.index("RMA"))
