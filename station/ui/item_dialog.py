"""A past item opened from the recent list: its images with overlays, the verdict, and its history."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
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

from station.state import ItemView
from station.ui.bridge import Background
from station.ui.camera_view import CameraView
from station.ui.item_card import ItemCard
from station.ui.verdict_text import decided_by
from station.verdict import Verdict, format_time

logger = logging.getLogger(__name__)

# verdict_id -> its revisions, oldest first
HistorySource = Callable[[str], list[Verdict]]

HISTORY_COLUMNS = ("revision", "decided at", "by", "grade", "disposition", "why")


def load_stored_frame(view: ItemView, images_dir: Path | None) -> np.ndarray | None:
    """The item's frame: in memory, else its first stored image under `images_dir` (BGR)."""
    if view.frame is not None:
        return view.frame
    for ref in view.verdict.inspection.images:
        path = ref.path
        if not path or images_dir is None:
            continue
        image = QImage(str(images_dir / path))
        if image.isNull():
            logger.warning("stored image %s cannot be read", images_dir / path)
            continue
        image = image.convertToFormat(QImage.Format.Format_BGR888)
        width, height = image.width(), image.height()
        buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
        return buffer.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3).copy()
    return None


def history_row(verdict: Verdict) -> tuple[str, ...]:
    """One revision as the history table shows it, in the order of HISTORY_COLUMNS."""
    decision = verdict.decision
    return (
        str(verdict.revision),
        format_time(verdict.decided_at),
        decided_by(verdict),
        decision.grade.value,
        decision.disposition.value,
        decision.override_reason or "; ".join(decision.reasons),
    )


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
    ) -> None:
        super().__init__(parent)
        self.view = view
        self.setWindowTitle(f"Item {view.verdict.item.rma or 'no RMA'} · {view.verdict.verdict_id}")
        self.resize(1200, 700)
        self.camera = CameraView()
        frame = load_stored_frame(view, images_dir)
        self.camera.set_frame(frame, view.overlay if view.frame is not None else None)
        if frame is None:
            self.camera.set_placeholder(
                "No image kept for this item (deleted by retention, or never stored)."
            )
        self.card = ItemCard(font_scale * 0.8, lane_names)
        self.card.show_item(view)
        tabs = self._build_tabs(history_source is not None)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.camera)
        split.addWidget(tabs)
        buttons = self._build_buttons()
        right = QVBoxLayout()
        right.addWidget(self.card, 1)
        right.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.addWidget(split, 3)
        layout.addLayout(right, 2)
        self._worker: Background | None = None
        if history_source is not None:
            self._worker = Background("history", self)
            self._worker.finished.connect(self._history_loaded)
            self._worker.failed.connect(self._history_failed)
            self._worker.submit("history", history_source, view.verdict.verdict_id)

    def _build_tabs(self, has_history: bool) -> QTabWidget:
        """The revisions of the item, and its verdict as JSON."""
        self.history = QTableWidget(0, 0)
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.history.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.history_note = QLabel("Loading history…" if has_history else "History is not available here.")
        self.raw = QPlainTextEdit(_json_text(self.view.verdict))
        self.raw.setReadOnly(True)
        self.raw.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        history_page = QWidget()
        history_layout = QVBoxLayout(history_page)
        history_layout.addWidget(self.history_note)
        history_layout.addWidget(self.history, 1)
        tabs = QTabWidget()
        tabs.addTab(history_page, "History")
        tabs.addTab(self.raw, "Verdict JSON")
        return tabs

    def _build_buttons(self) -> QHBoxLayout:
        self.override_button = QPushButton("Override… (O)")
        self.override_button.setShortcut("O")
        self.override_button.clicked.connect(lambda: self.override_requested.emit(self.view))
        close = QPushButton("Close (Esc)")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.override_button)
        buttons.addWidget(close)
        return buttons

    def _history_failed(self, _tag: str, text: str) -> None:
        self.history_note.setText(f"History could not be read: {text}")

    def _history_loaded(self, _tag: str, rows: object) -> None:
        if not isinstance(rows, list):
            self._history_failed("history", f"got {type(rows).__name__}, not a list")
            return
        table = [history_row(r) for r in rows if isinstance(r, Verdict)]
        self.history.setColumnCount(len(HISTORY_COLUMNS))
        self.history.setHorizontalHeaderLabels(list(HISTORY_COLUMNS))
        self.history.setRowCount(len(table))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                self.history.setItem(r, c, QTableWidgetItem(text))
        self.history_note.setText(f"{len(table)} entries" if table else "No history recorded for this item.")

    def update_view(self, view: ItemView) -> None:
        """A new revision arrived while the dialog is open."""
        self.view = view
        self.card.show_item(view)
        self.raw.setPlainText(_json_text(view.verdict))

    def done(self, result: int) -> None:
        if self._worker is not None:
            self._worker.close(wait=False)  # a slow history read must not hold the window
            self._worker = None
        super().done(result)
