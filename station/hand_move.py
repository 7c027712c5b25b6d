"""An override after the conveyor already routed the item: someone must move it by hand.

The station never re-routes an item once it has passed the divert (`Verdict.override` keeps the
routing). When the operator's disposition belongs to another lane than the one the conveyor
confirmed (or was told, while no confirmation came), the item lies in the wrong lane: the window
tells the operator to move it, and the new revision says so to central with a reason and the
`move_by_hand` flag, so nobody reads "restock" beside `lane_confirmed: 3` as a contradiction.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from station.verdict import Disposition, Reason, Verdict

__all__ = ["MOVE_BY_HAND_FLAG", "HandMove", "hand_move", "override_revision"]

logger = logging.getLogger(__name__)

MOVE_BY_HAND_FLAG = "move_by_hand"
MANUAL_LANE_NAME = "manual"  # [hardware.lanes] names manual review's lane "manual"


@dataclass(frozen=True)
class HandMove:
    """Where the item lies (lane and its name) and where the operator's disposition wants it."""

    lane: int
    lane_name: str
    target: Disposition
    target_lane: int

    def reason(self) -> str:
        """The sentence added to the revision's reasons, for central and the item's history."""
        return (f"the conveyor had already sent the item to lane {self.lane} ({self.lane_name}): "
                f"it is to be moved by hand to {self.target.value} (lane {self.target_lane})")

    def code(self) -> Reason:
        """The same reason as a code and values, for a screen in the operator's language."""
        return Reason("move_by_hand", {"lane": self.lane, "lane_name": self.lane_name,
                                       "disposition": self.target.value, "target_lane": self.target_lane})


def _lane_of(disposition: Disposition, lanes: Mapping[str, int]) -> int | None:
    # As the conveyor routes: a disposition without a lane of its own (manual review) goes to manual.
    return lanes.get(disposition.value, lanes.get(MANUAL_LANE_NAME))


def _name_of(lane: int, lanes: Mapping[str, int]) -> str:
    for name, number in lanes.items():
        if number == lane:
            return name
    return f"lane {lane}"


def hand_move(verdict: Verdict, disposition: Disposition | str, lanes: Mapping[str, int]) -> HandMove | None:
    """The move an override of `verdict` to `disposition` needs, or None when the item is where it belongs.

    None too when nothing was routed (bench mode, no DIVERT yet) or the item is lost: there is no lane
    to take it out of.
    """
    routing = verdict.routing
    if routing.lost or routing.lane is None:
        return None
    target = Disposition(disposition)
    target_lane = _lane_of(target, lanes)
    if target_lane is None or target_lane == routing.lane:
        return None
    return HandMove(routing.lane, _name_of(routing.lane, lanes), target, target_lane)


def override_revision(
    previous: Verdict,
    disposition: Disposition,
    operator_id: str,
    reason: str,
    lanes: Mapping[str, int] | None,
    at: datetime | None = None,
    *,
    supervisor_approved: bool = False,
) -> Verdict:
    """`previous.override(...)`, plus the hand move's reason and flag when the item lies in another lane."""
    new = previous.override(disposition, operator_id, reason, at, supervisor_approved=supervisor_approved)
    move = hand_move(previous, disposition, lanes) if lanes else None
    if move is None:
        return new
    flags = new.decision.flags
    if MOVE_BY_HAND_FLAG not in flags:
        flags = (*flags, MOVE_BY_HAND_FLAG)
    codes = new.decision.reason_codes
    if len(codes) == len(new.decision.reasons):  # a verdict from before codes stays without them
        codes = (*codes, move.code())
    decision = dataclasses.replace(new.decision, reasons=(*new.decision.reasons, move.reason()), flags=flags,
                                   reason_codes=codes)
    logger.info("override of %s needs a move by hand from lane %s to lane %s",
                previous.verdict_id, move.lane, move.target_lane)
    return dataclasses.replace(new, decision=decision)
