"""The Inspect page (F1): the live camera view, the current item's card with its touch buttons and key
hints, and the recent items.

Camera view and card keep fixed shares of the page's width (stretch factors, not their contents),
so the picture does not change size when the verdict's words change. The touch buttons are as
large as a gloved finger needs (at least 15 mm, 57 px at 96 dpi) and only emit signals: the
window connects them to the same handlers as the keys (Enter, 1-5, R, S), which keep working.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QEvent, Qt, Signal, SignalInstance
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from station.state import Health, ItemView, Level, ViewShot
from station.ui import fit
from station.ui.camera_view import CameraView, main_shot
from station.ui.item_card import ItemCard
from station.ui.recent import RecentList
from station.ui.settings import UiSettings
from station.ui.view_strip import VIEW_STRETCH, ViewStrip

logger = logging.getLogger(__name__)

CAMERA_STRETCH, CARD_STRETCH = 3, 2  # the camera view's and the card's shares of the page's width
UPPER_STRETCH, RECENT_STRETCH = 3, 1  # camera and card above, the recent items below
RECENT_MIN_SHARE = 0.15  # of the window's height: the recent list's filter row and about three rows
NO_BREAK = "\u00a0"  # a space a line may not break at


def keys_breaking_between(keys: str) -> str:
    """The key hints with their line breaks only between two keys: a key stays with its action
    ("T trigger", "Ctrl+F search") and the '·' with the key before it, when the hints wrap."""
    parts = [part.replace(" ", NO_BREAK) for part in keys.split(" · ")]
    return f"{NO_BREAK}· ".join(parts)


class _FixedShare(QWidget):
    """A column whose height is its share of the page, never its words': wrapped lines in the
    card would otherwise ask for more height as they change, and the picture would jump."""

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return False


class InspectPage(QWidget):
    """Camera view and card side by side above the recent items list; takes the focus for the bench keys."""

    confirm_clicked = Signal()  # the Confirm touch button: as Enter
    override_clicked = Signal()  # the Override touch button: as a number key, the disposition still to choose
    reinspect_clicked = Signal()  # the Re-inspect touch button: as R
    supervisor_clicked = Signal()  # the Supervisor touch button: as S

    def __init__(self, settings: UiSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._scale = settings.font_scale
        self._fitted: tuple[int, int] | None = None
        self.camera = CameraView()
        self.camera.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        repair = [t.value for t in settings.thresholds if t.key == "defect_repair"]
        self.camera.repair_threshold = repair[0] if repair else None
        self.views = ViewStrip()
        self.views.repair_threshold = self.camera.repair_threshold
        self.views.view_chosen.connect(self._show_view)
        self._shown: ItemView | None = None
        pictures = QWidget()
        pictures.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        stack = QVBoxLayout(pictures)
        stack.setContentsMargins(0, 0, 0, 0)
        stack.setSpacing(0)
        stack.addWidget(self.camera, VIEW_STRETCH[0])
        stack.addWidget(self.views, VIEW_STRETCH[1])
        self.card = ItemCard(settings.font_scale, settings.lane_names)
        self.recent = RecentList(settings.dispositions, settings.recent_items)
        self.recent.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        # T and scans trigger an item in bench mode only: on the conveyor the controller triggers.
        self._bench = settings.mode == "bench"
        right = self._card_with_buttons(settings.keyboard_scanner)
        upper = QHBoxLayout()
        upper.setContentsMargins(0, 0, 0, 0)
        upper.addWidget(pictures, CAMERA_STRETCH)
        upper.addWidget(right, CARD_STRETCH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(upper, UPPER_STRETCH)
        layout.addWidget(self.recent, RECENT_STRETCH)
        self._failing_cameras: dict[str, str] = {}  # component -> its status line (why it is not live)

    def _card_with_buttons(self, keyboard_scanner: bool) -> QWidget:
        self._keyboard_scanner = keyboard_scanner
        self.confirm_button = self._touch_button(self.confirm_clicked)
        self.override_button = self._touch_button(self.override_clicked)
        self.reinspect_button = self._touch_button(self.reinspect_clicked)
        self.supervisor_button = self._touch_button(self.supervisor_clicked)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in self.touch_buttons():
            buttons.addWidget(button, 1)
        self.hints = QLabel()
        self._word_buttons()
        self.hints.setObjectName("hints")
        self.hints.setWordWrap(True)
        self.hints.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hints.setStyleSheet("color: #555555;")
        box = _FixedShare()
        box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        layout = QVBoxLayout(box)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.card, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.hints)
        return box

    def _word_buttons(self) -> None:
        """The buttons' words and tips and the key hints, in the language installed now."""
        for button, text, tip in (
            (self.confirm_button, self.tr("Confirm"), self.tr("Confirm the verdict (Enter)")),
            (self.override_button, self.tr("Override"),
             self.tr("Send the item elsewhere, with a reason (keys 1–5)")),
            (self.reinspect_button, self.tr("Re-inspect"), self.tr("Inspect the item again (R)")),
            (self.supervisor_button, self.tr("Supervisor"), self.tr("Ask a supervisor to look at it (S)")),
        ):
            button.setText(text)
            button.setToolTip(tip)
        keys = self.tr("Keys: Enter confirm · 1–5 override · R re-inspect · S supervisor · O open · "
                       "Ctrl+F search")
        if self._bench:
            keys = self.tr("Keys: Enter confirm · 1–5 override · R re-inspect · S supervisor · T trigger · "
                           "O open · Ctrl+F search")
        if self._bench and self._keyboard_scanner:
            keys = self.tr("Keys: Enter confirm · 1–5 override · R re-inspect · S supervisor · T trigger · "
                           "O open · Ctrl+F search · or scan a code")
        self.hints.setText(keys_breaking_between(keys))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._word_buttons()
            self._show_banner()
            self._fitted = None  # other words, other widths: fit the type again
            self._fit()
        super().changeEvent(event)

    def _touch_button(self, signal: SignalInstance) -> QPushButton:
        button = QPushButton()
        # The keys stay with the page: a tap must not take the focus Enter and the digits need.
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        button.setMinimumHeight(fit.MIN_TOUCH_PX)
        button.clicked.connect(lambda _checked=False: signal.emit())
        return button

    def touch_buttons(self) -> tuple[QPushButton, ...]:
        """Confirm, Override, Re-inspect, Supervisor."""
        return (self.confirm_button, self.override_button, self.reinspect_button, self.supervisor_button)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Buttons and hints sized from the window's height; button words fit their buttons."""
        height = self.window().height()
        width = self.confirm_button.width()
        if (height, width) == self._fitted:
            return
        self._fitted = (height, width)
        base = QFont(self.font())
        touch = max(fit.MIN_TOUCH_PX, fit.share_px(height, fit.TOUCH_SHARE))
        words = [button.text() for button in self.touch_buttons()]
        room = max(1, width - 16)  # the button's frame and padding
        wanted = fit.share_px(height, fit.DETAIL_SHARE * self._scale)
        size = fit.fitting_px(base, words, room, wanted, bold=True)
        for button in self.touch_buttons():
            button.setFixedHeight(touch)
            button.setFont(fit.pixel_font(base, size, bold=True))
        self.hints.setFont(fit.pixel_font(base, fit.share_px(height, fit.HINT_SHARE * self._scale)))
        # The recent list keeps room for its filter and a few rows, whatever the card needs.
        self.recent.setMinimumHeight(fit.share_px(height, RECENT_MIN_SHARE))

    def show_item(self, view: ItemView, status: str, picture: bool = True) -> None:
        """The item's frame with its overlay, and its card; `status` is the operator's last action on it.

        `picture=False` leaves the live picture in place (the card alone shows the item)."""
        self._shown = view
        if picture:
            self.camera.set_caption("")
            self.camera.show_item(view)
            self._show_views(view)
        self.card.show_item(view, status)

    def _show_views(self, view: ItemView) -> None:
        """The row of every camera's view of the item (several cameras), else none."""
        if view.views:
            self.views.show_item(view, main_shot(view).camera)
        else:
            self.views.hide()

    def show_live(self, frame: npt.NDArray[np.uint8]) -> None:
        """The camera as it sees now (bench mode, between items): the card keeps the last item; the
        row of its views goes, so no tile says "(shown above)" of a picture that is not its."""
        self.views.hide()
        self.camera.set_frame(frame)
        self.camera.set_caption(self.tr("Live: place the item, then scan it or press T"))

    def show_no_live(self) -> None:
        """The camera gives no fresh frame (down, frozen): say so instead of keeping its last one."""
        if not self.camera.has_frame():
            return  # said already
        self.camera.set_caption("")
        self.camera.set_placeholder(self.tr("No live picture from the camera"))
        self.camera.set_frame(None)

    def show_item_picture(self) -> None:
        """Back from the live picture to the item on the card (its undo brought it back)."""
        self.camera.set_caption("")
        if self._shown is not None:
            self.camera.show_item(self._shown)
            self._show_views(self._shown)

    def _show_view(self, shot: ViewShot) -> None:
        """A view tapped in the strip is shown large."""
        if self._shown is not None:
            self.camera.show_shot(self._shown.verdict, shot)

    def show_camera_health(self, health: Health) -> None:
        """A failing camera says so over its last picture, or in place of the picture while none came."""
        if health.level == Level.ERROR:
            self._failing_cameras[health.component] = health.summary
        else:
            self._failing_cameras.pop(health.component, None)
        self._show_banner()
        if not self.camera.has_frame():
            if health.level == Level.ERROR and health.detail:
                heading = health.summary[:1].upper() + health.summary[1:]  # "Camera top down", as a title
                self.camera.set_placeholder(health.detail, heading=heading)
            else:
                self.camera.set_placeholder(health.detail or health.summary)

    def _show_banner(self) -> None:
        problem = self.tr("{problem}: the picture below is not live")
        self.camera.set_banner("  ·  ".join(problem.format(problem=summary)
                                            for summary in self._failing_cameras.values()))

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
