"""A past item opened from the recent list: the live card frozen on it, its picture with overlays,
every revision of its verdict (who, when, what, why) and the verdict as JSON.

The card is the Inspect page's `ItemCard`, fed with the stored picture when the frame is no longer in
memory, so the detail never shows less than the card did. An operator's decision is not a model's:
instead of a confidence the card says who overrode and why.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QFontDatabase, QImage
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from station.hand_move import MOVE_BY_HAND_FLAG
from station.state import ItemView, Overlay, ViewShot
from station.ui import theme
from station.ui.bridge import Background
from station.ui.camera_view import CameraView, decided_overlay, main_shot
from station.ui.card_words import override_reason_text, reasons_words
from station.ui.item_card import ItemCard
from station.ui.verdict_text import decided_by
from station.ui.view_strip import VIEW_STRETCH, ViewStrip
from station.verdict import Change, DecisionSource, Verdict

logger = logging.getLogger(__name__)

# verdict_id -> its revisions, oldest first
HistorySource = Callable[[str], list[Verdict]]

# The history table's columns, as their headers read (translated when shown).
HISTORY_COLUMNS = ("Revision", "When", "Who", "What", "Why")


# Each text is written out in a translate() call with its context, so lupdate finds it.
translate = QCoreApplication.translate


def history_titles() -> list[str]:
    """HISTORY_COLUMNS as the table's headers read, in the window's language."""
    return [
        translate("ItemDialog", "Revision"),
        translate("ItemDialog", "When"),
        translate("ItemDialog", "Who"),
        translate("ItemDialog", "What"),
        translate("ItemDialog", "Why"),
    ]


def load_stored_frame(view: ItemView, images_dir: Path | None) -> np.ndarray | None:
    """The item's frame: in memory, else its first stored image under `images_dir` (BGR)."""
    if view.frame is not None:
        return view.frame
    for ref in view.verdict.inspection.images:
        if ref.path and images_dir is not None:
            image = _read_image(images_dir / ref.path)
            if image is not None:
                return image
    return None


def stored_views(view: ItemView, images_dir: Path | None) -> ItemView:
    """The item with every camera's picture: in memory, else its stored images, each with the
    defect regions its own finding recorded (a one-camera item is returned as it is)."""
    images = view.verdict.inspection.images
    if view.views or len(images) < 2 or images_dir is None:
        return view
    findings = {f.camera: f for f in view.verdict.inspection.views}
    shots: list[ViewShot] = []
    for ref in images:
        image = _read_image(images_dir / ref.path) if ref.path else None
        if image is None:
            continue
        finding = findings.get(ref.camera)
        regions = finding.defect.regions if finding is not None and finding.defect is not None else ()
        shots.append(ViewShot(ref.camera, image, Overlay(
            regions=tuple((int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4]) for r in regions))))
    return dataclasses.replace(view, views=tuple(shots)) if len(shots) > 1 else view


def _read_image(path: Path) -> np.ndarray | None:
    """A stored JPEG as BGR; None (logged) when it cannot be read."""
    image = QImage(str(path))
    if image.isNull():
        logger.warning("stored image %s cannot be read", path)
        return None
    image = image.convertToFormat(QImage.Format.Format_BGR888)
    width, height = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buffer.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3).copy()


def overlay_of(view: ItemView) -> Overlay:
    """The overlay the live view drew; for an item found in the record (none kept), its defect boxes."""
    overlay = view.overlay
    if overlay.codes or overlay.regions or overlay.item_box is not None or overlay.heatmap is not None:
        return overlay
    defect = view.verdict.inspection.defect
    found = defect.regions if defect is not None else ()
    return Overlay(regions=tuple((int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4]) for r in found))


def _when(at: datetime) -> str:
    # Local time, to the second: what the supervisor's watch says, not the record's UTC.
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _routing_words(verdict: Verdict) -> str:
    routing = verdict.routing
    if routing.lost:
        return translate("ItemDialog", "Lost on the belt")
    if routing.late:
        return translate("ItemDialog", "Too late for its lane: the conveyor sent it to manual")
    if routing.lane_confirmed is not None:
        return translate("ItemDialog", "Conveyor confirmed lane {lane}").format(lane=routing.lane_confirmed)
    if routing.lane_commanded is not None:
        return translate("ItemDialog", "Sent to lane {lane}").format(lane=routing.lane_commanded)
    return translate("ItemDialog", "Not routed")


def _override_why(verdict: Verdict, previous: Verdict) -> str:
    """The operator's reason, and where the item is to be moved by hand when the override asked for it."""
    decision = verdict.decision
    why = override_reason_text(decision.override_reason)
    if MOVE_BY_HAND_FLAG in decision.flags and MOVE_BY_HAND_FLAG not in previous.decision.flags:
        why = translate("ItemDialog", "{reason} — {hand_move}").format(
            reason=why, hand_move=reasons_words(decision)[-1])
    return why


def _change_row(verdict: Verdict, previous: Verdict) -> tuple[str, str, str] | None:
    """Who, what and why of a revision that says what it changed; None for one written before
    revisions said so (read as "routed" with nobody named), which is told from what differs."""
    decision = verdict.decision
    disposition = theme.disposition_words(decision.disposition).lower()
    who = verdict.changed_by or ""
    note = verdict.change_note or ""
    match verdict.change:
        case Change.CONFIRMED:
            what = translate("ItemDialog", "Confirmed: {disposition}").format(disposition=disposition)
            return who, what, ""
        case Change.OVERRIDDEN:
            what = translate("ItemDialog", "Overridden to {disposition}").format(disposition=disposition)
            return who, what, _override_why(verdict, previous)
        case Change.SUPERVISOR_APPROVED:
            what = translate("ItemDialog", "Overridden to {disposition}, approved with the supervisor's PIN"
                             ).format(disposition=disposition)
            return who, what, _override_why(verdict, previous)
        case Change.SUPERVISOR_REQUESTED:
            return who, translate("ItemDialog", "Supervisor asked to look"), note
        case Change.PURGED:
            return who, translate("ItemDialog", "Customer's personal data erased"), ""
        case Change.ROUTED if verdict.changed_by is not None:
            return translate("ItemDialog", "conveyor"), _routing_words(verdict), ""
    return None


def history_row(verdict: Verdict, previous: Verdict | None = None) -> tuple[str, ...]:
    """One revision as the history table shows it (HISTORY_COLUMNS): what changed since `previous`, why."""
    decision = verdict.decision
    disposition = theme.disposition_words(decision.disposition)
    who = decided_by(verdict)
    told = _change_row(verdict, previous) if previous is not None else None
    if told is not None:
        who, what, why = told
    elif previous is None:
        what = translate("ItemDialog", "Inspected: grade {grade}, {disposition}").format(
            grade=decision.grade.value, disposition=disposition.lower()
        )
        why = "; ".join(reasons_words(decision))
        who = translate("ItemDialog", "station") if who == "auto" else who
    elif decision != previous.decision and decision.source is DecisionSource.OPERATOR:
        what = translate("ItemDialog", "Overridden to {disposition}").format(disposition=disposition.lower())
        why = _override_why(verdict, previous)
    elif verdict.routing != previous.routing:
        what = _routing_words(verdict)
        why = ""
        who = translate("ItemDialog", "conveyor")
    else:
        what = disposition
        why = "; ".join(reasons_words(decision))
    return (str(verdict.revision), _when(verdict.decided_at), who, what, why)


def _json_text(verdict: Verdict) -> str:
    return json.dumps(verdict.to_json(), indent=2, ensure_ascii=False)


class ItemDialog(QDialog):
    """Non-modal: several past items may be open while new ones keep arriving."""

    override_requested = Signal(object)  # ItemView

    def __init__(
        self,
        view: ItemView,
        history_source: HistorySource | None,
        images_dir: Path | None,
        font_scale: float,
        lane_names: dict[int, str],
        parent: QWidget | None = None,
        repair_threshold: float | None = None,
    ) -> None:
        super().__init__(parent)
        self.view = view
        self.setWindowTitle(self.tr("Item {rma}").format(rma=view.verdict.item.rma or self.tr("without RMA")))
        self.resize(1320, 740)
        self.camera = CameraView()
        self.camera.repair_threshold = repair_threshold
        self.views = ViewStrip()
        self.views.repair_threshold = repair_threshold
        self.views.view_chosen.connect(lambda shot: self.camera.show_shot(view.verdict, shot))
        self._frame = load_stored_frame(view, images_dir)
        several = stored_views(view, images_dir)
        if several.views:  # every camera's picture, the one whose finding decided large
            self.camera.show_item(several)
            self.views.show_item(several, main_shot(several).camera)
        else:
            # What the live view drew, as the decision used it: no box the card contradicts.
            shown = dataclasses.replace(view, overlay=overlay_of(view))
            overlay, words = decided_overlay(shown, repair_threshold)
            self.camera.set_frame(self._frame, overlay, words)
        if self._frame is None:
            self.camera.set_placeholder(
                self.tr("No image kept for this item (deleted by retention, or never stored).")
            )
        self.card = ItemCard(font_scale * 0.9, lane_names)  # a little smaller: the history shares the height
        self._show_card(view)
        tabs = self._build_tabs(history_source is not None)
        top = QWidget()
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        pictures = QVBoxLayout()
        pictures.setContentsMargins(0, 0, 0, 0)
        pictures.addWidget(self.camera, VIEW_STRETCH[0])
        pictures.addWidget(self.views, VIEW_STRETCH[1])
        top_layout.addLayout(pictures, 3)
        top_layout.addWidget(self.card, 2)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(tabs)
        # The card needs its height to be read as on the Inspect page; the history has room for a few
        # revisions without scrolling, more with the splitter dragged up.
        split.setSizes([500, 200])
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(self._build_buttons())
        self._worker: Background | None = None
        if history_source is not None:
            self._worker = Background("history", self)
            self._worker.finished.connect(self._history_loaded)
            self._worker.failed.connect(self._history_failed)
            self._worker.submit("history", history_source, view.verdict.verdict_id)

    def _show_card(self, view: ItemView) -> None:
        """The card as it was live: the stored picture stands in for the frame no longer in memory."""
        shown = view if view.frame is not None or self._frame is None else dataclasses.replace(
            view, frame=self._frame, overlay=overlay_of(view))
        self.card.show_item(shown)
        decision = view.verdict.decision
        if decision.source is DecisionSource.OPERATOR:
            # 100 % would be a model's certainty; this is a person's decision, with their reason.
            self.card.confidence.setText(
                self.tr("Overridden by {operator}: {reason}").format(
                    operator=decision.operator_id or "?",
                    reason=override_reason_text(decision.override_reason),
                )
            )
            self.card.confidence.setWordWrap(True)

    def _build_tabs(self, has_history: bool) -> QTabWidget:
        """The revisions of the item, and its verdict as JSON."""
        self.history = QTableWidget(0, 0)
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.history.setWordWrap(True)
        self.history.verticalHeader().setVisible(False)
        # Wrapped reasons take the height the width of their column gives them, whenever that changes.
        self.history.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.history_note = QLabel(
            self.tr("Loading history…") if has_history else self.tr("History is not available here.")
        )
        self.raw = QPlainTextEdit(_json_text(self.view.verdict))
        self.raw.setReadOnly(True)
        self.raw.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        history_page = QWidget()
        history_layout = QVBoxLayout(history_page)
        history_layout.addWidget(self.history_note)
        history_layout.addWidget(self.history, 1)
        self.tabs = tabs = QTabWidget()
        theme.roomy_tabs(tabs)
        tabs.addTab(history_page, self.tr("History"))
        tabs.addTab(self.raw, self.tr("Verdict JSON"))
        return tabs

    def _build_buttons(self) -> QHBoxLayout:
        self.override_button = QPushButton(self.tr("Override… (O)"))
        self.override_button.setShortcut("O")
        self.override_button.clicked.connect(lambda: self.override_requested.emit(self.view))
        self.close_button = close = QPushButton(self.tr("Close (Esc)"))
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.override_button)
        buttons.addWidget(close)
        return buttons

    def _history_failed(self, _tag: str, text: str) -> None:
        self.history_note.setText(self.tr("History could not be read: {problem}").format(problem=text))

    def _history_loaded(self, _tag: str, rows: object) -> None:
        if not isinstance(rows, list):
            self._history_failed("history", f"got {type(rows).__name__}, not a list")
            return
        revisions = [r for r in rows if isinstance(r, Verdict)]
        table = [history_row(v, revisions[i - 1] if i else None) for i, v in enumerate(revisions)]
        self.history.setColumnCount(len(HISTORY_COLUMNS))
        self.history.setHorizontalHeaderLabels(history_titles())
        self.history.setRowCount(len(table))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                self.history.setItem(r, c, cell)
        header = self.history.horizontalHeader()
        # The short columns as wide as their words; "why" takes the rest and wraps.
        for column in range(len(HISTORY_COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(HISTORY_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        if table:
            # The count goes in the tab's title: the table keeps the line for one more revision.
            title = self.tr("History ({count} revisions, oldest first)").format(count=len(table))
            self.tabs.setTabText(0, title)
            self.history_note.hide()
        else:
            self.history_note.setText(self.tr("No history recorded for this item."))

    def update_view(self, view: ItemView) -> None:
        """A new revision arrived while the dialog is open."""
        self.view = view
        self._show_card(view)
        self.raw.setPlainText(_json_text(view.verdict))

    def done(self, result: int) -> None:
        if self._worker is not None:
            self._worker.close(wait=False)  # a slow history read must not hold the window
            self._worker = None
        super().done(result)
