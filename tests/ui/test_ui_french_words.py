"""The window in French leaves no English on screen: every page, the item dialog and the dialogs.

The window is built in French on items of several dispositions, an override (with a move by hand),
a failing camera and the statistics; the test then walks every visible widget's words — labels,
buttons, tabs, table headers and cells, combo box items, group box titles, window titles, tooltips,
placeholders, the charts' titles and bars — and fails on

- a text that is an English sentence of the catalogue left untranslated (whole, or filled in), or
- two English words in a row that are not data (RMA, SKU, model names, operator ids, units).

"English words" are the words of the catalogue's English sentences that its French never uses,
plus the commonest English words: a sentence nobody marked for translation is caught too.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import cache

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QTabBar,
    QTreeWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from station.i18n import REASON_TEXTS, SOURCE_LANGUAGE, render_reason, tr, ts_path
from station.state import Health, ItemView, Level, StationState
from station.ui.charts import BarChart, LineChart
from station.ui.dialogs import NoteDialog, OverrideDialog, SignInDialog
from station.ui.item_dialog import ItemDialog
from station.ui.main_window import MainWindow
from station.ui.status_panel import health_text
from station.verdict import Disposition, Reason, Verdict
from tests.ui.feeder import demo_kpi, make_item
from tests.ui.ui_window import dialog_of, open_window

pytestmark = pytest.mark.gui

# Data the screen shows as it is, in any language: codes and names from the record and the config.
DATA_WORDS = frozenset({
    "RMA", "SKU", "GTIN", "MQTT", "JSON", "Ctrl", "sha", "px", "mm", "ms", "fps", "toml", "config",
    "op", "auto", "defect", "conformity",  # operator ids ("op-7"), model names ("defect 2026.11.24")
})
# The configured override reasons are the operator's own words, recorded as typed (config data).
OVERRIDE_REASONS = ("damage is only packaging", "seal broken")

# The commonest English words: caught even in a sentence the catalogue never saw.
COMMON_ENGLISH = frozenset({
    "the", "a", "an", "of", "to", "in", "on", "for", "with", "is", "are", "was", "were", "be", "been",
    "not", "no", "and", "or", "by", "at", "from", "this", "that", "it", "its", "yet", "first", "item",
    "items", "waiting", "failed", "could", "cannot", "read", "found", "none", "here", "there", "please",
    "press", "click", "select", "open", "close", "save", "cancel", "ok", "yes", "next", "back", "show",
    "hide", "all", "any", "more", "less", "than", "into", "out"
})

_WORD = re.compile(r"[A-Za-zÀ-ÿ]+(?:'[A-Za-zÀ-ÿ]+)?")
# Codes from the record (SKU-LAMP-E27, R-1006, op-7): data, whatever letters they hold.
_CODE = re.compile(r"\b[\w.]*\d[\w.]*(?:-[\w.]+)*\b|\b[A-Za-z]+(?:-[A-Za-z0-9]+)+\b")
_PLACEHOLDER = re.compile(r"\{[a-z_]+(?::[^}]*)?\}")


@cache
def _catalogue() -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
    """(English, French or "" when unfinished) of every message, and every word the French uses."""
    pairs = []
    french_words: set[str] = set()
    for message in ET.parse(ts_path("fr")).getroot().iter("message"):
        source, translation = message.findtext("source") or "", message.find("translation")
        finished = translation is not None and not translation.get("type") and translation.text
        french = translation.text or "" if finished and translation is not None else ""
        pairs.append((source, french))
        french_words.update(w.lower() for w in _WORD.findall(french))
    return tuple(pairs), frozenset(french_words)


@cache
def _english_words() -> frozenset[str]:
    pairs, french_words = _catalogue()
    words = {w.lower() for source, _fr in pairs for w in _WORD.findall(_PLACEHOLDER.sub(" ", source))}
    return frozenset((words | COMMON_ENGLISH) - french_words - {w.lower() for w in DATA_WORDS})


@cache
def _untranslated_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """An English sentence of the catalogue (its placeholders filled by anything) whose French differs."""
    patterns = []
    for source, french in _catalogue()[0]:
        if source == french or len(_WORD.findall(_PLACEHOLDER.sub(" ", source))) < 1:
            continue
        pieces = _PLACEHOLDER.split(source)
        # A template whose own words French uses too ("{mode} mode") would match French sentences.
        if not any(w.lower() in _english_words() for piece in pieces for w in _WORD.findall(piece)):
            continue
        regex = ".+?".join(re.escape(piece) for piece in pieces)
        patterns.append((source, re.compile(regex, re.DOTALL)))
    return tuple(patterns)


def _problems_in(text: str) -> list[str]:
    """What is English in one shown text."""
    problems = []
    lines = [part.strip(" •⚑\t") for line in text.splitlines() for part in line.split("  ·  ")]
    for source, pattern in _untranslated_patterns():
        if any(line and pattern.fullmatch(line) for line in (text, *lines)):
            problems.append(f"untranslated {source!r}: {text!r}")
    english = _english_words()
    for line in lines:
        shown = line
        for reason in OVERRIDE_REASONS:
            shown = shown.replace(reason, " ")
        words = [w for w in _WORD.findall(_CODE.sub(" ", shown)) if w not in DATA_WORDS]
        for first, second in itertools.pairwise(words):
            if first.lower() in english and second.lower() in english:
                problems.append(f"English words {first!r} {second!r}: {text!r}")
                break
    return problems


def _texts_of(top: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) for every word `top` and its visible children show."""
    yield "window title", top.windowTitle()
    for widget in [top, *top.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        name = type(widget).__name__
        if widget.toolTip():
            yield f"{name} tooltip", widget.toolTip()
        if isinstance(widget, QLabel | QAbstractButton):
            yield name, widget.text()
        elif isinstance(widget, QGroupBox):
            yield name, widget.title()
        elif isinstance(widget, QTabBar):
            for index in range(widget.count()):
                yield f"tab {index}", widget.tabText(index)
        elif isinstance(widget, QComboBox):
            for index in range(widget.count()):
                yield f"{name} item {index}", widget.itemText(index)
            if widget.lineEdit() is not None:
                yield f"{name} placeholder", widget.lineEdit().placeholderText()
        elif isinstance(widget, QLineEdit):
            yield f"{name} placeholder", widget.placeholderText()
        elif isinstance(widget, BarChart):
            yield "chart", widget.title
            for label, _value in widget.bars():
                yield "chart bar", label
        elif isinstance(widget, LineChart):
            yield "chart", widget.title
            for series, _values in widget.series():
                yield "chart series", series
        if isinstance(widget, QAbstractItemView) and not isinstance(widget, QTreeWidget):
            model = widget.model()
            if model is None:
                continue
            for column in range(model.columnCount()):
                yield "header", str(model.headerData(column, Qt.Orientation.Horizontal) or "")
                for row in range(model.rowCount()):
                    index = model.index(row, column)
                    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                        yield f"cell {row},{column}", str(model.data(index, role) or "")
        elif isinstance(widget, QTreeWidget):  # About: the libraries and their versions (data)
            header = widget.headerItem()
            for column in range(header.columnCount()):
                yield "tree header", header.text(column)
            for index in range(widget.topLevelItemCount()):  # headings; the libraries below are names
                yield "tree heading", widget.topLevelItem(index).text(0)


def _english_on(top: QWidget) -> list[str]:
    return [f"{where}: {problem}" for where, text in _texts_of(top) if text for problem in _problems_in(text)]


LANES = {"manual": 0, "restock": 1, "repair": 2, "recycle": 3, "quarantine": 4}


def _coded(view: ItemView, disposition: Disposition, reasons: tuple[Reason, ...]) -> ItemView:
    """The item sent to `disposition`'s lane, as today's policy writes it: each reason in English and
    as a code."""
    decision = dataclasses.replace(
        view.verdict.decision,
        disposition=disposition,
        reasons=tuple(render_reason(r, SOURCE_LANGUAGE) for r in reasons),
        reason_codes=reasons,
    )
    lane = LANES.get(disposition.value, 0)
    confirmed = lane if view.verdict.routing.lane_confirmed is not None else None
    routing = dataclasses.replace(view.verdict.routing, lane_commanded=lane, lane_confirmed=confirmed)
    verdict = dataclasses.replace(view.verdict, decision=decision, routing=routing)
    lane_name = next(name for name, number in LANES.items() if number == lane)
    return dataclasses.replace(view, verdict=verdict, lane_name=lane_name)


def _items() -> StationState:
    state = StationState()
    reasons = (
        (Disposition.RECYCLE, (Reason("beyond_repair", {"label": "tear", "where": "left", "score": 0.91}),)),
        (Disposition.REPAIR, (Reason("repairable", {"label": "scratch", "score": 0.42}),
                              Reason("declared_needs_check", {"declared": "defective"}))),
        (Disposition.RESTOCK, (Reason("no_defect", {"score": 0.12}),)),
        (Disposition.MANUAL_REVIEW, (Reason("gtin_unknown", {"gtin": "04006381333931"}),
                                     Reason("not_sure", {"confidence": 0.41, "minimum": 0.6}))),
        (Disposition.QUARANTINE, (Reason("fraud_wrong_item"),)),
        (Disposition.RESTOCK, (Reason("no_defect", {"score": 0.05}),)),
    )
    dispositions = set()
    for seq, (disposition, coded) in enumerate(reasons, start=1):
        view = _coded(make_item(seq), disposition, coded)
        dispositions.add(view.verdict.decision.disposition)
        state.add_item(view)
    assert len(dispositions) >= 3, dispositions
    for component, level, summary in (
        ("camera:top", Level.ERROR, tr("Health", "camera {camera} frozen", "fr", camera="top")),
        ("conveyor", Level.OK, tr("Health", "conveyor running", "fr")),
        ("mqtt", Level.WARNING, tr("Health", "MQTT down, {backlog} verdicts waiting", "fr", backlog=3)),
        ("models", Level.OK, tr("Health", "models: {names}", "fr", names="defect 2026.11.24")),
        ("disk", Level.OK, tr("Health", "disk {free_gb:.1f} GB free", "fr", free_gb=212.0)),
        ("calibration", Level.WARNING, tr("Health", "not calibrated", "fr")),
    ):
        state.set_health(Health(component, level, summary))
    state.set_counters({"items": 6, "outbox_backlog": 3, "late": 1, "lost": 1})
    return state


def _french_window(qtbot: QtBot) -> MainWindow:
    state = _items()
    first = {view.verdict.verdict_id: view.verdict for view in state.recent()}

    def history(verdict_id: str) -> list[Verdict]:
        """Each item's first revision, then its revision now (an override's), as the record keeps them."""
        now = [view.verdict for view in state.recent() if view.verdict.verdict_id == verdict_id]
        return [first[verdict_id], *[v for v in now if v.revision != first[verdict_id].revision]]

    window, _actions = open_window(
        qtbot, state, override_reasons=OVERRIDE_REASONS, station_id="dock-01",
        lane_names={number: name for name, number in LANES.items()},
        window_kwargs={"history_source": history, "kpi_source": demo_kpi,
                       "about": {"station_id": "dock-01", "site_id": "site-01",
                                 "station": "1.16.0", "python": "3.11.9", "platform": "Linux-6.1-x86_64",
                                 "libraries": {"numpy": "2.4.6"}}},
    )
    qtbot.waitUntil(lambda: window.kpi.loads > 0, timeout=10_000)
    return window


def _override_second_item(qtbot: QtBot, window: MainWindow) -> None:
    """Key 2 (repair) on the item on the card, a configured reason, Enter: it moves lanes by hand."""
    shown = window.card.verdict_id
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_2)
    dialog = dialog_of(qtbot, window)
    assert isinstance(dialog, OverrideDialog)
    assert not _english_on(dialog), _english_on(dialog)
    qtbot.keyClicks(dialog.reason, OVERRIDE_REASONS[1])
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    # The conveyor sent it to lane 1 already: the card says where to move it by hand.
    qtbot.waitUntil(lambda: window.card.verdict_id == shown and "Sortez" in window.card.status.text(),
                    timeout=5000)
    qtbot.waitUntil(lambda: "a changé" in window.card.reasons.text(), timeout=5000)


def test_every_page_and_dialog_of_the_french_window_is_french(french: QApplication, qtbot: QtBot) -> None:
    window = _french_window(qtbot)
    _override_second_item(qtbot, window)
    assert "Remise en stock" in [window.recent.kind.itemText(i) for i in range(window.recent.kind.count())]

    found: dict[str, list[str]] = {}
    for key in (Qt.Key.Key_F1, Qt.Key.Key_F2, Qt.Key.Key_F3, Qt.Key.Key_F4, Qt.Key.Key_F5):
        qtbot.keyClick(window, key)
        page = window.tabs.currentWidget()
        qtbot.waitUntil(page.isVisible)
        found[type(page).__name__] = _english_on(window)

    qtbot.keyClick(window, Qt.Key.Key_F1)
    window.inspect_page.setFocus()
    qtbot.keyClick(window.inspect_page, Qt.Key.Key_O)
    qtbot.waitUntil(lambda: bool(window._dialogs), timeout=5000)
    item_dialog = window._dialogs[-1]
    assert isinstance(item_dialog, ItemDialog)
    qtbot.waitExposed(item_dialog)
    qtbot.waitUntil(lambda: item_dialog.history.rowCount() == 2, timeout=5000)  # inspected, then overridden
    found["ItemDialog"] = _english_on(item_dialog)
    item_dialog.close()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.inspect_page.setFocus()

    qtbot.keyClick(window.inspect_page, Qt.Key.Key_S)
    note = dialog_of(qtbot, window)
    assert isinstance(note, NoteDialog)
    found["NoteDialog"] = _english_on(note)
    qtbot.keyClick(note, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.active_dialog is None, timeout=5000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)

    qtbot.keyClick(window, Qt.Key.Key_F9)
    sign_in = dialog_of(qtbot, window)
    assert isinstance(sign_in, SignInDialog)
    sign_in.try_accept()  # empty: the refusal is shown too
    found["SignInDialog"] = _english_on(sign_in)
    qtbot.keyClick(sign_in, Qt.Key.Key_Escape)

    assert {name: words for name, words in found.items() if words} == {}


def test_the_card_speaks_french(french: QApplication, qtbot: QtBot) -> None:
    window = _french_window(qtbot)
    card = window.card
    assert window.tabs.tabText(0) == "Contrôle (F1)"
    assert card.grade_caption.text() == "Note"
    assert "score 0,12" in card.reasons.text() or "0,05" in card.reasons.text()
    assert window.inspect_page.confirm_button.text() == "Confirmer"


def test_the_check_finds_an_english_sentence(french: QApplication, qtbot: QtBot) -> None:
    """The walk itself: a label left in English, or one never marked for translation, is reported."""
    window = _french_window(qtbot)
    untranslated = QLabel(QCoreApplication.translate("Nowhere", "Recent items"), window.inspect_page)
    unmarked = QLabel("Press Enter to confirm the item", window.inspect_page)
    untranslated.show()
    unmarked.show()
    problems = _english_on(window)
    assert any("'Recent items'" in p for p in problems), problems
    assert any("Press Enter to confirm" in p for p in problems), problems
    assert not _problems_in("Motif du client : défectueux")
    assert _problems_in(REASON_TEXTS["no_evidence"].text)


def test_a_camera_chip_names_the_camera_once_in_french(french: QApplication) -> None:
    """« Caméra dessus en marche », not « Caméra top : caméra dessus en marche »."""
    live = Health("camera:top", Level.OK, tr("Health", "camera {camera} live", "fr").format(
        camera=tr("View", "top", "fr")))
    assert health_text(live) == "Caméra dessus en marche"
    own = Health("camera:gate", Level.OK, tr("Health", "camera {camera} live", "fr").format(camera="gate"))
    assert health_text(own) == "Caméra gate en marche"  # a site's own camera name stays as written
    assert health_text(Health("camera:top", Level.ERROR, "plus d'images")) == "Caméra dessus : plus d'images"
