"""The verdict type: the agreed JSON shape round-trips, bad values fail where they are built,
ids are UUIDv7, and an override is a new revision that never re-routes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from station.verdict import (
    SCHEMA,
    Decision,
    DecisionSource,
    DefectFinding,
    Disposition,
    Grade,
    ImageRef,
    Verdict,
    VerdictError,
    new_verdict_id,
)


def test_json_has_exactly_the_agreed_shape_and_round_trips(make_verdict: Callable[..., Verdict]) -> None:
    verdict = make_verdict()
    data = json.loads(json.dumps(verdict.to_json()))
    assert data["schema"] == SCHEMA
    assert set(data) == {
        "schema", "verdict_id", "revision", "station_id", "site_id", "session", "seq", "item",
        "inspection", "decision", "routing", "models", "timings_ms", "created_at", "decided_at"}
    assert set(data["item"]) == {"controller_item_id", "rma", "codes", "expected_sku", "observed_sku",
                                 "declared_reason"}
    assert set(data["inspection"]) == {"defect", "conformity", "images", "quality"}
    assert set(data["decision"]) == {"grade", "disposition", "reasons", "flags", "confidence", "source",
                                     "operator_id", "override_reason"}
    assert set(data["routing"]) == {"lane_commanded", "lane_confirmed", "late", "lost"}
    assert data["created_at"].endswith("Z") and len(data["created_at"]) == len("2026-11-24T21:50:00.123Z")
    assert Verdict.from_json(data).to_json() == data


def test_verdict_validates_against_the_sync_schema_when_present(make_verdict: Callable[..., Verdict]) -> None:
    from pathlib import Path

    import jsonschema

    schemas = sorted((Path(__file__).resolve().parents[2] / "sync" / "schemas").glob("verdict*.json"))
    if not schemas:
        pytest.skip("sync/schemas/verdict*.json not in this tree yet")
    schema = json.loads(schemas[0].read_text(encoding="utf-8"))
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
