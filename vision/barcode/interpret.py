"""Judging reads: check digits and GS1 rules, then fusing reads of one place into one code.

A read that fails a rule, or two decoders that read different things at the same place,
give an *uncertain* code: shown to the operator, never acted on. A misread that routes a
return to the wrong SKU costs more than a code the operator has to scan by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from vision.barcode.code import Code, Quad
from vision.barcode.engines import RawRead
from vision.barcode.formats import EAN_UPC
from vision.barcode.gs1 import GS1Error, hri, parse_element_string, parse_gtin

__all__ = ["SYNTAX", "fuse", "judge", "same_place"]

logger = logging.getLogger(__name__)

# Preference when engines agree: zxing reports richer facts (GS1 flag, UPC-E vs UPC-A, exact quad).
_ENGINE_RANK = {"zxing": 0, "zbar": 1, "scanner": 2}

# Problem prefix for GS1 content that breaks the AI syntax (unknown AI, bad pattern) but no
# check digit. Symbols printed with such content exist; when both decoders read the very same
# bytes the symbol was read right, and it is reported as a plain code without GS1 fields.
# One decoder alone is not believed: zbar is known to garble DataBar Expanded this way.
SYNTAX = "GS1 syntax: "

_ERROR_CORRECTED = frozenset({"QRCode", "DataMatrix", "PDF417"})

ITF_MIN_DIGITS = 6

# At a place where decoders disagree, a value read by both zxing and zbar wins over values
# read by one of them only (benchmarks/barcodes.py measures the rule with and without).
TWO_DECODERS_OUTWEIGH_ONE = True


def judge(raw: RawRead, quad: Quad) -> Code:
    """Turn one engine's read into a `Code`, with `problem` set when a check fails."""
    problem = raw.error
    text = raw.content
    gs1: dict[str, str] | None = None
    gtin: str | None = None
    if raw.format == "ITF" and len(raw.content) < ITF_MIN_DIGITS:
        # ITF has no start/stop pattern strong enough to keep a decoder from reading a few bars
        # of another symbol as a short ITF; no real carton or product code is that short.
        problem = problem or f"ITF of {len(raw.content)} digits is too short to trust (< {ITF_MIN_DIGITS})"
    if raw.format in EAN_UPC:
        try:
            gtin = parse_gtin(raw.content, raw.format)
        except GS1Error as exc:
            problem = problem or str(exc)
    elif raw.gs1:
        try:
            elements = parse_element_string(raw.content)
        except GS1Error as exc:
            if not problem:
                problem = str(exc) if exc.check_digit else SYNTAX + str(exc)
        else:
            gs1 = dict(elements)
            text = hri(elements)
            gtin = gs1.get("01")
    return Code(
        format=raw.format,
        text=text,
        gs1=gs1,
        gtin14=gtin,
        quad=quad,
        engines=(raw.engine,),
        symbology=raw.symbology,
        problem=problem,
    )


def _box(quad: Quad) -> tuple[float, float, float, float]:
    xs = [p[0] for p in quad]
    ys = [p[1] for p in quad]
    return min(xs), min(ys), max(xs), max(ys)


def _family(code: Code) -> str:
    return "EAN/UPC" if code.format in EAN_UPC else code.format


def same_place(a: Code, b: Code) -> bool:
    """True when one code's centre lies inside the other's box grown by a quarter of its size.

    Centre-in-box (not box overlap) keeps neighbouring codes on one label apart, while a
    zbar scan line and a zxing outline of the same linear symbol still match.
    """
    if _family(a) != _family(b):
        return False
    for p, q in ((a, b), (b, a)):
        x0, y0, x1, y1 = _box(q.quad)
        margin = 0.25 * max(x1 - x0, y1 - y0) + 4.0
        px0, py0, px1, py1 = _box(p.quad)
        cx, cy = (px0 + px1) / 2, (py0 + py1) / 2
        if x0 - margin <= cx <= x1 + margin and y0 - margin <= cy <= y1 + margin:
            return True
    return False


def _places(codes: Sequence[Code]) -> list[list[Code]]:
    """Codes grouped by place, transitively: A near B and B near C put all three in one place."""
    parent = list(range(len(codes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(codes)):
        for j in range(i + 1, len(codes)):
            if same_place(codes[i], codes[j]):
                parent[root(i)] = root(j)
    groups: dict[int, list[Code]] = {}
    for i, code in enumerate(codes):
        groups.setdefault(root(i), []).append(code)
    return list(groups.values())


def _merge(agreeing: Sequence[Code]) -> Code:
    best = min(agreeing, key=lambda c: _ENGINE_RANK.get(c.engines[0] if c.engines else "", 9))
    engines: list[str] = []
    for code in sorted(agreeing, key=lambda c: _ENGINE_RANK.get(c.engines[0] if c.engines else "", 9)):
        for engine in code.engines:
            if engine not in engines:
                engines.append(engine)
    return Code(best.format, best.text, best.gs1, best.gtin14, best.quad, tuple(engines), best.symbology, "")


def fuse(
    codes: Iterable[Code], zbar_needs_zxing: frozenset[str] = frozenset()
) -> tuple[list[Code], list[Code]]:
    """Group reads by place; agreeing certain reads become one certain code, disagreement is uncertain.

    Returns (certain, uncertain). A read that failed its checks next to a certain read of the
    same place is dropped: the other decoder read the symbol cleanly. Formats in
    `zbar_needs_zxing` read by zbar alone are uncertain.
    """
    groups = _places(list(codes))

    certain: list[Code] = []
    uncertain: list[Code] = []
    for group in groups:
        good = [c for c in group if not c.problem]
        if not good:
            syntax_only = [c for c in group if c.problem.startswith(SYNTAX)]
            engines = {e for c in syntax_only for e in c.engines}
            if len({c.text for c in syntax_only}) == 1 and len(engines) >= 2:
                merged = _merge(syntax_only)
                certain.append(Code(merged.format, merged.text, None, None, merged.quad, merged.engines,
                                    merged.symbology, ""))
            else:
                uncertain.append(_merge_uncertain(group))
            continue
        identities = {c.identity for c in good}
        if len(identities) > 1 and good[0].format in _ERROR_CORRECTED:
            # Reed-Solomon does not turn one symbol into another valid text: two texts at one
            # place are two symbols (a code nested in a code, overlapping labels).
            for identity in sorted(identities):
                certain.append(_merge([c for c in good if c.identity == identity]))
            continue
        if len(identities) == 1:
            merged = _merge(good)
            if merged.format in zbar_needs_zxing and merged.engines == ("zbar",):
                uncertain.append(Code(merged.format, merged.text, merged.gs1, merged.gtin14, merged.quad,
                                      merged.engines, merged.symbology,
                                      f"only zbar read this {merged.format}; zbar reads fragments of "
                                      "other symbols as one, so it needs zxing to agree"))
            else:
                certain.append(merged)
            continue
        by_identity = {identity: [c for c in good if c.identity == identity] for identity in identities}
        engines_of = {identity: {e for c in same for e in c.engines}
                      for identity, same in by_identity.items()}
        confirmed = [identity for identity, engines in engines_of.items() if len(engines) >= 2]
        if (TWO_DECODERS_OUTWEIGH_ONE and len(confirmed) == 1
                and all(len(engines_of[i]) == 1 for i in identities if i != confirmed[0])):
            # Both decoders read one value here, a single decoder read something else (typically
            # zbar reading a fragment as an EAN-8, or a one-digit slip by one decoder): two
            # independent decoders agreeing outweighs one. The odd reads stay visible as uncertain.
            winner = _merge(by_identity[confirmed[0]])
            certain.append(winner)
            for identity in sorted(i for i in identities if i != confirmed[0]):
                odd = _merge(by_identity[identity])
                uncertain.append(Code(odd.format, odd.text, odd.gs1, odd.gtin14, odd.quad, odd.engines,
                                      odd.symbology, f"at the place of {winner.text!r}, which both decoders "
                                      f"read, {'+'.join(odd.engines)} alone read {odd.text!r}"))
            continue
        readings = "; ".join(sorted({f"{'+'.join(c.engines)} read {c.text!r}" for c in good}))
        problem = f"decoders disagree at one place: {readings}"
        logger.info("uncertain %s code: %s", good[0].format, problem)
        for identity in sorted(identities):
            same = [c for c in good if c.identity == identity]
            merged = _merge(same)
            uncertain.append(
                Code(merged.format, merged.text, merged.gs1, merged.gtin14, merged.quad, merged.engines,
                     merged.symbology, problem)
            )
    # The same symbol seen twice in different places (e.g. two labels with one GTIN) stays twice;
    # the same identity found at one place by several passes was merged above.
    return certain, uncertain


def _merge_uncertain(group: Sequence[Code]) -> Code:
    first = group[0]
    engines = tuple(dict.fromkeys(e for c in group for e in c.engines))
    return Code(first.format, first.text, first.gs1, first.gtin14, first.quad, engines, first.symbology,
                first.problem)
