"""The colours of grades and dispositions: one table for the window and the KPI report's chart.

Qt-free, so `station report --png` (matplotlib, no display) and the window draw a disposition
in the same colour; values are CSS/matplotlib hex strings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType

from station.verdict import Disposition, Grade

__all__ = ["DISPOSITION_COLOURS", "GRADE_COLOURS", "SERIES_COLOURS", "UNKNOWN_COLOUR", "disposition_colour",
           "grade_colour"]

logger = logging.getLogger(__name__)

UNKNOWN_COLOUR = "#616161"  # grey: a value this table does not know

# Keyed by value: a Disposition / Grade member (a str enum) finds its colour as its plain value does.
DISPOSITION_COLOURS: Mapping[str, str] = MappingProxyType({
    Disposition.RESTOCK.value: "#2e7d32",
    Disposition.REPAIR.value: "#1565c0",
    Disposition.RECYCLE.value: "#6d4c41",
    Disposition.MANUAL_REVIEW.value: "#ef6c00",
    Disposition.QUARANTINE.value: "#c62828",
})

# Not for the operator's screen beside a disposition: there the grade is neutral, since a green B
# beside QUARANTINE reads as "good" from a distance (the card and the recent list colour only the
# disposition). Kept for charts of grades on their own.
GRADE_COLOURS: Mapping[str, str] = MappingProxyType({
    Grade.A.value: "#2e7d32",
    Grade.B.value: "#689f38",
    Grade.C.value: "#ef6c00",
    Grade.D.value: "#c62828",
})


# Lines of a chart in order (the window's statistics page and the report's latency: p50, p95).
SERIES_COLOURS: tuple[str, ...] = ("#1565c0", "#c62828", "#2e7d32", "#ef6c00")


def disposition_colour(disposition: str) -> str:
    """The colour of a disposition (its value, e.g. 'manual_review'); grey when unknown."""
    return DISPOSITION_COLOURS.get(disposition, UNKNOWN_COLOUR)


def grade_colour(grade: str) -> str:
    """The colour of a grade ('A'..'D'); grey when unknown."""
    return GRADE_COLOURS.get(grade, UNKNOWN_COLOUR)
