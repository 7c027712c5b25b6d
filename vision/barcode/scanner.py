"""Hand scanners: one line per scan, parsed into the same `Code`s the camera reader gives.

Scanners are set up to send the AIM symbology identifier first ("]E0", "]C1", "]d2", "]Q3",
"]e0"...): it names the symbology and says whether the data is a GS1 element string. The
FNC1 separator arrives as GS (0x1D) or, through keyboard wedges that cannot type control
characters, as the text "^]". Lines without an identifier are taken as EAN/UPC when they
are 8, 12 or 13 digits with a valid check digit, as GS1 when they are written "(01)...",
and as Code 128 text otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TextIO

from vision.barcode.code import Code
from vision.barcode.engines import RawRead, classify_ean
from vision.barcode.formats import BARCODE_FORMATS
from vision.barcode.gs1 import GS, GS1Error, is_valid_mod10, parse_hri
from vision.barcode.interpret import judge

__all__ = ["KeyboardWedgeSource", "parse_scanner_line"]

logger = logging.getLogger(__name__)

_ZERO_QUAD = ((0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0))

# AIM symbology character -> our format ("E" and "e" need the content to decide).
_AIM_FORMAT = {"C": "Code128", "A": "Code39", "I": "ITF", "d": "DataMatrix", "Q": "QRCode", "L": "PDF417"}

# AIM identifiers whose data is a GS1 element string.
_AIM_GS1 = {"]C1", "]d2", "]Q3", "]e0", "]J1"}


def _format_for(aim: str, data: str) -> tuple[str, str] | None:
    kind = aim[1]
    if kind == "E":
        if aim == "]E4" or (len(data) == 8 and aim == "]E0" and data[0] not in "01"):
            return "EAN8", data
        if len(data) == 8:
            return "UPCE", data
        return classify_ean(data)
    if kind == "e":
        # Both DataBar kinds share "]e0"; an Omni/Stacked/Limited symbol holds only (01).
        plain = data.lstrip(GS)
        return ("DataBar" if len(plain) == 16 and plain.startswith("01") else "DataBarExpanded"), data
    fmt = _AIM_FORMAT.get(kind)
    return (fmt, data) if fmt else None


def _guess(data: str) -> tuple[str, str, bool]:
    """Format, content and GS1-ness of a line sent without an AIM identifier."""
    if data.isdigit() and len(data) in (8, 12, 13) and is_valid_mod10(data):
        if len(data) == 8:
            return "EAN8", data, False
        fmt, text = classify_ean(data)
        return fmt, text, False
    if data.startswith("("):
        try:
            elements = parse_hri(data)
        except GS1Error:
            return "Code128", data, False
        raw = ""
        for ai, value in elements:
            raw += ai + value + GS
        return "Code128", raw.rstrip(GS), True
    return "Code128", data, GS in data


def parse_scanner_line(line: str, formats: Sequence[str] = BARCODE_FORMATS) -> Code | None:
    """Parse one scanner line into a `Code` (uncertain ones carry `problem`); None for an empty
    line, an unknown symbology or a format that is turned off."""
    data = line.rstrip("\r\n").replace("^]", GS)
    if not data.strip():
        return None
    aim = ""
    if data.startswith("]") and len(data) >= 3:
        aim, data = data[:3], data[3:]
        found = _format_for(aim, data)
        if found is None:
            logger.info("scanner sent symbology %s, which the station does not handle: %r", aim, line)
            return None
        fmt, content = found
        gs1 = aim in _AIM_GS1
    else:
        fmt, content, gs1 = _guess(data)
    if fmt not in formats:
        logger.info("scanned %s ignored: that code type is turned off", fmt)
        return None
    raw = RawRead("scanner", fmt, content.lstrip(GS) if gs1 else content, gs1, _ZERO_QUAD, aim)
    code = judge(raw, ((0, 0), (0, 0), (0, 0), (0, 0)))
    if code.problem:
        logger.warning("scanned code is uncertain: %s", code.problem)
    return code


class KeyboardWedgeSource:
    """Codes from a keyboard-wedge scanner: one line of a text stream (stdin, a tty) per scan."""

    def __init__(self, stream: TextIO, formats: Sequence[str] = BARCODE_FORMATS) -> None:
        self._stream = stream
        self._formats = tuple(formats)

    def __iter__(self) -> Iterator[Code]:
        """Yield a `Code` per scanned line until the stream ends; lines that give nothing are skipped."""
        for line in self._stream:
            code = parse_scanner_line(line, self._formats)
            if code is not None:
                yield code
