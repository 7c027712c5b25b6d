"""Sizes that follow the window, and a label that elides instead of being cut.

The operator reads the screen from about 1.5 m, on a 1366x768 panel or a 1920x1080 one; type
sized in points stays small on the larger screen. Sizes here are shares of the window's height,
so the same layout grows with the screen and keeps its proportions.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QStyle, QStyleOption, QWidget

logger = logging.getLogger(__name__)

# Shares of the window's height. The disposition is read from 1.5 m: at 6.5 % of 768 px it is
# about 50 px high, which a supervisor reads at that distance; the reasons at 2.7 % stay readable.
DISPOSITION_SHARE = 0.065
LANE_SHARE = 0.032
GRADE_SHARE = 0.045
DETAIL_SHARE = 0.023
REASON_SHARE = 0.027
HINT_SHARE = 0.019
CHIP_SHARE = 0.019
THUMB_SHARE = 0.12
TOUCH_SHARE = 0.075
MIN_TOUCH_PX = 57  # 15 mm at 96 dpi: a gloved finger's target
MIN_TEXT_PX = 12


def share_px(window_height: int, share: float, floor: int = MIN_TEXT_PX) -> int:
    """`share` of the window's height in pixels, never below `floor`."""
    return max(floor, round(window_height * share))


def pixel_font(base: QFont, pixels: int, bold: bool = False) -> QFont:
    """A copy of `base` `pixels` high (pixel sizes follow the window, point sizes would follow the dpi)."""
    font = QFont(base)
    font.setPixelSize(max(1, pixels))
    font.setBold(bold)
    return font


def fitting_px(base: QFont, texts: list[str], width: int, wanted: int, bold: bool = False) -> int:
    """The largest pixel size up to `wanted` at which every one of `texts` fits in `width` pixels.

    Sized on all the texts a label may show, so the label keeps one size whatever it shows now.
    """
    if width <= 0 or not texts:
        return wanted
    metrics = QFontMetrics(pixel_font(base, wanted, bold))
    widest = max(metrics.horizontalAdvance(text) for text in texts)
    if widest <= width:
        return wanted
    # Advance widths grow about linearly with the pixel size; one step down covers the rounding.
    size = int(wanted * width / widest)
    while size > MIN_TEXT_PX and max(
        QFontMetrics(pixel_font(base, size, bold)).horizontalAdvance(t) for t in texts
    ) > width:
        size -= 1
    return max(MIN_TEXT_PX, size)


# How close the letters of a large word may be set (percent of the font's own spacing) before its type
# gets smaller: at 92 % bold capitals still read as words from 1.5 m, and a long French word
# ("CONTRÔLE MANUEL") keeps the height a supervisor reads it at instead of losing a tenth of it.
TIGHTEST_SPACING = 92


def fitting_font(base: QFont, texts: list[str], width: int, wanted: int, bold: bool = False) -> QFont:
    """The font at which every one of `texts` fits in `width` pixels, `wanted` pixels high if it can be.

    First the letters are set a little closer (down to `TIGHTEST_SPACING` %), then, only if that is
    not enough, the type gets smaller (`fitting_px`). Words that fit as they are (the English ones)
    keep the font's own spacing and size.
    """
    font = pixel_font(base, wanted, bold)
    if width <= 0 or not texts:
        return font

    def fits(candidate: QFont) -> bool:
        metrics = QFontMetrics(candidate)
        return max(metrics.horizontalAdvance(text) for text in texts) <= width

    if fits(font):
        return font
    for spacing in range(99, TIGHTEST_SPACING - 1, -1):
        font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, spacing)
        if fits(font):
            return font
    return pixel_font(font, fitting_px(font, texts, width, wanted, bold), bold)


class ElidedLabel(QLabel):
    """A one-line label that keeps its whole text (`text()`) but paints it elided with '…' when too
    narrow, the whole text then in its tooltip; it never asks its layout for more width than it gets.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._tooltip = ""  # the caller's own tooltip, shown also when the text is whole

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        """Show `text` (elided to the width when needed)."""
        super().setText(text)
        self._update_tooltip()

    def setToolTip(self, text: str) -> None:  # noqa: N802 - Qt override
        """A tooltip of the caller's; the whole text is added to it while the text is elided."""
        self._tooltip = text
        self._update_tooltip()

    def is_elided(self) -> bool:
        """Whether the text is cut short on the screen now."""
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def shown_text(self) -> str:
        """The text as painted (with '…' when it does not fit)."""
        width = self.contentsRect().width()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, width)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().minimumSizeHint()
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance("…") + margins.left() + margins.right()
        return QSize(width, hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._update_tooltip()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._update_tooltip()

    def _update_tooltip(self) -> None:
        if self.is_elided() and not self._tooltip.startswith(self.text()):
            whole = self.text() if not self._tooltip else f"{self.text()}\n{self._tooltip}"
        else:
            whole = self._tooltip
        if super().toolTip() != whole:
            super().setToolTip(whole)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        try:
            option = QStyleOption()
            option.initFrom(self)
            # The style sheet's background and rounded corners (a chip), as QLabel would draw them.
            self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, option, painter, self)
            painter.setFont(self.font())
            painter.setPen(self.palette().color(self.foregroundRole()))
            painter.drawText(self.contentsRect(), int(self.alignment()), self.shown_text())
        finally:
            painter.end()
