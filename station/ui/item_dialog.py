"""A past item opened from the recent list: its images with overlays, the verdict, and its history."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

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

logger = logging.getLogger(__name__)

# verdict_id -> its revisions (verdict dicts) or audit rows, oldest first
HistorySource = Callable[[str], list[dict[str, Any]]]
# RMA / GTIN / code text -> the latest verdict dict of each matching item, newest first
SearchSource = Callable[[str], list[dict[str, Any]]]


def load_stored_frame(view: ItemView, images_dir: Path | None) -> np.ndarray | None:
    """The item's frame: in memory, else its first stored image under `images_dir` (BGR)."""
    if view.frame is not None:
        return view.frame
    images = (view.verdict.get("inspection") or {}).get("images") or []
    for ref in images:
        path = ref.get("path") if isinstance(ref, dict) else None
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


def history_row(row: dict[str, Any]) -> dict[str, Any]:
    """One history entry for the table: a verdict revision is summarised, any other dict kept as it is."""
    decision = row.get("decision")
    if not isinstance(decision, dict):
        return row
    reasons = decision.get("reasons") or []
    return {
        "revision": row.get("revision"),
        "decided at": row.get("decided_at") or row.get("created_at"),
        "by": decision.get("operator_id") if decision.get("source") == "operator" else "auto",
        "grade": decision.get("grade"),
        "disposition": decision.get("disposition"),
        "why": decision.get("override_reason") or "; ".join(str(r) for r in reasons),
    }


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
        verdict_id = str(view.verdict.get("verdict_id", ""))
        rma = (view.verdict.get("item") or {}).get("rma") or "no RMA"
        self.setWindowTitle(f"Item {rma} · {verdict_id}")
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
        self.history = QTableWidget(0, 0)
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.history.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.history_note = QLabel("Loading history…" if history_source else "History is not available here.")
        self.raw = QPlainTextEdit(json.dumps(view.verdict, indent=2, ensure_ascii=False))
        self.raw.setReadOnly(True)
        self.raw.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        history_page = QWidget()
        history_layout = QVBoxLayout(history_page)
        history_layout.addWidget(self.history_note)
        history_layout.addWidget(self.history, 1)
        tabs = QTabWidget()
        tabs.addTab(history_page, "History")
        tabs.addTab(self.raw, "Verdict JSON")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.camera)
        split.addWidget(tabs)
        self.override_button = QPushButton("Override… (O)")
        self.override_button.setShortcut("O")
        self.override_button.clicked.connect(lambda: self.override_requested.emit(self.view))
        close = QPushButton("Close (Esc)")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.override_button)
        buttons.addWidget(close)
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
            self._worker.submit("history", history_source, verdict_id)

    def _history_failed(self, _tag: str, text: str) -> None:
        self.history_note.setText(f"History could not be read: {text}")

    def _history_loaded(self, _tag: str, rows: object) -> None:
        if not isinstance(rows, list):
            self._history_failed("history", f"got {type(rows).__name__}, not a list")
            return
        rows = [history_row(r) for r in rows if isinstance(r, dict)]
        columns: list[str] = []
        for row in rows:
            columns += [key for key in row if key not in columns]
        self.history.setColumnCount(len(columns))
        self.history.setHorizontalHeaderLabels(columns)
        self.history.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, key in enumerate(columns):
                value = row.get(key)
                text = (
                    ""
                    if value is None
                    else (json.dumps(value) if isinstance(value, dict | list) else str(value))
                )
                self.history.setItem(r, c, QTableWidgetItem(text))
        self.history_note.setText(f"{len(rows)} entries" if rows else "No history recorded for this item.")

    def update_view(self, view: ItemView) -> None:
        """A new revision arrived while the dialog is open."""
        self.view = view
        self.card.show_item(view)
        self.raw.setPlainText(json.dumps(view.verdict, indent=2, ensure_ascii=False))

    def done(self, result: int) -> None:
        if self._worker is not None:
            self._worker.close(wait=False)  # a slow history read must not hold the window
            self._worker = None
        super().done(result)
