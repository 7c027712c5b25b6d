"""The code types the station knows, by the project's own names (not an engine's)."""

from __future__ import annotations

__all__ = ["BARCODE_FORMATS", "EAN_UPC", "GS1_ONLY", "check_formats"]

# The order is the order `config.toml` lists them in; station.config imports this tuple.
BARCODE_FORMATS: tuple[str, ...] = (
    "EAN13",
    "EAN8",
    "UPCA",
    "UPCE",
    "Code128",
    "Code39",
    "ITF",
    "DataBar",
    "DataBarExpanded",
    "DataMatrix",
    "QRCode",
    "PDF417",
)

# Retail codes that carry a GTIN and a mod-10 check digit; they are compared by GTIN-14.
EAN_UPC: frozenset[str] = frozenset({"EAN13", "EAN8", "UPCA", "UPCE"})

# Symbols whose content is always a GS1 element string.
GS1_ONLY: frozenset[str] = frozenset({"DataBar", "DataBarExpanded"})


def check_formats(formats: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return the formats as a tuple, or raise ValueError naming the unknown ones and the known list."""
    unknown = [name for name in formats if name not in BARCODE_FORMATS]
    if unknown:
        raise ValueError(
            f"unknown barcode format(s) {', '.join(unknown)}; use any of {', '.join(BARCODE_FORMATS)}"
        )
    return tuple(formats)
