"""Reading the fields the operator sees out of a verdict dict (schema returns.verdict/1), tolerating gaps.

A verdict may lack a part (no defect model, no codes read): every accessor here returns a
value fit for display instead of raising, so one odd verdict never breaks the window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


def _part(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    value = verdict.get(name)
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class VerdictFields:
    """What the card and the recent list show of one verdict."""

    verdict_id: str
    revision: int
    seq: int | None
    rma: str | None
    expected_sku: str | None
    observed_sku: str | None
    gtins: tuple[str, ...]
    codes: tuple[str, ...]
    grade: str | None
    disposition: str | None
    reasons: tuple[str, ...]
    flags: tuple[str, ...]
    confidence: float | None
    source: str
    operator_id: str | None
    override_reason: str | None
    lane_commanded: int | None
    lane_confirmed: int | None
    late: bool
    lost: bool
    defect_score: float | None
    defect_label: str | None
    similarity: float | None
    declared_reason: str | None
    created_at: str
    total_ms: float | None

    @property
    def time_text(self) -> str:
        """HH:MM:SS of created_at (UTC as recorded)."""
        text = self.created_at
        return text[11:19] if len(text) >= 19 else text

    @property
    def sku_matches(self) -> bool | None:
        """Whether the seen SKU is the expected one (None when either is unknown)."""
        if not self.expected_sku or not self.observed_sku:
            return None
        return self.expected_sku == self.observed_sku

    def search_text(self) -> str:
        """Lower-case text the search box matches: RMA, GTINs, code texts, SKUs."""
        parts = [self.rma or "", self.expected_sku or "", self.observed_sku or "", *self.gtins, *self.codes]
        return " ".join(parts).lower()


def fields_of(verdict: dict[str, Any]) -> VerdictFields:
    """The display fields of a verdict dict."""
    item = _part(verdict, "item")
    inspection = _part(verdict, "inspection")
    decision = _part(verdict, "decision")
    routing = _part(verdict, "routing")
    defect = inspection.get("defect") if isinstance(inspection.get("defect"), dict) else {}
    conformity = inspection.get("conformity") if isinstance(inspection.get("conformity"), dict) else {}
    assert isinstance(defect, dict) and isinstance(conformity, dict)
    codes = [c for c in item.get("codes") or [] if isinstance(c, dict)]
    gtins = []
    for code in codes:
        gs1 = code.get("gs1")
        if isinstance(gs1, dict) and gs1.get("01"):
            gtins.append(str(gs1["01"]))
        elif code.get("format") in ("EAN13", "EAN8", "UPCA", "UPCE"):
            gtins.append(str(code.get("text", "")))
    confidence = decision.get("confidence")
    timings = _part(verdict, "timings_ms")
    return VerdictFields(
        verdict_id=str(verdict.get("verdict_id", "")),
        revision=int(verdict.get("revision", 1) or 1),
        seq=verdict.get("seq"),
        rma=item.get("rma"),
        expected_sku=item.get("expected_sku"),
        observed_sku=item.get("observed_sku"),
        gtins=tuple(gtins),
        codes=tuple(str(c.get("text", "")) for c in codes),
        grade=decision.get("grade"),
        disposition=decision.get("disposition"),
        reasons=tuple(str(r) for r in decision.get("reasons") or ()),
        flags=tuple(str(f) for f in decision.get("flags") or ()),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        source=str(decision.get("source") or "auto"),
        operator_id=decision.get("operator_id"),
        override_reason=decision.get("override_reason"),
        lane_commanded=routing.get("lane_commanded"),
        lane_confirmed=routing.get("lane_confirmed"),
        late=bool(routing.get("late")),
        lost=bool(routing.get("lost")),
        defect_score=defect.get("score"),
        defect_label=defect.get("label"),
        similarity=conformity.get("similarity"),
        declared_reason=item.get("declared_reason"),
        created_at=str(verdict.get("created_at") or ""),
        total_ms=timings.get("total"),
    )


def lane_text(fields: VerdictFields, lane_name: str | None, lane_names: dict[int, str]) -> str:
    """'Lane 1 restock (confirmed)', 'Lane 2 repair - LATE, sent to manual', '-' when not routed."""
    lane = fields.lane_confirmed if fields.lane_confirmed is not None else fields.lane_commanded
    if lane is None:
        return "bench (not routed)" if not fields.late and not fields.lost else "not routed"
    name = lane_name or lane_names.get(lane, "")
    text = f"Lane {lane} {name}".strip()
    if fields.late:
        text += " - LATE, controller sent it to manual"
    elif fields.lost:
        text += " - LOST on the belt"
    elif fields.lane_confirmed is not None:
        text += " (confirmed)"
    else:
        text += " (commanded)"
    return text
