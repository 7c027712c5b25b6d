"""The current item's card: the disposition in a block of its colour, readable at 1.5 m.

The disposition (word, colour and lane) is the largest thing on the card; the grade sits in a
neutral tile and the scores in plain type, so no colour on the card says anything else than
the disposition. Type sizes are shares of the window's height (`station.ui.fit`) and the
disposition word keeps one size for every disposition, so the card never changes its layout
when the verdict changes.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont, QFontMetrics, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from station import palette
from station.state import ItemView
from station.ui import fit, theme
from station.ui.card_words import (
    NOT_DAMAGE,
    declared_words,
    defect_words,
    flag_words,
    label_words,
    lane_words,
    number_words,
    override_reason_text,
    percent_words,
    reasons_words,
)
from station.ui.imaging import qimage_from_bgr
from station.verdict import DecisionSource, DeclaredReason, Disposition, Verdict

logger = logging.getLogger(__name__)

THUMB = 150  # px of each of the two side-by-side pictures before the card knows the window's height


class _ImageCache:
    """Reference images by path; the same few SKUs come back all day, so keep the last ones decoded."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()

    def get(self, path: str, side: int = THUMB) -> QPixmap | None:
        key = (path, side)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        image = QImage(path)
        if image.isNull():
            logger.warning("reference image %s cannot be read", path)
            return None
        pixmap = QPixmap.fromImage(
            image.scaled(
                side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )
        self._items[key] = pixmap
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return pixmap


def thumbnail(frame: np.ndarray, box: tuple[int, int, int, int] | None, size: int = THUMB) -> QPixmap:
    """The item's crop (or the whole frame) scaled to `size`."""
    if box is not None:
        x, y, w, h = box
        crop = frame[max(0, y) : y + h, max(0, x) : x + w]
        if crop.size:
            frame = crop
    # Skip pixels down to about twice the target, then area-filter that: sharp, and ~0.2 ms instead
    # of filtering the whole frame in the GUI thread for every item.
    step = max(1, int(max(frame.shape[:2]) / size) // 2)
    frame = frame[::step, ::step]
    height, width = frame.shape[:2]
    scale = size / max(height, width)
    small = cv2.resize(
        frame, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    return QPixmap.fromImage(qimage_from_bgr(small))


def _wrapping(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class ItemCard(QFrame):
    """Disposition and lane in a block of the disposition's colour; the operator's last action; grade
    (neutral), RMA, expected vs seen SKU with both pictures; scores; reasons."""

    def __init__(
        self, font_scale: float = 1.0, lane_names: dict[int, str] | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # Its width is its share of the page, never what its words ask for: the page must not jump.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        self._scale = font_scale
        self._lane_names = lane_names or {}
        self._cache = _ImageCache()
        self._thumb = THUMB
        self._fitted: tuple[int, int, int] | None = None  # (window height, card width, card height) sized for
        self._view: ItemView | None = None
        self._build_banner()
        info = self._build_info()
        self._build_findings()
        self._layout = layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        layout.addWidget(self.banner)
        layout.addWidget(self.status)
        layout.addLayout(info)
        layout.addWidget(self.confidence)
        layout.addWidget(self.reasons_area, 1)
        self.verdict_id: str | None = None
        self._show_empty()
        self.fit_to(768)

    def _build_banner(self) -> None:
        """The disposition word and the lane, white on the disposition's colour."""
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        self.banner.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.disposition = QLabel()
        self.disposition.setObjectName("disposition")
        self.disposition.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.lane = _wrapping()
        self.lane.setObjectName("lane")
        self._banner_layout = layout = QVBoxLayout(self.banner)
        layout.setContentsMargins(12, 6, 12, 8)
        layout.setSpacing(2)
        layout.addWidget(self.disposition)
        layout.addWidget(self.lane)
        self.status = _wrapping()  # "Confirmed by op-7", "Overridden to Repair by op-7"
        self.status.setObjectName("status")

    def _build_info(self) -> QHBoxLayout:
        """Grade tile, RMA and SKUs in words, the catalogue image and the captured crop side by side."""
        self.grade_caption = QLabel(self.tr("Grade"))
        self.grade_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grade = QLabel("–")
        self.grade.setObjectName("grade")
        self.grade.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grade_tile = QFrame()
        self.grade_tile.setObjectName("gradeTile")
        self.grade_tile.setStyleSheet(f"QFrame#gradeTile {{ {theme.GRADE_TILE_CSS} }}")
        self._tile_layout = tile = QVBoxLayout(self.grade_tile)
        tile.setContentsMargins(6, 4, 6, 4)
        tile.setSpacing(0)
        tile.addWidget(self.grade_caption)
        tile.addWidget(self.grade, 1)
        self.rma = _wrapping(self.tr("RMA –"))
        self.declared = _wrapping()
        self.expected = _wrapping(self.tr("Expected –"))
        self.observed = _wrapping(self.tr("Seen –"))
        words = QVBoxLayout()
        words.setSpacing(2)
        for label in (self.rma, self.declared, self.expected, self.observed):
            words.addWidget(label)
        words.addStretch(1)
        for label in (self.rma, self.declared, self.expected, self.observed):
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.reference_image = QLabel(self.tr("No catalogue picture"))
        self.captured_image = QLabel()
        for label in (self.reference_image, self.captured_image):
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("background: #202020; color: #dddddd;")
        self._info = info = QHBoxLayout()
        info.addWidget(self.grade_tile, 0, Qt.AlignmentFlag.AlignTop)
        info.addLayout(words, 1)
        info.addWidget(self.reference_image, 0, Qt.AlignmentFlag.AlignTop)
        info.addWidget(self.captured_image, 0, Qt.AlignmentFlag.AlignTop)
        return info

    def _build_findings(self) -> None:
        """Confidence and scores in one line; the reasons and flags below, scrolling when long."""
        self.confidence = _wrapping()
        self.reasons = QLabel("")
        self.reasons.setWordWrap(True)
        self.reasons.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # Long reasons scroll inside the card instead of pushing the card past a 768 px screen.
        self.reasons_area = QScrollArea()
        self.reasons_area.setWidget(self.reasons)
        self.reasons_area.setWidgetResizable(True)
        self.reasons_area.setFrameShape(QFrame.Shape.NoFrame)
        self.reasons_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.reasons_area.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        self.reasons_area.setMinimumHeight(40)
        self.reasons_area.viewport().setAutoFillBackground(False)  # the card's own background shows through
        self.reasons.setAutoFillBackground(False)

    # ----- sizes --------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit_to(self.window().height())

    def _needed_height(self, base: QFont, window_height: int, scale: float, inside: int) -> int:
        """The card's height with type at `scale` and `inside` px of width, for usual words (a late
        lane, a long declared reason, two lines of scores and one of reasons; more reasons scroll).

        Measured on sample words, not the item's, so the sizes do not change from item to item.
        """

        def font(share: float, bold: bool = False) -> QFont:
            return fit.pixel_font(base, fit.share_px(window_height, share * scale), bold)

        def height(share: float, texts: list[str], width: int, bold: bool = False) -> int:
            metrics = QFontMetrics(font(share, bold))
            lines = sum(max(1, -(-metrics.horizontalAdvance(t) // max(1, width))) for t in texts)
            return lines * metrics.lineSpacing()

        thumb = max(48, min(fit.share_px(window_height, fit.THUMB_SHARE * scale, floor=48), inside // 4))
        words_width = inside - 2 * thumb - round(thumb * 0.6) - 3 * self._info.spacing()
        banner = (height(fit.DISPOSITION_SHARE, ["M"], inside, True)
                  + height(fit.LANE_SHARE, [self.tr("LATE: went to lane {lane} ({name})").format(
                      lane=0, name="manual")], inside - 40, True) + 16)
        samples = [self.tr("RMA {rma}").format(rma="R-0000000000"),
                   declared_words(DeclaredReason.NO_LONGER_NEEDED),
                   self.tr("Expected {sku}").format(sku="SKU-ABCD-0000"),
                   self.tr("Seen {sku} ✔").format(sku="SKU-ABCD-0000")]
        # Lines break between words, so a wrapped text takes a little more than its width says.
        info = max(thumb, height(fit.DETAIL_SHARE, samples, round(words_width * 0.8)) + 3 * 2)
        findings = 2 * QFontMetrics(font(fit.DETAIL_SHARE)).lineSpacing() + QFontMetrics(
            font(fit.REASON_SHARE)).lineSpacing() + 8
        margins = self._layout.contentsMargins()
        spacing = self._layout.spacing() * 4 + margins.top() + margins.bottom()
        return banner + QFontMetrics(font(fit.DETAIL_SHARE, True)).lineSpacing() + info + findings + spacing

    def fit_to(self, window_height: int) -> None:
        """Type and picture sizes for a window `window_height` px high and the card's size now.

        The sizes are shares of the window's height; only when the card is too short for them
        (a large `font_scale` on a small screen) do they all shrink together until it fits.
        """
        key = (window_height, self.width(), self.height())
        if key == self._fitted:
            return
        self._fitted = key
        base = QFont(self.font())
        h = window_height
        inside = self.contentsRect().width() - self._layout.contentsMargins().left() * 2
        s = self._scale
        while self.isVisible() and s > self._scale / 2 and self._needed_height(base, h, s, inside) > (
            self.height()
        ):
            s -= self._scale * 0.05

        def px(share: float) -> int:
            return fit.share_px(h, share * s)

        margins = self._banner_layout.contentsMargins()
        banner_width = inside - margins.left() - margins.right() - 4
        words = [theme.disposition_words(d).upper() for d in Disposition] + [self.tr("No item yet")]
        self.disposition.setFont(
            fit.fitting_font(base, words, banner_width, px(fit.DISPOSITION_SHARE), bold=True))
        self.lane.setFont(fit.pixel_font(base, px(fit.LANE_SHARE), bold=True))
        self.status.setFont(fit.pixel_font(base, px(fit.DETAIL_SHARE), bold=True))
        detail = fit.pixel_font(base, px(fit.DETAIL_SHARE))
        for label in (self.declared, self.expected, self.observed, self.confidence):
            label.setFont(detail)
        self.rma.setFont(fit.pixel_font(base, px(fit.DETAIL_SHARE), bold=True))
        self.reasons.setFont(fit.pixel_font(base, px(fit.REASON_SHARE)))
        self.grade_caption.setFont(fit.pixel_font(base, px(fit.HINT_SHARE)))
        self.grade.setFont(fit.pixel_font(base, px(fit.GRADE_SHARE), bold=True))
        self._thumb = fit.share_px(h, fit.THUMB_SHARE * s, floor=48)
        # Two pictures and the grade tile take at most half the card: the words keep the other half.
        self._thumb = max(48, min(self._thumb, inside // 4))
        for label in (self.reference_image, self.captured_image):
            label.setFixedSize(self._thumb, self._thumb)
            label.setFont(fit.pixel_font(base, px(fit.HINT_SHARE)))
        caption = QFontMetrics(self.grade_caption.font()).horizontalAdvance(self.grade_caption.text())
        tile_margins = self._tile_layout.contentsMargins()
        tile_width = max(round(self._thumb * 0.6), caption + tile_margins.left() + tile_margins.right() + 4)
        self.grade_tile.setFixedSize(tile_width, self._thumb)
        if self._view is not None:
            self._show_pictures(self._view)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        # The item stays; its words are written again in the language installed now, and fitted again.
        if event.type() == QEvent.Type.LanguageChange:
            self.grade_caption.setText(self.tr("Grade"))
            self._fitted = None
            if self._view is None:
                self._show_empty()
                self.rma.setText(self.tr("RMA –"))
                self.expected.setText(self.tr("Expected –"))
                self.observed.setText(self.tr("Seen –"))
                self.reference_image.setText(self.tr("No catalogue picture"))
            else:
                self.show_item(self._view, self.status.text())
            self.fit_to(self.window().height())
        super().changeEvent(event)

    # ----- an item ------------------------------------------------------------------------------
    def _show_empty(self) -> None:
        self.disposition.setText(self.tr("No item yet"))
        self._paint_banner(palette.UNKNOWN_COLOUR)
        theme.set_style(self.disposition, f"color: {theme.BANNER_TEXT}; background: transparent;")
        theme.set_style(self.lane, f"color: {theme.BANNER_TEXT}; background: transparent;")
        self.lane.setText(self.tr("Waiting for the first item"))

    def _paint_banner(self, colour: str) -> None:
        theme.set_style(self.banner, f"QFrame#banner {{ background: {colour}; border-radius: 6px; }}")

    def show_item(self, view: ItemView, status: str = "") -> None:
        """Render `view`; `status` is the operator's last action on it."""
        verdict = view.verdict
        self._view = view
        self.verdict_id = verdict.verdict_id
        self._show_head(view, status)
        self._show_item_info(verdict)
        self._show_pictures(view)
        self._show_findings(verdict)

    def _show_head(self, view: ItemView, status: str) -> None:
        verdict = view.verdict
        decision = verdict.decision
        self.grade.setText(decision.grade.value)
        self.grade_tile.setToolTip(self.tr("Condition grade: A as new, B minor wear, C needs repair, "
                                           "D not resellable or not assessed"))
        self._paint_banner(palette.disposition_colour(decision.disposition))
        self.disposition.setText(theme.disposition_words(decision.disposition).upper())
        self.lane.setText(lane_words(verdict, view.lane_name, self._lane_names))
        off_lane = verdict.routing.late or verdict.routing.lost
        lane_css = theme.OFF_LANE_CSS if off_lane else f"color: {theme.BANNER_TEXT}; background: transparent;"
        theme.set_style(self.lane, lane_css)
        if not status and decision.source is DecisionSource.OPERATOR:
            status = self.tr("Overridden by {operator}").format(operator=decision.operator_id or "?")
        self.status.setText(status)

    def _show_item_info(self, verdict: Verdict) -> None:
        item = verdict.item
        self.rma.setText(self.tr("RMA {rma}").format(rma=item.rma) if item.rma
                         else self.tr("RMA – (none read)"))
        self.declared.setText(declared_words(item.declared_reason))
        self.declared.setVisible(item.declared_reason is not None)
        match = item.sku_matches
        self.expected.setText(self.tr("Expected {sku}").format(sku=item.expected_sku or "–"))
        if match is False:
            seen = self.tr("Seen {sku}: NOT THE SAME").format(sku=item.observed_sku or "–")
        elif match:
            seen = self.tr("Seen {sku} ✔").format(sku=item.observed_sku or "–")
        else:
            seen = self.tr("Seen {sku}").format(sku=item.observed_sku or "–")
        self.observed.setText(seen)
        theme.set_style(self.observed, "color: #c62828; font-weight: bold;" if match is False else "")

    def _show_pictures(self, view: ItemView) -> None:
        ref = self._cache.get(view.reference_image, self._thumb) if view.reference_image else None
        if ref is not None:
            self.reference_image.setPixmap(ref)
            self.reference_image.setToolTip(self.tr("Catalogue picture of the expected product"))
        else:
            self.reference_image.clear()
            self.reference_image.setText(
                self.tr("No catalogue picture")
                if not view.reference_image
                else self.tr("Catalogue picture missing: {file}").format(file=Path(view.reference_image).name)
            )
        if view.frame is not None:
            self.captured_image.setPixmap(thumbnail(view.frame, view.overlay.item_box, self._thumb))
            self.captured_image.setToolTip(self.tr("The item as the camera saw it"))
        else:
            self.captured_image.clear()
            self.captured_image.setText(self.tr("No picture"))

    def _show_findings(self, verdict: Verdict) -> None:
        decision, inspection = verdict.decision, verdict.inspection
        defect, conformity = inspection.defect, inspection.conformity
        parts = [self.tr("Confidence {percent}").format(percent=percent_words(decision.confidence))]
        if defect is not None and label_words(defect.label).lower() in NOT_DAMAGE:
            # The model saw no damage: its label ("ok") says nothing the score does not.
            parts.append(self.tr("defect score {score}").format(score=number_words(defect.score, 2)))
        elif defect is not None:
            parts.append(self.tr("defect score {score} ({label})").format(
                score=number_words(defect.score, 2), label=defect_words(defect.label)))
        if conformity is not None:
            parts.append(self.tr("similarity {score}").format(score=number_words(conformity.similarity, 2)))
        self.confidence.setText("  ·  ".join(parts))
        lines = [f"• {r}" for r in reasons_words(decision)]
        lines += [f"⚑ {flag_words(flag)}" for flag in decision.flags]
        if decision.override_reason:
            lines.append(self.tr("Operator's reason: {reason}").format(
                reason=override_reason_text(decision.override_reason)))
        self.reasons.setText("\n".join(lines) or self.tr("No reasons recorded"))

    def set_status(self, text: str) -> None:
        """Show the operator's last action on the shown item."""
        self.status.setText(text)
