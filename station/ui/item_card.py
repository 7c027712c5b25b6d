"""The current item's card: the verdict in large type, readable at arm's length."""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from station import palette
from station.state import ItemView
from station.ui import theme
from station.ui.imaging import qimage_from_bgr
from station.ui.verdict_text import lane_text
from station.verdict import DecisionSource, Verdict

logger = logging.getLogger(__name__)

THUMB = 150  # px of each of the two side-by-side pictures


class _ImageCache:
    """Reference images by path; the same few SKUs come back all day, so keep the last ones decoded."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[str, QPixmap] = OrderedDict()

    def get(self, path: str) -> QPixmap | None:
        if path in self._items:
            self._items.move_to_end(path)
            return self._items[path]
        image = QImage(path)
        if image.isNull():
            logger.warning("reference image %s cannot be read", path)
            return None
        pixmap = QPixmap.fromImage(
            image.scaled(
                THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )
        self._items[path] = pixmap
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


class ItemCard(QFrame):
    """Grade, disposition, lane, RMA, expected vs seen SKU with both pictures, reasons, confidence."""

    def __init__(
        self, font_scale: float = 1.0, lane_names: dict[int, str] | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._lane_names = lane_names or {}
        self._cache = _ImageCache()
        base = QFont(self.font())
        head = self._build_head(base, font_scale)
        pictures = self._build_pictures(base, font_scale)
        self._build_findings(base, font_scale)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.rma)
        layout.addLayout(pictures)
        layout.addWidget(self.confidence)
        layout.addWidget(self.reasons_area, 1)
        self.verdict_id: str | None = None

    def _build_head(self, base: QFont, s: float) -> QHBoxLayout:
        """The grade in a coloured square beside the disposition, the lane and the operator's last action."""
        self.grade = QLabel("–")
        self.grade.setObjectName("grade")
        self.grade.setFont(theme.scaled_font(base, 54 * s, bold=True))
        self.grade.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grade.setFixedWidth(int(110 * s))
        self.disposition = QLabel("No item yet")
        self.disposition.setObjectName("disposition")
        self.disposition.setFont(theme.scaled_font(base, 28 * s, bold=True))
        self.lane = QLabel("")
        self.lane.setFont(theme.scaled_font(base, 15 * s))
        self.status = QLabel("")  # "Confirmed by op-7", "Overridden by op-7 (rev 2)"
        self.status.setFont(theme.scaled_font(base, 13 * s, bold=True))
        head_text = QVBoxLayout()
        head_text.addWidget(self.disposition)
        head_text.addWidget(self.lane)
        head_text.addWidget(self.status)
        head = QHBoxLayout()
        head.addWidget(self.grade)
        head.addLayout(head_text, 1)
        return head

    def _build_pictures(self, base: QFont, s: float) -> QGridLayout:
        """The RMA line, and expected vs seen SKU above the catalogue image and the captured crop."""
        normal = theme.scaled_font(base, 13 * s)
        self.rma = QLabel("RMA –")
        self.rma.setFont(theme.scaled_font(base, 15 * s, bold=True))
        self.expected = QLabel("Expected –")
        self.expected.setFont(normal)
        self.observed = QLabel("Seen –")
        self.observed.setFont(normal)
        for label in (self.expected, self.observed):
            label.setWordWrap(True)
        self.reference_image = QLabel("no catalog image")
        self.captured_image = QLabel("")
        for label in (self.reference_image, self.captured_image):
            label.setFixedSize(THUMB, THUMB)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("background: #202020; color: #bbbbbb;")
        pictures = QGridLayout()
        pictures.addWidget(self.expected, 0, 0)
        pictures.addWidget(self.observed, 0, 1)
        pictures.addWidget(self.reference_image, 1, 0)
        pictures.addWidget(self.captured_image, 1, 1)
        return pictures

    def _build_findings(self, base: QFont, s: float) -> None:
        """Confidence and scores in one line; the reasons and flags below, scrolling when long."""
        self.confidence = QLabel("")
        self.confidence.setFont(theme.scaled_font(base, 15 * s, bold=True))
        self.reasons = QLabel("")
        self.reasons.setFont(theme.scaled_font(base, 13 * s))
        self.reasons.setWordWrap(True)
        self.reasons.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # Long reasons scroll inside the card instead of growing the window past a 768 px screen.
        self.reasons_area = QScrollArea()
        self.reasons_area.setWidget(self.reasons)
        self.reasons_area.setWidgetResizable(True)
        self.reasons_area.setFrameShape(QFrame.Shape.NoFrame)
        self.reasons_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.reasons_area.setMinimumHeight(40)
        self.reasons_area.viewport().setAutoFillBackground(False)  # the card's own background shows through
        self.reasons.setAutoFillBackground(False)

    def show_item(self, view: ItemView, status: str = "") -> None:
        """Render `view`; `status` is the operator's last action on it."""
        verdict = view.verdict
        self.verdict_id = verdict.verdict_id
        self._show_head(view, status)
        self._show_item_info(verdict)
        self._show_pictures(view)
        self._show_findings(verdict)

    def _show_head(self, view: ItemView, status: str) -> None:
        verdict = view.verdict
        decision = verdict.decision
        grade_colour = palette.grade_colour(decision.grade)
        self.grade.setText(decision.grade.value)
        theme.set_style(self.grade, f"background: {grade_colour}; color: white; border-radius: 8px;")
        disp_colour = palette.disposition_colour(decision.disposition)
        self.disposition.setText(theme.disposition_words(decision.disposition).upper())
        theme.set_style(self.disposition, f"color: {disp_colour};")
        self.lane.setText(lane_text(verdict, view.lane_name, self._lane_names))
        off_lane = verdict.routing.late or verdict.routing.lost
        theme.set_style(self.lane, "color: #c62828; font-weight: bold;" if off_lane else "")
        if not status and decision.source is DecisionSource.OPERATOR:
            status = f"Overridden by {decision.operator_id or '?'} (revision {verdict.revision})"
        self.status.setText(status)

    def _show_item_info(self, verdict: Verdict) -> None:
        item = verdict.item
        declared = item.declared_reason.value.replace("_", " ") if item.declared_reason else None
        self.rma.setText(f"RMA {item.rma or '– (none read)'}"
                         + (f"   ·  declared: {declared}" if declared else ""))
        match = item.sku_matches
        mark = "" if match is None else (" ✔" if match else " ✘ NOT THE SAME")
        self.expected.setText(f"Expected\n{item.expected_sku or '–'}")
        self.observed.setText(f"Seen{mark}\n{item.observed_sku or '–'}")
        theme.set_style(self.observed, "color: #c62828; font-weight: bold;" if match is False else "")

    def _show_pictures(self, view: ItemView) -> None:
        ref = self._cache.get(view.reference_image) if view.reference_image else None
        if ref is not None:
            self.reference_image.setPixmap(ref)
        else:
            self.reference_image.clear()
            self.reference_image.setText(
                "no catalog image"
                if not view.reference_image
                else f"missing:\n{Path(view.reference_image).name}"
            )
        if view.frame is not None:
            self.captured_image.setPixmap(thumbnail(view.frame, view.overlay.item_box))
        else:
            self.captured_image.clear()
            self.captured_image.setText("no picture")

    def _show_findings(self, verdict: Verdict) -> None:
        decision, inspection = verdict.decision, verdict.inspection
        defect, conformity = inspection.defect, inspection.conformity
        parts = [f"Confidence {decision.confidence:.0%}"]
        if defect is not None:
            parts.append(f"defect {defect.score:.2f} ({defect.label})")
        if conformity is not None:
            parts.append(f"similarity {conformity.similarity:.2f}")
        self.confidence.setText("   ".join(parts))
        lines = [f"• {r}" for r in decision.reasons]
        lines += [f"⚑ {flag.replace('_', ' ')}" for flag in decision.flags]
        if decision.override_reason:
            lines.append(f"Operator: {decision.override_reason}")
        self.reasons.setText("\n".join(lines) or "No reasons recorded")

    def set_status(self, text: str) -> None:
        """Show the operator's last action on the shown item."""
        self.status.setText(text)
