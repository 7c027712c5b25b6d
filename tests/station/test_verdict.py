"""The verdict type: the agreed JSON shape round-trips, bad values fail where they are built,
ids are UUIDv7, and an override is a new revision that never re-routes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.verdict import (
    SCHEMA,
    CodeRead,
    Decision,
    DecisionSource,
    DefectFinding,
    Disposition,
    Grade,
    ImageRef,
    Inspection,
    ItemInfo,
    Verdict,
    VerdictError,
    new_verdict_id,
)


def test_json_has_exactly_the_agreed_shape_and_round_trips(make_verdict: Callable[..., Verdict]) -> None:
    verdict = make_verdict()
    data = json.loads(json.dumps(verdict.to_json()))
    assert data["schema"] == SCHEMA
    assert set(data) == {
        "schema", "verdict_id", "revision", "change", "changed_by", "change_note", "station_id",
        "site_id", "session", "seq", "item",
        "inspection", "decision", "routing", "models", "timings_ms", "created_at", "decided_at"}
    assert set(data["item"]) == {"controller_item_id", "rma", "codes", "expected_sku", "observed_sku",
                                 "declared_reason"}
    assert set(data["inspection"]) == {"defect", "conformity", "images", "quality", "views"}
    assert set(data["decision"]) == {"grade", "disposition", "reasons", "flags", "confidence", "source",
                                     "operator_id", "override_reason"}
    assert set(data["routing"]) == {"lane_commanded", "lane_confirmed", "late", "lost"}
    assert data["created_at"].endswith("Z") and len(data["created_at"]) == len("2026-11-24T21:50:00.123Z")
    assert Verdict.from_json(data).to_json() == data


def test_verdict_validates_against_the_sync_schema(make_verdict: Callable[..., Verdict]) -> None:
    from pathlib import Path

    import jsonschema

    path = Path(__file__).resolve().parents[2] / "sync" / "schemas" / "verdict-1.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(make_verdict().to_json(), schema)


def test_uuid7_layout_and_order() -> None:
    before = int(time.time() * 1000)
    ids = [new_verdict_id() for _ in range(2000)]
    value = uuid.UUID(ids[0])
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert abs((value.int >> 80) - before) < 5000  # the first 48 bits are Unix milliseconds
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: DefectFinding(1.5, "tear"), "inspection.defect.score"),
        (lambda: DefectFinding(0.5, "tear", regions=((1, 2, -3, 4, 0.5),)), "inspection.defect.regions"),
        (lambda: ImageRef("top", "abc"), "inspection.images[].sha256"),
        (lambda: Decision(Grade.A, Disposition.RESTOCK, ()), "decision.reasons"),
        (lambda: Decision(Grade.A, Disposition.RESTOCK, ("x",), confidence=2.0), "decision.confidence"),
        (lambda: Decision(Grade.A, Disposition.RESTOCK, ("x",), source=DecisionSource.OPERATOR),
         "decision.operator_id"),
        (lambda: Decision(Grade.A, "resell", ("x",)), "decision"),  # type: ignore[arg-type]
    ],
)
def test_bad_values_name_the_field(build: Callable[[], object], field: str) -> None:
    with pytest.raises(VerdictError, match=field.replace("[", r"\[").replace("]", r"\]")):
        build()


def test_from_json_rejects_other_schema_and_missing_fields(make_verdict: Callable[..., Verdict]) -> None:
    data = make_verdict().to_json()
    with pytest.raises(VerdictError, match="schema"):
        Verdict.from_json({**data, "schema": "returns.verdict/0"})
    broken = dict(data)
    del broken["decision"]
    with pytest.raises(VerdictError, match="decision"):
        Verdict.from_json(broken)
    with pytest.raises(VerdictError, match="verdict_id"):
        Verdict.from_json({**data, "verdict_id": "not-a-uuid"})


def test_override_is_next_revision_by_operator_and_keeps_routing(
    make_verdict: Callable[..., Verdict]
) -> None:
    verdict = make_verdict(late=True)
    at = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
    new = verdict.override(Disposition.REPAIR, "op-7", "scratch on the lid", at)
    assert new.verdict_id == verdict.verdict_id and new.revision == 2
    assert new.decision.source is DecisionSource.OPERATOR
    assert new.decision.operator_id == "op-7" and new.decision.override_reason == "scratch on the lid"
    assert new.decision.disposition is Disposition.REPAIR
    assert new.routing == verdict.routing
    assert new.decided_at == at and new.key == f"{verdict.verdict_id}:2"
    assert "operator op-7 changed restock to repair: scratch on the lid" in new.decision.reasons
    with pytest.raises(VerdictError, match="reason"):
        verdict.override(Disposition.REPAIR, "op-7", "  ")


codes = st.builds(
    CodeRead, format=st.sampled_from(["EAN13", "QRCode", "Code128"]), text=st.text(max_size=30),
    gs1=st.none() | st.dictionaries(st.sampled_from(["01", "10", "21"]), st.text(min_size=1), max_size=2))
unit = st.floats(0, 1)


@settings(max_examples=100, deadline=None)
@given(codes=st.lists(codes, max_size=4), score=unit, confidence=unit, seq=st.integers(0, 2**40),
       reason=st.text(min_size=1), item_id=st.none() | st.integers(0, 2**31))
def test_any_valid_verdict_round_trips_through_json_text(
    codes: list[CodeRead], score: float, confidence: float, seq: int, reason: str, item_id: int | None
) -> None:
    now = datetime.now(UTC)
    verdict = Verdict(
        verdict_id=new_verdict_id(), revision=1, station_id="dock-01", site_id="site-01",
        session=str(uuid.uuid4()), seq=seq,
        item=ItemInfo(controller_item_id=item_id, codes=tuple(codes)),
        inspection=Inspection(defect=DefectFinding(score, "tear", regions=((1.0, 2.0, 3.0, 4.0, score),))),
        decision=Decision(Grade.C, Disposition.REPAIR, (reason,), ("fraud_review",), confidence),
        created_at=now, decided_at=now,
    )
    assert Verdict.from_json(json.loads(json.dumps(verdict.to_json()))) == verdict
