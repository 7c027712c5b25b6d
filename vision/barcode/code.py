"""The result types every source of codes (camera reader, hand scanner) produces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vision.barcode.formats import BARCODE_FORMATS, EAN_UPC

__all__ = ["BarcodeRead", "Code", "Point", "Quad"]

Point = tuple[int, int]
Quad = tuple[Point, Point, Point, Point]

NO_QUAD: Quad = ((0, 0), (0, 0), (0, 0), (0, 0))


@dataclass(frozen=True)
class Code:
    """One code read from a frame or a scanner.

    `text` is what is printed under the symbol (UPC-A as 12 digits, UPC-E as 8, GS1 codes in
    "(AI)value" form); `gs1` maps AI -> value when the symbol carries GS1 element strings;
    `gtin14` is the normalised GTIN (EAN/UPC, or GS1 AI 01). `quad` is in full-image pixels,
    clockwise from the symbol's top-left (all zeros for a hand scanner). `problem` says why a
    code is uncertain and is empty for certain ones.
    """

    format: str
    text: str
    gs1: dict[str, str] | None = None
    gtin14: str | None = None
    quad: Quad = NO_QUAD
    engines: tuple[str, ...] = ()
    symbology: str = ""
    problem: str = ""

    def __post_init__(self) -> None:
        if self.format not in BARCODE_FORMATS:
            raise ValueError(f"unknown barcode format {self.format!r}; known: {', '.join(BARCODE_FORMATS)}")
        if len(self.quad) != 4:
            raise ValueError(f"a quad has 4 points, got {self.quad!r}")

    @property
    def located(self) -> bool:
        """True when the code has a place in the frame (a hand-scanned code has none)."""
        return self.quad != NO_QUAD

    @property
    def identity(self) -> tuple[str, str]:
        """What makes two reads the same code: EAN/UPC by GTIN-14, the rest by format and text."""
        if self.format in EAN_UPC and self.gtin14:
            return ("EAN/UPC", self.gtin14)
        return (self.format, self.text)

    def to_json(self) -> dict[str, Any]:
        """The `station scan` / verdict form: format, text, gs1, quad."""
        return {
            "format": self.format,
            "text": self.text,
            "gs1": dict(self.gs1) if self.gs1 is not None else None,
            "quad": [list(p) for p in self.quad],
        }


@dataclass(frozen=True)
class BarcodeRead:
    """Everything one frame gave: certain codes, uncertain ones, the time spent and the path taken."""

    codes: tuple[Code, ...]
    uncertain: tuple[Code, ...]
    ms: float
    path_taken: str  # "fast", "slow" or "sweep" (a quick look over a frame with no item in it)

    def to_json(self) -> dict[str, Any]:
        """Codes, uncertain codes (with their problem), time and path as plain JSON values."""
        return {
            "codes": [c.to_json() for c in self.codes],
            "uncertain": [{**c.to_json(), "problem": c.problem} for c in self.uncertain],
            "ms": round(self.ms, 2),
            "path": self.path_taken,
        }
