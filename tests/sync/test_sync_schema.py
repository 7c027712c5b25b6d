"""The verdict schema: what it accepts, what it refuses, and that the fast and the reference
validators agree."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from sync.loadgen import make_verdict, uuid7
from sync.schema import VerdictInvalidError, validate_verdict, verdict_schema


def _verdict() -> dict[str, Any]:
    return make_verdict("dock-01", "site-01", str(uuid7()), 7, random.Random(3))


def _set(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    *parents, last = path.split(".")
    node = out
    for p in parents:
        node = node[p]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return out


_DELETE = object()

BAD = [
    ("verdict_id", "not-a-uuid"),
    ("revision", 0),
    ("seq", "42"),
    ("decision.grade", "E"),
    ("decision.disposition", "sell"),
    ("decision.confidence", 1.5),
    ("decision.source", "robot"),
    ("item.declared_reason", "bored"),
    ("item.codes", "4006381333931"),
    ("inspection.defect.score", -0.1),
    ("inspection.images", [{"camera": "top", "sha256": "XYZ"}]),
    ("routing.late", "no"),
    ("created_at", "yesterday"),
    ("models", [{"name": "defect"}]),
    ("decision", _DELETE),
    ("station_id", "../etc"),
    ("change", "repainted"),
    ("changed_by", 7),
    ("change_note", ["a", "list"]),
]


def test_a_realistic_verdict_and_nullable_parts_are_accepted() -> None:
    verdict = _verdict()
    validate_verdict(verdict)
    for path in ("inspection.defect", "inspection.conformity", "inspection.quality", "item.rma",
                 "routing.lane_commanded", "item.declared_reason"):
        validate_verdict(_set(verdict, path, None))
    validate_verdict(_set(verdict, "path", "/tmp/item.jpg"))  # extra keys are allowed


@pytest.mark.parametrize(("path", "value"), BAD, ids=[p for p, _ in BAD])
def test_bad_field_is_refused_naming_the_field(path: str, value: Any) -> None:
    bad = _set(_verdict(), path, value)
    with pytest.raises(VerdictInvalidError) as info:
        validate_verdict(bad)
    assert path.split(".", maxsplit=1)[0] in str(info.value)
    # the reference 2020-12 validator agrees with the fast one
    assert not Draft202012Validator(verdict_schema()).is_valid(bad)


def test_other_schema_version_is_refused_with_the_version() -> None:
    with pytest.raises(VerdictInvalidError, match=r"returns\.verdict/2"):
        validate_verdict(_set(_verdict(), "schema", "returns.verdict/2"))


def test_uuid7_is_time_ordered_version_7() -> None:
    a, b = uuid7(1_000), uuid7(2_000)
    assert a.version == 7 and b.version == 7 and str(a) < str(b)


REASON_CODES = [
    {"code": "beyond_repair_at", "values": {"label": "tear", "where": "top left", "score": 0.91}},
    {"code": "gtin_unknown", "values": {"gtin": "04006381333931"}},
    {"code": "no_barcode", "values": {}},
    {"code": "operator_override", "values": {"operator": "op-7", "previous": "recycle", "new": "repair",
                                             "reason": "box only", "flag": True, "none": None}},
]


def test_old_verdicts_without_reason_codes_and_new_ones_with_them_are_both_accepted() -> None:
    old = _verdict()
    assert "reason_codes" not in old["decision"]
    validate_verdict(old)
    new = _set(old, "decision.reason_codes", REASON_CODES)
    validate_verdict(new)
    assert Draft202012Validator(verdict_schema()).is_valid(new)
    validate_verdict(_set(old, "decision.reason_codes", []))


@pytest.mark.parametrize("codes", [
    "no_barcode",
    [{"values": {}}],
    [{"code": "Not A Code"}],
    [{"code": "gtin_unknown", "values": {"gtin": ["04006381333931"]}}],
    [{"code": "frame_blurred", "values": {"sharpness": 1e300}}],
], ids=["not a list", "no code", "bad code", "list value", "huge number"])
def test_malformed_reason_codes_are_refused_naming_the_field(codes: Any) -> None:
    bad = _set(_verdict(), "decision.reason_codes", codes)
    with pytest.raises(VerdictInvalidError, match="decision"):
        validate_verdict(bad)
    assert not Draft202012Validator(verdict_schema()).is_valid(bad)


def test_a_station_verdict_with_codes_follows_the_schema() -> None:
    from datetime import UTC, datetime

    from station.config import PolicyConfig
    from station.policy import Evidence, decide
    from station.verdict import Inspection, ItemInfo, Verdict

    at = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    verdict = Verdict(verdict_id=str(uuid7()), revision=1, station_id="dock-01", site_id="site-01",
                      session=str(uuid7()), seq=1, item=ItemInfo(), inspection=Inspection(),
                      decision=decide(Evidence(camera_error="no picture"), PolicyConfig()),
                      created_at=at, decided_at=at)
    data = verdict.to_json()
    assert data["decision"]["reason_codes"][0] == {"code": "camera_failed", "values": {"error": "no picture"}}
    validate_verdict(data)
    validate_verdict(verdict.override(verdict.decision.disposition, "op-1", "seen by hand").to_json())
