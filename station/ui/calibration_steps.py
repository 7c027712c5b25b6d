"""The parts of the calibration page: its health line and the three steps of the wizard.

Each part builds its widgets and words what it is given; the page (station/ui/calibration_page.py)
runs the work on its workers and hands each part its outcome.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from calibration.colour import ColourCalibration
from calibration.intrinsics import Guidance, Intrinsics, ViewFeedback, ViewStatus
from calibration.plane import PlaneCalibration
from station.state import Health, Level
from station.ui import theme
from station.ui.calibration_words import figure, hint_words, side_words, view_name_words
from station.ui.card_words import percent_words
from station.ui.retranslate import Texts

logger = logging.getLogger(__name__)

REFUSED_STYLE = "color: #c62828;"


def parse_patch(text: str) -> tuple[int, int, int, int] | None:
    """'x,y,w,h' in whole pixels, or None."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4 or not all(part.isdigit() for part in parts):
        return None
    x, y, w, h = (int(part) for part in parts)
    return (x, y, w, h)


def _wrapped(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class CalibrationHealth(QWidget):
    """The `Health("calibration")` line, as on every page that shows a component, with its detail."""

    def __init__(self, font_scale: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = Texts()
        self._health: Health | None = None
        self.status = _wrapped()
        self.texts.bind(self.status.setText, lambda: self.tr("Calibration status not reported yet."))
        self.status.setFont(theme.scaled_font(QFont(self.font()), 14 * font_scale, bold=True))
        self.detail = _wrapped()
        self.values = _wrapped()
        self.detail.hide()
        self.values.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.detail)
        layout.addWidget(self.values)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            if self._health is None:
                self.texts.retranslate()
            else:
                self.set_health(self._health)
        super().changeEvent(event)

    def _value_words(self, key: str, value: object) -> str:
        if key == "created_at":
            return self.tr("Calibrated on {date}").format(date=value)
        if key == "parts":
            words = {"intrinsics": self.tr("lens"), "plane": self.tr("belt plane"),
                     "colour": self.tr("colour")}
            parts = [words.get(part.strip(), part.strip()) for part in str(value).split(",") if part.strip()]
            return self.tr("Steps done: {steps}").format(steps=", ".join(parts))
        return self.tr("{name}: {value}").format(name=key, value=value)

    def set_health(self, health: Health) -> None:
        """Show the calibration's health."""
        self._health = health
        background, text = theme.LEVEL_COLOURS[health.level]
        self.status.setText(health.summary)
        self.status.setStyleSheet(f"background: {background}; color: {text}; padding: 6px;")
        self.detail.setText(health.detail if health.level != Level.OK else health.detail or "")
        self.values.setText("\n".join(self._value_words(k, v) for k, v in health.values.items()))
        # Empty lines would push the wizard down on a 768-pixel screen.
        self.detail.setVisible(bool(self.detail.text()))
        self.values.setVisible(bool(self.values.text()))


class IntrinsicsStep(QGroupBox):
    """Step 1: views of the board kept so far, what is still missing, and the calibration's result.

    What it shows is kept as calibration gave it (codes and values) and worded again on a language
    change; a line the page set itself ("Calibrating…") is the page's to word again.
    """

    def __init__(self, font_scale: float, board_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = Texts()
        self.texts.bind(self.setTitle,
                        lambda: self.tr("1 · Camera: show the board all over the frame, flat and tilted"))
        self.setToolTip(board_text)
        self.progress = _wrapped()
        self.progress.setFont(theme.scaled_font(QFont(self.font()), 12 * font_scale, bold=True))
        self.tilt_label = _wrapped()
        self.rejected_label = QLabel("")
        self.feedback_label = _wrapped()
        self.hints = _wrapped()
        self.capture_button = QPushButton()
        self.texts.bind(self.capture_button.setText, lambda: self.tr("Capture view (Space)"))
        self.calibrate_button = QPushButton()
        self.texts.bind(self.calibrate_button.setText, lambda: self.tr("Calibrate"))
        self.calibrate_button.setEnabled(False)
        self.texts.bind(self.calibrate_button.setToolTip,
                        lambda: self.tr("Enabled once the views cover the frame and are tilted enough"))
        self.restart_button = QPushButton()
        self.texts.bind(self.restart_button.setText, lambda: self.tr("Start over"))
        self.result_label = _wrapped()
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.view_errors = QListWidget()
        self.view_errors.setMaximumHeight(110)
        self.texts.bind(self.view_errors.setToolTip,
                        lambda: self.tr("Error of each view in pixels, worst first"))
        self.view_errors.hide()  # until there is a result
        self._guidance: tuple[Guidance, float] | None = None
        self._feedback: ViewFeedback | None = None
        self._cleared = False
        self._result: tuple[Intrinsics, float] | None = None
        self.show_feedback(None)
        buttons = QHBoxLayout()
        for button in (self.capture_button, self.calibrate_button, self.restart_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        for widget in (self.progress, self.tilt_label, self.rejected_label, self.feedback_label, self.hints):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        layout.addWidget(self.result_label)
        layout.addWidget(self.view_errors)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.texts.retranslate()
            if self._guidance is not None:
                self.show_guidance(*self._guidance)
            self.show_feedback(self._feedback, cleared=self._cleared)
            if self._result is not None:
                self.show_result(*self._result)
        super().changeEvent(event)

    def show_guidance(self, guidance: Guidance, min_sharpness: float) -> None:
        """Views kept, coverage, tilts, rejections and what to do next."""
        self._guidance = (guidance, min_sharpness)
        progress = (
            self.tr("{views} of {needed} views kept · frame covered {coverage} · ready to calibrate")
            if guidance.ready else self.tr("{views} of {needed} views kept · frame covered {coverage}")
        )
        self.progress.setText(progress.format(
            views=guidance.views, needed=guidance.min_views, coverage=percent_words(guidance.coverage)))
        leaning = ", ".join(side_words(side) for side in guidance.tilt_directions) or self.tr("none yet")
        self.tilt_label.setText(self.tr("Tilted views: {count} (far edge towards: {directions})").format(
            count=guidance.tilted_views, directions=leaning))
        self.rejected_label.setText(self.tr(
            "Blurred views rejected: {blurred} · without the board: {no_board} · "
            "sharpness needed ≥ {sharpness}"
        ).format(blurred=guidance.rejected_blurred, no_board=guidance.rejected_no_board,
                 sharpness=figure(min_sharpness, 0 if min_sharpness == int(min_sharpness) else 1)))
        if guidance.ready:
            self.hints.setText(
                self.tr("Enough views: press Calibrate (more views across the frame do no harm)."))
        else:
            # Each hint in the window's words (a session without codes: its English as it is).
            said = [hint_words(h) for h in guidance.advice] if guidance.advice else list(guidance.hints)
            self.hints.setText("\n".join(self.tr("• {hint}.").format(hint=h[0].upper() + h[1:])
                                         for h in said if h))

    def show_feedback(self, feedback: ViewFeedback | None, *, cleared: bool = False) -> None:
        """Whether the captured view was kept, or why not (in red); None: how to capture the first
        (`cleared`: after Start over)."""
        self._feedback, self._cleared = feedback, cleared
        if feedback is None:
            self.feedback_label.setStyleSheet("")
            self.feedback_label.setText(
                self.tr("Views cleared: show the board and press Space.") if cleared
                else self.tr("Show the board to the camera and press Space to capture a view."))
            return
        self.feedback_label.setStyleSheet("" if feedback.status == ViewStatus.ACCEPTED else REFUSED_STYLE)
        finding = hint_words(feedback.finding) if feedback.finding is not None else feedback.message
        self.feedback_label.setText(self.tr("{view}: {finding}").format(
            view=view_name_words(feedback.name), finding=finding))

    def show_result(self, result: Intrinsics, max_rms_px: float) -> None:
        """The solved camera and each view's error, worst first."""
        self._result = (result, max_rms_px)
        self.result_label.setText(self.tr(
            "RMS reprojection error {rms} px (limit {limit}) · fx {fx} fy {fy} cx {cx} cy {cy} px · "
            "{views} views. Save to keep it, then redo the plane."
        ).format(rms=figure(result.rms_px, 3), limit=figure(max_rms_px, 2),
                 fx=figure(result.fx, 1), fy=figure(result.fy, 1), cx=figure(result.cx, 1),
                 cy=figure(result.cy, 1), views=len(result.per_view_errors)))
        self.view_errors.clear()
        self.view_errors.show()
        for name, error in sorted(result.per_view_errors, key=lambda item: -item[1]):
            self.view_errors.addItem(self.tr("{view}: {error} px").format(
                view=view_name_words(name), error=figure(error, 3)))

    def forget_result(self, text: str) -> None:
        """No result to word again: `text` (calibrating, or not calibrated) stands in its place."""
        self._result = None
        self.result_label.setText(text)

    def set_calibrating(self, calibrating: bool, ready: bool) -> None:
        """No capture while solving; Calibrate only when the guidance says ready."""
        self.capture_button.setEnabled(not calibrating)
        self.calibrate_button.setEnabled(ready and not calibrating)


class PlaneStep(QGroupBox):
    """Step 2: px/mm of the belt from the board lying on it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = Texts()
        self.texts.bind(self.setTitle, lambda: self.tr("2 · Plane (px/mm)"))
        self.plane_button = QPushButton()
        self.texts.bind(self.plane_button.setText, lambda: self.tr("Measure the plane"))
        self.texts.bind(self.plane_button.setToolTip,
                        lambda: self.tr("Lay the board flat on the belt where items pass, then press"))
        self.plane_label = _wrapped()
        self._plane: PlaneCalibration | None = None
        self.show_plane(None)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plane_label)
        layout.addWidget(self.plane_button)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.texts.retranslate()
            if self._plane is not None:
                self.show_plane(self._plane)
        super().changeEvent(event)

    def show_plane(self, plane: PlaneCalibration | None) -> None:
        """The scale at the board, the residual and the camera's height (None: what to do)."""
        self._plane = plane
        if plane is None:
            self.plane_label.setText(self.tr("Lay the board flat on the belt or bench where items pass."))
            return
        values = {"scale": figure(plane.px_per_mm, 4), "residual": figure(plane.rms_mm, 3),
                  "height": figure(plane.camera_height_mm, 0) if plane.camera_height_mm is not None
                  else ""}
        if plane.intrinsics is None:
            text = self.tr("{scale} px/mm at the board, residual {residual} mm (raw pixels: the lens is not "
                           "calibrated yet). Save to keep it.")
        elif plane.camera_height_mm is not None:
            text = self.tr("{scale} px/mm at the board, residual {residual} mm, camera {height} mm above it. "
                           "Save to keep it.")
        else:
            text = self.tr("{scale} px/mm at the board, residual {residual} mm. Save to keep it.")
        self.plane_label.setText(text.format(**values))


class ColourStep(QGroupBox):
    """Step 3: white balance and exposure from a grey card's rectangle and lightness."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = Texts()
        self.texts.bind(self.setTitle, lambda: self.tr("3 · Colour (grey patch)"))
        self.patch_edit = QLineEdit()
        self.texts.bind(self.patch_edit.setPlaceholderText, lambda: self.tr("x,y,w,h (pixels)"))
        self.texts.bind(self.patch_edit.setToolTip, lambda: self.tr(
            "The grey patch's left, top, width and height in frame pixels; "
            "it is outlined in yellow on the live view"))
        self.lightness = QDoubleSpinBox()
        self.lightness.setRange(20.0, 90.0)
        self.lightness.setValue(50.0)
        self.lightness.setPrefix("L* ")
        self.texts.bind(self.lightness.setToolTip,
                        lambda: self.tr("The grey card's lightness (18 % grey card: L* 50)"))
        self.colour_button = QPushButton()
        self.texts.bind(self.colour_button.setText, lambda: self.tr("Measure the colour"))
        self.colour_label = _wrapped()
        self._colour: ColourCalibration | None = None
        self.show_colour(None)
        row = QHBoxLayout()
        row.addWidget(self.patch_edit, 2)
        row.addWidget(self.lightness, 1)
        row.addWidget(self.colour_button, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.colour_label)
        layout.addLayout(row)

    def patch(self) -> tuple[int, int, int, int] | None:
        """The rectangle typed, or None when it is not x,y,w,h."""
        return parse_patch(self.patch_edit.text())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.texts.retranslate()
            self.show_colour(self._colour)
        super().changeEvent(event)

    def show_colour(self, colour: ColourCalibration | None) -> None:
        """The per-channel gains and the exposure correction (None: what to do)."""
        self._colour = colour
        if colour is None:
            self.colour_label.setText(
                self.tr("A neutral grey card where the camera always sees it, under the station's lamp."))
            return
        b, g, r = colour.gains_bgr
        stops = colour.exposure_stops
        self.colour_label.setText(self.tr("Gains B {b} G {g} R {r} ({stops} stops). Save to keep it.").format(
            b=figure(b, 3), g=figure(g, 3), r=figure(r, 3),
            stops=("+" if stops >= 0 else "") + figure(stops, 2)))
