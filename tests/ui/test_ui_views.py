"""Several cameras: the window shows every view of the item, the view that saw the damage large,
each view with only its own damage drawn, and a tap on a view shows it large."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from station.state import ItemView, Overlay, StationState, ViewShot
from station.ui.item_dialog import ItemDialog
from station.verdict import DefectFinding, Disposition, Grade, ImageRef, ViewFinding
from tests.ui.feeder import make_item
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui

BOX = (300, 200, 200, 150, 0.9)


def _shot(camera: str, grey: int, damaged: bool) -> ViewShot:
    heatmap = np.ones((8, 8), np.float32) if damaged else None
    overlay = Overlay(regions=(BOX,) if damaged else (), heatmap=heatmap, item_box=(100, 100, 1080, 520))
    return ViewShot(camera, np.full((720, 1280, 3), grey, np.uint8), overlay)


def _three_views(damaged_on: str | None) -> ItemView:
    """An item seen by top, left and right; `damaged_on` names the camera whose view shows a tear."""
    view = make_item(11)
    verdict = view.verdict
    findings = tuple(
        ViewFinding(name, DefectFinding(0.88, "tear", regions=(BOX,), view=name) if name == damaged_on
                    else DefectFinding(0.1, "ok", regions=(BOX,), view=name))
        for name in ("top", "left", "right"))
    worst = max((f.defect for f in findings if f.defect), key=lambda d: d.score)
    grade, disposition = (Grade.C, Disposition.REPAIR) if damaged_on else (Grade.A, Disposition.RESTOCK)
    decision = dataclasses.replace(verdict.decision, grade=grade, disposition=disposition)
    inspection = dataclasses.replace(verdict.inspection, defect=worst, views=findings)
    shots = tuple(_shot(name, grey, True) for name, grey in (("top", 60), ("left", 120), ("right", 180)))
    verdict = dataclasses.replace(verdict, decision=decision, inspection=inspection)
    first = shots[0]
    return dataclasses.replace(view, verdict=verdict, frame=first.frame, overlay=first.overlay, views=shots)


def test_every_view_is_shown_and_the_one_that_saw_the_damage_is_large(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot)
    view = _three_views("left")
    window.state.add_item(view)
    qtbot.waitUntil(lambda: window.card.verdict_id == view.verdict.verdict_id)
    page = window.inspect_page
    tiles = page.views.tiles()
    assert [t.camera_name for t in tiles] == ["top", "left", "right"]
    # The large picture is the left camera's, with its tear drawn.
    assert window.camera.has_frame() and window.camera._frame is not None
    assert int(window.camera._frame[0, 0, 0]) == 120
    assert len(window.camera.shown_overlay().regions) == 1
    # Each small view draws only its own damage: the clean views show no box although the model drew one.
    drawn = {t.camera_name: len(t.view.shown_overlay().regions) for t in tiles}
    assert drawn == {"top": 0, "left": 1, "right": 0}
    captions = {t.camera_name: t.caption.text() for t in tiles}
    assert "damage" in captions["left"] and "damage" not in captions["top"]


def test_a_tap_on_a_view_shows_it_large(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot)
    view = _three_views("left")
    window.state.add_item(view)
    qtbot.waitUntil(lambda: window.card.verdict_id == view.verdict.verdict_id)
    right = next(t for t in window.inspect_page.views.tiles() if t.camera_name == "right")
    qtbot.mouseClick(right, Qt.MouseButton.LeftButton)
    assert window.camera._frame is not None and int(window.camera._frame[0, 0, 0]) == 180
    assert window.camera.shown_overlay().regions == ()  # the right view saw no damage


def test_one_camera_shows_no_row_of_views(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot)
    view = make_item(12)
    window.state.add_item(view)
    qtbot.waitUntil(lambda: window.card.verdict_id == view.verdict.verdict_id)
    assert not window.inspect_page.views.isVisible()


def test_a_past_item_opens_with_every_stored_view(qtbot: QtBot, tmp_path: Path) -> None:
    """From the record (no picture in memory): each camera's stored JPEG, the damaged one large."""
    live = _three_views("right")
    refs = []
    for shot in live.views:
        name = f"item_{shot.camera}.jpg"
        assert cv2.imwrite(str(tmp_path / name), shot.frame)
        refs.append(ImageRef(shot.camera, "0" * 64, name))
    inspection = dataclasses.replace(live.verdict.inspection, images=tuple(refs))
    past = ItemView(dataclasses.replace(live.verdict, inspection=inspection), None)
    dialog = ItemDialog(past, None, tmp_path, 1.0, {}, repair_threshold=0.5)
    qtbot.addWidget(dialog)
    dialog.show()
    assert [t.camera_name for t in dialog.views.tiles()] == ["top", "left", "right"]
    assert dialog.camera._frame is not None and abs(int(dialog.camera._frame[5, 5, 0]) - 180) <= 3
    assert len(dialog.camera.shown_overlay().regions) == 1
    drawn = {t.camera_name: len(t.view.shown_overlay().regions) for t in dialog.views.tiles()}
    assert drawn == {"top": 0, "left": 0, "right": 1}


def test_a_bench_live_picture_hides_the_row_of_views_and_an_undo_brings_it_back(qtbot: QtBot) -> None:
    """Live between items, no tile may say "(shown above)" of a picture that is not the item's."""
    state = StationState()
    state.mode = "bench"
    live = np.full((180, 320, 3), 200, np.uint8)
    window, _ = open_window(qtbot, state, window_kwargs={"live_frames": lambda: live, "undo_s": 60.0})
    view = _three_views("left")
    state.add_item(view)
    qtbot.waitUntil(lambda: window.card.verdict_id == view.verdict.verdict_id)
    views = window.inspect_page.views
    qtbot.waitUntil(lambda: views.isVisibleTo(window))
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)  # confirmed: the next item is being placed
    qtbot.waitUntil(lambda: window.live_shown)
    assert not views.isVisibleTo(window)
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.live_shown)
    assert views.isVisibleTo(window) and [t.camera_name for t in views.tiles()] == ["top", "left", "right"]
