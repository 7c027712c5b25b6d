"""The window's top line: who is signed in, which mode, the counters, and the last notice."""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from station.ui import theme

logger = logging.getLogger(__name__)

ERROR_STYLE = "color: #c62828; font-weight: bold;"
SHOWN_COUNTERS = 6  # more would be cut at the window's edge; all of them are in the tooltip


def counter_parts(counters: dict[str, Any]) -> list[str]:
    """'items 12', 'rate per s 2.0': each number or text counter in words, in the order given."""
    parts = []
    for key, value in counters.items():
        if isinstance(value, float):
            parts.append(f"{key.replace('_', ' ')} {value:.1f}")
        elif isinstance(value, int | str):
            parts.append(f"{key.replace('_', ' ')} {value}")
    return parts


class TopBar(QWidget):
    """Operator, mode, counters and the last notice (red when it reports a failure)."""

    SPACING = 4  # px between the parts, as between the window's rows

    def __init__(self, font_scale: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        base = QFont(self.font())
        self.operator_label = QLabel()
        self.operator_label.setFont(theme.scaled_font(base, 12 * font_scale, bold=True))
        self.mode_label = QLabel()
        self.mode_label.setFont(theme.scaled_font(base, 12 * font_scale, bold=True))
        self.counters_label = QLabel("")
        self.message_label = QLabel("")
        self.message_label.setObjectName("message")
        self.message_label.setFont(theme.scaled_font(base, 12 * font_scale))
        # Counters and messages may be long: they are cut at the window's edge instead of widening it.
        for label in (self.counters_label, self.message_label):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(self.SPACING)
        layout.addWidget(self.operator_label)
        layout.addWidget(self.mode_label)
        layout.addWidget(self.counters_label, 3)
        layout.addWidget(self.message_label, 2)

    def show_operator(self, operator_id: str | None) -> None:
        """The signed-in operator, or a red reminder to sign in."""
        if operator_id:
            self.operator_label.setText(f"Operator {operator_id}")
            theme.set_style(self.operator_label, "")
        else:
            self.operator_label.setText("Not signed in (F9)")
            theme.set_style(self.operator_label, "color: #c62828;")

    def show_mode(self, mode: str) -> None:
        """Bench or conveyor mode."""
        self.mode_label.setText(f"· {mode.capitalize()} mode ·")

    def show_counters(self, counters: dict[str, Any]) -> None:
        """The first counters on the line, all of them on hover."""
        parts = counter_parts(counters)
        self.counters_label.setText(" · ".join(parts[:SHOWN_COUNTERS]))
        self.counters_label.setToolTip("\n".join(parts))

    def show_message(self, text: str) -> None:
        """A one-line notice, stamped with the time; keeps the style of the notice before."""
        self.message_label.setText(f"{time.strftime('%H:%M:%S')}  {text}")
        logger.info("ui notice: %s", text)

    def show_ok(self, text: str) -> None:
        """A notice that something worked."""
        theme.set_style(self.message_label, "")
        self.show_message(text)

    def show_error(self, text: str) -> None:
        """A notice that something failed, in red."""
        self.show_message(text)
        theme.set_style(self.message_label, ERROR_STYLE)
