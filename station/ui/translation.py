"""The window's language: the station's compiled catalogue (`station_<lang>.qm`) in a QTranslator.

`install(app, "fr")` makes every `self.tr(...)` / `QCoreApplication.translate(...)` answer in
French — the same catalogue `station.i18n` reads for the Qt-free parts — and Qt's own words
(standard buttons, dialogs) too when Qt ships them. Installing a language replaces the one
before; Qt then sends every widget a `QEvent.LanguageChange`, which is where a widget sets its
texts again. `install(app, "en")` goes back to the English of the code.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from station.i18n import SOURCE_LANGUAGE, is_language, qm_path

__all__ = ["current_language", "install"]

logger = logging.getLogger(__name__)

# The translators in force (Qt does not own them: they must live as long as they are installed).
_installed: list[QTranslator] = []
_language: list[str] = [SOURCE_LANGUAGE]


def current_language() -> str:
    """The language last installed ("en" before any)."""
    return _language[0]


def install(app: QCoreApplication, language: str) -> bool:
    """Make the application speak `language` ("en" or "fr"); False (and English) when it cannot.

    A missing or unreadable `.qm` is logged and leaves the window in English rather than
    stopping the station.
    """
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    _language[0] = SOURCE_LANGUAGE
    if not is_language(language):
        logger.error("language %r is not one the station speaks: English", language)
        return False
    if language == SOURCE_LANGUAGE:
        QLocale.setDefault(QLocale("en_GB"))
        return True
    station = QTranslator(app)
    path = qm_path(language)
    if not station.load(str(path)):
        logger.error("cannot load the %s translations %s: the window stays in English", language, path)
        return False
    qt_own = QTranslator(app)
    qt_folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if qt_own.load(QLocale(language), "qtbase", "_", qt_folder):
        app.installTranslator(qt_own)
        _installed.append(qt_own)
    app.installTranslator(station)
    _installed.append(station)
    QLocale.setDefault(QLocale(language))
    _language[0] = language
    logger.info("window language: %s (%s)", language, path.name)
    return True
