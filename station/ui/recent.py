"""The recent items list: newest first, filter by disposition, search by RMA / GTIN / SKU."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from station import palette
from station.state import ItemView
from station.ui import theme
from station.ui.card_words import reasons_words
from station.ui.retranslate import Texts
from station.ui.verdict_text import decided_by, search_text, time_text
from station.verdict import DecisionSource, Verdict

logger = logging.getLogger(__name__)

COLUMNS = ("Time", "RMA", "Expected SKU", "Seen SKU", "Grade", "Disposition", "Lane", "By")
SHORT_COLUMNS = ("Grade", "Lane")  # one letter or digit each: sized to their titles, not stretched
FRAMES_KEPT = 20  # newest list rows that keep their frame in memory
# The filter's keys (its shown words are translated where the box is filled).
ALL = "All dispositions"
OVERRIDDEN = "Overridden"
FLAGGED = "Flagged"


def column_title(section: int) -> str:
    """The shown title of column `section` (COLUMNS in the operator's language)."""
    titles = (
        QCoreApplication.translate("RecentModel", "Time"),
        QCoreApplication.translate("RecentModel", "RMA"),
        QCoreApplication.translate("RecentModel", "Expected SKU"),
        QCoreApplication.translate("RecentModel", "Seen SKU"),
        QCoreApplication.translate("RecentModel", "Grade"),
        QCoreApplication.translate("RecentModel", "Disposition"),
        QCoreApplication.translate("RecentModel", "Lane"),
        QCoreApplication.translate("RecentModel", "By"),
    )
    return titles[section]

_Index = QModelIndex | QPersistentModelIndex


class RecentModel(QAbstractTableModel):
    """Decided items, newest in row 0, at most `limit`."""

    def __init__(self, limit: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._limit = limit
        self._views: list[ItemView] = []
        self._rows: list[tuple[tuple[str, ...], dict[int, QColor], str | None]] = []

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt's signature
        return 0 if parent.isValid() else len(self._views)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return column_title(section)
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every visible cell and role on each repaint: only look up what add() prepared.
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[index.row()][0][index.column()]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._rows[index.row()][1].get(index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._rows[index.row()][2]
        return None

    def retranslate(self) -> None:
        """Word every row and the column titles again in the language installed now."""
        self._rows = [self._row(view.verdict) for view in self._views]
        if self._views:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._views) - 1, len(COLUMNS) - 1))
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)

    @staticmethod
    def _row(verdict: Verdict) -> tuple[tuple[str, ...], dict[int, QColor], str | None]:
        item, decision, lane = verdict.item, verdict.decision, verdict.routing.lane
        texts = (
            time_text(verdict),
            item.rma or "–",
            item.expected_sku or "–",
            item.observed_sku or "–",
            decision.grade.value,
            QCoreApplication.translate("RecentModel", "{disposition} (late)").format(
                disposition=theme.disposition_words(decision.disposition))
            if verdict.routing.late else theme.disposition_words(decision.disposition),
            "–" if lane is None else str(lane),
            decided_by(verdict),
        )
        # Only the disposition speaks in colour: a green grade beside "Quarantine" would read as "good".
        colours = {5: QColor(palette.disposition_colour(decision.disposition))}
        return texts, colours, "\n".join(reasons_words(decision)) or None

    def add(self, view: ItemView) -> None:
        """A new item at the top; the oldest falls off past the limit."""
        self.add_many([view])

    def add_many(self, views: list[ItemView]) -> None:
        """New items (oldest first) at the top in one insertion: one repaint for a burst of items."""
        views = views[-self._limit :]
        if not views:
            return
        newest_first = list(reversed(views))
        self.beginInsertRows(QModelIndex(), 0, len(views) - 1)
        self._views[0:0] = newest_first
        self._rows[0:0] = [self._row(v.verdict) for v in newest_first]
        self.endInsertRows()
        # Only the newest rows keep their frame in memory (2.7 MB each at 1280x720); an older item
        # opened from the list shows its stored JPEG instead.
        for row in range(FRAMES_KEPT, min(len(self._views), FRAMES_KEPT + len(views))):
            if self._views[row].frame is not None:
                self._views[row] = dataclasses.replace(self._views[row], frame=None)
        if len(self._views) > self._limit:
            last = len(self._views) - 1
            self.beginRemoveRows(QModelIndex(), self._limit, last)
            del self._views[self._limit :]
            del self._rows[self._limit :]
            self.endRemoveRows()

    def replace(self, view: ItemView) -> bool:
        """A new revision of an item in the list; False when it is no longer listed."""
        verdict_id = view.verdict.verdict_id
        for row, listed in enumerate(self._views):
            if listed.verdict.verdict_id == verdict_id:
                self._views[row] = view
                self._rows[row] = self._row(view.verdict)
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                return True
        return False

    def view_at(self, row: int) -> ItemView:
        """The item in `row`."""
        return self._views[row]

    def verdict_at(self, row: int) -> Verdict:
        """The verdict of the item in `row`."""
        return self._views[row].verdict


class RecentFilter(QSortFilterProxyModel):
    """Keeps rows matching the chosen disposition (or overridden / flagged) and the search words."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._kind = ALL
        self._words: list[str] = []

    def set_kind(self, kind: str) -> None:
        """ALL, OVERRIDDEN, FLAGGED or a disposition value."""
        self._refilter(lambda: setattr(self, "_kind", kind))

    def set_search(self, text: str) -> None:
        """Every word must appear in the RMA, a GTIN / code, or a SKU."""
        self._refilter(lambda: setattr(self, "_words", text.lower().split()))

    def _refilter(self, change: Callable[[], None]) -> None:
        # Qt 6.9 replaced invalidateFilter() with begin/endFilterChange(); support both.
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            change()
            self.endFilterChange()
        else:  # pragma: no cover - PySide6 < 6.9
            change()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:  # noqa: N802 - Qt override
        model = self.sourceModel()
        assert isinstance(model, RecentModel)
        verdict = model.verdict_at(source_row)
        decision = verdict.decision
        if self._kind == OVERRIDDEN and decision.source is not DecisionSource.OPERATOR:
            return False
        if self._kind == FLAGGED and not decision.flags:
            return False
        if self._kind not in (ALL, OVERRIDDEN, FLAGGED) and decision.disposition != self._kind:
            return False
        haystack = search_text(verdict)
        return all(word in haystack for word in self._words)


class RecentList(QWidget):
    """The list with its filter row; `open_requested(ItemView)` on double-click or O."""

    open_requested = Signal(object)
    search_requested = Signal(str)  # Enter in the search box: the window asks the station's record

    def __init__(self, dispositions: tuple[str, ...], limit: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RecentModel(limit, self)
        self.results: RecentModel | None = None  # items found in the record, while they are shown
        self.can_search_record = False
        self.proxy = RecentFilter(self)
        self.proxy.setSourceModel(self.model)
        self.texts = Texts()
        self.kind = QComboBox()
        for value in (ALL, *dispositions, OVERRIDDEN, FLAGGED):
            self.kind.addItem("", value)
        self._word_kinds()
        # Its width follows its words, in whichever language they are.
        self.kind.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.kind.currentIndexChanged.connect(lambda _i: self.proxy.set_kind(str(self.kind.currentData())))
        self.search = QLineEdit()
        self.texts.bind(self.search.setPlaceholderText, lambda: self.tr("Search RMA, GTIN or SKU (Ctrl+F)"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_changed)
        self.search.returnPressed.connect(self.search_entered)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._size_short_columns()
        self.table.doubleClicked.connect(self._open_index)
        self.count = QLabel("")
        self.model.rowsInserted.connect(self._update_count)
        self.proxy.rowsInserted.connect(self._update_count)
        self.proxy.rowsRemoved.connect(self._update_count)
        self.model.rowsRemoved.connect(self._update_count)
        self.proxy.modelReset.connect(self._update_count)
        self.proxy.sourceModelChanged.connect(self._update_count)
        self.proxy.layoutChanged.connect(self._update_count)
        row = QHBoxLayout()
        title = QLabel()
        self.texts.bind(title.setText, lambda: self.tr("Recent items"))
        row.addWidget(title)
        row.addWidget(self.kind)
        row.addWidget(self.search, 1)
        row.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)

    def _word_kinds(self) -> None:
        words = {ALL: self.tr("All dispositions"), OVERRIDDEN: self.tr("Overridden"),
                 FLAGGED: self.tr("Flagged")}
        for index in range(self.kind.count()):
            value = str(self.kind.itemData(index))
            self.kind.setItemText(index, words.get(value) or theme.disposition_words(value))

    def _size_short_columns(self) -> None:
        """Grade and Lane hold a letter or a digit: as wide as their titles, the rest for the words
        (a disposition, a SKU) the other columns hold."""
        header = self.table.horizontalHeader()
        metrics = header.fontMetrics()
        for name in SHORT_COLUMNS:
            section = COLUMNS.index(name)
            title = str(self.model.headerData(section, Qt.Orientation.Horizontal,
                                              Qt.ItemDataRole.DisplayRole))
            header.setSectionResizeMode(section, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(section, metrics.horizontalAdvance(title) + 3 * metrics.averageCharWidth())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.FontChange:
            self._size_short_columns()
        if event.type() == QEvent.Type.LanguageChange:
            self.texts.retranslate()
            self._word_kinds()
            self.model.retranslate()
            self._size_short_columns()
            if self.results is not None:
                self.results.retranslate()
            self._update_count()
        super().changeEvent(event)

    def _update_count(self, *_args: object) -> None:
        if self.results is not None and self.results.rowCount() == 1:
            self.count.setText(self.tr("1 found in the record (Esc: back)"))
        elif self.results is not None:
            self.count.setText(self.tr("{count} found in the record (Esc: back)").format(
                count=self.results.rowCount()))
        else:
            self.count.setText(self.tr("{shown} of {total}").format(
                shown=self.proxy.rowCount(), total=self.model.rowCount()))

    def _search_changed(self, text: str) -> None:
        if self.results is not None:  # new words: back to the live list, filtered by them
            self.show_recent()
        self.proxy.set_search(text)

    def search_entered(self) -> None:
        """Enter in the search box: look the words up in the record when possible, else go to the rows."""
        text = self.search.text().strip()
        if text and self.can_search_record:
            self.search_requested.emit(text)
        else:
            self._focus_table()

    def _shown_model(self) -> RecentModel:
        return self.results if self.results is not None else self.model

    def show_results(self, views: list[ItemView]) -> None:
        """Show items found in the station's record (older than the list keeps) instead of the recent ones."""
        self.results = RecentModel(max(1, len(views)), self)
        for view in reversed(views):  # newest first, as add() puts each new one on top
            self.results.add(view)
        self.proxy.set_search("")  # the record already matched the words; show every row found
        self.proxy.setSourceModel(self.results)
        self._update_count()
        self._focus_table()

    def show_recent(self) -> None:
        """Back to the recent items."""
        if self.results is None:
            return
        self.results = None
        self.proxy.setSourceModel(self.model)
        self.proxy.set_search(self.search.text())
        self._update_count()

    def _focus_table(self) -> None:
        self.table.setFocus()
        if self.proxy.rowCount() and not self.table.currentIndex().isValid():
            self.table.selectRow(0)

    def _open_index(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        if source.isValid():
            self.open_requested.emit(self._shown_model().view_at(source.row()))

    def open_selected(self) -> bool:
        """Open the selected (else the top) row; False when the list is empty."""
        index = self.table.currentIndex()
        if not index.isValid():
            if not self.proxy.rowCount():
                return False
            index = self.proxy.index(0, 0)
        self._open_index(index)
        return True
