"""The words the window writes about a verdict that are not one of its fields as they are.

Every operator-facing phrase about a verdict's lane, time and author is here, so the
card, the recent list and the item dialog say the same thing in the same words.
"""

from __future__ import annotations

import logging

from station.verdict import DecisionSource, Verdict

logger = logging.getLogger(__name__)


def time_text(verdict: Verdict) -> str:
    """HH:MM:SS of when the item was decided first, on the dock's wall clock (recorded in UTC)."""
    return verdict.created_at.astimezone().strftime("%H:%M:%S")


def decided_by(verdict: Verdict) -> str:
    """The operator who overrode the verdict, or 'auto' for the station's own decision."""
    decision = verdict.decision
    return (decision.operator_id or "?") if decision.source is DecisionSource.OPERATOR else "auto"


def search_text(verdict: Verdict) -> str:
    """Lower-case text the search box matches: RMA, SKUs, GTINs, code texts."""
    item = verdict.item
    parts = [item.rma or "", item.expected_sku or "", item.observed_sku or "", *item.gtins,
             *(code.text for code in item.codes)]
    return " ".join(parts).lower()


def lane_text(verdict: Verdict, lane_name: str | None, lane_names: dict[int, str]) -> str:
    """'Lane 1 restock (confirmed)', 'Lane 2 repair - LATE, controller sent it to manual', 'not routed'."""
    routing = verdict.routing
    lane = routing.lane
    if lane is None:
        return "bench (not routed)" if not routing.late and not routing.lost else "not routed"
    name = lane_name or lane_names.get(lane, "")
    text = f"Lane {lane} {name}".strip()
    if routing.late:
        text += " - LATE, controller sent it to manual"
    elif routing.lost:
        text += " - LOST on the belt"
    elif routing.lane_confirmed is not None:
        text += " (confirmed)"
    else:
        text += " (commanded)"
    return text
