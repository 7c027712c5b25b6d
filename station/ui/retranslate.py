"""Texts set again when the window's language changes (Settings page: Français / English).

A widget keeps its fixed texts in a `Texts`: each is bound once to the setter that shows it and
to a function that says it in the language installed now (`self.tr("…")` inside it, so lupdate
finds the sentence). `Texts.retranslate()` sets every one again; widgets call it from their
`changeEvent` on `QEvent.LanguageChange`, which Qt sends to every widget when
`station.ui.translation.install` changes the language. Texts that depend on what is shown (the
card, the list) are redrawn by their owners instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["Texts"]

logger = logging.getLogger(__name__)


class Texts:
    """The fixed texts of one widget, each with the function that writes it in the current language."""

    def __init__(self) -> None:
        self._bindings: list[tuple[Callable[[str], object], Callable[[], str]]] = []

    def bind(self, setter: Callable[[str], object], text: Callable[[], str]) -> None:
        """Show `text()` through `setter` now and again after every language change."""
        self._bindings.append((setter, text))
        setter(text())

    def retranslate(self) -> None:
        """Set every bound text again (in the language installed now)."""
        for setter, text in self._bindings:
            setter(text())
