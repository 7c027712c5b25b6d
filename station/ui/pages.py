"""The settings and about pages (the calibration wizard is in `calibration_page`)."""

from __future__ import annotations

import json
import logging
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
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

from station.ui.settings import ThresholdRange

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


class AboutPage(QWidget):
    """Software, library and model versions."""

    def __init__(self, about: dict[str, Any] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["", "version"])
        self._fill(self.tree.invisibleRootItem(), about or {"station": "unknown"})
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Returns inspection station"))
        layout.addWidget(self.tree, 1)

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
