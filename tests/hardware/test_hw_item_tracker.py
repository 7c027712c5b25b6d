"""The item tracker's states: each transition, and the outcome handed out exactly once."""

from __future__ import annotations

import logging

import pytest

from hardware import events as ev
from hardware.item_tracker import ItemState, ItemTracker, LaneMap

LANES = LaneMap({"manual": 0, "restock": 1, "repair": 2, "recycle": 3, "quarantine": 4})
BOOT = 7


def _tracker(**timeouts: float) -> ItemTracker:
    tracker = ItemTracker(LANES, **timeouts)
    tracker.handle(ev.LinkUp(BOOT, True, "/dev/pty", 5, 0, 15), 0.0)
    return tracker


def test_an_item_goes_entered_at_camera_decided_recorded_and_its_outcome_comes_when_it_closes() -> None:
    tracker = _tracker()
    tracker.handle(ev.ItemEntered(BOOT, 1), 0.0)
    assert tracker.state_of(BOOT, 1) is ItemState.ENTERED
    tracker.handle(ev.ItemAtCamera(BOOT, 1, 0.7, 700), 0.1)
    assert tracker.state_of(BOOT, 1) is ItemState.AT_CAMERA
    assert tracker.command(BOOT, 1, 2, 0.2)
    assert tracker.state_of(BOOT, 1) is ItemState.DECIDED
    assert tracker.recorded(BOOT, 1, "v-1") is None  # still on the belt: nothing to write yet
    assert tracker.state_of(BOOT, 1) is ItemState.RECORDED
    assert tracker.open_items == 1

    (done,) = tracker.handle(ev.Diverted(BOOT, 1, 2, True), 1.0)

    assert done.verdict_id == "v-1"
    assert done.as_dict() == {"lane_commanded": 2, "lane_confirmed": 2, "late": False, "lost": False}
    assert tracker.state_of(BOOT, 1) is None and tracker.open_items == 0


def test_an_outcome_before_its_verdict_waits_in_closed_and_comes_back_from_recorded_once() -> None:
    tracker = _tracker()
    tracker.handle(ev.ItemAtCamera(BOOT, 1, 0.7, 700), 0.0)
    assert tracker.command(BOOT, 1, 3, 0.1)

    (closed,) = tracker.handle(ev.Diverted(BOOT, 1, 3, True), 0.5)

    assert closed.verdict_id is None  # counted as closed, but no verdict to write it to yet
    assert tracker.state_of(BOOT, 1) is ItemState.CLOSED
    assert tracker.open_items == 0  # the belt is settled even though the verdict is still queued
    outcome = tracker.recorded(BOOT, 1, "v-1")
    assert outcome is not None and outcome.verdict_id == "v-1"
    assert outcome.as_dict() == {"lane_commanded": 3, "lane_confirmed": 3, "late": False, "lost": False}
    assert tracker.state_of(BOOT, 1) is None
    assert tracker.recorded(BOOT, 1, "v-1") is None  # handed out once only
    assert tracker.expire(100.0) == []


def test_a_decision_after_the_item_closed_makes_its_outcome_late() -> None:
    # The controller sent the item down the default lane before the station decided.
    tracker = _tracker()
    tracker.handle(ev.ItemAtCamera(BOOT, 1, 0.7, 700), 0.0)
    (closed,) = tracker.handle(ev.Diverted(BOOT, 1, 0, False), 0.8)
    assert not closed.late

    assert not tracker.command(BOOT, 1, 2, 0.9)

    assert tracker.state_of(BOOT, 1) is ItemState.CLOSED
    outcome = tracker.recorded(BOOT, 1, "v-1")
    assert outcome is not None
    assert outcome.as_dict() == {"lane_commanded": None, "lane_confirmed": 0, "late": True, "lost": False}


def test_an_item_not_inspected_goes_from_at_camera_to_recorded() -> None:
    tracker = _tracker()
    tracker.handle(ev.ItemAtCamera(BOOT, 1, 0.7, 700), 0.0)
    assert tracker.recorded(BOOT, 1, "v-overloaded") is None
    assert tracker.state_of(BOOT, 1) is ItemState.RECORDED
    (done,) = tracker.handle(ev.Diverted(BOOT, 1, 0, False), 1.0)
    assert done.verdict_id == "v-overloaded" and done.lane_commanded is None and done.lane_confirmed == 0


def test_lost_items_and_unconfirmed_recorded_items_close_with_their_verdict() -> None:
    tracker = _tracker(confirm_timeout_s=2.0)
    for item in (1, 2):
        tracker.handle(ev.ItemAtCamera(BOOT, item, 0.7, 700), 0.0)
        tracker.command(BOOT, item, 1, 0.1)
        tracker.recorded(BOOT, item, f"v-{item}")

    (lost,) = tracker.handle(ev.Lost(BOOT, 1, "JAM"), 0.5)
    (unconfirmed,) = tracker.expire(2.8)

    assert (lost.verdict_id, lost.lost, lost.reason) == ("v-1", True, "lost: JAM")
    assert unconfirmed.verdict_id == "v-2" and unconfirmed.lost and "unconfirmed" in unconfirmed.reason


def test_a_new_boot_closes_open_items_and_keeps_closed_ones_waiting_for_their_verdict() -> None:
    tracker = _tracker()
    tracker.handle(ev.ItemAtCamera(BOOT, 1, 0.7, 700), 0.0)
    tracker.recorded(BOOT, 1, "v-1")
    tracker.handle(ev.ItemAtCamera(BOOT, 2, 0.7, 700), 0.0)
    tracker.handle(ev.ItemAtCamera(BOOT, 3, 0.7, 700), 0.0)
    tracker.handle(ev.Diverted(BOOT, 3, 0, False), 0.5)

    flushed = tracker.handle(ev.LinkUp(BOOT + 1, True, "/dev/pty", 5, 0, 15), 0.6)

    assert {(r.item_id, r.verdict_id, r.lost) for r in flushed} == {(1, "v-1", True), (2, None, True)}
    assert tracker.state_of(BOOT, 2) is ItemState.CLOSED
    outcome = tracker.recorded(BOOT, 3, "v-3")  # closed before the reboot: its outcome stands
    assert outcome is not None and outcome.lane_confirmed == 0 and not outcome.lost


def test_an_item_whose_verdict_never_comes_is_dropped_after_the_verdict_timeout(
        caplog: pytest.LogCaptureFixture) -> None:
    tracker = _tracker(verdict_timeout_s=30.0)
    tracker.handle(ev.ItemAtCamera(BOOT, 1, 0.7, 700), 0.0)
    tracker.command(BOOT, 1, 2, 0.1)
    tracker.handle(ev.Diverted(BOOT, 1, 2, True), 1.0)

    assert tracker.expire(31.0) == []
    assert tracker.state_of(BOOT, 1) is ItemState.CLOSED
    with caplog.at_level(logging.INFO, logger="hardware.item_tracker"):
        assert tracker.expire(31.5) == []

    assert tracker.state_of(BOOT, 1) is None
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and "no recorded verdict" in record.getMessage()
    assert tracker.recorded(BOOT, 1, "v-late") is None  # too late: nothing is handed out


def test_an_item_lost_before_the_camera_is_dropped_with_an_info_line(
        caplog: pytest.LogCaptureFixture) -> None:
    tracker = _tracker(verdict_timeout_s=30.0)
    tracker.handle(ev.ItemEntered(BOOT, 1), 0.0)
    tracker.handle(ev.Lost(BOOT, 1, "JAM"), 0.2)
    with caplog.at_level(logging.INFO, logger="hardware.item_tracker"):
        tracker.expire(40.0)
    (record,) = caplog.records
    assert record.levelno == logging.INFO and "lost: JAM" in record.getMessage()
    assert tracker.state_of(BOOT, 1) is None
