"""The calibration wizard page: intrinsics from live views of the board, then the plane and the colour.

The page renders what `calibration.intrinsics.IntrinsicsSession` says and turns keys and
buttons into calls on it. Every call that looks at pixels (board detection for the live
view, judging a captured view, `calibrate()`, the plane and colour steps, writing the
file) runs on a worker thread (`Background`), so the window never freezes; the session is
only touched on its one worker thread, one call at a time.

Frames come from `frame_source()` (the station's latest camera frame, BGR or grey; None
when there is none yet). It is called on the worker threads, so it must be thread-safe and
must not block for long.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QCoreApplication, QEvent, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QImage,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPen,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from calibration.board import BoardSpec, detect_board
from calibration.colour import ColourCalibration, calibrate_colour
from calibration.errors import CalibrationError
from calibration.files import (
    CalibrationFile,
    CalibrationUpdate,
    load_calibration,
    save_calibration,
    update_calibration,
)
from calibration.hints import Hint, HintCode, hint
from calibration.intrinsics import Guidance, Intrinsics, IntrinsicsSession, ViewFeedback
from calibration.plane import PlaneCalibration, calibrate_plane
from calibration.quality import QualityThresholds
from station.config import Config
from station.devices import camera_id
from station.state import Health
from station.ui.bridge import Background
from station.ui.calibration_steps import CalibrationHealth, ColourStep, IntrinsicsStep, PlaneStep, parse_patch
from station.ui.calibration_words import hint_words
from station.ui.imaging import qimage_from_bgr
from station.ui.retranslate import Texts

logger = logging.getLogger(__name__)

Frame = npt.NDArray[np.uint8]
FrameSource = Callable[[], npt.NDArray[np.uint8] | None]

PREVIEW_INTERVAL_MS = 250  # board detection on a 720p frame takes tens of ms: four looks a second are plenty
COVERED = QColor(0, 200, 0, 70)
GRID = QColor(255, 255, 255, 60)
CORNER = QColor(0, 230, 0)
PATCH = QColor(255, 215, 0)


@dataclass(frozen=True)
class WizardSettings:
    """The limits the wizard's intrinsics session uses ([calibration] keys) and the camera's name."""

    min_views: int = 10
    max_rms_px: float = 1.0
    min_sharpness: float = 40.0
    camera_id: str = ""  # recorded in a new file; the station refuses the file for another camera


def wizard_settings_from_config(config: Config) -> WizardSettings:
    """The wizard's limits from [calibration]; the camera name as the station checks it ([camera] device)."""
    c = config.calibration
    return WizardSettings(c.intrinsics_min_views, c.intrinsics_max_rms_px, c.min_sharpness,
                          camera_id(config.camera))


def board_from_config(config: Config) -> BoardSpec:
    """The ChArUco board of `[calibration]`; a `CalibrationError` says which key is wrong."""
    c = config.calibration
    return BoardSpec(c.board_squares_x, c.board_squares_y, c.board_square_mm, c.board_marker_mm,
                     c.board_dictionary)


@dataclass(frozen=True)
class SaveReport:
    """What `write_calibration` wrote, and where."""

    path: Path
    update: CalibrationUpdate

    def words(self) -> str:
        """The sentence the page shows after a save."""
        update = self.update
        translate = QCoreApplication.translate
        sections = {"intrinsics": translate("CalibrationPage", "lens"),
                    "plane": translate("CalibrationPage", "plane"),
                    "colour": translate("CalibrationPage", "colour")}
        written = ", ".join(sections.get(name, name) for name in update.written)
        kept = ", ".join(sections.get(name, name) for name in update.kept)
        if update.kept:
            first = translate("CalibrationPage", "Saved {sections} to {file} (kept {kept} from the file).")
        else:
            first = translate("CalibrationPage", "Saved {sections} to {file}.")
        lines = [first.format(sections=written, file=self.path, kept=kept)]
        if update.replaced_size is not None:
            width, height = update.replaced_size
            lines.append(translate("CalibrationPage", "The old file was for {width}x{height}: "
                                   "its sections were dropped.").format(width=width, height=height))
        if update.stale_plane:
            lines.append(translate("CalibrationPage", "The plane in the file was measured before the lens "
                                   "was calibrated: redo the plane step."))
        lines.append(translate("CalibrationPage", "The station uses it from its next start."))
        return " ".join(lines)


def _grab(source: FrameSource) -> Frame:
    frame = source()
    if frame is None:
        raise CalibrationError("camera", "no frame from the camera yet",
                               "check the camera's status below, then try again",
                               hint(HintCode.NO_FRAME, "no frame from the camera yet: "
                                    "check the camera's status below, then try again"))
    return np.array(frame, np.uint8, copy=True)  # the camera thread may reuse its buffer


def _size_of(frame: Frame) -> tuple[int, int]:
    return (int(frame.shape[1]), int(frame.shape[0]))


def _existing_file(path: Path) -> CalibrationFile | None:
    """The calibration file at `path` (None when there is none); one that cannot be read is refused."""
    if not path.is_file():
        return None
    try:
        return load_calibration(path)
    except CalibrationError as exc:
        raise CalibrationError(str(path), f"the existing file cannot be read ({exc.problem})",
                               "move it away (or repair it), then save again") from None


def write_calibration(path: Path, board: BoardSpec, camera_id: str, intrinsics: Intrinsics | None,
                      plane: PlaneCalibration | None, colour: ColourCalibration | None,
                      image_size: tuple[int, int]) -> SaveReport:
    """Merge the new sections into the file at `path` (the others kept) and write it atomically."""
    existing = _existing_file(path)
    if existing is not None and existing.camera_id and camera_id and existing.camera_id != camera_id:
        raise CalibrationError(
            str(path), f"the file is for camera {existing.camera_id!r}, this is {camera_id!r}",
            "set [calibration] file to another path for this camera, or move the file away")
    update = update_calibration(existing, image_size, camera_id=camera_id, board=board.describe(),
                                intrinsics=intrinsics, plane=plane, colour=colour)
    save_calibration(path, update.calibration)
    return SaveReport(path, update)


class BoardView(QWidget):
    """The live frame, the board's corners found in it, and the coverage grid of the kept views."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self._frame: Frame | None = None
        self._image: QImage | None = None
        self.corners: npt.NDArray[np.float32] = np.zeros((0, 2), np.float32)
        self.coverage: npt.NDArray[np.bool_] = np.zeros((9, 16), np.bool_)
        self.patch: tuple[int, int, int, int] | None = None  # the grey patch typed in, x, y, w, h
        self._placeholder = QCoreApplication.translate("CalibrationPage", "Waiting for the camera…")

    def set_frame(self, frame: Frame | None, corners: npt.NDArray[np.float32] | None = None) -> None:
        """Show `frame` with the board `corners` (N x 2 pixels) found in it."""
        self._frame = frame
        self._image = None
        self.corners = corners if corners is not None else np.zeros((0, 2), np.float32)
        self.update()

    def set_coverage(self, cells: npt.NDArray[np.bool_]) -> None:
        """The cells (rows x columns) of the frame the kept views' boards have covered."""
        self.coverage = cells
        self.update()

    def set_patch(self, patch: tuple[int, int, int, int] | None) -> None:
        """Outline the colour step's grey patch (frame pixels), so the operator sees what was typed."""
        self.patch = patch
        self.update()

    def set_placeholder(self, text: str) -> None:
        """The words shown while there is no frame."""
        self._placeholder = text
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(640, 360)

    def _target(self) -> QRectF:
        if self._frame is None:
            return QRectF(0, 0, self.width(), self.height())
        ih, iw = self._frame.shape[:2]
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), QColor(20, 20, 20))
            target = self._target()
            if self._frame is None:
                painter.setPen(QColor(200, 200, 200))
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                                 self._placeholder)
            else:
                width, height = max(1, round(target.width())), max(1, round(target.height()))
                if self._image is None or (self._image.width(), self._image.height()) != (width, height):
                    # Scaled once per frame with OpenCV, not smooth-scaled by QPainter on every paint.
                    small = cv2.resize(self._frame, (width, height), interpolation=cv2.INTER_AREA)
                    self._image = qimage_from_bgr(np.asarray(small, np.uint8))
                painter.drawImage(target.topLeft(), self._image)
            rows, cols = self.coverage.shape
            cell_w, cell_h = target.width() / cols, target.height() / rows
            for row in range(rows):
                for col in range(cols):
                    if self.coverage[row, col]:
                        painter.fillRect(QRectF(target.x() + col * cell_w, target.y() + row * cell_h,
                                                cell_w, cell_h), COVERED)
            painter.setPen(QPen(GRID, 1))
            for col in range(1, cols):
                x = target.x() + col * cell_w
                painter.drawLine(round(x), round(target.top()), round(x), round(target.bottom()))
            for row in range(1, rows):
                y = target.y() + row * cell_h
                painter.drawLine(round(target.left()), round(y), round(target.right()), round(y))
            scale = target.width() / self._frame.shape[1] if self._frame is not None else 1.0
            if self._frame is not None and self.patch is not None:
                x, y, w, h = self.patch
                painter.setPen(QPen(PATCH, 2, Qt.PenStyle.DashLine))
                painter.drawRect(QRectF(target.x() + x * scale, target.y() + y * scale, w * scale, h * scale))
            if self._frame is not None and len(self.corners):
                painter.setPen(QPen(CORNER, 2))
                for x, y in self.corners:
                    painter.drawEllipse(QRectF(target.x() + x * scale - 3, target.y() + y * scale - 3, 6, 6))
        finally:
            painter.end()


class CalibrationPage(QWidget):
    """The calibration wizard (F4): intrinsics, plane, colour, save; and the calibration's health.

    Without a frame source, board or file the page shows the health and how to calibrate
    from the command line instead.
    """

    calibrated = Signal(object)  # Intrinsics, after a successful calibrate()
    saved = Signal(object)  # SaveReport
    view_judged = Signal(object)  # ViewFeedback of a captured frame

    def __init__(
        self,
        font_scale: float = 1.0,
        frame_source: FrameSource | None = None,
        calibration_file: Path | None = None,
        board: BoardSpec | None = None,
        settings: WizardSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._source = frame_source
        self._file = calibration_file
        self._board = board
        self._settings = settings or WizardSettings()
        self.has_wizard = frame_source is not None and calibration_file is not None and board is not None
        self.guidance: Guidance | None = None
        self.last_feedback: ViewFeedback | None = None
        self.intrinsics: Intrinsics | None = None
        self.plane: PlaneCalibration | None = None
        self.colour: ColourCalibration | None = None
        self._colour_size: tuple[int, int] | None = None
        self.captures = 0  # captured frames judged so far (kept or not)
        self.previews = 0  # live frames looked at
        self._session = self._new_session()
        self.texts = Texts()
        self.health = CalibrationHealth(font_scale)
        layout = QVBoxLayout(self)
        layout.addWidget(self.health)
        if not self.has_wizard:
            how = QLabel()
            self.texts.bind(how.setText, lambda: self.tr(
                "To calibrate the camera, run « station calibrate » with the calibration board in view; "
                "the wizard appears here when the station gives the window its camera."))
            how.setWordWrap(True)
            layout.addWidget(how)
            layout.addStretch(1)
            return
        self._build_wizard(layout, font_scale)
        self._connect_steps()
        self._start_workers()
        self._show_guidance(self._session.guidance())

    def _build_wizard(self, layout: QVBoxLayout, font_scale: float) -> None:
        """The live view beside the three steps and the save button; the busy bar and refusals above."""
        self.view = BoardView()
        self.texts.bind(self.view.set_placeholder, lambda: self.tr(
            "Waiting for the camera… (the live view runs while this page is shown)"))
        self.intrinsics_step = IntrinsicsStep(font_scale, self._board.describe() if self._board else "")
        self.plane_step = PlaneStep()
        self.colour_step = ColourStep()
        self.save_button = QPushButton()
        self.texts.bind(self.save_button.setText, lambda: self.tr("Save to {file}").format(file=self._file))
        self.save_button.setEnabled(False)
        self.save_label = QLabel("")
        self.save_label.setWordWrap(True)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # "working", no percentage
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(8)
        self.busy_bar.hide()
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c62828; font-weight: bold;")
        self.error_label.hide()  # shown with a refusal
        self._error: Callable[[], str] | None = None  # the refusal shown, said again on a language change
        self._refusal: Hint | None = None  # the code of the refusal being reported
        self._saved: SaveReport | None = None  # the last save shown, said again on a language change
        steps = QVBoxLayout()
        steps.addWidget(self.intrinsics_step, 3)
        steps.addWidget(self.plane_step)
        steps.addWidget(self.colour_step)
        steps.addWidget(self.save_button)
        steps.addWidget(self.save_label)
        # The steps keep the height their words need and scroll when the screen is short (French at
        # 1366x768): squeezed, the word-wrapped lines of step 1 were drawn over one another.
        steps_widget = QWidget()
        steps_widget.setLayout(steps)
        self.steps_area = QScrollArea()
        self.steps_area.setWidget(steps_widget)
        self.steps_area.setWidgetResizable(True)
        self.steps_area.setFrameShape(QFrame.Shape.NoFrame)
        self.steps_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._fit_steps()
        body = QHBoxLayout()
        body.addWidget(self.view, 2)
        body.addWidget(self.steps_area, 1)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.error_label)
        layout.addLayout(body, 1)

    def _connect_steps(self) -> None:
        """Buttons, the patch outline on the live view, and Space to capture while the page has the focus."""
        step = self.intrinsics_step
        step.capture_button.clicked.connect(self.capture)
        step.calibrate_button.clicked.connect(self.calibrate)
        step.restart_button.clicked.connect(self.start_over)
        self.plane_step.plane_button.clicked.connect(self.measure_plane)
        self.colour_step.patch_edit.textChanged.connect(lambda text: self.view.set_patch(parse_patch(text)))
        self.colour_step.colour_button.clicked.connect(self.measure_colour)
        self.save_button.clicked.connect(self.save)
        capture = QAction("Capture view", self)
        capture.setShortcuts([QKeySequence(Qt.Key.Key_Space)])
        capture.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        capture.triggered.connect(lambda *_checked: self.capture())
        self.addAction(capture)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def _start_workers(self) -> None:
        # The session is touched on this worker only; live views are looked at on another,
        # so a slow calibration never stops the picture.
        self._work = Background("calibration", self)
        self._work.finished.connect(self._work_done)
        self._work.refused.connect(self._work_refused)
        self._work.failed.connect(self._work_failed)
        self._preview = Background("calibration-preview", self)
        self._preview.finished.connect(self._preview_done)
        self._preview.failed.connect(self._preview_failed)
        self._timer = QTimer(self)
        self._timer.setInterval(PREVIEW_INTERVAL_MS)
        self._timer.timeout.connect(self._look)
        self._timer.start()
        self._calibrating = False

    # ----- health ---------------------------------------------------------------------------------
    def set_health(self, health: Health) -> None:
        """Show the calibration's health."""
        self.health.set_health(health)

    # ----- intents --------------------------------------------------------------------------------
    def _new_session(self) -> IntrinsicsSession:
        s = self._settings
        return IntrinsicsSession(self._board or BoardSpec(), min_views=s.min_views, max_rms_px=s.max_rms_px,
                                 thresholds=QualityThresholds(min_sharpness=s.min_sharpness))

    @property
    def busy(self) -> bool:
        """Whether a capture, calibration, step or save is queued or running."""
        return self.has_wizard and self._work.busy

    def capture(self) -> None:
        """Space: judge the camera's current frame as a view of the board (on the worker)."""
        if not self.has_wizard or self._calibrating:
            return
        assert self._source is not None
        session, source = self._session, self._source

        def judge() -> tuple[IntrinsicsSession, ViewFeedback, Guidance, npt.NDArray[np.bool_]]:
            feedback = session.add_frame(_grab(source))
            return session, feedback, session.guidance(), session.coverage_map()

        self._submit("capture", judge)

    def calibrate(self) -> None:
        """Solve for the camera on the worker, with the busy bar; the result or the refusal is shown."""
        if not self.has_wizard or self._calibrating:
            return
        self._calibrating = True
        self.intrinsics_step.forget_result(self.tr("Calibrating…"))
        self._submit("calibrate", self._session.calibrate)

    def start_over(self) -> None:
        """Forget the captured views (the result already shown stays until the next calibration)."""
        if not self.has_wizard:
            return
        self._session = self._new_session()
        self.captures = 0
        self.last_feedback = None
        self.intrinsics_step.show_feedback(None, cleared=True)
        self._show_guidance(self._session.guidance())
        self.view.set_coverage(self._session.coverage_map())

    def measure_plane(self) -> None:
        """Plane from the board lying on the belt (current frame), with this session's or the file's
        intrinsics (raw pixels when there are none)."""
        if not self.has_wizard:
            return
        assert self._source is not None and self._board is not None and self._file is not None
        source, board, path, intrinsics = self._source, self._board, self._file, self.intrinsics

        def measure() -> PlaneCalibration:
            frame = _grab(source)
            known = intrinsics
            if known is None and path.is_file():
                known = load_calibration(path, live_resolution=_size_of(frame)).intrinsics
            return calibrate_plane(frame, board, known)

        self.plane_step.plane_label.setText(self.tr("Measuring the plane…"))
        self._submit("plane", measure)

    def measure_colour(self) -> None:
        """White balance and exposure from the grey patch given as x,y,w,h (current frame)."""
        if not self.has_wizard:
            return
        step = self.colour_step
        patch = step.patch()
        if patch is None:
            typed = step.patch_edit.text()
            self._show_error(lambda: self.tr("The patch « {patch} » is not x,y,w,h: give four whole numbers "
                                             "in pixels, e.g. 40,60,80,80").format(patch=typed))
            return
        assert self._source is not None
        source, lightness = self._source, float(step.lightness.value())

        def measure() -> tuple[ColourCalibration, tuple[int, int]]:
            frame = _grab(source)
            if frame.ndim == 2:
                frame = np.asarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), np.uint8)
            return calibrate_colour(frame, patch, lightness), _size_of(frame)

        step.colour_label.setText(self.tr("Measuring the colour…"))
        self._submit("colour", measure)

    def save(self) -> None:
        """Write what was calibrated here into the calibration file, keeping its other sections."""
        if not self.has_wizard:
            return
        assert self._file is not None and self._board is not None
        sizes = {size for size in (self.intrinsics.image_size if self.intrinsics else None,
                                   self.plane.image_size if self.plane else None, self._colour_size)
                 if size is not None}
        if not sizes:
            self._show_error(lambda: self.tr(
                "Nothing calibrated yet: calibrate the camera, the plane or the colour first."))
            return
        if len(sizes) > 1:
            self._show_error(lambda: self.tr("The steps were done at different camera resolutions: "
                                             "redo them at one resolution."))
            return
        self._saved = None
        self.save_label.setText(self.tr("Saving…"))
        self._submit("save", write_calibration, self._file, self._board, self._settings.camera_id,
                     self.intrinsics, self.plane, self.colour, sizes.pop())

    def _submit(self, tag: str, fn: Callable[..., object], *args: object) -> None:
        self._show_error(None)
        self._work.submit(tag, fn, *args)
        self._update_busy()

    # ----- outcomes -------------------------------------------------------------------------------
    def _work_done(self, tag: str, result: object) -> None:
        if tag == "capture" and isinstance(result, tuple):
            self._captured(*result)
        elif tag == "calibrate" and isinstance(result, Intrinsics):
            self._calibrating = False
            self.intrinsics = result
            self.intrinsics_step.show_result(result, self._settings.max_rms_px)
            self.calibrated.emit(result)
        elif tag == "plane" and isinstance(result, PlaneCalibration):
            self.plane = result
            self.plane_step.show_plane(result)
        elif tag == "colour" and isinstance(result, tuple):
            self.colour, self._colour_size = result
            self.colour_step.show_colour(result[0])
        elif tag == "save" and isinstance(result, SaveReport):
            self._saved = result
            self.save_label.setText(result.words())
            self.saved.emit(result)
        self._update_busy()

    def _captured(self, session: IntrinsicsSession, feedback: ViewFeedback, guidance: Guidance,
                  cells: npt.NDArray[np.bool_]) -> None:
        if session is not self._session:  # captured before "Start over": those views are gone
            return
        self.captures += 1
        self.last_feedback = feedback
        self.intrinsics_step.show_feedback(feedback)
        self._show_guidance(guidance)
        self.view.set_coverage(cells)
        self.view_judged.emit(feedback)

    def _work_failed(self, tag: str, text: str) -> None:
        if tag == "calibrate":
            self._calibrating = False
            self.intrinsics_step.forget_result(self.tr("Not calibrated."))
        elif tag == "plane":
            self.plane_step.plane_label.setText(self.tr("Plane not measured."))
        elif tag == "colour":
            self.colour_step.colour_label.setText(self.tr("Colour not measured."))
        elif tag == "save":
            self.save_label.setText(self.tr("Not saved."))
        # Calibration's refusal in the window's words when it says it as a code (`CalibrationError.hint`);
        # otherwise its English sentence as it came (calibration/ cannot reach the catalogue).
        found, self._refusal = self._refusal, None
        self._show_error(lambda: self._refusal_words(tag, hint_words(found) if found is not None else text))
        self._update_busy()

    def _work_refused(self, _tag: str, exc: object) -> None:
        # Arrives just before `failed` for the same work: keep the refusal's code for it.
        self._refusal = exc.hint if isinstance(exc, CalibrationError) else None

    def _refusal_words(self, tag: str, problem: str) -> str:
        if tag == "capture":
            return self.tr("The view could not be judged: {problem}").format(problem=problem)
        if tag == "calibrate":
            return self.tr("Calibration refused: {problem}").format(problem=problem)
        if tag == "plane":
            return self.tr("Plane measurement refused: {problem}").format(problem=problem)
        if tag == "colour":
            return self.tr("Colour measurement refused: {problem}").format(problem=problem)
        if tag == "save":
            return self.tr("Saving refused: {problem}").format(problem=problem)
        return self.tr("Refused: {problem}").format(problem=problem)

    def _show_error(self, said: Callable[[], str] | None) -> None:
        """A refusal in red above the steps (None: none); `said` words it in the language of the moment."""
        self._error = said
        text = said() if said is not None else ""
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _update_busy(self) -> None:
        long_work = self._calibrating or self._work.busy
        self.busy_bar.setVisible(long_work)
        ready = self.guidance is not None and self.guidance.ready
        self.intrinsics_step.set_calibrating(self._calibrating, ready)
        self.save_button.setEnabled(any(x is not None for x in (self.intrinsics, self.plane, self.colour))
                                    and not self._calibrating)

    def _show_guidance(self, guidance: Guidance) -> None:
        self.guidance = guidance
        self.intrinsics_step.show_guidance(guidance, self._settings.min_sharpness)
        self._update_busy()

    # ----- live view ------------------------------------------------------------------------------
    def _fit_steps(self) -> None:
        """The steps' column never narrower than their buttons and titles: it scrolls up and down only."""
        steps = self.steps_area.widget()
        assert steps is not None
        scrollbar = self.steps_area.verticalScrollBar().sizeHint().width()
        self.steps_area.setMinimumWidth(steps.minimumSizeHint().width() + scrollbar)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.texts.retranslate()
            if self.has_wizard:
                self._show_error(self._error)
                if self._saved is not None:
                    self.save_label.setText(self._saved.words())
        if self.has_wizard and event.type() in (QEvent.Type.LanguageChange, QEvent.Type.FontChange):
            self._fit_steps()  # other words, other widths
        super().changeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self.has_wizard:
            self._look()  # the picture at once, not after the first tick

    def _look(self) -> None:
        if not self.isVisible() or self._preview.busy:
            return
        assert self._source is not None and self._board is not None
        source, board = self._source, self._board

        def detect() -> tuple[Frame | None, npt.NDArray[np.float32]]:
            frame = source()
            if frame is None:
                return None, np.zeros((0, 2), np.float32)
            frame = np.array(frame, np.uint8, copy=True)  # shown later: the camera may reuse its buffer
            return frame, detect_board(frame, board).image_points

        self._preview.submit("preview", detect)

    def _preview_done(self, _tag: str, result: object) -> None:
        if not isinstance(result, tuple):
            return
        frame, corners = result
        self.previews += 1
        if frame is None:
            self.view.set_placeholder(self.tr("No frame from the camera: check its status below."))
        self.view.set_frame(frame, corners)

    def _preview_failed(self, _tag: str, text: str) -> None:
        self.view.set_frame(None)
        self.view.set_placeholder(self.tr("The live view failed: {problem}").format(problem=text))

    def shutdown(self) -> None:
        """Stop the live view; let a save that was asked for finish."""
        if not self.has_wizard:
            return
        self._timer.stop()
        self._preview.close(wait=False)
        self._work.close(wait=True)
