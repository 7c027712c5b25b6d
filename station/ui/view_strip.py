"""Every camera's view of the item, small, under the large one: on a station with several cameras.

Each view is drawn as the decision used it (`shot_overlay`): its own defect regions and heatmap
only when its own finding counted, so a clean side view shows no red box beside a damaged top.
Its caption names the camera in the operator's words and says when that camera saw the damage.
A tap (or click) on a view shows it large.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from station.i18n import tr as words_in  # not named tr: lupdate would take it for a window text
from station.state import ItemView, ViewShot
from station.ui.camera_view import CameraView, shot_overlay
from station.ui.fit import ElidedLabel
from station.ui.translation import current_language

logger = logging.getLogger(__name__)

VIEW_STRETCH = (3, 1)  # with several cameras: the large view above the row of every view
_CAPTION_CSS = "background: #303030; color: #ffffff; font-weight: bold; padding: 2px 6px;"
_DAMAGE_CSS = "background: #c62828; color: #ffffff; font-weight: bold; padding: 2px 6px;"


class _ViewTile(QWidget):
    """One camera's view with its caption; clicked when tapped."""

    clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera_name = ""
        # Elided with "…" (its whole words on hover) when the tile is too narrow: a French caption
        # such as « dessus : dommage (en grand) » is longer than its English.
        self.caption = ElidedLabel()
        self.caption.setObjectName("viewCaption")
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.view = CameraView()
        self.view.setMinimumSize(96, 54)
        self.view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.view.show_heatmap = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)
        self.damaged = False
        self.large = False

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.camera_name)
        super().mousePressEvent(event)


class ViewStrip(QWidget):
    """A row of every camera's view of the item; hidden on a one-camera station."""

    view_chosen = Signal(object)  # the ViewShot to show large

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 2, 0, 0)
        self._layout.setSpacing(4)
        self._tiles: list[_ViewTile] = []
        self._item: ItemView | None = None
        self._large = ""
        self.repair_threshold: float | None = None
        self.hide()

    def tiles(self) -> list[_ViewTile]:
        """The tiles shown, one per camera."""
        return [tile for tile in self._tiles if tile.isVisible()]

    def show_item(self, view: ItemView, large: str) -> None:
        """Every view of `view`; `large` names the camera shown large above (its tile is marked)."""
        self._item, self._large = view, large
        if not view.views:
            self.hide()
            return
        while len(self._tiles) < len(view.views):
            tile = _ViewTile()
            tile.clicked.connect(self._chosen)
            self._tiles.append(tile)
            self._layout.addWidget(tile, 1)
        for tile, shot in zip(self._tiles, view.views, strict=False):
            overlay, words = shot_overlay(view.verdict, shot, self.repair_threshold)
            tile.camera_name = shot.camera
            tile.view.set_frame(shot.frame, overlay, words)
            tile.damaged = bool(overlay.regions) or bool(words)
            tile.large = shot.camera == large
            tile.show()
        for tile in self._tiles[len(view.views):]:
            tile.hide()
        self._word()
        self.show()

    def _word(self) -> None:
        language = current_language()
        for tile in self._tiles:
            name = words_in("View", tile.camera_name, language)
            text = self.tr("{camera}: damage").format(camera=name) if tile.damaged else name
            if tile.large:
                text = self.tr("{view} (shown above)").format(view=text)
            tile.caption.setText(text)
            tile.caption.setStyleSheet(_DAMAGE_CSS if tile.damaged else _CAPTION_CSS)

    def _chosen(self, camera: str) -> None:
        if self._item is None:
            return
        shot: ViewShot | None = next((s for s in self._item.views if s.camera == camera), None)
        if shot is not None:
            self.view_chosen.emit(shot)
            self.show_item(self._item, camera)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._word()
        super().changeEvent(event)
