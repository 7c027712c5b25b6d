"""GS1 rules: mod-10 check digits, GTIN-14 normalisation, UPC-E expansion, element strings.

`gtin14` is the station's one GTIN normaliser: the reader, the catalog import, the
in-memory lookup and the store's code index all ask it, so a code has the same GTIN-14
wherever it is looked up.

Element strings are parsed by `biip` (the GS1 AI table with patterns, dates and check
digits); a string that breaks any rule raises `GS1Error`, because a code whose GTIN,
SSCC or GLN fails its check digit is a misread the station must not act on.
"""

from __future__ import annotations

import logging

from biip import ParseError
from biip.gs1_messages import GS1Message

__all__ = [
    "GS",
    "Elements",
    "GS1Error",
    "gtin14",
    "hri",
    "is_valid_mod10",
    "mod10_check_digit",
    "parse_element_string",
    "parse_gtin",
    "parse_hri",
    "upce_to_upca",
]

logger = logging.getLogger(__name__)

GS = "\x1d"  # FNC1 as a field separator inside element strings

# (AI, value) pairs in the order they appear in the symbol.
Elements = tuple[tuple[str, str], ...]


class GS1Error(ValueError):
    """An element string or GTIN that breaks a GS1 rule (unknown AI, bad pattern, bad check digit).

    `check_digit` is True when the failure is a check digit: the mark of a misread.
    """

    def __init__(self, message: str, *, check_digit: bool = False) -> None:
        super().__init__(message)
        self.check_digit = check_digit


def mod10_check_digit(payload: str) -> str:
    """The GS1 mod-10 check digit of a digit string (GTIN, SSCC, GLN without their last digit)."""
    if not payload.isdigit():
        raise GS1Error(f"{payload!r} is not all digits")
    total = 0
    # Weights 3,1,3,1... counted from the rightmost digit of the payload.
    for i, ch in enumerate(reversed(payload)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


def is_valid_mod10(digits: str) -> bool:
    """True if `digits` is all digits, at least 2 long, and its last digit is the GS1 check digit."""
    return len(digits) >= 2 and digits.isdigit() and mod10_check_digit(digits[:-1]) == digits[-1]


def upce_to_upca(upce: str) -> str:
    """Expand an 8-digit UPC-E (number system, 6 digits, check) to its 12-digit UPC-A."""
    if len(upce) != 8 or not upce.isdigit() or upce[0] not in "01":
        raise GS1Error(f"{upce!r} is not an 8-digit UPC-E with number system 0 or 1")
    ns, d, check = upce[0], upce[1:7], upce[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + check


# Retail symbols and the digits printed under them; each carries one GTIN.
_RETAIL_DIGITS = {"EAN8": 8, "UPCE": 8, "UPCA": 12, "EAN13": 13}

# GTIN-8, -12, -13 and -14 written as bare digits (a catalog file, a search box). Eight
# digits are taken as a GTIN-8: a UPC-E is only recognised when its symbology is given.
_GTIN_DIGITS = (8, 12, 13, 14)


def parse_gtin(code: str, symbology: str | None = None) -> str:
    """The GTIN-14 a code carries; raises GS1Error saying why when it carries none.

    `code` is what is printed under the symbol: EAN-8, UPC-A, UPC-E (expanded to its UPC-A),
    EAN-13 digits, or a GS1 element string in "(AI)value" form whose AI (01) is the GTIN.
    `symbology` is the project's format name when it is known ("EAN8", "UPCE", "DataMatrix"...);
    without it, bare digits are read as a GTIN-8, -12, -13 or -14. The check digit is verified
    in every case (`check_digit` is set on the error when that is what failed).
    """
    text = code.strip()
    if symbology in _RETAIL_DIGITS:
        length = _RETAIL_DIGITS[symbology]
        if len(text) != length or not text.isdigit():
            raise GS1Error(f"{symbology} {code!r} must be {length} digits")
        digits = upce_to_upca(text) if symbology == "UPCE" else text
    elif text.startswith("("):
        return _gtin_of_hri(text)
    elif symbology is None:
        if not text.isdigit() or len(text) not in _GTIN_DIGITS:
            raise GS1Error(f"{code!r} is not a GTIN (8, 12, 13 or 14 digits)")
        digits = text
    else:
        raise GS1Error(f"{symbology} carries no GTIN of its own")
    if not is_valid_mod10(digits):
        raise GS1Error(f"{symbology or 'GTIN'} {code!r} fails its check digit", check_digit=True)
    return digits.rjust(14, "0")


def gtin14(code: str, symbology: str | None = None) -> str | None:
    """The GTIN-14 a code carries, None when it is not a GTIN (rules of `parse_gtin`)."""
    try:
        return parse_gtin(code, symbology)
    except GS1Error:
        return None


def _gtin_of_hri(text: str) -> str:
    gtin = dict(parse_hri(text)).get("01")  # parse_hri has checked its check digit
    if gtin is None:
        raise GS1Error(f"{text!r} holds no GTIN (AI 01)")
    return gtin


def _elements(message: GS1Message, source: str) -> Elements:
    pairs: list[tuple[str, str]] = []
    for element in message.element_strings:
        for problem in (element.gtin_error, element.sscc_error, element.gln_error):
            if problem:
                raise GS1Error(f"GS1 ({element.ai.ai}) in {source!r}: {problem}", check_digit=True)
        pairs.append((element.ai.ai, element.value))
    if not pairs:
        raise GS1Error(f"no GS1 element string in {source!r}")
    return tuple(pairs)


def parse_element_string(raw: str) -> Elements:
    """Parse a raw GS1 element string (FNC1 as GS, 0x1D) into (AI, value) pairs, every rule checked."""
    text = raw.lstrip(GS)
    try:
        message = GS1Message.parse(text)
    except ParseError as exc:
        raise GS1Error(f"not a valid GS1 element string {raw!r}: {exc}") from exc
    return _elements(message, raw)


def parse_hri(text: str) -> Elements:
    """Parse a human-readable element string like "(01)09876543210982(10)ABC" into (AI, value) pairs."""
    try:
        message = GS1Message.parse_hri(text)
    except ParseError as exc:
        raise GS1Error(f"not a valid GS1 HRI string {text!r}: {exc}") from exc
    return _elements(message, text)


def hri(elements: Elements) -> str:
    """The human-readable form printed under GS1 codes: "(01)09876543210982(10)ABC"."""
    return "".join(f"({ai}){value}" for ai, value in elements)
