"""The camera view: the item's frame with its overlays (codes, defect heatmap and regions, ROI).

`show_item` draws only what the decision used, each labelled in words: the defect regions and
heatmap only when the defect finding counted (the grade says the score reached the repair
threshold), the codes as "RMA R-1042" / "GTIN 04006381333931". So nothing on the picture
contradicts the card: a restock item with "no defect found" shows no red box.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
from PySide6.QtCore import QCoreApplication, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from station.state import ItemView, Overlay, ViewShot
from station.ui import theme
from station.ui.card_words import code_words, defect_words, label_words
from station.ui.imaging import qimage_from_bgr, qimage_from_heatmap
from station.verdict import DefectFinding, Grade, Verdict

logger = logging.getLogger(__name__)

_NOT_DAMAGE = frozenset({"ok", "good", "none", "normal"})  # labels a model gives an undamaged item
PLACEHOLDER_HEADING_COLOUR = QColor(255, 110, 100)  # a camera's problem, on the dark empty view


def defect_counted(
    verdict: Verdict, item_located: bool = True, repair_threshold: float | None = None,
    defect: DefectFinding | None = None,
) -> bool:
    """Whether the decision used the defect finding: the grade says the score reached the repair
    threshold (C or D from a score), on an item that was found in the picture and is not an empty box.

    With `repair_threshold` (the policy's `defect_repair`), a score below it never counts either,
    whatever the grade: the card shows that score, and boxes beside it would contradict it.
    `defect` is one camera's own finding (default: the verdict's, the one that decided).
    """
    defect = defect if defect is not None else verdict.inspection.defect
    if defect is None or not item_located or defect.label.lower() == "empty":
        return False
    if repair_threshold is not None and defect.score < repair_threshold:
        return False
    return verdict.decision.grade in (Grade.C, Grade.D)


def decided_overlay(view: ItemView, repair_threshold: float | None = None) -> tuple[Overlay, str]:
    """The overlay of `view` as the decision used it, and the words of its defect regions.

    Codes are relabelled in words; defect regions and the heatmap are dropped unless the defect
    finding counted (`defect_counted`).
    """
    if view.views:
        return shot_overlay(view.verdict, main_shot(view), repair_threshold)
    return _overlay_of(view.verdict, view.overlay, view.verdict.inspection.defect, view.frame is not None,
                       repair_threshold)


def main_shot(view: ItemView) -> ViewShot:
    """The view shown large: the camera whose finding decided, else the first camera's."""
    defect = view.verdict.inspection.defect
    chosen = defect.view if defect is not None else None
    return next((shot for shot in view.views if shot.camera == chosen), view.views[0])


def shot_overlay(
    verdict: Verdict, shot: ViewShot, repair_threshold: float | None = None
) -> tuple[Overlay, str]:
    """One camera's view as the decision used it: its own defect regions only when its finding counted."""
    finding = next((v for v in verdict.inspection.views if v.camera == shot.camera), None)
    defect = finding.defect if finding is not None else None
    # A view from the record keeps no item box: its finding was only made where the item was found,
    # unless the station called the box empty.
    from_record = shot.overlay.item_box is None and shot.overlay.heatmap is None
    empty = any(reason.code == "box_empty" for reason in verdict.decision.reason_codes)
    return _overlay_of(verdict, shot.overlay, defect, not (from_record and not empty), repair_threshold)


def _overlay_of(
    verdict: Verdict, overlay: Overlay, defect: DefectFinding | None, has_frame: bool,
    repair_threshold: float | None,
) -> tuple[Overlay, str]:
    codes = tuple((code_words(text, verdict), quad) for text, quad in overlay.codes)
    located = overlay.item_box is not None or not has_frame
    if defect is None or not defect_counted(verdict, located, repair_threshold, defect):
        return Overlay(codes=codes, item_box=overlay.item_box, roi=overlay.roi), ""
    label = label_words(defect.label)
    not_damage = label.lower() in _NOT_DAMAGE
    words = QCoreApplication.translate("CameraView", "defect") if not_damage else defect_words(label)
    shown = Overlay(codes=codes, regions=overlay.regions, heatmap=overlay.heatmap,
                    item_box=overlay.item_box, roi=overlay.roi)
    return shown, words


class CameraView(QWidget):
    """Shows one frame, scaled to fit with its aspect ratio kept, and draws its `Overlay` on top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._frame: np.ndarray | None = None
        self._frame_size = (0, 0)
        self._image: QImage | None = None  # the frame scaled to image_rect()'s size
        self._heat: QImage | None = None
        self._overlay = Overlay()
        self._placeholder = self.tr("Waiting for the first item…")
        self._placeholder_heading = ""
        self._banner = ""
        self._caption = ""  # a line across the bottom of the picture: what it is ("Live: ...")
        self._region_words = ""  # what the defect regions are ("tear"), '' = "defect"
        self._drawn_labels: list[tuple[str, QRectF]] = []  # in frame pixels, at the last paint
        self.show_heatmap = True
        self.repair_threshold: float | None = None  # the policy's defect_repair, when the window knows it

    def show_item(self, view: ItemView) -> None:
        """Show the item's frame with what its decision used (`decided_overlay`), labelled in words."""
        overlay, words = decided_overlay(view, self.repair_threshold)
        if view.views:  # several cameras: the one whose finding decided is shown large
            self.set_frame(main_shot(view).frame, overlay, words)
            return
        if view.frame is None:
            # Without this, the last camera status ("camera top live") would stand in for the picture.
            self.set_placeholder(self.tr("No picture of this item"))
        self.set_frame(view.frame, overlay, words)

    def show_shot(self, verdict: Verdict, shot: ViewShot) -> None:
        """Show one camera's view of the item as the decision used it (`shot_overlay`)."""
        overlay, words = shot_overlay(verdict, shot, self.repair_threshold)
        self.set_frame(shot.frame, overlay, words)

    def set_frame(
        self, frame: np.ndarray | None, overlay: Overlay | None = None, region_words: str = ""
    ) -> None:
        """Show `frame` (BGR) with `overlay` as it is; None shows the placeholder text.

        `region_words` names the defect regions ("tear"); '' calls them "defect".
        """
        self._region_words = region_words
        self._frame = frame
        self._frame_size = (frame.shape[1], frame.shape[0]) if frame is not None else (0, 0)
        self._image = None  # scaled lazily to the widget's size in paintEvent
        self._overlay = overlay or Overlay()
        heat = self._overlay.heatmap
        self._heat = qimage_from_heatmap(heat) if heat is not None and heat.size else None
        self.update()

    def set_banner(self, text: str) -> None:
        """A red line across the top of the picture ('' = none): the camera is failing, the picture is old."""
        self._banner = text
        self.update()

    def banner(self) -> str:
        """The banner shown ('' when none)."""
        return self._banner

    def set_caption(self, text: str) -> None:
        """A dark line across the bottom of the picture ('' = none): what the picture is, not a problem."""
        if text != self._caption:
            self._caption = text
            self.update()

    def caption(self) -> str:
        """The caption shown ('' when none)."""
        return self._caption

    def set_placeholder(self, text: str, heading: str = "") -> None:
        """The words shown while there is no frame (e.g. the camera's problem), under `heading` in large
        red type when given (what is wrong, read from the bench: "Camera top down")."""
        self._placeholder, self._placeholder_heading = text, heading
        self.update()

    def placeholder(self) -> tuple[str, str]:
        """(heading, words) shown while there is no frame."""
        return self._placeholder_heading, self._placeholder

    def shown_overlay(self) -> Overlay:
        """The overlay drawn now."""
        return self._overlay

    def drawn_labels(self) -> list[tuple[str, QRectF]]:
        """The labels drawn at the last paint with their boxes in frame pixels."""
        return list(self._drawn_labels)

    def region_words(self) -> str:
        """What the defect regions drawn now are called ('' = "defect")."""
        return self._region_words

    def has_frame(self) -> bool:
        """Whether a frame is shown."""
        return self._frame is not None

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(800, 450)

    def image_rect(self) -> QRectF:
        """Where the frame lands in widget coordinates."""
        iw, ih = self._frame_size
        if not iw or not ih:
            return QRectF()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def _scaled(self, width: int, height: int) -> QImage:
        # Scale once per frame and size with OpenCV (bilinear, ~1 ms) instead of letting
        # QPainter smooth-scale 1280x720 on every paint (~10 ms on the dock PC, in the GUI thread).
        if self._image is None or (self._image.width(), self._image.height()) != (width, height):
            assert self._frame is not None
            small = cv2.resize(self._frame, (max(1, width), max(1, height)), interpolation=cv2.INTER_LINEAR)
            self._image = qimage_from_bgr(small)
        return self._image

    def _paint_placeholder(self, painter: QPainter) -> None:
        words = QRectF(self.rect()).adjusted(24, 0, -24, 0)
        if self._placeholder_heading:
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.8)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(PLACEHOLDER_HEADING_COLOUR)
            half = words.height() / 2
            bottom = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextWordWrap
            painter.drawText(words.adjusted(0, 0, 0, -half - 8), bottom, self._placeholder_heading)
            words = words.adjusted(0, half + 8, 0, 0)
            painter.setFont(self.font())
        painter.setPen(QColor(200, 200, 200))
        align = Qt.AlignmentFlag.AlignHCenter | (Qt.AlignmentFlag.AlignTop if self._placeholder_heading
                                                 else Qt.AlignmentFlag.AlignVCenter)
        painter.drawText(words, align | Qt.TextFlag.TextWordWrap, self._placeholder)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), QColor(20, 20, 20))
            if self._frame is None:
                self._paint_placeholder(painter)
                return
            target = self.image_rect()
            image = self._scaled(round(target.width()), round(target.height()))
            painter.drawImage(target.topLeft(), image)
            scale = target.width() / self._frame_size[0]
            painter.save()
            painter.translate(target.topLeft())
            painter.scale(scale, scale)
            self._paint_overlay(painter)
            painter.restore()
            if self._caption:
                self._strip(painter, self._caption, QColor(0, 0, 0, 170), at_top=False)
            if self._banner:
                self._strip(painter, self._banner, theme.REGION_COLOUR, at_top=True)
        finally:
            painter.end()

    def _strip(self, painter: QPainter, text: str, colour: QColor, *, at_top: bool) -> None:
        """A line of white words across the top (the banner) or the bottom (the caption)."""
        height = painter.fontMetrics().height() * 2
        strip = QRectF(0, 0 if at_top else self.height() - height, self.width(), height)
        painter.fillRect(strip, colour)
        painter.setPen(QColor("white"))
        painter.drawText(strip.adjusted(8, 0, -8, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)

    def _paint_overlay(self, painter: QPainter) -> None:
        """Draws in frame pixels (the painter is scaled); cosmetic pens keep lines visible at any scale."""
        overlay = self._overlay
        frame_w, frame_h = self._frame_size
        if self._heat is not None and self.show_heatmap:
            x, y, w, h = overlay.item_box or (0, 0, frame_w, frame_h)
            painter.drawImage(QRectF(x, y, w, h), self._heat)
        if overlay.roi is not None and overlay.roi[2] > 0 and overlay.roi[3] > 0:
            pen = QPen(theme.ROI_COLOUR, 2, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(*overlay.roi))
        if overlay.item_box is not None:
            pen = QPen(theme.ITEM_BOX_COLOUR, 1, Qt.PenStyle.DotLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawRect(QRectF(*overlay.item_box))
        label_font = QFont(painter.font())
        # Labels are sized in frame pixels so they scale with the picture; at least readable on 720p.
        label_font.setPixelSize(max(14, frame_h // 28))
        label_font.setBold(True)
        painter.setFont(label_font)
        taken: list[QRectF] = []  # labels already drawn: the next one moves off them
        self._drawn_labels = []
        if overlay.roi is not None and overlay.roi[2] > 0 and overlay.roi[3] > 0:
            # Inside its top left corner: the area is most of the frame, above it there is no room.
            corner = QPointF(overlay.roi[0], overlay.roi[1] + painter.fontMetrics().height() + 2)
            text = self.tr("Area inspected")
            box = self._label(painter, corner, text, theme.ROI_COLOUR, (frame_w, frame_h), taken)
            self._drawn_labels.append((text, box))
        for x, y, w, h, _score in overlay.regions:
            pen = QPen(theme.REGION_COLOUR, 3)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(x, y, w, h))
            # The defect's name only: the score the decision used is the finding's, on the card; a
            # region's own score beside it would be a second number saying something else.
            text = self._region_words or self.tr("defect")
            box = self._label(painter, QPointF(x, y), text, theme.REGION_COLOUR, (frame_w, frame_h), taken)
            self._drawn_labels.append((text, box))
        for text, quad in overlay.codes:
            if len(quad) < 2:
                continue
            polygon = QPolygonF([QPointF(px, py) for px, py in quad])
            pen = QPen(theme.CODE_COLOUR, 3)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPolygon(polygon)
            top_left = min(quad, key=lambda p: (p[1], p[0]))
            box = self._label(painter, QPointF(*top_left), text, theme.CODE_COLOUR, (frame_w, frame_h), taken)
            self._drawn_labels.append((text, box))

    @staticmethod
    def _label(
        painter: QPainter,
        anchor: QPointF,
        text: str,
        colour: QColor,
        frame: tuple[int, int],
        taken: list[QRectF],
    ) -> QRectF:
        """Text on a dark box just above `anchor`, kept inside the frame so long GS1 texts stay readable,
        and moved up (else down) off the labels in `taken`, so two labels never cover each other."""
        frame_w, frame_h = frame
        metrics = painter.fontMetrics()
        w = metrics.horizontalAdvance(text) + 8
        h = metrics.height() + 2
        top = anchor.y() - h if anchor.y() - h >= 0 else anchor.y()
        left = max(0.0, min(anchor.x(), frame_w - w))
        box = QRectF(left, top, w, h)
        for step in (-h - 2, h + 2):  # up first, then down from where it was
            moved = QRectF(box)
            while any(moved.intersects(other) for other in taken) and 0 <= moved.top() + step <= frame_h - h:
                moved.translate(0, step)
            if not any(moved.intersects(other) for other in taken):
                box = moved
                break
        taken.append(box)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(QColor(0, 0, 0, 180)))
        painter.drawRect(box)
        painter.setPen(colour)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        return box
