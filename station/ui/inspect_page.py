"""The Inspect page (F1): the live camera view, the current item's card with the key hints, recent items."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from station.state import Health, ItemView, Level
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
        self._failing_cameras: dict[str, str] = {}  # component -> why its picture is not live

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

    def show_item(self, view: ItemView, status: str) -> None:
        """The item's frame with its overlay, and its card; `status` is the operator's last action on it."""
        self.camera.set_frame(view.frame, view.overlay)
        self.card.show_item(view, status)

    def show_camera_health(self, health: Health) -> None:
        """A failing camera says so over its last picture, or in place of the picture while none came."""
        if health.level == Level.ERROR:
            self._failing_cameras[health.component] = f"{health.summary}: the picture below is not live"
        else:
            self._failing_cameras.pop(health.component, None)
        self.camera.set_banner("  ·  ".join(self._failing_cameras.values()))
        if not self.camera.has_frame():
            self.camera.set_placeholder(health.detail or health.summary)

    def focus_search(self) -> None:
        """Ctrl+F: type search words."""
        self.recent.search.setFocus()
        self.recent.search.selectAll()

    def escape(self) -> None:
        """Esc: back from the record's results, or clear the search words; the bench keys work again."""
        if self.recent.results is not None:
            self.recent.show_recent()
        elif self.recent.search.hasFocus() and self.recent.search.text():
            self.recent.search.clear()
        self.setFocus()
