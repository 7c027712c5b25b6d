"""The settings and about pages (the calibration wizard is in `calibration_page`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from station.ui import theme
from station.ui.settings import ThresholdRange
from station.verdict import ModelRef

logger = logging.getLogger(__name__)


class SettingsPage(QWidget):
    """Config text (read-only), policy thresholds within their ranges, bench/conveyor mode."""

    thresholds_requested = Signal(object)  # dict[str, float]
    mode_requested = Signal(str)

    def __init__(
        self,
        config_text: str,
        thresholds: tuple[ThresholdRange, ...],
        mode: str,
        source: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.spins: dict[str, QDoubleSpinBox] = {}
        policy = QGroupBox("Decision thresholds (written to config.toml, the old file kept as a backup)")
        form = QFormLayout(policy)
        for spec in thresholds:
            spin = QDoubleSpinBox()
            spin.setDecimals(2)
            spin.setRange(spec.low, spec.high)  # the spin box itself refuses values out of range
            spin.setSingleStep(spec.step)
            spin.setValue(spec.value)
            spin.setToolTip(f"{spec.key}: allowed {spec.low:g} to {spec.high:g}")
            self.spins[spec.key] = spin
            form.addRow(f"{spec.label} ({spec.low:g}–{spec.high:g})", spin)
        self.apply = QPushButton("Apply thresholds")
        self.apply.clicked.connect(self._apply)
        self.apply.setEnabled(bool(thresholds))
        form.addRow(self.apply)

        mode_box = QGroupBox("Mode")
        self.conveyor = QRadioButton("Conveyor: the controller triggers each item")
        self.bench = QRadioButton("Bench: a scan or the T key triggers an inspection")
        group = QButtonGroup(self)
        group.addButton(self.conveyor)
        group.addButton(self.bench)
        (self.bench if mode == "bench" else self.conveyor).setChecked(True)
        self.switch = QPushButton("Switch mode")
        self.switch.clicked.connect(self._switch)
        mode_layout = QVBoxLayout(mode_box)
        mode_layout.addWidget(self.conveyor)
        mode_layout.addWidget(self.bench)
        mode_layout.addWidget(self.switch)

        left = QVBoxLayout()
        left.addWidget(policy)
        left.addWidget(mode_box)
        left.addStretch(1)
        self.config_view = QPlainTextEdit(config_text or "# the station runs on the embedded defaults")
        self.config_view.setReadOnly(True)
        self.config_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        right = QVBoxLayout()
        right.addWidget(QLabel(f"Configuration ({source or 'embedded defaults'}, read-only)"))
        right.addWidget(self.config_view, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 3)

    def values(self) -> dict[str, float]:
        """The thresholds as set in the spin boxes."""
        return {key: round(spin.value(), 4) for key, spin in self.spins.items()}

    def _apply(self) -> None:
        self.thresholds_requested.emit(self.values())

    def _switch(self) -> None:
        self.mode_requested.emit("bench" if self.bench.isChecked() else "conveyor")


# The models judging items now (they change when central installs, promotes or rolls back one).
ModelsSource = Callable[[], Sequence[ModelRef]]

# Keys of the `about` dict shown in the summary at the top, not again in the tree below.
_SUMMARY_KEYS = ("station_id", "site_id", "station")


class AboutPage(QWidget):
    """Which station and site this is, the software version, the models in use, then the libraries.

    `about` is `station.commands.version.versions()` plus `station_id` and `site_id`; `models_source`
    is asked again each time the page is shown, so a model central swapped in is named as it is.
    """

    def __init__(
        self,
        about: dict[str, Any] | None,
        models_source: ModelsSource | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        about = about or {"station": "unknown"}
        self._models_source = models_source
        unknown = self.tr("not known")
        self.station_label = QLabel(str(about.get("station_id") or unknown))
        self.site_label = QLabel(str(about.get("site_id") or unknown))
        self.version_label = QLabel(str(about.get("station") or unknown))
        self.models_label = QLabel("")
        self.models_label.setWordWrap(True)
        for label in (self.station_label, self.site_label, self.version_label, self.models_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary = QFormLayout()
        summary.addRow(self.tr("Station"), self.station_label)
        summary.addRow(self.tr("Site"), self.site_label)
        summary.addRow(self.tr("Software version"), self.version_label)
        summary.addRow(self.tr("Models in use"), self.models_label)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels([self.tr("Runs on"), self.tr("Version")])
        rest = {key: value for key, value in about.items() if key not in _SUMMARY_KEYS}
        self._fill(self.tree.invisibleRootItem(), rest)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        title = QLabel(self.tr("Returns inspection station"))
        title.setFont(theme.scaled_font(self.font(), self.font().pointSizeF() * 1.4, bold=True))
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(summary)
        layout.addWidget(self.tree, 1)
        self.refresh_models()

    def refresh_models(self) -> None:
        """Name the models judging items now: name, version and the start of their sha256."""
        if self._models_source is None:
            self.models_label.setText(self.tr("not known here"))
            return
        try:
            models = list(self._models_source())
        except Exception as exc:  # a model swap half-way must not break the page
            logger.warning("models in use could not be read: %s", exc)
            self.models_label.setText(self.tr("could not be read: {problem}").format(problem=exc))
            return
        if not models:
            self.models_label.setText(self.tr("none loaded: items go to manual review"))
            return
        line = self.tr("{name} {version} (sha256 {digest}…)")
        self.models_label.setText("\n".join(
            line.format(name=m.name, version=m.version, digest=m.sha256[:12]) for m in models
        ))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        self.refresh_models()
        super().showEvent(event)

    def _fill(self, parent: QTreeWidgetItem, value: Any) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                item = QTreeWidgetItem(
                    parent, [str(key), "" if isinstance(child, dict | list) else str(child)]
                )
                if isinstance(child, dict | list):
                    self._fill(item, child)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                text = json.dumps(child) if isinstance(child, dict) else str(child)
                QTreeWidgetItem(parent, [str(index), text])
