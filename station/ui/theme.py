"""Colours and type sizes shared by the widgets: one place, so the station looks the same everywhere.

The colours of grades and dispositions are `station.palette`'s, shared with the KPI report.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QSize
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOption, QTabWidget, QWidget

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


# Unselected tabs are drawn a few pixels lower than their text's ascent allows for: the accent of
# a capital (« Étalonnage », « À propos ») was cut off. A little more height gives it room.
TAB_EXTRA_HEIGHT_PX = 3


class _RoomyTabs(QProxyStyle):
    """The application's style, with tabs tall enough for accented capitals."""

    # PySide6's stubs give QStyle, QCommonStyle and QProxyStyle different signatures for this one.
    def sizeFromContents(  # type: ignore[override]  # noqa: N802 - Qt override
        self, kind: QStyle.ContentsType, option: QStyleOption, size: QSize, widget: QWidget
    ) -> QSize:
        result = super().sizeFromContents(kind, option, size, widget)
        if kind == QStyle.ContentsType.CT_TabBarTab:
            result.setHeight(result.height() + TAB_EXTRA_HEIGHT_PX)
        return result


def roomy_tabs(tabs: QTabWidget) -> None:
    """Give `tabs` room for accented capitals in their titles (the style lives as long as the tabs)."""
    app = QApplication.instance()
    base = app.style().name() if isinstance(app, QApplication) else ""
    style = _RoomyTabs(base)
    style.setParent(tabs)
    tabs.tabBar().setStyle(style)
