"""Plain warehouse words on the operator's screen: no value names with underscores, no internal
counters, and the conveyor's confirmation told apart from the operator's."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
import re
from datetime import datetime

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from station.ui.card_words import lane_words
from station.ui.item_card import ItemCard
from station.ui.top_bar import ClockCounts, TopBar
from station.verdict import DefectFinding, Disposition, Routing
from tests.ui.feeder import make_item
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def test_the_conveyor_and_the_operator_confirm_in_different_words(qtbot: QtBot) -> None:
    window, _ = open_window(qtbot)
    view = make_item(4)  # the conveyor saw it go down its lane
    window.state.add_item(view)
    qtbot.waitUntil(lambda: window.card.verdict_id == view.verdict.verdict_id)
    lane = view.verdict.routing.lane
    assert window.card.lane.text().startswith(f"Went down lane {lane}")
    assert "onfirm" not in window.card.lane.text()
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.card.status.text() == "Confirmed by op-7")
    assert window.card.lane.text().startswith(f"Went down lane {lane}")  # still the conveyor's words


def test_lane_words_say_where_the_item_went() -> None:
    verdict = make_item(1, frame=False).verdict
    assert lane_words(dataclasses.replace(verdict, routing=Routing(1, 1)), "restock", {}) == (
        "Went down lane 1 (restock)")
    assert lane_words(dataclasses.replace(verdict, routing=Routing(2)), None, {2: "repair"}) == (
        "Sent to lane 2 (repair)")
    late = dataclasses.replace(verdict, routing=Routing(2, 0, late=True))
    assert lane_words(late, None, {0: "manual"}) == "LATE: went to lane 0 (manual)"
    # The name given with the item is the chosen lane's: never put on the lane the conveyor used instead.
    assert lane_words(late, "repair", {}) == "LATE: went to lane 0"
    lost = dataclasses.replace(verdict, routing=Routing(1, None, lost=True))
    assert lane_words(lost, None, {}) == "LOST on the belt (lane 1)"
    assert lane_words(dataclasses.replace(verdict, routing=Routing()), None, {}) == (
        "On the bench: not sent to a lane")


def test_the_card_has_no_value_names_with_underscores(qtbot: QtBot) -> None:
    view = make_item(2, frame=False)
    verdict = view.verdict
    decision = dataclasses.replace(
        verdict.decision, disposition=Disposition.MANUAL_REVIEW, flags=("fraud_review",),
        reasons=("operator op-7 changed restock to manual_review: seal broken",))
    inspection = dataclasses.replace(verdict.inspection, defect=DefectFinding(0.31, "crushed_corner"))
    card = ItemCard()
    qtbot.addWidget(card)
    card.show_item(dataclasses.replace(view, verdict=dataclasses.replace(
        verdict, decision=decision, inspection=inspection)))
    shown = [card.disposition.text(), card.lane.text(), card.rma.text(), card.declared.text(),
             card.confidence.text(), card.reasons.text()]
    assert card.disposition.text() == "MANUAL REVIEW"
    assert "crushed corner" in card.confidence.text()
    assert "changed restock to manual review" in card.reasons.text()
    assert "⚑ Fraud review" in card.reasons.text()
    assert not [text for text in shown if SNAKE.search(text)]


def test_the_top_line_counts_what_an_operator_uses_and_problems_only_when_they_happened(qtbot: QtBot) -> None:
    bar = TopBar(1.0)
    qtbot.addWidget(bar)
    bar.show_counters({"items": 39, "items_per_hour": 1761, "latency_ms_p50": 61.2, "overloaded": 0,
                       "record_errors": 0, "outbox_backlog": 4, "queues": {"inspect": 0}, "lost": 0})
    text = bar.counters_label.text()
    assert text == "Items today: 39  ·  This hour: 39  ·  Waiting for central: 4"
    assert not bar.problems_label.isVisibleTo(bar)
    bar.show_counters({"items": 41, "outbox_backlog": 0, "lost": 2, "overloaded": 0})
    assert bar.problems_label.isVisibleTo(bar)
    assert bar.problems_label.text() == "Lost on the belt: 2"


def test_the_top_line_counts_today_from_the_record_when_the_station_gives_it(qtbot) -> None:
    """After a restart the run has seen 2 items; the record holds the morning's 5 as well."""
    bar = TopBar(1.0)
    qtbot.addWidget(bar)
    bar.show_counters({"items": 2, "items_today": 7, "items_this_hour": 3, "outbox_backlog": 0})
    assert bar.counters_label.text() == "Items today: 7  ·  This hour: 3  ·  Waiting for central: 0"


def test_items_this_hour_start_again_at_each_clock_hour() -> None:
    now = [datetime(2026, 12, 3, 9, 40)]
    clock = ClockCounts(lambda: now[0])
    assert clock.update(25) == (25, 25)  # the station started this hour: all its items are this hour's
    now[0] = datetime(2026, 12, 3, 10, 0, 1)
    assert clock.update(30) == (30, 5)  # a new hour: counted from the last count of the hour before
    assert clock.update(39) == (39, 14)
    now[0] = datetime(2026, 12, 4, 0, 0, 1)
    assert clock.update(50) == (11, 11)  # a new day
