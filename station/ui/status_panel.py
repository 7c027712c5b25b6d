"""The status bar: one coloured chip per component, and a visible line saying what is wrong and what to do.

The chips share the bottom row: each shows all its words while the row has room for them, and
only when it has not are the longest ones elided (with '…', their words in the tooltip).
Their type follows the window's height, like the card's.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from station.i18n import tr as words_in  # not named tr: lupdate would take it for a window text
from station.state import Health, Level
from station.ui import fit, theme
from station.ui.fit import ElidedLabel
from station.ui.translation import current_language

logger = logging.getLogger(__name__)

# Chips appear in this order; cameras ("camera:<name>") first, unknown components last.
ORDER = ("camera", "conveyor", "mqtt", "models", "disk", "calibration")
CAMERAS = "cameras"  # the chip several live cameras share
MAX_PROBLEM_LINES = 2
CHIP_PAD_X, CHIP_PAD_Y = 8, 3  # px inside a chip, around its words
CHIP_SPACING = 6  # px between two chips
CHIP_SMALLEST_SHARE = 0.014  # of the window's height: chips may get this small to keep all their words


def component_name(component: str) -> str:
    """'camera:top' -> 'Camera top', 'mqtt' -> 'MQTT' (translated)."""
    kind, _, name = component.partition(":")
    if kind == "camera":
        if not name:
            return QCoreApplication.translate("StatusPanel", "Camera")
        # The usual camera names in the operator's words, as the station's status lines say them.
        shown = words_in("View", name, current_language())
        return QCoreApplication.translate("StatusPanel", "Camera {name}").format(name=shown)
    names = {
        "conveyor": QCoreApplication.translate("StatusPanel", "Conveyor"),
        "mqtt": QCoreApplication.translate("StatusPanel", "MQTT"),
        "models": QCoreApplication.translate("StatusPanel", "Models"),
        "disk": QCoreApplication.translate("StatusPanel", "Disk"),
        "calibration": QCoreApplication.translate("StatusPanel", "Calibration"),
    }
    return names.get(component, component.replace("_", " ").capitalize())


def _kind_rank(component: str) -> int:
    kind = "camera" if component == CAMERAS else component.partition(":")[0]
    return ORDER.index(kind) if kind in ORDER else len(ORDER)


def health_text(health: Health) -> str:
    """The chip's words: 'Disk 77 GB free' as the station says it, the component's name added when missing.

    A `values["progress"]` in [0, 1) (e.g. models loading) is shown as a percentage.
    """
    summary = health.summary.strip()
    progress = health.values.get("progress")
    if isinstance(progress, int | float) and not isinstance(progress, bool) and 0 <= progress < 1:
        summary += f" {progress:.0%}"  # long work (model load, report) shows how far it is
    kind = health.component.partition(":")[0]
    if summary.lower().startswith((kind.lower(), component_name(health.component).lower())):
        return summary[:1].upper() + summary[1:]
    return QCoreApplication.translate("StatusPanel", "{component}: {status}").format(
        component=component_name(health.component), status=summary)


class StatusPanel(QWidget):
    """Chips for every component seen so far and a red/amber problem line under them."""

    def __init__(self, font_scale: float = 1.0, parent: QWidget | None = None, *,
                 order: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self._order = order  # components in the order their chips come (the cameras, the first first)
        self._chips: dict[str, ElidedLabel] = {}
        self._health: dict[str, Health] = {}
        # Within a kind, chips come in `order`, then in the order their components first reported.
        self._arrival: dict[str, int] = {}
        self._scale = font_scale
        self._font = theme.scaled_font(QFont(self.font()), 11 * font_scale, bold=True)
        self._fitted_height = 0
        self._chip_row = QHBoxLayout()
        self._chip_row.setContentsMargins(0, 0, 0, 0)
        self._chip_row.setSpacing(CHIP_SPACING)
        self._chip_row.addStretch(1)
        # Several cameras all live share one chip ("3 cameras live"): the row keeps room for the
        # words of the parts in trouble. A camera in trouble brings every camera's own chip back.
        self._cameras = self._new_chip(CAMERAS)
        self._cameras.setVisible(False)
        self._chip_row.insertWidget(0, self._cameras)
        self.problem = QLabel("")
        self.problem.setObjectName("problem")
        self.problem.setFont(theme.scaled_font(QFont(self.font()), 12 * font_scale, bold=True))
        self.problem.setVisible(False)
        self.problem.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)  # elided to fit
        # The chips' widths follow the panel's (`_fit`), never the other way round: fixed as they are,
        # they would otherwise hold a window made smaller (a 1024-wide panel PC) at its width of before.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._layout = layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addWidget(self.problem)
        layout.addLayout(self._chip_row)

    def _rank(self, component: str) -> tuple[int, int, int]:
        given = self._order.index(component) if component in self._order else len(self._order)
        return _kind_rank(component), given, self._arrival.get(component, len(self._arrival))

    def _new_chip(self, component: str) -> ElidedLabel:
        chip = ElidedLabel()
        chip.setObjectName(f"chip:{component}")
        chip.setFont(self._font)
        chip.setContentsMargins(CHIP_PAD_X, CHIP_PAD_Y, CHIP_PAD_X, CHIP_PAD_Y)
        chip.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        return chip

    @staticmethod
    def _paint(chip: ElidedLabel, level: Level) -> None:
        background, text = theme.LEVEL_COLOURS[level]
        theme.set_style(chip, f"background: {background}; color: {text}; border-radius: 4px;")

    def set_health(self, health: Health) -> None:
        """Show the latest health of one component."""
        self._health[health.component] = health
        self._arrival.setdefault(health.component, len(self._arrival))
        chip = self._chips.get(health.component)
        if chip is None:
            chip = self._new_chip(health.component)
            self._chips[health.component] = chip
            ordered = sorted(self._chips, key=self._rank)
            self._chip_row.insertWidget(ordered.index(health.component) + 1, chip)  # after the cameras' one
        self._paint(chip, health.level)
        text = health_text(health)
        chip.setText(text)
        chip.setToolTip(f"{text}\n{health.detail}" if health.detail else text)
        self._group_cameras()
        self._fit()

    def _cameras_grouped(self) -> bool:
        cameras = [h for c, h in self._health.items() if c.startswith("camera:")]
        return len(cameras) > 1 and all(h.level == Level.OK for h in cameras)

    def _group_cameras(self) -> None:
        """One chip for the cameras while several are all live; each its own when one is not."""
        grouped = self._cameras_grouped()
        for component, chip in self._chips.items():
            if component.startswith("camera:"):
                chip.setVisible(not grouped)
        self._cameras.setVisible(grouped)
        if grouped:
            cameras = sorted((c for c in self._chips if c.startswith("camera:")), key=self._rank)
            self._paint(self._cameras, Level.OK)
            self._cameras.setText(self.tr("{count} cameras live").format(count=len(cameras)))
            self._cameras.setToolTip("\n".join(self._chips[c].text() for c in cameras))

    def _shown_chips(self) -> dict[str, ElidedLabel]:
        """The chips in the row now, by component (CAMERAS for the cameras' shared one)."""
        grouped = self._cameras_grouped()
        chips = {CAMERAS: self._cameras} if grouped else {}
        chips.update((c, chip) for c, chip in self._chips.items()
                     if not (grouped and c.startswith("camera:")))
        return chips

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        # The components' names are the window's words; their status lines come from the station.
        if event.type() == QEvent.Type.LanguageChange:
            for health in list(self._health.values()):
                self.set_health(health)
            self._fitted_height = 0
            self._fit()
        super().changeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def _fit_fonts(self, room: int) -> None:
        """The chips' type from the window's height, a little smaller when that keeps every word."""
        height = self.window().height()
        base = QFont(self.font())
        wanted = fit.share_px(height, fit.CHIP_SHARE * self._scale)
        smallest = fit.share_px(height, CHIP_SMALLEST_SHARE * self._scale)
        texts = [chip.text() for chip in self._shown_chips().values()]
        size = wanted
        while size > smallest and sum(
            QFontMetrics(fit.pixel_font(base, size, bold=True)).horizontalAdvance(t) + 2 for t in texts
        ) > room:
            size -= 1
        font = fit.pixel_font(base, size, bold=True)
        if font != self._font:
            self._font = font
            for chip in [self._cameras, *self._chips.values()]:
                chip.setFont(font)
        if height != self._fitted_height:
            self._fitted_height = height
            self.problem.setFont(fit.pixel_font(base, wanted, bold=True))

    def _fit(self) -> None:
        # Every chip shows all its words while the row has room; when it has not, chips in trouble
        # keep their words first, then the short ones, and the longest share what is left, elided
        # with their words in the tooltip (and, when something is wrong, in the problem line).
        chips = self._shown_chips()
        count = len(chips)
        if not count:
            self._update_problem()
            return
        margins = self._layout.contentsMargins()
        inner = self.width() - margins.left() - margins.right()
        room = inner - CHIP_SPACING * (count - 1) - 2 * CHIP_PAD_X * count
        self._fit_fonts(room)
        metrics = QFontMetrics(self._font)
        wanted = {c: metrics.horizontalAdvance(chip.text()) + 2 for c, chip in chips.items()}
        levels = {c: self._health[c].level if c in self._health else Level.OK for c in chips}
        given: dict[str, int] = {}
        if sum(wanted.values()) <= room:
            given = wanted
        else:
            order = sorted(wanted, key=lambda c: (levels[c] == Level.OK, wanted[c]))
            for index, component in enumerate(order):
                share = max(24, room // (count - index))
                if levels[component] != Level.OK:
                    share = max(share, min(room // 2, wanted[component]))
                given[component] = min(wanted[component], share)
                room -= given[component]
        for component, chip in chips.items():
            chip.setFixedWidth(given[component] + 2 * CHIP_PAD_X)
        self._update_problem()

    def components(self) -> list[str]:
        """The components whose chips are shown, left to right (CAMERAS: the cameras' shared chip)."""
        return sorted(self._shown_chips(), key=self._rank)

    def chip(self, component: str) -> ElidedLabel | None:
        """The chip of `component` (for tests and screenshots)."""
        return self._chips.get(component)

    def level(self) -> Level:
        """The worst level shown."""
        levels = [h.level for h in self._health.values()]
        if Level.ERROR in levels:
            return Level.ERROR
        return Level.WARNING if Level.WARNING in levels else Level.OK

    def _update_problem(self) -> None:
        bad = [h for h in self._health.values() if h.level != Level.OK]
        if not bad:
            self.problem.setVisible(False)
            self.problem.setText("")
            self.problem.setToolTip("")
            return
        bad.sort(key=lambda h: (h.level != Level.ERROR, self._rank(h.component)))
        line = self.tr("{component}: {problem}")
        lines = [line.format(component=component_name(h.component), problem=h.detail or h.summary)
                 for h in bad]
        background, text = theme.LEVEL_COLOURS[self.level()]
        theme.set_style(self.problem, f"background: {background}; color: {text}; padding: 4px;")
        # At most MAX_PROBLEM_LINES lines, each elided to the width, so the window keeps its size on a
        # small screen; the full text is in the tooltip.
        width = max(self.width(), 600) - 16
        metrics = self.problem.fontMetrics()
        shown = [
            metrics.elidedText(line, Qt.TextElideMode.ElideRight, width) for line in lines[:MAX_PROBLEM_LINES]
        ]
        more = len(lines) - MAX_PROBLEM_LINES
        if more > 0:
            suffix = "   " + (self.tr("(+1 more, hover for all)") if more == 1 else
                              self.tr("(+{count} more, hover for all)").format(count=more))
            room = width - metrics.horizontalAdvance(suffix)
            shown[-1] = (
                metrics.elidedText(lines[MAX_PROBLEM_LINES - 1], Qt.TextElideMode.ElideRight, room) + suffix
            )
        self.problem.setText("\n".join(shown))
        self.problem.setToolTip("\n".join(lines))
        self.problem.setVisible(True)
