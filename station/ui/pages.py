"""The settings and about pages (the calibration wizard is in `calibration_page`)."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QLocale, Qt, Signal
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
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
from station.ui.retranslate import Texts
from station.ui.settings import ThresholdRange
from station.ui.translation import current_language
from station.verdict import ModelRef

logger = logging.getLogger(__name__)


def threshold_words(key: str, label: str) -> str:
    """A policy threshold's name on the settings page, in the window's language."""
    words = {
        "defect_repair": QCoreApplication.translate("SettingsPage", "Defect score for repair"),
        "defect_recycle": QCoreApplication.translate("SettingsPage", "Defect score for recycle"),
        "conformity_min_similarity": QCoreApplication.translate(
            "SettingsPage", "Minimum similarity to the expected product"),
        "min_confidence": QCoreApplication.translate(
            "SettingsPage", "Minimum confidence (else manual review)"),
    }
    return words.get(key, label)


class SettingsPage(QWidget):
    """Config text (read-only), policy thresholds within their ranges, bench/conveyor mode."""

    thresholds_requested = Signal(object)  # dict[str, float]
    mode_requested = Signal(str)
    language_requested = Signal(str)  # "fr" or "en": the window switches its language

    def __init__(
        self,
        config_text: str,
        thresholds: tuple[ThresholdRange, ...],
        mode: str,
        source: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.texts = Texts()
        bind = self.texts.bind
        self.spins: dict[str, QDoubleSpinBox] = {}
        policy = QGroupBox()
        bind(policy.setTitle, lambda: self.tr("Decision thresholds"))
        form = QFormLayout(policy)
        # A title does not wrap: the long words go in a label that does, so a 1024-wide screen fits.
        written = QLabel()
        written.setWordWrap(True)
        bind(written.setText, lambda: self.tr("Written to config.toml; the old file is kept as a backup."))
        form.addRow(written)
        for spec in thresholds:
            spin = QDoubleSpinBox()
            spin.setDecimals(2)
            spin.setRange(spec.low, spec.high)  # the spin box itself refuses values out of range
            spin.setSingleStep(spec.step)
            spin.setValue(spec.value)
            low, high = f"{spec.low:g}", f"{spec.high:g}"
            bind(spin.setToolTip, functools.partial(self._allowed_words, low, high))
            self.spins[spec.key] = spin
            row_label = QLabel()
            bind(row_label.setText, functools.partial(self._threshold_label, spec, low, high))
            form.addRow(row_label, spin)
        self.apply = QPushButton()
        bind(self.apply.setText, lambda: self.tr("Apply thresholds"))
        self.apply.clicked.connect(self._apply)
        self.apply.setEnabled(bool(thresholds))
        form.addRow(self.apply)

        mode_box = QGroupBox()
        bind(mode_box.setTitle, lambda: self.tr("Mode"))
        self.conveyor = QRadioButton()
        bind(self.conveyor.setText, lambda: self.tr("Conveyor: the controller triggers each item"))
        self.bench = QRadioButton()
        bind(self.bench.setText, lambda: self.tr("Bench: a scan or the T key triggers an inspection"))
        group = QButtonGroup(self)
        group.addButton(self.conveyor)
        group.addButton(self.bench)
        (self.bench if mode == "bench" else self.conveyor).setChecked(True)
        self.switch = QPushButton()
        bind(self.switch.setText, lambda: self.tr("Switch mode"))
        self.switch.clicked.connect(self._switch)
        mode_layout = QVBoxLayout(mode_box)
        mode_layout.addWidget(self.conveyor)
        mode_layout.addWidget(self.bench)
        mode_layout.addWidget(self.switch)

        left = QVBoxLayout()
        left.addWidget(self._language_box())
        left.addWidget(policy)
        left.addWidget(mode_box)
        left.addStretch(1)
        self.config_view = QPlainTextEdit()
        if source:
            self.config_view.setPlainText(config_text)
        else:  # the defaults, written out under a line in the operator's language
            bind(self.config_view.setPlainText,
                 lambda: "\n\n".join(filter(None, (self.tr("# the station runs on the embedded defaults"),
                                                    config_text))))
        self.config_view.setReadOnly(True)
        self.config_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        right = QVBoxLayout()
        config_label = QLabel()
        config_label.setWordWrap(True)
        if source:
            bind(config_label.setText,
                 lambda: self.tr("Configuration ({source}, read-only)").format(source=source))
        else:
            bind(config_label.setText, lambda: self.tr("Configuration (embedded defaults, read-only)"))
        right.addWidget(config_label)
        right.addWidget(self.config_view, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 3)

    def _allowed_words(self, low: str, high: str) -> str:
        return self.tr("Allowed from {low} to {high}").format(low=low, high=high)

    def _threshold_label(self, spec: ThresholdRange, low: str, high: str) -> str:
        return self.tr("{label} ({low}–{high})").format(
            label=threshold_words(spec.key, spec.label), low=low, high=high)

    def _language_box(self) -> QGroupBox:
        """Français / English: each named in its own language, so the operator finds theirs."""
        box = QGroupBox()
        self.texts.bind(box.setTitle, lambda: self.tr("Language of the screen (for this session)"))
        self.french = QRadioButton("Français")
        self.english = QRadioButton("English")
        self.french.setObjectName("language-fr")
        self.english.setObjectName("language-en")
        group = QButtonGroup(self)
        group.addButton(self.french)
        group.addButton(self.english)
        self.show_language(current_language())
        self.french.clicked.connect(lambda: self.language_requested.emit("fr"))
        self.english.clicked.connect(lambda: self.language_requested.emit("en"))
        row = QHBoxLayout(box)
        row.addWidget(self.french)
        row.addWidget(self.english)
        row.addStretch(1)
        return box

    def show_language(self, language: str) -> None:
        """Tick the language in force (without asking for a switch)."""
        (self.french if language == "fr" else self.english).setChecked(True)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.texts.retranslate()
            self.show_language(current_language())
            for spin in self.spins.values():  # 0,50 in French: the spin boxes took the locale when built
                spin.setLocale(QLocale())
        super().changeEvent(event)

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
_SUMMARY_KEYS = ("station_id", "site_id", "station", "config", "data_dir")


class AboutPage(QWidget):
    """Which station and site this is, the software version, its settings file and data folder, the
    models in use, then the libraries.

    `about` is `station.commands.version.versions()` plus `station_id`, `site_id`, `config` (the
    settings file, "<defaults>" for none) and `data_dir` (the database's and images' folder); `models_source`
    is asked again each time the page is shown, so a model central swapped in is named as it is.
    """

    def __init__(
        self,
        about: dict[str, Any] | None,
        models_source: ModelsSource | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        about = about or {}
        self._models_source = models_source
        self.texts = Texts()
        bind = self.texts.bind
        self.station_label = QLabel()
        self.site_label = QLabel()
        self.version_label = QLabel()
        for label, key in ((self.station_label, "station_id"), (self.site_label, "site_id"),
                           (self.version_label, "station")):
            bind(label.setText, functools.partial(self._value_words, about.get(key)))
        self.config_label = QLabel()
        bind(self.config_label.setText, functools.partial(self._config_words, about.get("config")))
        self.data_label = QLabel()
        bind(self.data_label.setText, functools.partial(self._value_words, about.get("data_dir")))
        self.models_label = QLabel("")
        self.models_label.setWordWrap(True)
        for label in (self.station_label, self.site_label, self.version_label, self.config_label,
                      self.data_label, self.models_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary = QFormLayout()
        for words, value_label in (
            (lambda: self.tr("Station"), self.station_label),
            (lambda: self.tr("Site"), self.site_label),
            (lambda: self.tr("Software version"), self.version_label),
            (lambda: self.tr("Settings file"), self.config_label),
            (lambda: self.tr("Data folder"), self.data_label),
            (lambda: self.tr("Models in use"), self.models_label),
        ):
            row_label = QLabel()
            bind(row_label.setText, words)
            summary.addRow(row_label, value_label)
        self.tree = QTreeWidget()
        # A list to read, not to pick from: no row looks chosen when the page opens.
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bind(lambda _text: self.tree.setHeaderLabels([self.tr("Runs on"), self.tr("Version")]), lambda: "")
        self._rest = {key: value for key, value in about.items() if key not in _SUMMARY_KEYS}
        self._fill(self.tree.invisibleRootItem(), self._rest)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        title = QLabel()
        bind(title.setText, lambda: self.tr("Returns inspection station"))
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

    def _key_words(self, key: str) -> str:
        # The headings of `versions()`; the libraries' own names are data.
        words = {"platform": self.tr("platform"), "libraries": self.tr("libraries")}
        return words.get(key, key)

    def _value_words(self, value: object) -> str:
        return str(value) if value else self.tr("not known")

    def _config_words(self, source: object) -> str:
        return self.tr("none: the embedded defaults") if source == "<defaults>" else self._value_words(source)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.texts.retranslate()
            self.refresh_models()
            self.tree.clear()
            self._fill(self.tree.invisibleRootItem(), self._rest)
            self.tree.expandAll()
        super().changeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        self.refresh_models()
        super().showEvent(event)

    def _fill(self, parent: QTreeWidgetItem, value: Any) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                item = QTreeWidgetItem(
                    parent, [self._key_words(str(key)), "" if isinstance(child, dict | list) else str(child)]
                )
                if isinstance(child, dict | list):
                    self._fill(item, child)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                text = json.dumps(child) if isinstance(child, dict) else str(child)
                QTreeWidgetItem(parent, [str(index), text])
