"""The one typed verdict every stage shares: storage, sync, UI and reports.

A `Verdict` is the station's answer for one item (schema "returns.verdict/1", the MQTT
payload and the SQLite row). Each part is a frozen dataclass validated in
`__post_init__`, so a malformed verdict fails where it is built, not where it is read.
`to_json()` / `from_json()` give exactly the agreed JSON shape (see the interfaces page).
Every later change — the conveyor's outcome, an operator's confirm, override or call for a
supervisor, a purge — is a new revision of the same verdict that says what it was
(`Verdict.change`, `changed_by`, `change_note`; `Verdict.revise`, `Verdict.override`).
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "CONVEYOR",
    "SCHEMA",
    "Change",
    "CodeRead",
    "ConformityFinding",
    "Decision",
    "DecisionSource",
    "DeclaredReason",
    "DefectFinding",
    "Disposition",
    "Grade",
    "ImageRef",
    "Inspection",
    "ItemInfo",
    "ModelRef",
    "Quality",
    "Reason",
    "ReasonValue",
    "Routing",
    "Verdict",
    "VerdictError",
    "ViewFinding",
    "format_time",
    "new_verdict_id",
    "parse_time",
]

logger = logging.getLogger(__name__)

SCHEMA = "returns.verdict/1"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Symbologies whose whole text is a GTIN (other codes carry one only in their GS1 field 01).
_GTIN_FORMATS = frozenset({"EAN13", "EAN8", "UPCA", "UPCE"})


class VerdictError(ValueError):
    """A verdict (or a JSON document claiming to be one) that breaks the schema; says which field."""


class Change(enum.StrEnum):
    """What a revision changed (docs/station-core.md, "Revisions")."""

    INSPECTED = "inspected"  # revision 1: the station's decision
    ROUTED = "routed"  # the conveyor's outcome written into `routing`
    CONFIRMED = "confirmed"  # the operator agreed with the decision as it stands
    OVERRIDDEN = "overridden"  # the operator changed the disposition
    SUPERVISOR_REQUESTED = "supervisor_requested"  # the operator asked a supervisor to look
    SUPERVISOR_APPROVED = "supervisor_approved"  # an override a supervisor's PIN approved
    PURGED = "purged"  # the customer's personal fields were erased


# `changed_by` of a `routed` revision: the conveyor, not a person.
CONVEYOR = "conveyor"
# Changes an operator makes: their id is `changed_by`.
_OPERATOR_CHANGES = frozenset({Change.CONFIRMED, Change.OVERRIDDEN, Change.SUPERVISOR_REQUESTED,
                               Change.SUPERVISOR_APPROVED})


class Disposition(enum.StrEnum):
    """Where the item goes next."""

    RESTOCK = "restock"
    REPAIR = "repair"
    RECYCLE = "recycle"
    MANUAL_REVIEW = "manual_review"
    QUARANTINE = "quarantine"


class Grade(enum.StrEnum):
    """Condition grade: A as new, B minor wear, C needs repair, D not resellable / not assessed."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class DecisionSource(enum.StrEnum):
    """Who made the decision."""

    AUTO = "auto"
    OPERATOR = "operator"


class DeclaredReason(enum.StrEnum):
    """The return reason the customer declared."""

    UNOPENED = "unopened"
    DEFECTIVE = "defective"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    NO_LONGER_NEEDED = "no_longer_needed"


def _fail(where: str, problem: str) -> VerdictError:
    return VerdictError(f"verdict field {where}: {problem}")


def _check_unit(where: str, value: float, low: float = 0.0, high: float = 1.0) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(where, f"expected a finite number, got {value!r}")
    if not low <= value <= high:
        raise _fail(where, f"{value!r} is outside [{low}, {high}]")


def _check_str(where: str, value: object, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise _fail(where, f"expected a non-empty string, got {value!r}")


# --- UUIDv7 -----------------------------------------------------------------------------

class _UuidClock:
    """Last millisecond and counter of the UUIDv7 generator, shared by all threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_ms = 0
        self.counter = 0


_clock = _UuidClock()


def new_verdict_id(now_ms: int | None = None) -> str:
    """A new UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, variant 10, random rest.

    Ids from one process sort in creation order: within one millisecond the 12-bit
    `rand_a` field is a counter started at a random value, so central systems can index
    verdicts by id and get time order for free.
    """
    with _clock.lock:
        ms = int(time.time() * 1000) if now_ms is None else now_ms
        if ms <= _clock.last_ms:
            ms = _clock.last_ms
            _clock.counter += 1
            if _clock.counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                ms += 1
                _clock.counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
        else:
            # Start in the lower half of the range so many ids in one millisecond still fit.
            _clock.counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
        _clock.last_ms = ms
        counter = _clock.counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand_b
    return str(uuid.UUID(int=value))


def _check_uuid(where: str, value: object) -> None:
    if not isinstance(value, str):
        raise _fail(where, f"expected a UUID string, got {value!r}")
    try:
        uuid.UUID(value)
    except ValueError:
        raise _fail(where, f"{value!r} is not a UUID") from None


# --- time ---------------------------------------------------------------------------------


def format_time(at: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a Z, as in every verdict."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    """The inverse of `format_time` (accepts any ISO 8601 with an offset or Z)."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise _fail("time", f"{text!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise _fail("time", f"{text!r} has no time zone; write it in UTC with a Z")
    return at.astimezone(UTC)


def _check_time(where: str, at: object) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise _fail(where, f"expected a time-zone-aware datetime, got {at!r}")


# --- parts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeRead:
    """One barcode read on the item (format as the reader names it, raw text, GS1 fields)."""

    format: str
    text: str
    gs1: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        _check_str("item.codes[].format", self.format)
        if not isinstance(self.text, str):
            raise _fail("item.codes[].text", f"expected a string, got {self.text!r}")
        if self.gs1 is not None and not self.gs1:
            object.__setattr__(self, "gs1", None)  # no GS1 fields reads back as null: one spelling only
        if self.gs1 is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.gs1.items()
        ):
            raise _fail("item.codes[].gs1", "expected a map of AI strings to value strings")

    @property
    def gtin(self) -> str | None:
        """The GTIN this code carries: its GS1 field 01, else the text of an EAN/UPC code; None otherwise."""
        if self.gs1 and self.gs1.get("01"):
            return self.gs1["01"]
        return self.text if self.format in _GTIN_FORMATS else None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this code."""
        return {"format": self.format, "text": self.text, "gs1": dict(self.gs1) if self.gs1 else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CodeRead:
        """Parse one code object."""
        return cls(format=data["format"], text=data["text"], gs1=data.get("gs1"))


@dataclass(frozen=True)
class ItemInfo:
    """What is known about the item: controller id, RMA, codes, expected and observed SKU."""

    controller_item_id: int | None = None
    rma: str | None = None
    codes: tuple[CodeRead, ...] = ()
    expected_sku: str | None = None
    observed_sku: str | None = None
    declared_reason: DeclaredReason | None = None

    def __post_init__(self) -> None:
        if self.controller_item_id is not None and (
            isinstance(self.controller_item_id, bool) or not isinstance(self.controller_item_id, int)
        ):
            raise _fail("item.controller_item_id",
                        f"expected an integer or null, got {self.controller_item_id!r}")
        _check_str("item.rma", self.rma, optional=True)
        _check_str("item.expected_sku", self.expected_sku, optional=True)
        _check_str("item.observed_sku", self.observed_sku, optional=True)
        object.__setattr__(self, "codes", tuple(self.codes))
        if not all(isinstance(c, CodeRead) for c in self.codes):
            raise _fail("item.codes", "expected CodeRead values")
        if self.declared_reason is not None:
            object.__setattr__(self, "declared_reason", DeclaredReason(self.declared_reason))

    @property
    def gtins(self) -> tuple[str, ...]:
        """The GTINs read on the item, in the order of its codes."""
        return tuple(gtin for gtin in (code.gtin for code in self.codes) if gtin is not None)

    @property
    def sku_matches(self) -> bool | None:
        """Whether the SKU seen is the one expected; None when either is unknown."""
        if self.expected_sku is None or self.observed_sku is None:
            return None
        return self.expected_sku == self.observed_sku

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the item."""
        return {
            "controller_item_id": self.controller_item_id,
            "rma": self.rma,
            "codes": [c.to_json() for c in self.codes],
            "expected_sku": self.expected_sku,
            "observed_sku": self.observed_sku,
            "declared_reason": self.declared_reason.value if self.declared_reason else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ItemInfo:
        """Parse the item object."""
        reason = data.get("declared_reason")
        return cls(
            controller_item_id=data.get("controller_item_id"),
            rma=data.get("rma"),
            codes=tuple(CodeRead.from_json(c) for c in data.get("codes", [])),
            expected_sku=data.get("expected_sku"),
            observed_sku=data.get("observed_sku"),
            declared_reason=DeclaredReason(reason) if reason is not None else None,
        )


Region = tuple[float, float, float, float, float]


@dataclass(frozen=True)
class DefectFinding:
    """The defect model's answer: overall score, label, class probabilities, regions [x, y, w, h, score].

    `view` names the camera whose view it judged (None on a one-camera station's older verdicts);
    regions are in that view's pixels.
    """

    score: float
    label: str
    probs: Mapping[str, float] = field(default_factory=dict)
    regions: tuple[Region, ...] = ()
    view: str | None = None

    def __post_init__(self) -> None:
        _check_unit("inspection.defect.score", self.score)
        _check_str("inspection.defect.label", self.label)
        _check_str("inspection.defect.view", self.view, optional=True)
        for name, p in self.probs.items():
            _check_unit(f"inspection.defect.probs.{name}", p)
        regions = tuple(tuple(float(v) for v in r) for r in self.regions)
        for r in regions:
            if len(r) != 5 or r[2] < 0 or r[3] < 0:
                raise _fail("inspection.defect.regions",
                            f"expected [x, y, w, h, score] with w, h >= 0, got {r!r}")
        object.__setattr__(self, "regions", regions)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the finding."""
        return {
            "score": self.score,
            "label": self.label,
            "probs": dict(self.probs),
            "regions": [list(r) for r in self.regions],
            "view": self.view,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DefectFinding:
        """Parse the defect object."""
        return cls(
            score=data["score"],
            label=data["label"],
            probs=dict(data.get("probs") or {}),
            regions=tuple(tuple(r) for r in data.get("regions") or ()),  # type: ignore[misc]
            view=data.get("view"),
        )


@dataclass(frozen=True)
class ViewFinding:
    """What one camera's view of the item showed: its defect finding, or why it has none."""

    camera: str
    defect: DefectFinding | None = None
    error: str | None = None  # no picture from this camera, the model failed on it, ...

    def __post_init__(self) -> None:
        _check_str("inspection.views[].camera", self.camera)
        _check_str("inspection.views[].error", self.error, optional=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the view."""
        return {"camera": self.camera, "defect": self.defect.to_json() if self.defect else None,
                "error": self.error}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ViewFinding:
        """Parse one view object."""
        defect = data.get("defect")
        return cls(data["camera"], DefectFinding.from_json(defect) if defect else None, data.get("error"))


@dataclass(frozen=True)
class ConformityFinding:
    """How much the item looks like the expected SKU, and which catalog SKU it looks most like."""

    similarity: float
    best_sku: str | None = None
    best_similarity: float | None = None

    def __post_init__(self) -> None:
        _check_unit("inspection.conformity.similarity", self.similarity, -1.0, 1.0)
        _check_str("inspection.conformity.best_sku", self.best_sku, optional=True)
        if self.best_similarity is not None:
            _check_unit("inspection.conformity.best_similarity", self.best_similarity, -1.0, 1.0)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the finding."""
        return {"similarity": self.similarity, "best_sku": self.best_sku,
                "best_similarity": self.best_similarity}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConformityFinding:
        """Parse the conformity object."""
        return cls(data["similarity"], data.get("best_sku"), data.get("best_similarity"))


@dataclass(frozen=True)
class ImageRef:
    """One stored frame: camera name, sha256 of the stored JPEG, path relative to the image folder."""

    camera: str
    sha256: str
    path: str | None = None

    def __post_init__(self) -> None:
        _check_str("inspection.images[].camera", self.camera)
        if not isinstance(self.sha256, str) or not _HEX64.match(self.sha256):
            raise _fail("inspection.images[].sha256",
                        f"expected 64 lower-case hex digits, got {self.sha256!r}")

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the image."""
        return {"camera": self.camera, "sha256": self.sha256, "path": self.path}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageRef:
        """Parse one image object."""
        return cls(data["camera"], data["sha256"], data.get("path"))


@dataclass(frozen=True)
class Quality:
    """Image quality of the chosen frame (sharpness as the variance of the Laplacian)."""

    sharpness: float
    exposure_ok: bool

    def __post_init__(self) -> None:
        if not math.isfinite(self.sharpness) or self.sharpness < 0:
            raise _fail("inspection.quality.sharpness", f"expected a number >= 0, got {self.sharpness!r}")

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the quality."""
        return {"sharpness": self.sharpness, "exposure_ok": self.exposure_ok}


@dataclass(frozen=True)
class Inspection:
    """What the cameras and models saw.

    `defect` is the finding that decides (the worst view's); `views` holds every camera's own
    when the station has more than one (empty on a one-camera station).
    """

    defect: DefectFinding | None = None
    conformity: ConformityFinding | None = None
    images: tuple[ImageRef, ...] = ()
    quality: Quality | None = None
    views: tuple[ViewFinding, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "images", tuple(self.images))
        object.__setattr__(self, "views", tuple(self.views))

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the inspection."""
        return {
            "defect": self.defect.to_json() if self.defect else None,
            "conformity": self.conformity.to_json() if self.conformity else None,
            "images": [i.to_json() for i in self.images],
            "quality": self.quality.to_json() if self.quality else None,
            "views": [v.to_json() for v in self.views],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Inspection:
        """Parse the inspection object."""
        quality = data.get("quality")
        return cls(
            defect=DefectFinding.from_json(data["defect"]) if data.get("defect") else None,
            conformity=ConformityFinding.from_json(data["conformity"]) if data.get("conformity") else None,
            images=tuple(ImageRef.from_json(i) for i in data.get("images", [])),
            quality=Quality(quality["sharpness"], quality["exposure_ok"]) if quality else None,
            views=tuple(ViewFinding.from_json(v) for v in data.get("views") or ()),
        )


ReasonValue = str | int | float | bool | None
_REASON_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Reason:
    """One reason as a stable code and its values, e.g. `Reason("gtin_unknown", {"gtin": "0401..."})`.

    `decision.reasons` carries the English sentence (central's contract); the code and values
    let a screen say the same in the operator's language (`station.i18n.render_reason`).
    """

    code: str
    values: Mapping[str, ReasonValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not _REASON_CODE.match(self.code):
            raise _fail("decision.reason_codes[].code", f"expected a lower-case code, got {self.code!r}")
        if not isinstance(self.values, Mapping) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str | int | float))
            for k, v in self.values.items()
        ):
            raise _fail("decision.reason_codes[].values",
                        "expected a map of names to strings, numbers or null")
        object.__setattr__(self, "values", dict(self.values))

    def __hash__(self) -> int:
        return hash((self.code, tuple(sorted(self.values.items(), key=lambda kv: kv[0]))))

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the reason."""
        return {"code": self.code, "values": dict(self.values)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reason:
        """Parse one reason object."""
        return cls(data["code"], dict(data.get("values") or {}))


@dataclass(frozen=True)
class Decision:
    """Grade, disposition, the reasons in plain words, flags and who decided."""

    grade: Grade
    disposition: Disposition
    reasons: tuple[str, ...]
    flags: tuple[str, ...] = ()
    confidence: float = 0.0
    source: DecisionSource = DecisionSource.AUTO
    operator_id: str | None = None
    override_reason: str | None = None
    # The reasons as codes and values, one per entry of `reasons` in the same order; empty for a
    # verdict written before reasons had codes (its English reasons are then shown as they are).
    reason_codes: tuple[Reason, ...] = ()

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "grade", Grade(self.grade))
            object.__setattr__(self, "disposition", Disposition(self.disposition))
            object.__setattr__(self, "source", DecisionSource(self.source))
        except ValueError as exc:
            raise _fail("decision", str(exc)) from None
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "flags", tuple(self.flags))
        object.__setattr__(self, "reason_codes", tuple(self.reason_codes))
        if not all(isinstance(r, Reason) for r in self.reason_codes):
            raise _fail("decision.reason_codes", "expected Reason values")
        if self.reason_codes and len(self.reason_codes) != len(self.reasons):
            raise _fail("decision.reason_codes",
                        f"{len(self.reason_codes)} codes for {len(self.reasons)} reasons; expected one each")
        if not self.reasons or not all(isinstance(r, str) and r for r in self.reasons):
            raise _fail("decision.reasons", "every decision needs at least one non-empty reason")
        _check_unit("decision.confidence", self.confidence)
        if self.source is DecisionSource.OPERATOR:
            _check_str("decision.operator_id", self.operator_id)
            _check_str("decision.override_reason", self.override_reason)
        elif self.operator_id is not None or self.override_reason is not None:
            raise _fail("decision.operator_id", "an automatic decision has no operator nor override reason")

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the decision (`reason_codes` only when there are codes: an optional field)."""
        data: dict[str, Any] = {
            "grade": self.grade.value,
            "disposition": self.disposition.value,
            "reasons": list(self.reasons),
            "flags": list(self.flags),
            "confidence": self.confidence,
            "source": self.source.value,
            "operator_id": self.operator_id,
            "override_reason": self.override_reason,
        }
        if self.reason_codes:
            data["reason_codes"] = [r.to_json() for r in self.reason_codes]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        """Parse the decision object."""
        return cls(
            grade=Grade(data["grade"]),
            disposition=Disposition(data["disposition"]),
            reasons=tuple(data["reasons"]),
            flags=tuple(data.get("flags") or ()),
            confidence=data["confidence"],
            source=DecisionSource(data.get("source", "auto")),
            operator_id=data.get("operator_id"),
            override_reason=data.get("override_reason"),
            reason_codes=tuple(Reason.from_json(r) for r in data.get("reason_codes") or ()),
        )


@dataclass(frozen=True)
class Routing:
    """The lane the station commanded, the lane the controller confirmed, late / lost."""

    lane_commanded: int | None = None
    lane_confirmed: int | None = None
    late: bool = False
    lost: bool = False

    @property
    def lane(self) -> int | None:
        """The lane the item went to as far as known: the confirmed one, else the commanded one."""
        return self.lane_confirmed if self.lane_confirmed is not None else self.lane_commanded

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the routing."""
        return {
            "lane_commanded": self.lane_commanded,
            "lane_confirmed": self.lane_confirmed,
            "late": self.late,
            "lost": self.lost,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Routing:
        """Parse the routing object."""
        return cls(data.get("lane_commanded"), data.get("lane_confirmed"),
                   bool(data.get("late", False)), bool(data.get("lost", False)))


@dataclass(frozen=True)
class ModelRef:
    """A model used for the verdict: name, version, sha256 of its ONNX file."""

    name: str
    version: str
    sha256: str

    def __post_init__(self) -> None:
        _check_str("models[].name", self.name)
        _check_str("models[].version", self.version)
        if not isinstance(self.sha256, str) or not _HEX64.match(self.sha256):
            raise _fail("models[].sha256", f"expected 64 lower-case hex digits, got {self.sha256!r}")

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the model."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True)
class Verdict:
    """The station's answer for one item; see the module docstring."""

    verdict_id: str
    revision: int
    station_id: str
    site_id: str
    session: str
    seq: int
    item: ItemInfo
    inspection: Inspection
    decision: Decision
    created_at: datetime
    decided_at: datetime
    routing: Routing = field(default_factory=Routing)
    models: tuple[ModelRef, ...] = ()
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    # What this revision changed, who changed it and their note (revision 1 is the station's own
    # decision; every later revision is made with `revise` or `override`, which say what changed).
    change: Change = Change.INSPECTED
    changed_by: str | None = None
    change_note: str | None = None

    def __post_init__(self) -> None:
        _check_uuid("verdict_id", self.verdict_id)
        _check_uuid("session", self.session)
        if isinstance(self.revision, bool) or not isinstance(self.revision, int) or self.revision < 1:
            raise _fail("revision", f"expected an integer >= 1, got {self.revision!r}")
        self._check_change()
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 0:
            raise _fail("seq", f"expected an integer >= 0, got {self.seq!r}")
        _check_str("station_id", self.station_id)
        _check_str("site_id", self.site_id)
        _check_time("created_at", self.created_at)
        _check_time("decided_at", self.decided_at)
        # The JSON carries milliseconds in UTC; hold exactly that so a stored verdict reads back equal.
        for name in ("created_at", "decided_at"):
            at: datetime = getattr(self, name).astimezone(UTC)
            object.__setattr__(self, name, at.replace(microsecond=at.microsecond // 1000 * 1000))
        object.__setattr__(self, "models", tuple(self.models))
        for stage, ms in self.timings_ms.items():
            if isinstance(ms, bool) or not isinstance(ms, int | float) or not math.isfinite(ms) or ms < 0:
                raise _fail(f"timings_ms.{stage}", f"expected milliseconds >= 0, got {ms!r}")

    def _check_change(self) -> None:
        """`change` is one of `Change` and agrees with the revision, who made it and the decision."""
        try:
            change = Change(self.change)
        except ValueError:
            known = ", ".join(c.value for c in Change)
            raise _fail("change", f"{self.change!r} is not one of {known}") from None
        object.__setattr__(self, "change", change)
        _check_str("changed_by", self.changed_by, optional=True)
        if self.change_note is not None and not isinstance(self.change_note, str):
            raise _fail("change_note", f"expected a string or null, got {self.change_note!r}")
        if (change is Change.INSPECTED) != (self.revision == 1):
            raise _fail("change", f"revision {self.revision} cannot be {change.value!r}: revision 1 is "
                                  "'inspected' (the station's decision), every later one says what changed")
        if change is Change.INSPECTED and self.changed_by is not None:
            raise _fail("changed_by", "the station's own decision ('inspected') has no changed_by")
        if change is Change.ROUTED and self.changed_by not in (None, CONVEYOR):
            raise _fail("changed_by", f"a 'routed' revision is the conveyor's, got {self.changed_by!r}")
        if change in _OPERATOR_CHANGES and self.changed_by is None:
            raise _fail("changed_by", f"a {change.value!r} revision names the operator who made it")
        if change in (Change.OVERRIDDEN, Change.SUPERVISOR_APPROVED) and (
                self.decision.source is not DecisionSource.OPERATOR):
            raise _fail("change", f"a {change.value!r} revision carries the operator's decision "
                                  "(decision.source = operator)")

    def to_json(self) -> dict[str, Any]:
        """The verdict as the agreed JSON object (schema returns.verdict/1)."""
        return {
            "schema": SCHEMA,
            "verdict_id": self.verdict_id,
            "revision": self.revision,
            "change": self.change.value,
            "changed_by": self.changed_by,
            "change_note": self.change_note,
            "station_id": self.station_id,
            "site_id": self.site_id,
            "session": self.session,
            "seq": self.seq,
            "item": self.item.to_json(),
            "inspection": self.inspection.to_json(),
            "decision": self.decision.to_json(),
            "routing": self.routing.to_json(),
            "models": [m.to_json() for m in self.models],
            "timings_ms": dict(self.timings_ms),
            "created_at": format_time(self.created_at),
            "decided_at": format_time(self.decided_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        """Parse a verdict JSON object; raises VerdictError naming the bad field."""
        if data.get("schema") != SCHEMA:
            raise _fail("schema", f"expected {SCHEMA!r}, got {data.get('schema')!r}")
        try:
            return cls(
                verdict_id=data["verdict_id"],
                revision=data["revision"],
                station_id=data["station_id"],
                site_id=data["site_id"],
                session=data["session"],
                seq=data["seq"],
                item=ItemInfo.from_json(data["item"]),
                inspection=Inspection.from_json(data["inspection"]),
                decision=Decision.from_json(data["decision"]),
                routing=Routing.from_json(data.get("routing") or {}),
                models=tuple(ModelRef(m["name"], m["version"], m["sha256"]) for m in data.get("models", [])),
                timings_ms=dict(data.get("timings_ms") or {}),
                created_at=parse_time(data["created_at"]),
                decided_at=parse_time(data["decided_at"]),
                # Absent in verdicts written before revisions said what changed: read by revision.
                change=data.get("change") or (Change.INSPECTED if data["revision"] == 1 else Change.ROUTED),
                changed_by=data.get("changed_by"),
                change_note=data.get("change_note"),
            )
        except KeyError as exc:
            raise _fail(str(exc.args[0]), "missing") from None
        except (TypeError, AttributeError) as exc:
            raise _fail("-", f"malformed ({exc})") from None

    def revise(self, change: Change, changed_by: str | None, note: str | None = None, *,
               decision: Decision | None = None, routing: Routing | None = None,
               decided_at: datetime | None = None) -> Verdict:
        """The next revision: `change` made by `changed_by` (with `note`), and what it replaced.

        Everything not given stays as it was — the decision, the routing — so a revision says only
        what it changed and the latest revision always tells the whole story.
        """
        return dataclasses.replace(
            self, revision=self.revision + 1, change=Change(change), changed_by=changed_by,
            change_note=note or None, decision=decision or self.decision, routing=routing or self.routing,
            decided_at=decided_at or self.decided_at)

    def override(
        self, disposition: Disposition, operator_id: str, reason: str, at: datetime | None = None,
        *, supervisor_approved: bool = False,
    ) -> Verdict:
        """The next revision: the operator's disposition with their reason; routing unchanged.

        An override after the item has left never re-routes it, so `routing` is copied
        as it was; the auto reasons are kept so the history reads as one story. With
        `supervisor_approved` (a supervisor's PIN was entered for it) the change says so;
        `changed_by` is still the operator who entered it.
        """
        if not reason or not reason.strip():
            raise VerdictError("an override needs a reason the operator wrote")
        at = at or datetime.now(UTC)
        previous = self.decision.disposition.value
        new = Disposition(disposition).value
        codes = self.decision.reason_codes
        decision = Decision(
            grade=self.decision.grade,
            disposition=Disposition(disposition),
            reasons=(*self.decision.reasons,
                     f"operator {operator_id} changed {previous} to {new}: {reason}"),
            flags=self.decision.flags,
            confidence=1.0,
            source=DecisionSource.OPERATOR,
            operator_id=operator_id,
            override_reason=reason,
            # Codes only when every earlier reason has one: a verdict from before codes stays English.
            reason_codes=(*codes, Reason("operator_override", {
                "operator": operator_id, "previous": previous, "new": new, "reason": reason,
            })) if codes else (),
        )
        change = Change.SUPERVISOR_APPROVED if supervisor_approved else Change.OVERRIDDEN
        # The reason is the decision's own (`override_reason`); `change_note` is for a note beside it.
        return self.revise(change, operator_id, decision=decision, decided_at=at)

    @property
    def key(self) -> str:
        """The outbox / idempotency key of this revision."""
        return f"{self.verdict_id}:{self.revision}"

