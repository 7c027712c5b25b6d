"""The station's model of the conveyor: which items are on it, what was commanded, where they went.

Feed it every event of `ConveyorLink` (`handle`) and call `expire` now and then; it
returns an `ItemRouting` for each item whose journey is over, which is the verdict's
`routing` block. Lanes have names from config ([hardware.lanes]); the manual-review lane
is the controller's default, so an item nobody decided for in time ends there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hardware import events as ev

logger = logging.getLogger(__name__)

__all__ = ["Conveyor", "ItemRouting", "LaneMap"]


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

    def as_dict(self) -> dict[str, Any]:
        """The `routing` object of the verdict JSON."""
        return {"lane_commanded": self.lane_commanded, "lane_confirmed": self.lane_confirmed,
                "late": self.late, "lost": self.lost}


@dataclass
class _Item:
    boot_id: int
    item_id: int
    seen_at: float
    deadline: float | None = None
    lane_commanded: int | None = None
    late: bool = False
    reject: str | None = None


class Conveyor:
    """Items on the belt as the station knows them (single-threaded: call from one thread)."""

    def __init__(self, lanes: LaneMap, confirm_timeout_s: float = 10.0) -> None:
        self.lanes = lanes
        self.confirm_timeout_s = confirm_timeout_s
        self.boot_id: int | None = None
        self.connected = False
        self.stopped_reason: str | None = None  # jam / e-stop: no diverts until Cleared
        self._items: dict[tuple[int, int], _Item] = {}

    @property
    def open_items(self) -> int:
        """Items whose journey is not over yet."""
        return len(self._items)

    def may_divert(self, boot_id: int, item_id: int, now: float) -> bool:
        """True when a DIVERT for this item can still be applied (link up, belt running, in time)."""
        item = self._items.get((boot_id, item_id))
        return (self.connected and self.stopped_reason is None and boot_id == self.boot_id
                and item is not None and item.deadline is not None and now < item.deadline)

    def command(self, boot_id: int, item_id: int, lane: int, now: float) -> bool:
        """Record a decision; True when the caller should send DIVERT, False when it is too late.

        An item decided after its deadline is marked late and left to the default lane.
        """
        item = self._items.get((boot_id, item_id))
        if item is None:
            return False
        if not self.may_divert(boot_id, item_id, now):
            item.late = item.late or (item.deadline is not None and now >= item.deadline)
            return False
        item.lane_commanded = lane
        return True

    def handle(self, event: ev.Event, now: float) -> list[ItemRouting]:
        """Apply one link event; returns the items it finished."""
        if isinstance(event, ev.LinkUp):
            self.connected = True
            flushed: list[ItemRouting] = []
            if event.new_boot:
                # Item ids of the old boot mean nothing now: close them all as lost.
                flushed = [self._close(key, None, lost=True, reason="flushed: controller rebooted")
                           for key in list(self._items)]
            self.boot_id = event.boot_id
            return flushed
        if isinstance(event, ev.LinkDown):
            self.connected = False
            return []
        if isinstance(event, ev.ItemEntered | ev.ItemAtCamera):
            key = (event.boot_id, event.item_id)
            item = self._items.setdefault(key, _Item(event.boot_id, event.item_id, now))
            if isinstance(event, ev.ItemAtCamera):
                item.deadline = event.deadline
            return []
        if isinstance(event, ev.DivertAccepted):
            accepted = self._items.get((event.boot_id, event.item_id))
            if accepted is not None:
                accepted.lane_commanded = event.lane
            return []
        if isinstance(event, ev.DivertRejected):
            rejected = self._items.get((event.boot_id, event.item_id))
            if rejected is not None:
                rejected.reject = event.reason
                rejected.late = rejected.late or event.reason == "TOO_LATE"
            return []
        if isinstance(event, ev.Diverted):
            key = (event.boot_id, event.item_id)
            if key not in self._items:
                return []
            return [self._close(key, event.lane, lost=False, reason="diverted")]
        if isinstance(event, ev.Lost):
            key = (event.boot_id, event.item_id)
            if key not in self._items:
                return []
            return [self._close(key, None, lost=True, reason=f"lost: {event.reason}")]
        if isinstance(event, ev.Jam):
            self.stopped_reason = f"jam in zone {event.zone}"
        elif isinstance(event, ev.EStop):
            self.stopped_reason = "e-stop"
        elif isinstance(event, ev.Cleared):
            self.stopped_reason = None
        return []

    def expire(self, now: float) -> list[ItemRouting]:
        """Close items never confirmed `confirm_timeout_s` after their deadline (events lost in an outage)."""
        done = []
        for key, item in list(self._items.items()):
            start = item.deadline if item.deadline is not None else item.seen_at
            if now - start > self.confirm_timeout_s:
                # The controller may well have acted (the DIVERT or its report may be what was
                # lost), so this says what is known: not where the item went.
                where = (f"lane {item.lane_commanded} was commanded and accepted" if item.lane_commanded
                         is not None else "no DIVERT was accepted")
                done.append(self._close(key, None, lost=True,
                                        reason=f"unconfirmed: the controller never reported where the item "
                                               f"went ({where}); check the lanes"))
        return done

    def _close(self, key: tuple[int, int], lane: int | None, lost: bool, reason: str) -> ItemRouting:
        item = self._items.pop(key)
        if item.reject and not lost:
            reason = f"{reason} (DIVERT rejected: {item.reject})"
        return ItemRouting(item.boot_id, item.item_id, item.lane_commanded, lane, item.late, lost, reason)
