"""The decision policy as a table: each disposition, each reason, the fraud flags, and
never a restock when the station could not establish what it holds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.config import ConfigError, PolicyConfig, load_config
from station.policy import (
    FRAUD_REVIEW,
    POLICY_RANGES,
    DimensionsCheck,
    Evidence,
    RmaRecord,
    decide,
    update_policy,
)
from station.verdict import (
    CodeRead,
    ConformityFinding,
    DeclaredReason,
    DefectFinding,
    Disposition,
    Grade,
    Quality,
)

POLICY = PolicyConfig()
GTIN_A = "04006381333931"
GTIN_B = "05012345678900"
RMA = RmaRecord("R-1042", "SKU-A", DeclaredReason.NO_LONGER_NEEDED)


def good_item(**changes: object) -> Evidence:
    """An item that should be restocked: label and product read, known, conforming, clean."""
    base = Evidence(
        codes=(CodeRead("Code128", "R-1042"), CodeRead("EAN13", GTIN_A[1:])),
        rma_read="R-1042",
        rma=RMA,
        observed_sku="SKU-A",
        expected_gtins=(GTIN_A,),
        defect=DefectFinding(0.05, "ok"),
        conformity=ConformityFinding(0.9, "SKU-A", 0.9),
        frame_size=(1280, 720),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_clean_known_conforming_item_is_restocked_grade_a() -> None:
    decision = decide(good_item(), POLICY)
    assert decision.disposition is Disposition.RESTOCK
    assert decision.grade is Grade.A
    assert decision.flags == ()
    assert decision.confidence >= POLICY.min_confidence
    assert any("no defect found" in r for r in decision.reasons)


@pytest.mark.parametrize(
    ("score", "disposition", "grade", "words"),
    [
        (0.3, Disposition.RESTOCK, Grade.B, "no defect found (score 0.30)"),
        (0.7, Disposition.REPAIR, Grade.C, "repairable"),
        (0.95, Disposition.RECYCLE, Grade.D, "beyond repair"),
    ],
)
def test_defect_score_sets_grade_and_disposition(
    score: float, disposition: Disposition, grade: Grade, words: str
) -> None:
    decision = decide(good_item(defect=DefectFinding(score, "tear" if score > 0.5 else "ok")), POLICY)
    assert decision.disposition is disposition
    assert decision.grade is grade
    assert any(words in r for r in decision.reasons), decision.reasons


def test_defect_reason_names_label_score_and_where_on_the_item() -> None:
    # A tear in the top-left third of the item box.
    defect = DefectFinding(0.91, "tear", regions=((110, 105, 20, 20, 0.9), (300, 300, 5, 5, 0.2)))
    decision = decide(good_item(defect=defect, item_box=(100, 100, 300, 300)), POLICY)
    assert decision.disposition is Disposition.RECYCLE
    assert "tear on the top left of the item, score 0.91: beyond repair" in decision.reasons


@pytest.mark.parametrize(
    ("changes", "disposition", "reason"),
    [
        ({"codes": (), "rma_read": None}, Disposition.MANUAL_REVIEW, "no barcode read"),
        ({"codes": (CodeRead("Code128", "R-1042"),)}, Disposition.MANUAL_REVIEW,
         "no product barcode (GTIN) read"),
        ({"rma_read": None, "rma": None}, Disposition.MANUAL_REVIEW, "no return label (RMA) read"),
        ({"rma_read": "R-9999", "rma": None}, Disposition.MANUAL_REVIEW, "RMA R-9999 is not in the manifest"),
        ({"observed_sku": None, "expected_gtins": ()}, Disposition.MANUAL_REVIEW,
         f"GTIN {GTIN_A} is not in the catalogue"),
        ({"observed_sku": "SKU-B"}, Disposition.QUARANTINE,
         f"GTIN {GTIN_A} is SKU-B, not the SKU of RMA R-1042 (SKU-A)"),
        ({"observed_sku": None, "expected_gtins": (GTIN_B,)}, Disposition.QUARANTINE,
         f"GTIN {GTIN_A} is not the SKU of RMA R-1042 (SKU-A)"),
        ({"empty": True}, Disposition.QUARANTINE, "the box is empty"),
        ({"defect": DefectFinding(0.5, "empty")}, Disposition.QUARANTINE, "the box is empty"),
        ({"camera_error": "no frame for 2.0 s"}, Disposition.MANUAL_REVIEW,
         "camera failed: no frame for 2.0 s"),
        ({"defect": None, "defect_error": "inference timed out after 500 ms"}, Disposition.MANUAL_REVIEW,
         "defect check failed: inference timed out after 500 ms"),
        ({"defect": None}, Disposition.MANUAL_REVIEW, "not inspected for defects (no result)"),
        ({"conformity": None, "conformity_error": "model file missing"}, Disposition.MANUAL_REVIEW,
         "product check failed: model file missing"),
        ({"conformity": None}, Disposition.MANUAL_REVIEW,
         "product not compared with the catalogue (no result)"),
        ({"conformity": ConformityFinding(0.3, "SKU-A", 0.3)}, Disposition.MANUAL_REVIEW,
         "does not look like SKU-A (similarity 0.30 < 0.60)"),
        ({"conformity": ConformityFinding(0.3, "SKU-C", 0.88)}, Disposition.QUARANTINE,
         "looks like SKU-C (similarity 0.88), not SKU-A (0.30)"),
        ({"quality": Quality(300.0, exposure_ok=False)}, Disposition.MANUAL_REVIEW,
         "frame badly exposed (too dark or too bright)"),
        ({"dimensions": DimensionsCheck((120, 80, 40), (200, 150, 40))}, Disposition.MANUAL_REVIEW,
         "measures 120×80×40 mm, catalogue says 200×150×40 mm"),
        ({"defect": DefectFinding(0.52, "scratch")}, Disposition.MANUAL_REVIEW,
         "not sure enough (confidence 0.57 < 0.60)"),
    ],
)
def test_every_hold_rule_gives_its_disposition_and_reason(
    changes: dict[str, object], disposition: Disposition, reason: str
) -> None:
    decision = decide(good_item(**changes), POLICY)
    assert decision.disposition is disposition, decision.reasons
    assert reason in decision.reasons


def test_blur_check_only_when_configured() -> None:
    blurred = good_item(quality=Quality(12.0, exposure_ok=True))
    assert decide(blurred, POLICY).disposition is Disposition.RESTOCK
    strict = dataclasses.replace(POLICY, min_sharpness=50.0)
    decision = decide(blurred, strict)
    assert decision.disposition is Disposition.MANUAL_REVIEW
    assert "frame too blurred (sharpness 12 < 50)" in decision.reasons


def test_without_rma_requirement_a_known_clean_item_may_restock() -> None:
    relaxed = dataclasses.replace(POLICY, require_rma=False)
    evidence = good_item(rma_read=None, rma=None, codes=(CodeRead("EAN13", GTIN_A[1:]),))
    assert decide(evidence, relaxed).disposition is Disposition.RESTOCK
    assert decide(evidence, POLICY).disposition is Disposition.MANUAL_REVIEW


def test_the_gtins_read_are_those_of_every_gtin_carrier_once_in_reading_order() -> None:
    codes = (CodeRead("Code128", "R-1042"), CodeRead("UPCE", "04252614"), CodeRead("EAN13", GTIN_A[1:]),
             CodeRead("DataMatrix", f"(01){GTIN_A}(21)SN42", {"01": GTIN_A, "21": "SN42"}),
             CodeRead("QRCode", GTIN_A[1:]))
    assert Evidence(codes=codes).gtins == ("00042100005264", GTIN_A)


def test_declared_unopened_found_damaged_is_flagged() -> None:
    rma = RmaRecord("R-1042", "SKU-A", DeclaredReason.UNOPENED)
    decision = decide(good_item(rma=rma, defect=DefectFinding(0.7, "dent")), POLICY)
    assert FRAUD_REVIEW in decision.flags
    assert "declared unopened, found damaged (dent, score 0.70)" in decision.reasons
    assert decision.disposition is Disposition.REPAIR


@pytest.mark.parametrize("declared", [DeclaredReason.DEFECTIVE, DeclaredReason.DAMAGED])
def test_declared_defective_without_visible_defect_is_flagged_and_never_restocked(
    declared: DeclaredReason,
) -> None:
    decision = decide(good_item(rma=RmaRecord("R-1042", "SKU-A", declared)), POLICY)
    assert FRAUD_REVIEW in decision.flags
    assert f"declared {declared.value}, no defect found" in decision.reasons
    assert decision.disposition is Disposition.MANUAL_REVIEW


def test_wrong_item_and_empty_box_are_flagged_for_fraud_review() -> None:
    assert FRAUD_REVIEW in decide(good_item(observed_sku="SKU-B"), POLICY).flags
    assert FRAUD_REVIEW in decide(good_item(empty=True), POLICY).flags


def test_declared_wrong_item_returning_another_product_is_reviewed_not_accused() -> None:
    rma = RmaRecord("R-1042", "SKU-A", DeclaredReason.WRONG_ITEM)
    decision = decide(good_item(rma=rma, observed_sku="SKU-B"), POLICY)
    assert decision.disposition is Disposition.MANUAL_REVIEW
    assert FRAUD_REVIEW not in decision.flags
    assert (f"GTIN {GTIN_A} is SKU-B, not the SKU of RMA R-1042 (SKU-A); "
            "declared wrong item received: check what was shipped") in decision.reasons
    looks_other = good_item(rma=rma, conformity=ConformityFinding(0.2, "SKU-C", 0.9))
    assert decide(looks_other, POLICY).disposition is Disposition.MANUAL_REVIEW


def test_damage_under_a_good_label_is_not_called_ok() -> None:
    decision = decide(good_item(defect=DefectFinding(0.7, "ok")), POLICY)
    assert "defect, score 0.70: repairable" in decision.reasons


def test_fraud_flags_can_be_switched_off() -> None:
    off = dataclasses.replace(POLICY, fraud_review=False)
    rma = RmaRecord("R-1042", "SKU-A", DeclaredReason.UNOPENED)
    assert decide(good_item(rma=rma, defect=DefectFinding(0.7, "dent")), off).flags == ()


def test_failures_have_zero_confidence_and_quarantine_outranks_review() -> None:
    decision = decide(good_item(observed_sku="SKU-B", camera_error="unplugged"), POLICY)
    assert decision.disposition is Disposition.QUARANTINE
    assert decision.confidence == 0.0
    assert "camera failed: unplugged" in decision.reasons


failure_fields = st.fixed_dictionaries(
    {},
    optional={
        "camera_error": st.just("unplugged"),
        "defect_error": st.just("timeout"),
        "conformity_error": st.just("model missing"),
        "rma": st.none(),
        "observed_sku": st.none(),
        "codes": st.just(()),
        "empty": st.just(True),
        "defect": st.none(),
        "conformity": st.none(),
    },
).filter(bool)


@settings(max_examples=200, deadline=None)
@given(failures=failure_fields, score=st.floats(0, 1), similarity=st.floats(-1, 1))
def test_never_restock_when_anything_failed_or_is_unknown(
    failures: dict[str, object], score: float, similarity: float
) -> None:
    evidence = good_item(defect=DefectFinding(score, "ok"),
                         conformity=ConformityFinding(similarity, "SKU-A", 0.9))
    decision = decide(dataclasses.replace(evidence, **failures), POLICY)  # type: ignore[arg-type]
    assert decision.disposition in (Disposition.MANUAL_REVIEW, Disposition.QUARANTINE), decision


def test_policy_ranges_and_remote_updates() -> None:
    assert POLICY_RANGES["defect_repair"] == (0.0, 1.0)
    updated = update_policy(POLICY, {"defect_repair": 0.4, "fraud_review": False})
    assert updated.defect_repair == 0.4 and updated.fraud_review is False
    with pytest.raises(ValueError, match="outside"):
        update_policy(POLICY, {"min_confidence": 1.5})
    with pytest.raises(ValueError, match="must be below defect_recycle"):
        update_policy(POLICY, {"defect_repair": 0.9})
    with pytest.raises(ValueError, match="does not exist"):
        update_policy(POLICY, {"defect_repiar": 0.4})


def test_config_file_with_repair_above_recycle_is_refused_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# x\n[policy]\ndefect_repair = 0.9\ndefect_recycle = 0.8\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be below defect_recycle") as info:
        load_config(path, env={})
    assert info.value.line == 2


_RANK = [Disposition.RESTOCK, Disposition.REPAIR, Disposition.RECYCLE, Disposition.MANUAL_REVIEW,
         Disposition.QUARANTINE]


@settings(max_examples=200, deadline=None)
@given(low=st.floats(0, 1), high=st.floats(0, 1))
def test_more_damage_never_gives_a_better_grade(low: float, high: float) -> None:
    low, high = sorted((low, high))
    a = decide(good_item(defect=DefectFinding(low, "tear")), POLICY)
    b = decide(good_item(defect=DefectFinding(high, "tear")), POLICY)
    assert a.grade.value <= b.grade.value
    # Dispositions follow the score, except that uncertainty near a threshold holds for review.
    if Disposition.MANUAL_REVIEW not in (a.disposition, b.disposition):
        assert _RANK.index(a.disposition) <= _RANK.index(b.disposition)
