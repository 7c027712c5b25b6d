"""A sentence of the window kept as what it is built from, so it can be said again in another language.

Most texts are set again on a language change by the widget that owns them (`retranslate.Texts`, or
the card drawing its item again). A few are *said once* about something that happened — the last
notice at the top ("Confirmed R-1042: Restock — Undo (Ctrl+Z)"), the undo countdown, the card's
"Confirmed by op-7", a move by hand to make — and live on after it. Those are kept as a `Phrase`: the
English text (marked for lupdate with `QT_TRANSLATE_NOOP`) and the values that fill it, rendered each
time they are shown, so after Settings → Français they read in French too.

    notice = phrase(QT_TRANSLATE_NOOP("MainWindow", "Confirmed {item}: {disposition}"),
                    item="R-1042", disposition=DispositionWords("restock"))
    label.setText(notice.render())

A value may be data (an RMA, an operator id, a count: shown as it is), another `Phrase`, or a
`DispositionWords` (a disposition said in the language of the moment).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TypeAlias

from PySide6.QtCore import QCoreApplication

from station.i18n import SOURCE_LANGUAGE, Message
from station.ui import theme
from station.ui.translation import current_language

__all__ = ["DispositionWords", "Phrase", "PhraseValue", "phrase", "say"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispositionWords:
    """A disposition ("manual_review") in the words of the language installed when it is shown."""

    disposition: str
    lower: bool = False  # in the middle of an English sentence: "put it in restock"

    def render(self) -> str:
        """"Manual review" / "Contrôle manuel"; `lower`: lower case in English only — French names the
        disposition with its capital, as `station.i18n.disposition_words(in_sentence=True)` does."""
        words = theme.disposition_words(self.disposition)
        return words.lower() if self.lower and current_language() == SOURCE_LANGUAGE else words


@dataclass(frozen=True)
class Phrase:
    """A marked English text and its values; `render()` says it in the language installed now."""

    message: Message
    values: tuple[tuple[str, PhraseValue], ...] = ()

    def render(self) -> str:
        """The text in the window's language now, its placeholders filled (values said the same way)."""
        text = QCoreApplication.translate(self.message.context, self.message.text)
        if not self.values:
            return text
        values = {name: say(value) for name, value in self.values}
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            # A mistyped placeholder in a translation must not take the window down: English instead.
            logger.error("translation of %r is broken (%s): English shown", self.message.text, exc)
            return self.message.text.format(**values)

    def __str__(self) -> str:
        return self.render()


PhraseValue: TypeAlias = "str | int | float | Phrase | DispositionWords"


def say(value: str | int | float | Phrase | DispositionWords) -> str | int | float:
    """A value as it is placed in a sentence now: phrases and dispositions in words, data as it is."""
    if isinstance(value, Phrase | DispositionWords):
        return value.render()
    return value


def phrase(message: Message, **values: PhraseValue) -> Phrase:
    """`message` (from `QT_TRANSLATE_NOOP(context, text)`) with the values of its placeholders."""
    return Phrase(message, tuple(values.items()))
