"""The decision policy: grade, disposition, reasons and flags from what the station saw.

Pure functions, no I/O: `decide(evidence, policy)` looks only at the `Evidence` the
pipeline gathered (codes, the manifest's RMA record, catalog lookups, model findings,
camera and quality failures) and the thresholds of `[policy]`. Every rule that fires
adds a reason an operator can read at the bench. Anything the station could not
establish — no read, unknown RMA or SKU, a wrong or empty item, a model or camera
failure, low confidence — sends the item to manual review or quarantine; the station
never restocks by default.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from station import config as _config
from station.config import PolicyConfig
from station.i18n import render_reason
from station.verdict import (
    CodeRead,
    ConformityFinding,
    Decision,
    DeclaredReason,
    DefectFinding,
    Disposition,
    Grade,
    Quality,
    Reason,
    ReasonValue,
)
from vision.barcode.gs1 import gtin14

__all__ = [
    "FRAUD_REVIEW",
    "POLICY_RANGES",
    "DimensionsCheck",
    "Evidence",
    "RmaRecord",
    "decide",
    "describe_defect",
    "gtins_read",
    "update_policy",
]

logger = logging.getLogger(__name__)

FRAUD_REVIEW = "fraud_review"

# What central's config/set may change, with the allowed range of each (one source: config.RANGES).
POLICY_RANGES: dict[str, tuple[float, float]] = {
    key: bounds for (section, key), bounds in _config.RANGES.items() if section == "policy"
}

# Holding dispositions outrank condition ones: an item the station is unsure about is
# never sent on to a lane that would sell it.
_SEVERITY = {
    Disposition.RESTOCK: 0,
    Disposition.REPAIR: 1,
    Disposition.RECYCLE: 2,
    Disposition.MANUAL_REVIEW: 3,
    Disposition.QUARANTINE: 4,
}

# Defect labels that mean "nothing wrong" (the model's own good class).
_GOOD_LABELS = frozenset({"ok", "good", "none", "no_defect"})


@dataclass(frozen=True)
class RmaRecord:
    """The manifest's record of a return: the RMA, the SKU expected back, the declared reason."""

    rma: str
    expected_sku: str | None = None
    declared_reason: DeclaredReason | None = None


@dataclass(frozen=True)
class DimensionsCheck:
    """Measured item size against the catalog's, both in mm (any order; compared largest first)."""

    measured_mm: tuple[float, ...]
    expected_mm: tuple[float, ...]


@dataclass(frozen=True)
class Evidence:
    """Everything the policy looks at for one item; lookups are already resolved by the caller.

    `codes` are the codes the verdict records; `gtins` are the GTIN-14s they carry.
    `rma_read` is the RMA read from the label (or scanned); `rma` is its manifest record,
    None when the RMA is not in the manifest. `observed_sku` is the catalog SKU of the
    product GTIN read (None when unknown); `expected_gtins` are the GTINs of the RMA's
    expected SKU. A model or the camera that failed gives its failure text instead of a
    finding. `item_box` (x, y, w, h in frame pixels) lets reasons say where a defect is;
    without it the whole `frame_size` (w, h) is used.
    """

    codes: tuple[CodeRead, ...] = ()
    rma_read: str | None = None
    rma: RmaRecord | None = None
    observed_sku: str | None = None
    expected_gtins: tuple[str, ...] = ()
    defect: DefectFinding | None = None
    defect_error: str | None = None
    conformity: ConformityFinding | None = None
    conformity_error: str | None = None
    camera_error: str | None = None
    quality: Quality | None = None
    item_box: tuple[float, float, float, float] | None = None
    frame_size: tuple[int, int] | None = None
    dimensions: DimensionsCheck | None = None
    empty: bool = False

    @property
    def gtins(self) -> tuple[str, ...]:
        """The GTIN-14s read, in reading order, without repeats."""
        return gtins_read(self.codes)


def gtins_read(codes: Iterable[CodeRead]) -> tuple[str, ...]:
    """The GTIN-14s these codes carry, in reading order, without repeats."""
    return tuple(dict.fromkeys(filter(None, (gtin14(c.text, c.format) for c in codes))))


def _clip01(value: float) -> float:
    return max(0.0, min(1.0, value))


def _margin_confidence(distance: float, margin: float) -> float:
    """0.5 right at a threshold, 1.0 at `margin` or further from it."""
    return 0.5 + 0.5 * _clip01(abs(distance) / margin)


def _where(region: tuple[float, ...], box: tuple[float, float, float, float]) -> str:
    """Where a region's centre lies on the item, in thirds: "top left", "centre", "bottom"..."""
    x, y, w, h = box
    cx = (region[0] + region[2] / 2 - x) / w if w > 0 else 0.5
    cy = (region[1] + region[3] / 2 - y) / h if h > 0 else 0.5
    vertical = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else ""
    horizontal = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else ""
    return " ".join(p for p in (vertical, horizontal) if p) or "centre"


def _defect_values(
    defect: DefectFinding, box: tuple[float, float, float, float] | None
) -> tuple[bool, dict[str, ReasonValue]]:
    """Whether the defect has a place on the item, and the values its reasons name: label, score, where."""
    # A model whose top class is "ok" can still score above a threshold; do not call damage "ok".
    label = "defect" if defect.label.lower() in _GOOD_LABELS else defect.label.replace("_", " ")
    seen: dict[str, ReasonValue] = {"view": defect.view} if defect.view else {}
    if defect.regions and box is not None:
        strongest = max(defect.regions, key=lambda r: r[4])
        return True, {"label": label, "where": _where(strongest, box), "score": defect.score, **seen}
    return False, {"label": label, "score": defect.score, **seen}


def describe_defect(defect: DefectFinding, box: tuple[float, float, float, float] | None) -> str:
    """A defect in words: "tear on the top left of the item, score 0.91"."""
    at, values = _defect_values(defect, box)
    if at:
        return f"{values['label']} on the {values['where']} of the item, score {defect.score:.2f}"
    return f"{values['label']}, score {defect.score:.2f}"


def _grade(score: float, policy: PolicyConfig) -> Grade:
    if score < policy.grade_a_max:
        return Grade.A
    if score < policy.defect_repair:
        return Grade.B
    if score < policy.defect_recycle:
        return Grade.C
    return Grade.D


class _Rules:
    """Collects what each rule concluded, then folds it into one Decision."""

    def __init__(self) -> None:
        self.reasons: list[Reason] = []
        self.flags: list[str] = []
        self.holds: list[Disposition] = []
        self.confidences: list[float] = []
        self.failed = False

    def hold(self, disposition: Disposition, reason: Reason, failure: bool = False) -> None:
        self.holds.append(disposition)
        self.reasons.append(reason)
        self.failed = self.failed or failure

    def flag(self, flag: str, reason: Reason) -> None:
        if flag not in self.flags:
            self.flags.append(flag)
        self.reasons.append(reason)


def _check_codes(ev: Evidence, policy: PolicyConfig, rules: _Rules) -> None:
    if not ev.codes and ev.rma_read is None:
        rules.hold(Disposition.MANUAL_REVIEW, Reason("no_barcode"), failure=True)
    elif not ev.gtins:
        rules.hold(Disposition.MANUAL_REVIEW, Reason("no_gtin"), failure=True)
    if ev.rma_read is None:
        if policy.require_rma:
            rules.hold(Disposition.MANUAL_REVIEW, Reason("no_rma"), failure=True)
    elif ev.rma is None:
        rules.hold(Disposition.MANUAL_REVIEW, Reason("rma_unknown", {"rma": ev.rma_read}), failure=True)


def _declared_wrong_item(ev: Evidence) -> bool:
    return ev.rma is not None and ev.rma.declared_reason is DeclaredReason.WRONG_ITEM


def _wrong_item(ev: Evidence, rules: _Rules, reason: Reason) -> None:
    """Another product than the RMA's: quarantine — unless the customer said they got the wrong one."""
    if _declared_wrong_item(ev):
        # Then a different product is what to expect back; someone checks what was shipped.
        rules.hold(Disposition.MANUAL_REVIEW, Reason(f"{reason.code}_declared", reason.values))
    else:
        rules.hold(Disposition.QUARANTINE, reason)


def _check_identity(ev: Evidence, policy: PolicyConfig, rules: _Rules) -> bool:
    """Unknown SKU and wrong item; True when the item is not the one the RMA expects."""
    expected = ev.rma.expected_sku if ev.rma else None
    rma = ev.rma.rma if ev.rma else None
    gtins = ev.gtins
    wrong = False
    if expected and ev.observed_sku and ev.observed_sku != expected:
        gtin = gtins[0] if gtins else "?"
        _wrong_item(ev, rules, Reason("sku_mismatch", {"gtin": gtin, "observed": ev.observed_sku,
                                                       "rma": rma, "expected": expected}))
        wrong = True
    elif expected and gtins and ev.expected_gtins and not set(gtins) & set(ev.expected_gtins):
        _wrong_item(ev, rules, Reason("gtin_not_sku", {"gtin": gtins[0], "rma": rma, "expected": expected}))
        wrong = True
    if gtins and ev.observed_sku is None:
        rules.hold(Disposition.MANUAL_REVIEW, Reason("gtin_unknown", {"gtin": gtins[0]}), failure=True)
    return wrong


def _check_conformity(ev: Evidence, policy: PolicyConfig, rules: _Rules) -> bool:
    """The product check; True when the item looks like another catalog product."""
    if ev.conformity_error:
        rules.hold(Disposition.MANUAL_REVIEW, Reason("product_check_failed", {"error": ev.conformity_error}),
                   failure=True)
        return False
    if ev.conformity is None:
        if policy.require_conformity:
            rules.hold(Disposition.MANUAL_REVIEW, Reason("product_not_compared"), failure=True)
        return False
    found = ev.conformity
    target = (ev.rma.expected_sku if ev.rma else None) or ev.observed_sku
    threshold = policy.conformity_min_similarity
    if found.similarity >= threshold:
        rules.confidences.append(_margin_confidence(found.similarity - threshold, policy.decision_margin))
        return False
    best = found.best_similarity if found.best_similarity is not None else -1.0
    if found.best_sku and found.best_sku != target and best >= threshold:
        looks: dict[str, ReasonValue] = {"best_sku": found.best_sku, "best": best,
                                          "similarity": found.similarity}
        if target is None:
            _wrong_item(ev, rules, Reason("looks_like_unknown", looks))
        else:
            _wrong_item(ev, rules, Reason("looks_like", {**looks, "target": target}))
        return True
    values: dict[str, ReasonValue] = {"similarity": found.similarity, "threshold": threshold}
    if target is None:
        rules.hold(Disposition.MANUAL_REVIEW, Reason("not_like_unknown", values))
    else:
        rules.hold(Disposition.MANUAL_REVIEW, Reason("not_like", {"target": target, **values}))
    return False


def _check_dimensions(ev: Evidence, policy: PolicyConfig, rules: _Rules) -> None:
    check = ev.dimensions
    if check is None or not check.expected_mm:
        return
    measured = sorted(check.measured_mm, reverse=True)
    expected = sorted(check.expected_mm, reverse=True)
    pairs = zip(measured, expected, strict=False)
    off = any(e > 0 and abs(m - e) / e > policy.dimension_tolerance for m, e in pairs)
    if off:
        def size(values: list[float]) -> str:
            return "×".join(f"{v:.0f}" for v in values)

        rules.hold(Disposition.MANUAL_REVIEW,
                   Reason("size_off", {"measured": size(measured), "expected": size(expected)}))


def decide(evidence: Evidence, policy: PolicyConfig) -> Decision:
    """Grade, disposition, reasons, flags and confidence for one item (source "auto")."""
    ev = evidence
    rules = _Rules()
    _check_frame(ev, policy, rules)
    _check_codes(ev, policy, rules)
    wrong_item = _check_identity(ev, policy, rules)
    empty = ev.empty or (ev.defect is not None and ev.defect.label.lower() == "empty")
    if empty:
        rules.hold(Disposition.QUARANTINE, Reason("box_empty"))
    else:
        wrong_item = _check_conformity(ev, policy, rules) or wrong_item
    _check_dimensions(ev, policy, rules)
    condition, grade, damaged = _check_condition(ev, policy, rules, empty)
    _check_declared(ev, policy, rules, wrong_item=wrong_item, empty=empty, damaged=damaged)

    confidence = 0.0 if rules.failed else min(rules.confidences, default=0.0)
    candidates = list(rules.holds)
    if condition is not None:
        candidates.append(condition)
        if not rules.holds and confidence < policy.min_confidence:
            rules.hold(
                Disposition.MANUAL_REVIEW,
                Reason("not_sure", {"confidence": confidence, "minimum": policy.min_confidence}),
            )
            candidates.append(Disposition.MANUAL_REVIEW)
    disposition = max(candidates, key=_SEVERITY.__getitem__, default=Disposition.MANUAL_REVIEW)
    if not rules.reasons:  # pragma: no cover - every path above leaves a reason
        rules.reasons.append(Reason("no_evidence"))
    return Decision(
        grade=grade,
        disposition=disposition,
        # The English sentences are central's contract; the codes let a screen say them in French.
        reasons=tuple(render_reason(r, "en") for r in rules.reasons),
        flags=tuple(rules.flags),
        confidence=round(confidence, 4),
        reason_codes=tuple(rules.reasons),
    )


def _check_frame(ev: Evidence, policy: PolicyConfig, rules: _Rules) -> None:
    """A camera that failed, a frame badly exposed or blurred: nothing seen on it can be trusted."""
    if ev.camera_error:
        rules.hold(Disposition.MANUAL_REVIEW, Reason("camera_failed", {"error": ev.camera_error}),
                   failure=True)
    if ev.quality is not None:
        if not ev.quality.exposure_ok:
            rules.hold(Disposition.MANUAL_REVIEW, Reason("frame_exposure"), failure=True)
        if policy.min_sharpness > 0 and ev.quality.sharpness < policy.min_sharpness:
            rules.hold(
                Disposition.MANUAL_REVIEW,
                Reason("frame_blurred", {"sharpness": ev.quality.sharpness, "minimum": policy.min_sharpness}),
                failure=True,
            )


def _check_condition(ev: Evidence, policy: PolicyConfig, rules: _Rules,
                     empty: bool) -> tuple[Disposition | None, Grade, bool | None]:
    """The item's condition from the defect score: the lane it calls for (None when not judged),
    its grade, and whether it is damaged (None when not judged)."""
    if ev.defect_error:
        rules.hold(Disposition.MANUAL_REVIEW, Reason("defect_check_failed", {"error": ev.defect_error}),
                   failure=True)
        return None, Grade.D, None  # not assessed counts as not resellable as is
    if ev.defect is None:
        rules.hold(Disposition.MANUAL_REVIEW, Reason("not_inspected"), failure=True)
        return None, Grade.D, None
    if empty:
        return None, Grade.D, None
    defect = ev.defect
    box = ev.item_box or ((0.0, 0.0, float(ev.frame_size[0]), float(ev.frame_size[1]))
                          if ev.frame_size else None)
    damaged = defect.score >= policy.defect_repair
    at, found = _defect_values(defect, box)
    # On a station with several cameras the reason names the view that saw the damage.
    code = ("_view" if defect.view else "") + ("_at" if at else "")
    if defect.score >= policy.defect_recycle:
        condition = Disposition.RECYCLE
        rules.reasons.append(Reason("beyond_repair" + code, found))
    elif damaged:
        condition = Disposition.REPAIR
        rules.reasons.append(Reason("repairable" + code, found))
    else:
        condition = Disposition.RESTOCK
        rules.reasons.append(Reason("no_defect", {"score": defect.score}))
    nearest = min(abs(defect.score - policy.defect_repair), abs(defect.score - policy.defect_recycle))
    rules.confidences.append(_margin_confidence(nearest, policy.decision_margin))
    return condition, _grade(defect.score, policy), damaged


def _check_declared(ev: Evidence, policy: PolicyConfig, rules: _Rules, *, wrong_item: bool, empty: bool,
                    damaged: bool | None) -> None:
    """What the customer declared against what was seen: fraud flags (when enabled), and a declared
    fault the camera did not see is checked by hand."""
    declared = ev.rma.declared_reason if ev.rma else None
    if policy.fraud_review:
        if wrong_item and not _declared_wrong_item(ev):
            rules.flag(FRAUD_REVIEW, Reason("fraud_wrong_item"))
        if empty:
            rules.flag(FRAUD_REVIEW, Reason("fraud_empty_box"))
        if declared is DeclaredReason.UNOPENED and damaged and ev.defect is not None:
            rules.flag(FRAUD_REVIEW, Reason("fraud_unopened_damaged", _defect_values(ev.defect, None)[1]))
        if declared in (DeclaredReason.DEFECTIVE, DeclaredReason.DAMAGED) and damaged is False:
            rules.flag(FRAUD_REVIEW, Reason("fraud_declared_no_defect", {"declared": declared.value}))
    if declared in (DeclaredReason.DEFECTIVE, DeclaredReason.DAMAGED) and damaged is False:
        # A fault the camera cannot see (it does not switch on) is still a fault: never restock unchecked.
        rules.hold(Disposition.MANUAL_REVIEW, Reason("declared_needs_check", {"declared": declared.value}))


def update_policy(policy: PolicyConfig, changes: Mapping[str, object]) -> PolicyConfig:
    """A new PolicyConfig with `changes` applied (central's config/set); ValueError says which key is bad.

    Only keys of POLICY_RANGES (numbers) and the policy's switches may change; the
    previous policy stays in force when anything is wrong.
    """
    fields = {f.name: f for f in dataclasses.fields(PolicyConfig)}
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in fields:
            raise ValueError(f"policy key {key!r} does not exist (known: {', '.join(fields)})")
        if key in POLICY_RANGES:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"policy key {key!r} needs a number, got {value!r}")
            low, high = POLICY_RANGES[key]
            if not low <= value <= high:
                raise ValueError(f"policy key {key!r} = {value!r} is outside [{low}, {high}]")
            values[key] = float(value)
        elif isinstance(getattr(policy, key), bool):
            if not isinstance(value, bool):
                raise ValueError(f"policy key {key!r} needs true or false, got {value!r}")
            values[key] = value
        else:  # pragma: no cover - every policy field is a number or a switch
            raise ValueError(f"policy key {key!r} cannot be changed remotely")
    return dataclasses.replace(policy, **values)
