"""The picture agrees with the card: defect boxes only when the defect finding counted, each thing
drawn labelled in words (the RMA code, the GTIN), and no green grade beside a red verdict."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
import itertools

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from station.palette import DISPOSITION_COLOURS
from station.state import ItemView, Overlay
from station.ui.camera_view import CameraView
from station.ui.item_card import ItemCard
from station.ui.theme import REGION_COLOUR
from station.verdict import CodeRead, DefectFinding, Disposition, Grade
from tests.ui.feeder import make_item
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui

GREY = 100
BOXES = ((200, 150, 160, 120, 0.92), (700, 200, 120, 100, 0.83), (900, 420, 140, 90, 0.76))
RMA_QUAD = ((120, 500), (320, 500), (320, 600), (120, 600))
EAN_QUAD = ((600, 520), (900, 520), (900, 620), (600, 620))


def _item(grade: Grade, disposition: Disposition, score: float, label: str = "tear") -> ItemView:
    """An item whose model drew three strong boxes, decided as `grade` / `disposition` on `score`."""
    view = make_item(7)
    verdict = view.verdict
    item = dataclasses.replace(verdict.item, rma="R-1042", codes=(
        CodeRead("QRCode", "R-1042"), CodeRead("EAN13", "4006381333931")))
    defect = DefectFinding(score=score, label=label, regions=BOXES)
    reasons = (("no defect found (score 0.41)",) if disposition is Disposition.RESTOCK
               else ("tear on the top left of the item, score 0.92: repairable",))
    decision = dataclasses.replace(verdict.decision, grade=grade, disposition=disposition, reasons=reasons)
    overlay = Overlay(
        codes=(("R-1042", RMA_QUAD), ("4006381333931", EAN_QUAD)),
        regions=tuple((int(x), int(y), int(w), int(h), s) for x, y, w, h, s in BOXES),
        heatmap=np.ones((10, 10), np.float32),
        item_box=(100, 100, 1080, 560),
    )
    return dataclasses.replace(
        view,
        verdict=dataclasses.replace(verdict, item=item, decision=decision,
                                    inspection=dataclasses.replace(verdict.inspection, defect=defect)),
        frame=np.full((720, 1280, 3), GREY, np.uint8),
        overlay=overlay,
    )


def _render(qtbot: QtBot, view: ItemView) -> tuple[CameraView, QImage]:
    camera = CameraView()
    qtbot.addWidget(camera)
    camera.resize(640, 360)  # half the 1280x720 frame
    camera.show()
    qtbot.waitExposed(camera)
    camera.show_item(view)
    return camera, camera.grab().toImage()


def _red_pixels(image: QImage) -> int:
    red = QColor(REGION_COLOUR).rgb()
    return sum(1 for y in range(image.height()) for x in range(0, image.width()) if image.pixel(x, y) == red)


def test_no_defect_box_on_a_restock_item_below_the_repair_threshold(qtbot: QtBot) -> None:
    camera, image = _render(qtbot, _item(Grade.B, Disposition.RESTOCK, 0.41))
    assert camera.shown_overlay().regions == ()
    assert camera.shown_overlay().heatmap is None
    assert _red_pixels(image) == 0
    # Inside the first box the frame shows as it is: no heatmap tint either.
    c = QColor(image.pixel(140, 100))
    assert (c.red(), c.green(), c.blue()) == (GREY, GREY, GREY)


def test_the_window_checks_the_score_against_the_repair_threshold_it_knows(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot)  # its settings say defect_repair = 0.5
    assert window.camera.repair_threshold == 0.5
    view = _item(Grade.C, Disposition.RESTOCK, 0.41)  # a grade from an older, lower threshold
    window.state.add_item(view)
    qtbot.waitUntil(lambda: window.card.verdict_id == view.verdict.verdict_id)
    assert window.camera.shown_overlay().regions == ()
    assert "0.41" in window.card.confidence.text()


def test_defect_boxes_are_drawn_and_named_when_the_defect_counted(qtbot: QtBot) -> None:
    camera, image = _render(qtbot, _item(Grade.C, Disposition.REPAIR, 0.92, label="crushed_corner"))
    assert len(camera.shown_overlay().regions) == 3
    assert camera.shown_overlay().heatmap is not None
    assert _red_pixels(image) > 100
    assert camera.region_words() == "crushed corner"


def test_an_empty_box_shows_no_defect_boxes(qtbot: QtBot) -> None:
    camera, _image = _render(qtbot, _item(Grade.D, Disposition.QUARANTINE, 0.95, label="empty"))
    assert camera.shown_overlay().regions == ()


def test_codes_are_labelled_in_words(qtbot: QtBot) -> None:
    camera, _image = _render(qtbot, _item(Grade.B, Disposition.RESTOCK, 0.41))
    assert [text for text, _quad in camera.shown_overlay().codes] == ["RMA R-1042", "GTIN 4006381333931"]


def test_the_inspected_area_says_what_it_is(qtbot: QtBot) -> None:
    view = _item(Grade.B, Disposition.RESTOCK, 0.41)
    view = dataclasses.replace(view, overlay=dataclasses.replace(view.overlay, roi=(40, 30, 1200, 660)))
    camera, _image = _render(qtbot, view)
    labels = dict(camera.drawn_labels())
    assert set(labels) == {"Area inspected", "RMA R-1042", "GTIN 4006381333931"}
    assert labels["Area inspected"].topLeft() == QPointF(40, 30)  # inside the area's top left corner


def test_labels_of_codes_side_by_side_do_not_cover_each_other(qtbot: QtBot) -> None:
    view = _item(Grade.C, Disposition.REPAIR, 0.92)
    close = ((130, 505), (330, 505), (330, 600), (130, 600))  # a second code 10 px from the RMA code
    overlay = dataclasses.replace(view.overlay, codes=(("R-1042", RMA_QUAD), ("4006381333931", close)))
    camera, _image = _render(qtbot, dataclasses.replace(view, overlay=overlay))
    labels = camera.drawn_labels()
    assert [text for text, _box in labels] == ["tear"] * 3 + ["RMA R-1042", "GTIN 4006381333931"]
    for (a, box_a), (b, box_b) in itertools.combinations(labels, 2):
        assert not box_a.intersects(box_b), (a, b)


def test_the_grade_tile_is_neutral_beside_any_verdict(qtbot: QtBot) -> None:
    card = ItemCard()
    qtbot.addWidget(card)
    card.resize(560, 460)
    card.show()
    qtbot.waitExposed(card)
    card.show_item(_item(Grade.B, Disposition.QUARANTINE, 0.41))
    tile = card.grade_tile.grab().toImage()
    shown = {QColor(tile.pixel(x, y)).name() for x in range(2, tile.width() - 2, 4)
             for y in range(2, tile.height() - 2, 4)}
    # No disposition colour in the tile (a green B beside QUARANTINE read as "good" from 1.5 m)...
    assert not shown & set(DISPOSITION_COLOURS.values())
    # ...and the block of the disposition's colour is the card's one coloured block.
    banner = card.banner.grab().toImage()
    assert QColor(banner.pixel(banner.width() - 4, banner.height() // 2)).name() == DISPOSITION_COLOURS[
        "quarantine"]
