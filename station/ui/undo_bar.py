"""The lines under the top bar: a confirm or an override waiting for its undo time, and items to
move by hand.

`UndoBar` names the item and what will be recorded, counts down the seconds left and offers the
Undo button (Ctrl+Z does the same). Its room is kept when nothing waits, so the page under it does
not jump each time the operator presses Enter. The countdown is never cut: when the line is too narrow
for the whole sentence (French, 1366x768), the notice inside it is shortened with '…' and the whole
sentence is in the tooltip. `HandMoveBar` keeps an override's "take it out of
lane 3" in view until the operator says it is done.
"""

from __future__ import annotations

import logging
import math
import time

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from station.ui import theme
from station.ui.intents import HeldIntent
from station.ui.phrase import Phrase

logger = logging.getLogger(__name__)

WAITING_STYLE = "background: #fff3c4; color: #3b2f00; border-radius: 4px; padding: 2px 6px;"


class UndoBar(QWidget):
    """The newest waiting intent in words, its countdown, and Undo; `undo_requested` on the button."""

    undo_requested = Signal()

    def __init__(self, font_scale: float = 1.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel("")
        self.text.setObjectName("undo_text")
        self.text.setFont(theme.scaled_font(self.font(), 13 * font_scale, bold=True))
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.button = QPushButton(self.tr("Undo (Ctrl+Z)"))
        self.button.clicked.connect(self.undo_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        self._held: list[HeldIntent] = []
        self._whole = ""  # the sentence for the newest intent, before any shortening
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._refresh)
        self.hide()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.button.setText(self.tr("Undo (Ctrl+Z)"))
            self._refresh()
        super().changeEvent(event)

    def show_held(self, held: list[HeldIntent]) -> None:
        """The intents waiting, oldest first; the newest is the one Undo takes back."""
        self._held = list(held)
        if not self._held:
            self._tick.stop()
            self.hide()
            return
        self._refresh()
        self.show()
        self._tick.start()

    def whole_text(self) -> str:
        """The countdown sentence as said, before it is shortened to the line's width."""
        return self._whole

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """As wide as the whole sentence and the button: the top line gives it that room if it can."""
        hint = super().sizeHint()
        if not self._whole:
            return hint
        margins = self.text.contentsMargins()
        text = self.text.fontMetrics().horizontalAdvance(self._whole) + margins.left() + margins.right() + 4
        layout = self.layout()
        spacing = max(0, layout.spacing()) if layout is not None else 0
        return QSize(text + spacing + self.button.sizeHint().width(), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._refresh()

    def _refresh(self) -> None:
        if not self._held:
            return
        newest = self._held[-1]
        seconds = max(0, math.ceil(newest.deadline - time.monotonic()))
        if len(self._held) == 1:
            sentence = self.tr("{notice} — recorded in {seconds} s unless you undo it.")
        else:
            sentence = self.tr("{notice} — recorded in {seconds} s unless you undo it ({count} waiting).")
        values = {"seconds": seconds, "count": len(self._held)}
        notice = newest.notice.render()
        whole = sentence.format(notice=notice, **values)
        if whole != self._whole:
            self._whole = whole
            self.updateGeometry()
        shown = self._fitted(sentence, notice, values)
        self.text.setText(shown)
        self.text.setToolTip("" if shown == whole else whole)
        theme.set_style(self.text, WAITING_STYLE)

    def _fitted(self, sentence: str, notice: str, values: dict[str, int]) -> str:
        """The sentence in the label's width: the notice shortened with '…', the countdown kept whole
        (the seconds left are what the operator must read)."""
        metrics = self.text.fontMetrics()
        room = self.text.contentsRect().width() - 4
        whole = sentence.format(notice=notice, **values)
        if metrics.horizontalAdvance(whole) <= room:
            return whole
        rest = metrics.horizontalAdvance(sentence.format(notice="", **values))
        short = metrics.elidedText(notice, Qt.TextElideMode.ElideRight, max(0, room - rest))
        return sentence.format(notice=short, **values)


MOVE_STYLE = "background: #ffd7d2; color: #7a1208; border-radius: 4px; padding: 2px 6px;"


class HandMoveBar(QWidget):
    """Items an override left in the wrong lane: what to move where, until the operator says it is done.

    The card and the notice change with the next item (every few seconds on a conveyor); this line
    stays, so a move by hand is not forgotten. The newest is shown, with how many more wait.
    """

    def __init__(self, font_scale: float = 1.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel("")
        self.text.setObjectName("hand_move_text")
        self.text.setFont(theme.scaled_font(self.font(), 13 * font_scale, bold=True))
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        theme.set_style(self.text, MOVE_STYLE)
        self.button = QPushButton(self.tr("Moved it"))
        self.button.clicked.connect(self.done)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        self._moves: list[tuple[str, Phrase]] = []  # (verdict id, what to do), oldest first
        self.hide()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.button.setText(self.tr("Moved it"))
            self._refresh()
        super().changeEvent(event)

    def add(self, verdict_id: str, text: Phrase) -> None:
        """A new move to make; a second override of the same item replaces its first instruction."""
        self._moves = [(v, t) for v, t in self._moves if v != verdict_id]
        self._moves.append((verdict_id, text))
        self._refresh()

    def pending(self) -> list[str]:
        """What is still to be moved, oldest first."""
        return [text.render() for _verdict_id, text in self._moves]

    def done(self) -> None:
        """The operator moved the item shown: forget it, show the next one."""
        if self._moves:
            verdict_id, _text = self._moves.pop()
            logger.info("hand move of %s done", verdict_id)
        self._refresh()

    def _refresh(self) -> None:
        if not self._moves:
            self.hide()
            return
        text = self._moves[-1][1].render()
        if len(self._moves) > 1:
            text = self.tr("{instruction} ({count} more to move)").format(
                instruction=text, count=len(self._moves) - 1
            )
        self.text.setText(text)
        self.show()
