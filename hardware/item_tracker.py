"""One place that follows each item on the conveyor, from the entry eye to its verdict's outcome.

`ItemTracker` is fed every event of `ConveyorLink` (`handle`), the station's decision
(`command`) and the id of the verdict the station committed for the item (`recorded`);
`expire` is called now and then. An item's routing outcome (`ItemRouting`, the verdict's
`routing` block) is handed out exactly once, when the item is both recorded and closed.
The states and their transitions are in `ItemTracker`'s docstring. Lanes have names from
config ([hardware.lanes]); the manual-review lane is the controller's default, so an item
nobody decided for in time ends there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from hardware import events as ev

logger = logging.getLogger(__name__)

__all__ = ["ItemRouting", "ItemState", "ItemTracker", "LaneMap"]


@dataclass(frozen=True)
class LaneMap:
    """Disposition name -> lane number; `manual` is the default lane."""

    lanes: Mapping[str, int]
    manual: str = "manual"

    def __post_init__(self) -> None:
        if self.manual not in self.lanes:
            raise ValueError(f"[hardware.lanes] has no {self.manual!r} lane; add `{self.manual} = 0`")
        if len(set(self.lanes.values())) != len(self.lanes):
            raise ValueError(f"[hardware.lanes] gives two dispositions the same lane: {dict(self.lanes)}")

    @property
    def manual_lane(self) -> int:
        """The lane number of manual review (the controller's default lane)."""
        return self.lanes[self.manual]

    def lane_for(self, disposition: str) -> int:
        """The lane of a disposition; unknown dispositions go to manual review."""
        return self.lanes.get(disposition, self.manual_lane)

    def name_of(self, lane: int) -> str:
        """The disposition name of a lane number (or "lane N")."""
        for name, number in self.lanes.items():
            if number == lane:
                return name
        return f"lane {lane}"


@dataclass(frozen=True)
class ItemRouting:
    """How one item's journey ended: the verdict's routing block."""

    boot_id: int
    item_id: int
    lane_commanded: int | None
    lane_confirmed: int | None
    late: bool
    lost: bool
    reason: str  # "diverted", "lost: JAM", "rejected: TOO_LATE", "flushed: controller rebooted", ...
    # The verdict this outcome belongs to; None while the station has recorded none for the item.
    verdict_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The `routing` object of the verdict JSON."""
        return {"lane_commanded": self.lane_commanded, "lane_confirmed": self.lane_confirmed,
                "late": self.late, "lost": self.lost}


class ItemState(Enum):
    """Where an item is in its journey (see `ItemTracker` for the transitions)."""

    ENTERED = "entered"  # crossed the entry eye
    AT_CAMERA = "at camera"  # under the camera: its DIVERT deadline is known
    DECIDED = "decided"  # the station chose a lane: DIVERT sent, or too late for one
    RECORDED = "recorded"  # its verdict is committed: the verdict id is known
    CLOSED = "closed"  # diverted, lost, flushed or unconfirmed, before its verdict is known


@dataclass
class _Item:
    boot_id: int
    item_id: int
    seen_at: float
    state: ItemState = ItemState.ENTERED
    deadline: float | None = None
    lane_commanded: int | None = None
    late: bool = False
    reject: str | None = None
    verdict_id: str | None = None
    closed_at: float = 0.0
    outcome: ItemRouting | None = None  # how the journey ended, while CLOSED

    @property
    def open(self) -> bool:
        return self.state is not ItemState.CLOSED


class ItemTracker:
    """Every item from the entry eye to its verdict's outcome (single-threaded: call from one thread).

    | from                          | on                                         | to                       |
    |-------------------------------|--------------------------------------------|--------------------------|
    | (not tracked)                 | ItemEntered                                | ENTERED                  |
    | (not tracked), ENTERED        | ItemAtCamera (the deadline)                | AT_CAMERA                |
    | ENTERED, AT_CAMERA            | `command()`: in time (send DIVERT) or late | DECIDED                  |
    | ENTERED, AT_CAMERA, DECIDED   | `recorded(verdict_id)`                     | RECORDED                 |
    | ENTERED, AT_CAMERA, DECIDED   | Diverted, Lost, new boot, `expire()`       | CLOSED                   |
    | RECORDED                      | Diverted, Lost, new boot, `expire()`       | outcome handed out, gone |
    | CLOSED                        | `command()`: too late, marks the item late | CLOSED                   |
    | CLOSED                        | `recorded(verdict_id)`                     | outcome handed out, gone |
    | CLOSED                        | `expire()`, `verdict_timeout_s` after      | dropped, with a log line |

    An item not inspected (station overloaded, disk full) goes from AT_CAMERA to RECORDED
    without a decision. The outcome carries what only the station knows: a decision after
    the deadline is late even when the controller closed the item before the station
    decided. An item whose verdict never comes (lost before the camera, its record
    failed) is dropped `verdict_timeout_s` after it closed: verdicts are committed within
    seconds of the camera because the pipeline's queues are bounded, so none comes later.
    """

    def __init__(self, lanes: LaneMap, confirm_timeout_s: float = 10.0,
                 verdict_timeout_s: float = 60.0) -> None:
        self.lanes = lanes
        self.confirm_timeout_s = confirm_timeout_s
        self.verdict_timeout_s = verdict_timeout_s
        self.boot_id: int | None = None
        self.connected = False
        self.stopped_reason: str | None = None  # jam / e-stop: no diverts until Cleared
        self._items: dict[tuple[int, int], _Item] = {}

    @property
    def open_items(self) -> int:
        """Items whose journey is not over yet (not closed)."""
        return sum(1 for item in self._items.values() if item.open)

    def state_of(self, boot_id: int, item_id: int) -> ItemState | None:
        """The item's state; None when it is not tracked (never seen, or its outcome handed out)."""
        item = self._items.get((boot_id, item_id))
        return None if item is None else item.state

    def may_divert(self, boot_id: int, item_id: int, now: float) -> bool:
        """True when a DIVERT for this item can still be applied (link up, belt running, in time)."""
        item = self._items.get((boot_id, item_id))
        return (self.connected and self.stopped_reason is None and boot_id == self.boot_id
                and item is not None and item.open and item.deadline is not None and now < item.deadline)

    def command(self, boot_id: int, item_id: int, lane: int, now: float) -> bool:
        """Record a decision; True when the caller should send DIVERT, False when it is too late.

        An item decided after its deadline is marked late and left to the default lane.
        """
        item = self._items.get((boot_id, item_id))
        if item is None:
            return False
        in_time = self.may_divert(boot_id, item_id, now)
        if in_time:
            item.lane_commanded = lane
        else:
            item.late = item.late or (item.deadline is not None and now >= item.deadline)
        if item.state in (ItemState.ENTERED, ItemState.AT_CAMERA):
            item.state = ItemState.DECIDED
        return in_time

    def recorded(self, boot_id: int, item_id: int, verdict_id: str) -> ItemRouting | None:
        """The station committed `verdict_id` for the item: its outcome when the item already closed.

        Otherwise the outcome comes with the item's closing (`handle` or `expire`).
        """
        key = (boot_id, item_id)
        item = self._items.get(key)
        if item is None:
            return None
        item.verdict_id = verdict_id
        if item.outcome is None:
            item.state = ItemState.RECORDED
            return None
        del self._items[key]
        return self._merged(item, item.outcome)

    def handle(self, event: ev.Event, now: float) -> list[ItemRouting]:
        """Apply one link event; returns the items it closed (those with a `verdict_id` are done)."""
        if isinstance(event, ev.LinkUp):
            return self._link_up(event, now)
        if isinstance(event, ev.LinkDown):
            self.connected = False
        elif isinstance(event, ev.ItemEntered | ev.ItemAtCamera):
            self._seen(event, now)
        elif isinstance(event, ev.DivertAccepted | ev.DivertRejected):
            self._answered(event)
        elif isinstance(event, ev.Diverted):
            if not event.commanded:
                # The controller applied no command (safe outputs after an outage, or none came in
                # time): the default lane is where the item belongs, whatever was decided.
                return self._close_one(event.boot_id, event.item_id, event.lane,
                                       "diverted to the default lane (no command applied)", now,
                                       applied=False)
            return self._close_one(event.boot_id, event.item_id, event.lane, "diverted", now)
        elif isinstance(event, ev.Lost):
            return self._close_one(event.boot_id, event.item_id, None, f"lost: {event.reason}", now)
        elif isinstance(event, ev.Jam):
            self.stopped_reason = f"jam in zone {event.zone}"
        elif isinstance(event, ev.EStop):
            self.stopped_reason = "e-stop"
        elif isinstance(event, ev.Cleared):
            self.stopped_reason = None
        return []

    def expire(self, now: float) -> list[ItemRouting]:
        """Close items never confirmed `confirm_timeout_s` after their deadline (events lost in an
        outage); drop closed items whose verdict did not come within `verdict_timeout_s`."""
        done = []
        for item in list(self._items.values()):
            if item.outcome is not None:
                self._forget_if_stale(item, item.outcome, now)
                continue
            start = item.deadline if item.deadline is not None else item.seen_at
            if now - start > self.confirm_timeout_s:
                # The controller may well have acted (the DIVERT or its report may be what was
                # lost), so this says what is known: not where the item went.
                where = (f"lane {item.lane_commanded} was commanded and accepted" if item.lane_commanded
                         is not None else "no DIVERT was accepted")
                done.append(self._close(item, None, f"unconfirmed: the controller never reported where the "
                                                    f"item went ({where}); check the lanes", now))
        return done

    def _link_up(self, event: ev.LinkUp, now: float) -> list[ItemRouting]:
        self.connected = True
        flushed: list[ItemRouting] = []
        if event.new_boot:
            # Item ids of the old boot mean nothing now: close them all as lost.
            flushed = [self._close(item, None, "flushed: controller rebooted", now)
                       for item in list(self._items.values()) if item.open]
        self.boot_id = event.boot_id
        return flushed

    def _seen(self, event: ev.ItemEntered | ev.ItemAtCamera, now: float) -> None:
        key = (event.boot_id, event.item_id)
        item = self._items.setdefault(key, _Item(event.boot_id, event.item_id, now))
        if isinstance(event, ev.ItemAtCamera) and item.open:
            item.deadline = event.deadline
            if item.state is ItemState.ENTERED:
                item.state = ItemState.AT_CAMERA

    def _answered(self, event: ev.DivertAccepted | ev.DivertRejected) -> None:
        item = self._items.get((event.boot_id, event.item_id))
        if item is None or not item.open:
            return
        if isinstance(event, ev.DivertAccepted):
            item.lane_commanded = event.lane
        else:
            # A refused DIVERT commands nothing: the item takes the default lane, no misroute.
            item.lane_commanded = None
            item.reject = event.reason
            item.late = item.late or event.reason == "TOO_LATE"

    def _close_one(self, boot_id: int, item_id: int, lane: int | None, reason: str,
                   now: float, applied: bool = True) -> list[ItemRouting]:
        item = self._items.get((boot_id, item_id))
        if item is None or not item.open:
            return []
        if not applied:
            item.lane_commanded = None
        return [self._close(item, lane, reason, now)]

    def _close(self, item: _Item, lane: int | None, reason: str, now: float) -> ItemRouting:
        """End the item's journey; its outcome is handed out now if it is recorded, else kept."""
        lost = lane is None
        if item.reject and not lost:
            reason = f"{reason} (DIVERT rejected: {item.reject})"
        outcome = ItemRouting(item.boot_id, item.item_id, item.lane_commanded, lane, item.late, lost, reason)
        item.closed_at = now
        if item.state is ItemState.RECORDED:
            del self._items[(item.boot_id, item.item_id)]
            return self._merged(item, outcome)
        item.state = ItemState.CLOSED
        item.outcome = outcome
        return outcome

    @staticmethod
    def _merged(item: _Item, outcome: ItemRouting) -> ItemRouting:
        """The outcome with what only the station knows: its late decision and the verdict id."""
        return replace(outcome, late=outcome.late or item.late, verdict_id=item.verdict_id)

    def _forget_if_stale(self, item: _Item, outcome: ItemRouting, now: float) -> None:
        if now - item.closed_at <= self.verdict_timeout_s:
            return
        del self._items[(item.boot_id, item.item_id)]
        # An item lost before the camera never has a verdict; one seen by the camera should have.
        log = logger.warning if item.deadline is not None else logger.info
        log("item %s of boot %08x closed (%s) %.0f s ago and has no recorded verdict: its outcome is not "
            "written", item.item_id, item.boot_id, outcome.reason, now - item.closed_at)
