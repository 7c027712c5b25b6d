"""The Inspect page (F1): the live camera view, the current item's card with the key hints, recent items."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from station.ui.camera_view import CameraView
from station.ui.item_card import ItemCard
from station.ui.recent import RecentList
from station.ui.settings import UiSettings

logger = logging.getLogger(__name__)

KEY_HINTS = "Enter confirm · 1–5 override · R re-inspect · S supervisor · T trigger · O open · Ctrl+F search"
SCAN_HINT = " · or scan a code"


class InspectPage(QWidget):
    """Camera view and card side by side above the recent items list; takes the focus for the bench keys."""

    def __init__(self, settings: UiSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.camera = CameraView()
        self.card = ItemCard(settings.font_scale, settings.lane_names)
        self.recent = RecentList(settings.dispositions, settings.recent_items)
        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(self.camera)
        upper.addWidget(self._card_with_hints(settings.keyboard_scanner))
        upper.setStretchFactor(0, 3)
        upper.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(self.recent)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([520, 170])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    def _card_with_hints(self, keyboard_scanner: bool) -> QWidget:
        hints = QLabel(KEY_HINTS + (SCAN_HINT if keyboard_scanner else ""))
        hints.setWordWrap(True)
        hints.setStyleSheet("color: #555555;")
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.card, 1)
        layout.addWidget(hints)
        return box
