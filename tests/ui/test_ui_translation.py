"""The window's language: the compiled French catalogue through a QTranslator, and back to English."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from station.ui.translation import current_language, install

pytestmark = pytest.mark.gui


class _Retranslating(QLabel):
    """A label that sets its text again when the language changes, as the window's widgets do."""

    def __init__(self) -> None:
        super().__init__()
        self.changes = 0
        self.retranslate()

    def retranslate(self) -> None:
        self.setText(QCoreApplication.translate("Disposition", "Manual review"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.changes += 1
            self.retranslate()
        super().changeEvent(event)


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    yield qapp
    install(qapp, "en")  # the next test starts in English


def test_french_then_english(app: QApplication) -> None:
    assert install(app, "fr") and current_language() == "fr"
    assert QCoreApplication.translate("Reason", "the box is empty") == "le carton est vide"
    assert QObject().tr("a text nobody translated") == "a text nobody translated"
    template = QCoreApplication.translate("Health", "MQTT down, {backlog} verdicts waiting")
    assert template.format(backlog=3) == "MQTT coupé, 3 verdicts en attente"
    assert install(app, "en") and current_language() == "en"
    assert QCoreApplication.translate("Reason", "the box is empty") == "the box is empty"


def test_a_widget_follows_the_switch(app: QApplication, qtbot: QtBot) -> None:
    label = _Retranslating()
    qtbot.addWidget(label)
    assert label.text() == "Manual review"
    install(app, "fr")
    qtbot.waitUntil(lambda: label.text() == "Contrôle manuel", timeout=5000)
    install(app, "en")
    qtbot.waitUntil(lambda: label.text() == "Manual review", timeout=5000)
    assert label.changes >= 2


def test_an_unknown_language_leaves_english(app: QApplication) -> None:
    assert not install(app, "de")
    assert current_language() == "en"
    assert QCoreApplication.translate("Reason", "the box is empty") == "the box is empty"
