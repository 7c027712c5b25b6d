"""The window's top line: who is signed in, which mode, the counters an operator uses, and the last notice.

The counters are the ones a supervisor checks against the Statistics page: items today and
this hour (items recorded in the current clock hour, as Statistics counts them) and verdicts
waiting for central; the station's problems (items not inspected, lost, late...) appear only
when they are not zero. Each part keeps its words whole while there is room, and is elided
with its words in the tooltip when there is not, so the parts never run into each other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from station.ui import fit, theme
from station.ui.fit import ElidedLabel
from station.ui.phrase import Phrase, say

logger = logging.getLogger(__name__)

ERROR_STYLE = "color: #c62828; font-weight: bold;"
PROBLEM_STYLE = "color: #c62828; font-weight: bold;"


def _number(counters: dict[str, Any], key: str) -> int | None:
    value = counters.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


@dataclass(frozen=True)
class _Since:
    """The station's item count when the current clock hour / day began in this window's eyes."""

    hour: str
    items_at_hour: int
    day: str
    items_at_day: int


class ClockCounts:
    """Items today and this hour from the station's running count of items recorded since it started.

    The station starts with the window, so its first count is all in the hour and day it was
    seen; a new clock hour (day) begins at the last count seen before it (the counts come once a
    second, so at most a second's items land in the wrong hour).
    """

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now().astimezone()) -> None:
        self._now = now
        self._since: _Since | None = None
        self._last = 0

    def update(self, items: int) -> tuple[int, int]:
        """(items today, items this hour) given `items` recorded since the station started."""
        at = self._now()
        hour, day = at.strftime("%Y-%m-%d %H"), at.strftime("%Y-%m-%d")
        since = self._since or _Since(hour, 0, day, 0)
        if since.day != day:
            since = _Since(hour, self._last, day, self._last)
        elif since.hour != hour:
            since = _Since(hour, self._last, day, since.items_at_day)
        self._since, self._last = since, items
        return max(0, items - since.items_at_day), max(0, items - since.items_at_hour)


def problem_parts(counters: dict[str, Any]) -> list[str]:
    """The station's problems in words, only those that happened: 'Lost on the belt: 2'."""
    phrases = {
        "unrecorded": QCoreApplication.translate("TopBar", "Items with no record: {count}"),
        "overloaded": QCoreApplication.translate("TopBar", "Not inspected, too busy: {count}"),
        "disk_full": QCoreApplication.translate("TopBar", "Not inspected, disk full: {count}"),
        "record_errors": QCoreApplication.translate("TopBar", "Lane results not saved: {count}"),
        "late": QCoreApplication.translate("TopBar", "Too late for the conveyor: {count}"),
        "misrouted": QCoreApplication.translate("TopBar", "Wrong lane: {count}"),
        "lost": QCoreApplication.translate("TopBar", "Lost on the belt: {count}"),
        "jams": QCoreApplication.translate("TopBar", "Conveyor jams: {count}"),
        "estops": QCoreApplication.translate("TopBar", "Emergency stops: {count}"),
    }
    parts = []
    for key, phrase in phrases.items():
        count = _number(counters, key)
        if count:
            parts.append(phrase.format(count=count))
    return parts


class TopBar(QWidget):
    """Operator, mode, counters, problems and the last notice (red when it reports a failure)."""

    SPACING = 4  # px between the parts, as between the window's rows

    def __init__(self, font_scale: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scale = font_scale
        self._fitted_height = 0
        self._clock = ClockCounts()
        base = QFont(self.font())
        # Who is signed in and the mode are never cut: they take the width their words need.
        self.operator_label = QLabel()
        self.operator_label.setFont(theme.scaled_font(base, 12 * font_scale, bold=True))
        self.mode_label = QLabel()
        self.mode_label.setFont(theme.scaled_font(base, 12 * font_scale, bold=True))
        for label in (self.operator_label, self.mode_label):
            label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.counters_label = ElidedLabel("")
        self.counters_label.setObjectName("counters")
        self.problems_label = ElidedLabel("")
        self.problems_label.setObjectName("problems")
        self.problems_label.setStyleSheet(PROBLEM_STYLE)
        self.problems_label.setVisible(False)
        self._notice: tuple[str, str | Phrase] | None = None  # (time, what), said again on a language change
        self.message_label = ElidedLabel("")
        self.message_label.setObjectName("message")
        self.message_label.setFont(theme.scaled_font(base, 12 * font_scale))
        # Problems and the notice share the room left; each is elided when it has too little (words on
        # hover). The counters keep their words while the row has room.
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.problems_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._layout = layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(self.SPACING * 3)
        layout.addWidget(self.operator_label)
        layout.addWidget(self.mode_label)
        layout.addWidget(self.counters_label)
        layout.addWidget(self.problems_label, 1)
        layout.addWidget(self.message_label, 0)
        layout.addStretch(0)  # what neither needs stays free at the end

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        height = self.window().height()
        if height == self._fitted_height:
            return
        self._fitted_height = height
        base = QFont(self.font())
        size = fit.share_px(height, fit.CHIP_SHARE * self._scale)
        for label in (self.operator_label, self.mode_label, self.problems_label):
            label.setFont(fit.pixel_font(base, size, bold=True))
        for label in (self.counters_label, self.message_label):
            label.setFont(fit.pixel_font(base, size))
        self._cap(self.problems_label)
        self._cap(self.message_label)

    def show_operator(self, operator_id: str | None) -> None:
        """The signed-in operator, or a red reminder to sign in."""
        if operator_id:
            self.operator_label.setText(self.tr("Operator {operator}").format(operator=operator_id))
            theme.set_style(self.operator_label, "")
        else:
            self.operator_label.setText(self.tr("Not signed in (F9)"))
            theme.set_style(self.operator_label, "color: #c62828;")

    def show_mode(self, mode: str) -> None:
        """Bench or conveyor mode."""
        if mode == "bench":
            self.mode_label.setText(self.tr("Bench mode"))
        elif mode == "conveyor":
            self.mode_label.setText(self.tr("Conveyor mode"))
        else:
            self.mode_label.setText(self.tr("{mode} mode").format(mode=mode.capitalize()))

    def show_counters(self, counters: dict[str, Any]) -> None:
        """Items today and this hour, waiting for central; the problems that happened, in red."""
        items = _number(counters, "items")
        parts = []
        if items is not None:
            today, this_hour = self._clock.update(items)
            # The station's own counts from its record win when it gives them (they survive a restart).
            given_today, given_hour = _number(counters, "items_today"), _number(counters, "items_this_hour")
            today = today if given_today is None else given_today
            this_hour = this_hour if given_hour is None else given_hour
            parts.append(self.tr("Items today: {count}").format(count=today))
            parts.append(self.tr("This hour: {count}").format(count=this_hour))
        waiting = _number(counters, "outbox_backlog")
        if waiting is not None:
            parts.append(self.tr("Waiting for central: {count}").format(count=waiting))
        self.counters_label.setText("  ·  ".join(parts))
        hour_tip = self.tr("This hour: the items recorded since {hour}:00, as Statistics counts them.")
        hour = datetime.now().astimezone().strftime("%H")
        self.counters_label.setToolTip(hour_tip.format(hour=hour) if items is not None else "")
        problems = problem_parts(counters)
        self.problems_label.setText("  ·  ".join(problems))
        self.problems_label.setToolTip("\n".join(problems))
        self.problems_label.setVisible(bool(problems))
        self._cap(self.problems_label)

    def _cap(self, label: ElidedLabel) -> None:
        """Never wider than its words: the room it does not need goes to the other part."""
        margins = label.contentsMargins()
        need = label.fontMetrics().horizontalAdvance(label.text()) + margins.left() + margins.right() + 4
        label.setMaximumWidth(max(need, label.minimumSizeHint().width()))

    def show_message(self, text: str | Phrase) -> None:
        """A one-line notice, stamped with the time; keeps the style of the notice before.

        A `Phrase` is said again after a language change (a plain text is the station's own words,
        already in its language, and stays as it came)."""
        self._notice = (time.strftime("%H:%M:%S"), text)
        self._show_notice()
        self._layout.setStretchFactor(self.message_label, 2)  # from the first notice on: the larger share
        logger.info("ui notice: %s", text)

    def _show_notice(self) -> None:
        if self._notice is None:
            return
        stamp, text = self._notice
        self.message_label.setText(f"{stamp}  {say(text)}")
        self._cap(self.message_label)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._show_notice()  # the last notice in the new language, at the time it was said
        super().changeEvent(event)

    def show_ok(self, text: str | Phrase) -> None:
        """A notice that something worked."""
        theme.set_style(self.message_label, "")
        self.show_message(text)

    def show_error(self, text: str | Phrase) -> None:
        """A notice that something failed, in red."""
        self.show_message(text)
        theme.set_style(self.message_label, ERROR_STYLE)
