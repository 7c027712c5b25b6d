"""The detail of a past item: the live card frozen on it with the stored picture, and its whole history."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import pytest
from pytestqt.qtbot import QtBot

from station.hand_move import override_revision
from station.state import ItemView, Overlay
from station.ui.item_dialog import ItemDialog
from station.verdict import CONVEYOR, Change, Disposition, ImageRef, Routing, Verdict
from tests.ui.feeder import LANES, make_item
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui

LANE_NAMES = {number: name for name, number in LANES.items()}


def _past_item(tmp_path: Path) -> tuple[ItemView, list[Verdict]]:
    """An item whose frame is no longer in memory (only its JPEG), routed to lane 3, then overridden."""
    live = make_item(49)  # damaged: one defect box
    stored = "2026/12/03/item_top.jpg"
    (tmp_path / "2026/12/03").mkdir(parents=True)
    assert cv2.imwrite(str(tmp_path / stored), live.frame)
    inspection = dataclasses.replace(live.verdict.inspection, images=(ImageRef("top", "0" * 64, stored),))
    first = dataclasses.replace(live.verdict, inspection=inspection)
    at = datetime(2026, 12, 3, 8, 1, tzinfo=UTC)
    routed = first.revise(Change.ROUTED, CONVEYOR, routing=Routing(lane_commanded=3, lane_confirmed=3),
                          decided_at=at)
    overridden = override_revision(routed, Disposition.RESTOCK, "op-7", "only the outer box is torn",
                                   LANES, at + timedelta(minutes=2))
    return ItemView(verdict=overridden, frame=None, overlay=live.overlay), [first, routed, overridden]


def test_the_detail_shows_the_stored_picture_on_the_card_and_who_overrode(
    qtbot: QtBot, tmp_path: Path
) -> None:
    view, revisions = _past_item(tmp_path)
    dialog = ItemDialog(view, lambda _verdict_id: revisions, tmp_path, 1.0, LANE_NAMES)
    qtbot.addWidget(dialog)
    dialog.resize(1320, 740)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.camera.has_frame()
    picture = dialog.card.captured_image.pixmap()
    assert picture is not None and not picture.isNull()  # the crop the live card showed
    assert dialog.card.disposition.text() == "RESTOCK"
    confidence = dialog.card.confidence.text()
    assert confidence == "Overridden by op-7: only the outer box is torn"
    assert "Confidence" not in confidence
    qtbot.waitUntil(lambda: dialog.history.rowCount() == 3)
    rows = [[dialog.history.item(r, c).text() for c in range(5)] for r in range(3)]
    assert [row[0] for row in rows] == ["1", "2", "3"]
    assert [row[2] for row in rows] == ["station", "conveyor", "op-7"]
    assert rows[1][3] == "Conveyor confirmed lane 3"
    assert rows[2][3] == "Overridden to restock"
    assert rows[2][4].startswith(
        "only the outer box is torn — the conveyor had already sent the item to lane 3"
    )
    # Readable: every column fits in the table, the short ones as wide as their words.
    header = dialog.history.horizontalHeader()
    assert header.length() <= dialog.history.viewport().width()
    for column in range(4):
        widest = max(dialog.history.sizeHintForColumn(column), header.sectionSizeHint(column))
        assert header.sectionSize(column) >= widest
    dialog.close()


def test_an_item_found_in_the_record_shows_its_defect_boxes(qtbot: QtBot, tmp_path: Path) -> None:
    view, revisions = _past_item(tmp_path)
    found = dataclasses.replace(view, overlay=Overlay())  # the record keeps no overlay, only the verdict
    window, _actions = open_window(qtbot, window_kwargs={"history_source": lambda _v: revisions})
    window.settings = dataclasses.replace(window.settings, images_dir=tmp_path)
    window.open_item(found)
    qtbot.waitUntil(lambda: len(window.findChildren(ItemDialog)) == 1)
    dialog = window.findChildren(ItemDialog)[0]
    assert dialog.camera.has_frame()
    defect = view.verdict.inspection.defect
    assert defect is not None
    assert len(defect.regions) == 1
    assert len(dialog.camera._overlay.regions) == 1
    dialog.close()
