"""An override of an item the conveyor already routed: the revision says it must be moved by hand."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

from station.config import HardwareConfig
from station.hand_move import MOVE_BY_HAND_FLAG, hand_move
from station.store import Store
from station.verdict import Disposition, Routing, Verdict

LANES = HardwareConfig().lanes  # manual 0, restock 1, repair 2, recycle 3, quarantine 4


def _routed(make_verdict: Callable[..., Verdict], routing: Routing,
            disposition: Disposition = Disposition.RECYCLE) -> Verdict:
    return dataclasses.replace(make_verdict(disposition=disposition), routing=routing)


def test_override_after_the_item_went_down_another_lane_is_flagged_with_a_reason(
    store: Store, make_verdict: Callable[..., Verdict]
) -> None:
    first = store.record_verdict(_routed(make_verdict, Routing(lane_commanded=3, lane_confirmed=3)))
    new = store.record_override(first.verdict_id, Disposition.RESTOCK, "op-7", "only the box is torn",
                                lanes=LANES)
    assert MOVE_BY_HAND_FLAG in new.decision.flags
    assert new.decision.reasons[-1] == ("the conveyor had already sent the item to lane 3 (recycle): "
                                       "it is to be moved by hand to restock (lane 1)")
    assert new.routing.lane_confirmed == 3  # the record keeps what the conveyor did
    stored = store.history(first.verdict_id)[-1]
    assert stored == new  # and the payload central gets says the same (validated on insert)
    (entry,) = store.audit_log(action="override")
    assert json.loads(entry.detail)["move_by_hand"] == {"from_lane": 3, "to_lane": 1}


def test_the_commanded_lane_counts_while_the_conveyor_has_not_confirmed(
    make_verdict: Callable[..., Verdict]
) -> None:
    verdict = _routed(make_verdict, Routing(lane_commanded=3, lane_confirmed=None))
    move = hand_move(verdict, Disposition.QUARANTINE, LANES)
    assert move is not None and (move.lane, move.lane_name, move.target_lane) == (3, "recycle", 4)


def test_no_move_when_the_item_is_already_in_the_lane_of_the_new_disposition(
    store: Store, make_verdict: Callable[..., Verdict]
) -> None:
    # The policy said restock, but the conveyor confirmed lane 3: the operator's recycle matches it.
    first = store.record_verdict(_routed(make_verdict, Routing(lane_commanded=1, lane_confirmed=3),
                                         Disposition.RESTOCK))
    new = store.record_override(first.verdict_id, Disposition.RECYCLE, "op-7", "cracked", lanes=LANES)
    assert MOVE_BY_HAND_FLAG not in new.decision.flags
    assert "move_by_hand" not in json.loads(store.audit_log(action="override")[0].detail)


def test_no_move_without_a_lane_manual_review_goes_to_the_manual_lane(
    make_verdict: Callable[..., Verdict]
) -> None:
    bench = _routed(make_verdict, Routing())
    lost = _routed(make_verdict, Routing(lane_commanded=3, lost=True))
    assert hand_move(bench, Disposition.RESTOCK, LANES) is None
    assert hand_move(lost, Disposition.RESTOCK, LANES) is None
    manual = hand_move(_routed(make_verdict, Routing(3, 3)), Disposition.MANUAL_REVIEW, LANES)
    assert manual is not None and manual.target_lane == 0


def test_without_lanes_the_override_is_as_before(store: Store, make_verdict: Callable[..., Verdict]) -> None:
    first = store.record_verdict(_routed(make_verdict, Routing(3, 3)))
    new = store.record_override(first.verdict_id, Disposition.RESTOCK, "op-7", "fine")
    assert MOVE_BY_HAND_FLAG not in new.decision.flags
