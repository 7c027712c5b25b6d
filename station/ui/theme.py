"""Colours and type sizes shared by the widgets: one place, so the station looks the same everywhere.

The colours of grades and dispositions are `station.palette`'s, shared with the KPI report.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QWidget

from station.state import Level

logger = logging.getLogger(__name__)

LEVEL_COLOURS: dict[Level, tuple[str, str]] = {  # background, text
    Level.OK: ("#2e7d32", "#ffffff"),
    Level.WARNING: ("#f9a825", "#000000"),
    Level.ERROR: ("#c62828", "#ffffff"),
}

# Overlay pens (frame coordinates are drawn with cosmetic pens of these widths, in screen pixels).
CODE_COLOUR = QColor(0, 230, 0)
REGION_COLOUR = QColor(255, 40, 40)
ROI_COLOUR = QColor(255, 215, 0)
ITEM_BOX_COLOUR = QColor(0, 200, 255)


# The card's grade tile: neutral, so the only colour that speaks on the card is the disposition's.
GRADE_TILE_CSS = "background: #e0e0e0; color: #212121; border-radius: 6px;"
BANNER_TEXT = "#ffffff"
OFF_LANE_CSS = "background: #ffeb3b; color: #000000; font-weight: bold; padding: 2px 6px;"


def disposition_words(disposition: str | None) -> str:
    """'manual_review' -> 'Manual review' (translated); an unknown value in words as it is."""
    if not disposition:
        return "-"
    words = {
        "restock": QCoreApplication.translate("Disposition", "Restock"),
        "repair": QCoreApplication.translate("Disposition", "Repair"),
        "recycle": QCoreApplication.translate("Disposition", "Recycle"),
        "manual_review": QCoreApplication.translate("Disposition", "Manual review"),
        "quarantine": QCoreApplication.translate("Disposition", "Quarantine"),
    }
    return words.get(str(disposition), str(disposition).replace("_", " ").capitalize())


def scaled_font(base: QFont, points: float, bold: bool = False) -> QFont:
    """A copy of `base` at `points` (already multiplied by the font scale)."""
    font = QFont(base)
    font.setPointSizeF(points)
    font.setBold(bold)
    return font


def set_style(widget: QWidget, css: str) -> None:
    """Apply a style sheet only when it changes: re-polishing a widget is costly at 20 items/s."""
    if widget.styleSheet() != css:
        widget.setStyleSheet(css)
