"""Enter in the search box: the words looked up in the station's record, older items than the list keeps."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal

from station.i18n import QT_TRANSLATE_NOOP
from station.state import ItemView
from station.ui.bridge import Background
from station.ui.phrase import phrase
from station.ui.recent import RecentList
from station.verdict import Verdict

logger = logging.getLogger(__name__)

# RMA / GTIN / code text -> the latest revision of each matching item, newest first; as an ItemView when
# the source knows more of it than its verdict (the catalogue picture of its product)
SearchSource = Callable[[str], Sequence[Verdict | ItemView]]


class RecordSearch(QObject):
    """Runs `source(words)` on its own worker and shows what it found in the recent list instead of its rows.

    `notice(text)` while searching and when the search failed; `found(text)` with how many items matched.
    """

    notice = Signal(object)  # a Phrase: said again after a language change
    found = Signal(object)

    def __init__(
        self, source: SearchSource | None, recent: RecentList, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._source = source
        self._recent = recent
        recent.can_search_record = source is not None
        recent.search_requested.connect(self.search)
        self._worker = Background("search", self)
        self._worker.finished.connect(self._done)
        self._worker.failed.connect(self._failed)

    def search(self, text: str) -> None:
        """Look RMA / GTIN words up in the station's record (one search at a time)."""
        if self._source is None or self._worker.busy:
            return
        self.notice.emit(phrase(QT_TRANSLATE_NOOP("RecordSearch", "Searching the record for « {words} »…"),
                                words=text))
        self._worker.submit(text, self._source, text)

    def _done(self, text: str, result: object) -> None:
        rows = result if isinstance(result, list) else []
        verdicts = [r if isinstance(r, ItemView) else ItemView(verdict=r, frame=None)
                    for r in rows if isinstance(r, (ItemView, Verdict))]
        if self._recent.search.text().strip() != text:
            return  # the operator has typed something else meanwhile
        self._recent.show_results(verdicts)
        if len(verdicts) == 1:  # "1 items … match" read wrong in both languages
            found = phrase(QT_TRANSLATE_NOOP("RecordSearch", "One item in the record matches « {words} »."),
                           words=text)
        elif verdicts:
            found = phrase(
                QT_TRANSLATE_NOOP("RecordSearch", "{count} items in the record match « {words} »."),
                count=len(verdicts), words=text)
        else:
            found = phrase(QT_TRANSLATE_NOOP("RecordSearch", "Nothing in the record matches « {words} »."),
                           words=text)
        self.found.emit(found)

    def _failed(self, text: str, error: str) -> None:
        self.notice.emit(phrase(QT_TRANSLATE_NOOP("RecordSearch", "Search for « {words} » failed: {problem}"),
                                words=text, problem=error))

    def close(self) -> None:
        """Stop without waiting: a read has nothing to finish for the station."""
        self._worker.close(wait=False)
