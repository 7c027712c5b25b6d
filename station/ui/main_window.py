"""The station's main window: inspect page (camera, card, recent items), statistics, settings,
calibration and about, with the status bar under every page.

It renders `StationState` (through `StateBridge`, on the Qt thread) and turns keys into
`StationActions` intents, run one at a time on a worker thread (`Background`) so a slow
database write never freezes the window. Keys (Inspect page): Enter confirm, 1-5
override, R re-inspect, S needs supervisor, T trigger (bench), O open the selected
item, Ctrl+F search, F9 change operator, F1-F5 pages, F11 full screen, Ctrl+Z undo.
Confirm and override act on the item on the card when the key was pressed (its verdict id is
captured then) and wait `undo_s` seconds before they reach the station, so Ctrl+Z (or the Undo
button) takes one back with nothing recorded; closing the window sends what still waits. An
override of an item the conveyor already put in another lane says where to move it by hand
(station/hand_move.py) and keeps saying it until done. With a keyboard-wedge
hand scanner (`UiSettings.keyboard_scanner`), a scan typed into the window is taken as a scan
(`StationActions.scan`) instead of keys (station/ui/wedge.py).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QMainWindow,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from calibration.board import BoardSpec
from station.hand_move import MOVE_BY_HAND_FLAG, hand_move
from station.i18n import QT_TRANSLATE_NOOP, Message
from station.state import Health, ItemView, Level, StationActions, StationState
from station.ui import theme
from station.ui.bridge import StateBridge
from station.ui.calibration_page import CalibrationPage, FrameSource, WizardSettings
from station.ui.dialogs import NoteDialog, OverrideDialog, RestartDialog, SignInDialog
from station.ui.inspect_page import InspectPage
from station.ui.intents import HeldIntent, IntentQueue
from station.ui.item_dialog import HistorySource, ItemDialog, load_stored_frame, stored_views
from station.ui.kpi_panel import KpiPanel, KpiSource
from station.ui.pages import AboutPage, ModelsSource, SettingsPage
from station.ui.phrase import DispositionWords, Phrase, phrase
from station.ui.record_search import RecordSearch, SearchSource
from station.ui.settings import UiSettings
from station.ui.status_panel import StatusPanel
from station.ui.top_bar import TopBar
from station.ui.translation import current_language, install
from station.ui.undo_bar import HandMoveBar, UndoBar
from station.ui.wedge import GS, WedgeFilter
from station.verdict import Disposition, Verdict

logger = logging.getLogger(__name__)

# Items may arrive at 20/s; nobody reads faster than this, so the card, camera view and counters
# are redrawn at most every RENDER_INTERVAL_MS with the newest values (the list gets every item).
RENDER_INTERVAL_MS = 100

# How long a confirm or an override waits in the window before it is recorded, so a key pressed on
# the wrong item can be taken back without anything reaching the record or central.
UNDO_S = 5.0
# Bench mode shows the camera live between items: 8 frames/s is enough to place an item by, and
# little work for the GUI thread (one resize of the latest frame each time).
LIVE_INTERVAL_MS = 125
# Two attentions closer than this make one beep: a burst of quarantines is one thing to look at.
BEEP_GAP_S = 1.0


# What a failed intent was, in the sentence "Confirm failed: database is locked".
_INTENT_WORDS: dict[str, Message] = {
    "confirm": QT_TRANSLATE_NOOP("Intent", "Confirm"),
    "override": QT_TRANSLATE_NOOP("Intent", "Override"),
    "withdraw": QT_TRANSLATE_NOOP("Intent", "Undo"),
    "sign_in": QT_TRANSLATE_NOOP("Intent", "Sign-in"),
    "needs_supervisor": QT_TRANSLATE_NOOP("Intent", "Call for a supervisor"),
    "reinspect": QT_TRANSLATE_NOOP("Intent", "Re-inspection"),
    "trigger": QT_TRANSLATE_NOOP("Intent", "Trigger"),
    "scan": QT_TRANSLATE_NOOP("Intent", "Scan"),
    "set_mode": QT_TRANSLATE_NOOP("Intent", "Change of mode"),
    "set_thresholds": QT_TRANSLATE_NOOP("Intent", "Saving the thresholds"),
}


def _item_name(verdict: Verdict) -> str:
    """How a message names an item: its RMA, else its verdict id."""
    return verdict.item.rma or verdict.verdict_id


class MainWindow(QMainWindow):
    """See the module docstring. `items_seen` counts decided items shown (those in the state at start too)."""

    intent_sent = Signal(str)  # the intent's name, after it was queued (tests and the screenshot wait on it)

    def __init__(
        self,
        state: StationState,
        actions: StationActions,
        settings: UiSettings,
        *,
        kpi_source: KpiSource | None = None,
        history_source: HistorySource | None = None,
        search_source: SearchSource | None = None,
        about: dict[str, Any] | None = None,
        config_text: str = "",
        config_source: str = "",
        calibration_frames: FrameSource | None = None,
        live_frames: FrameSource | None = None,
        calibration_file: Path | None = None,
        board: BoardSpec | None = None,
        calibration_settings: WizardSettings | None = None,
        undo_s: float = UNDO_S,
        models_source: ModelsSource | None = None,
        beeper: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # The alert given by `station run` (the tone, station/alert_sound.py), else the desktop's bell;
        # `settings.beep` turns it off.
        self._beeper = beeper if beeper is not None else QApplication.beep
        self._last_beep = float("-inf")
        self._red: set[str] = set()  # components in ERROR now: each beeps once when it turns red
        self.state = state
        self.undo_s = undo_s
        self.station_actions = actions
        self.settings = settings
        self._history_source = history_source
        self._search_source = search_source
        self._set_window_title()
        self.operator_id: str | None = state.operator_id
        self.mode = state.mode or settings.mode
        self.items_seen = 0
        self.attentions = 0  # beeps given (tests)
        self._live_frames = live_frames
        self.live_shown = False  # whether the picture is the camera live now (bench mode)
        self._latest: ItemView | None = None
        self._shown_id: str | None = None
        self._shown: ItemView | None = None  # the item on the card: what Enter and 1-5 act on
        # verdict_id -> "Confirmed by op-7", kept as a phrase so a language change says it again
        self._statuses: OrderedDict[str, Phrase] = OrderedDict()
        self._dialogs: list[ItemDialog] = []
        self._counters: dict[str, Any] | None = None
        self._shown_counters: dict[str, Any] | None = None  # the last drawn, drawn again in a new language
        self._arrived: list[ItemView] = []  # decided since the last render, oldest first
        self._initial_ids: set[str] = set()
        self.active_dialog: QDialog | None = None
        # Offered only by `run_app` under `station run`, which starts the station again.
        self.restart_offered = False
        self.restart_requested = False  # the operator chose "Restart now"
        s = settings.font_scale
        self.top = TopBar(s)
        self.inspect_page = InspectPage(settings)
        page = self.inspect_page
        self.camera, self.card, self.recent = page.camera, page.card, page.recent  # the window drives these
        self.kpi = KpiPanel(kpi_source, settings.dispositions, settings.kpi_refresh_s, s)
        self.settings_page = SettingsPage(config_text, settings.thresholds, self.mode, config_source)
        # The wizard needs the camera's frames, the board and the file; without them it shows the status only.
        self.calibration_page = CalibrationPage(
            s, calibration_frames, calibration_file, board, calibration_settings
        )
        self.about_page = AboutPage(about, models_source)
        self._lay_out()
        self._connect_pages()
        self._install_actions()
        self._install_wedge()
        self._start_workers()
        self._listen(state)

    def _lay_out(self) -> None:
        """The top line, the pages as tabs, and the status bar under every page."""
        self.tabs = QTabWidget()
        theme.roomy_tabs(self.tabs)
        for page, title in (
            (self.inspect_page, ""),
            (self.kpi, ""),
            (self.settings_page, ""),
            (self.calibration_page, ""),
            (self.about_page, ""),
        ):
            self.tabs.addTab(page, title)
        self._set_tab_titles()
        self.status_panel = StatusPanel(self.settings.font_scale,
                                        order=tuple(f"camera:{name}" for name in self.settings.cameras))
        self.undo_bar = UndoBar(self.settings.font_scale)
        self.hand_moves = HandMoveBar(self.settings.font_scale)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 4, 6, 2)
        layout.setSpacing(TopBar.SPACING)
        layout.addWidget(self._top_row())
        layout.addWidget(self.hand_moves)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status_panel)
        self.setCentralWidget(central)

    def _set_tab_titles(self) -> None:
        titles = (
            self.tr("Inspect (F1)"),
            self.tr("Statistics (F2)"),
            self.tr("Settings (F3)"),
            self.tr("Calibration (F4)"),
            self.tr("About (F5)"),
        )
        for index, title in enumerate(titles):
            self.tabs.setTabText(index, title)

    def _set_window_title(self) -> None:
        station_id = self.settings.station_id
        self.setWindowTitle(
            self.tr("Returns inspection station {station}").format(station=station_id)
            if station_id else self.tr("Returns inspection station")
        )

    def _top_row(self) -> QWidget:
        """The top line with the undo countdown at its right end. The row is at least as tall as
        the countdown from the start, so pressing Enter never moves the page under it. While shown,
        the countdown takes the width its sentence needs from the counters and the last notice
        (elided then, words on hover); who is signed in and the mode stay whole."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.top, 1)
        layout.addWidget(self.undo_bar, 0)
        row.setMinimumHeight(self.undo_bar.sizeHint().height())
        # Shown, the countdown takes the row's height; it never makes the row taller.
        self.undo_bar.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        return row

    def _connect_pages(self) -> None:
        """What the pages ask of the window: open an item, search the record, thresholds, mode."""
        self.recent.open_requested.connect(self.open_item)
        self.settings_page.thresholds_requested.connect(self.request_thresholds)
        self.settings_page.mode_requested.connect(self.request_mode)
        self.settings_page.language_requested.connect(self.set_language)
        self.tabs.currentChanged.connect(self._page_changed)
        # The touch buttons do what their keys do, through the same guard against an open dialog.
        page = self.inspect_page
        page.confirm_clicked.connect(lambda: self._bench_key(self.confirm_current))
        page.override_clicked.connect(lambda: self._bench_key(self._override_shown))
        page.reinspect_clicked.connect(lambda: self._bench_key(self.request_reinspect))
        page.supervisor_clicked.connect(lambda: self._bench_key(self.mark_current_for_supervisor))

    def _install_wedge(self) -> None:
        # Only with a keyboard-wedge scanner: otherwise every key goes straight to its shortcut, as typed.
        self.wedge: WedgeFilter | None = None
        if self.settings.keyboard_scanner:
            self.wedge = WedgeFilter(self, self.settings.wedge_gap_ms)
            self.wedge.scanned.connect(self.take_scan)
            self.wedge.ignored.connect(self._scan_ignored)
            self.wedge.install()

    def _start_workers(self) -> None:
        """The intents' and the record search's worker threads, and the render timer."""
        self._intents = IntentQueue(self)
        self._intents.sent.connect(self.intent_sent)
        self._intents.failed.connect(self._intent_failed)
        self._intents.held_changed.connect(lambda: self.undo_bar.show_held(self._intents.held()))
        self.undo_bar.undo_requested.connect(self.undo_last)
        self._record_search = RecordSearch(self._search_source, self.recent, self)
        self._record_search.notice.connect(self.show_message)
        self._record_search.found.connect(self._ok)
        self._live_timer = QTimer(self)
        self._live_timer.setInterval(LIVE_INTERVAL_MS)
        self._live_timer.timeout.connect(self._show_live)
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_INTERVAL_MS)
        self._render_timer.timeout.connect(self._render_latest)

    def _listen(self, state: StationState) -> None:
        """Follow the state's changes, then show what happened before the window opened."""
        self.bridge = StateBridge(state, self)
        self.bridge.item_decided.connect(self._item_decided)
        self.bridge.item_updated.connect(self._item_updated)
        self.bridge.record_revised.connect(self._record_revised)
        self.bridge.health_changed.connect(self._health_changed)
        self.bridge.counters_changed.connect(self._counters_changed)
        self.bridge.message.connect(self.show_message)
        # The bridge listens already, so an item decided meanwhile may come twice: once here, once
        # queued; `_initial_ids` drops the queued copy.
        initial = state.recent()[-self.settings.recent_items :]
        self._initial_ids = {v.verdict.verdict_id for v in initial}
        self.recent.model.add_many(initial)
        self.items_seen += len(initial)
        self._latest = initial[-1] if initial else None
        for health in state.health().values():
            self._health_changed(health)
        if state.counters():
            self._counters_changed(state.counters())
        self._render_latest()
        self._update_top()

    # ----- keys ---------------------------------------------------------------------------------
    def _install_actions(self) -> None:
        def bench(name: str, keys: list[str], slot: Callable[[], None]) -> QAction:
            action = QAction(name, self.inspect_page)
            action.setShortcuts([QKeySequence(k) for k in keys])
            # Only while the Inspect page has the focus: digits and Enter mean something else elsewhere.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda *_checked: self._bench_key(slot))
            self.inspect_page.addAction(action)
            return action

        bench("Confirm", ["Return", "Enter"], self.confirm_current)
        for number, disposition in enumerate(self.settings.dispositions, start=1):
            override = functools.partial(self.override_current, disposition)
            bench(f"Override to {disposition}", [str(number)], override)
        bench("Re-inspect", ["R"], self.request_reinspect)
        bench("Needs supervisor", ["S"], self.mark_current_for_supervisor)
        bench("Trigger", ["T"], self.request_trigger)
        bench("Open selected item", ["O"], self._open_selected)
        bench("Search", ["Ctrl+F"], self.inspect_page.focus_search)
        bench("Back", ["Escape"], self.inspect_page.escape)

        def window_key(keys: str, slot: Callable[[], None]) -> None:
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda *_checked: slot())
            self.addAction(action)

        for index, key in enumerate(("F1", "F2", "F3", "F4", "F5")):
            window_key(key, functools.partial(self.tabs.setCurrentIndex, index))
        window_key("F9", self.ask_sign_in)
        window_key("F11", self._toggle_fullscreen)
        window_key("Ctrl+Z", self.undo_last)

    def _bench_key(self, slot: Callable[[], None]) -> None:
        # A dialog of the bench is up: its keys are its own, even if the window manager left the focus here.
        if self.active_dialog is not None and self.active_dialog.isVisible():
            self.active_dialog.activateWindow()
            return
        slot()

    def _page_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.inspect_page:
            self.inspect_page.setFocus()
        elif self.tabs.widget(index) is self.calibration_page:
            self.calibration_page.setFocus()  # Space captures a view

    def _open_selected(self) -> None:
        if not self.recent.open_selected():
            self.show_message(phrase(QT_TRANSLATE_NOOP("MainWindow", "No items to open yet.")))

    def _toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    # ----- state -> view ------------------------------------------------------------------------
    def _item_decided(self, view: ItemView) -> None:
        if self._initial_ids:
            verdict_id = view.verdict.verdict_id
            if verdict_id in self._initial_ids:
                self._initial_ids.discard(verdict_id)
                return
        self.items_seen += 1
        self._latest = view
        self._arrived.append(view)  # listed on the next render: one list repaint per burst
        if view.verdict.decision.disposition is Disposition.QUARANTINE:
            self._attention()
        if not self._render_timer.isActive():
            self._render_timer.start()

    def _item_updated(self, view: ItemView) -> None:
        self._render_latest()  # list what arrived first, so the revision finds its row
        self.recent.model.replace(view)
        verdict_id = view.verdict.verdict_id
        if self._latest is not None and self._latest.verdict.verdict_id == verdict_id:
            self._latest = view
            self._shown_id = None  # force the card to redraw the new revision
            self._render_latest()
        for dialog in self._dialogs:
            if dialog.view.verdict.verdict_id == verdict_id:
                dialog.update_view(view)

    def _record_revised(self, verdict: Verdict) -> None:
        """An item no longer listed got a new revision (in an item window opened from the search, or
        with `station item` at a terminal): an item window open on it shows it."""
        for dialog in self._dialogs:
            shown = dialog.view.verdict
            if shown.verdict_id == verdict.verdict_id and shown.revision < verdict.revision:
                dialog.update_view(dataclasses.replace(dialog.view, verdict=verdict))

    def _render_latest(self) -> None:
        if self._arrived:
            arrived, self._arrived = self._arrived, []
            self.recent.model.add_many(arrived)
        self._render_counters()
        view = self._latest
        if view is None:
            return
        verdict_id = view.verdict.verdict_id
        if verdict_id == self._shown_id:
            return
        self._shown_id = verdict_id
        self._shown = view
        # A new revision of the item already dealt with (routed, confirmed) leaves the live picture.
        live = self.live_shown and self._wants_live()
        if view.frame is None and not live:
            view = self._with_stored_picture(view)
        self.inspect_page.show_item(view, self._status_of(verdict_id), picture=not live)
        self.live_shown = live

    def _with_stored_picture(self, view: ItemView) -> ItemView:
        """An item without its frame in memory (decided before this start) shows its stored pictures."""
        images_dir = self.settings.images_dir
        view = stored_views(view, images_dir)
        if view.views:
            return view
        frame = load_stored_frame(view, images_dir)
        return dataclasses.replace(view, frame=frame) if frame is not None else view

    def _health_changed(self, health: Health) -> None:
        if health.level == Level.ERROR and health.component not in self._red:
            self._red.add(health.component)
            self._attention()
        elif health.level != Level.ERROR:
            self._red.discard(health.component)
        self.status_panel.set_health(health)
        if health.component == "calibration":
            self.calibration_page.set_health(health)
        if health.component.startswith("camera"):
            self.inspect_page.show_camera_health(health)

    def _attention(self) -> None:
        """Beep: an item went to quarantine, or a part turned red (at most once a BEEP_GAP_S)."""
        now = time.monotonic()
        if not self.settings.beep or now - self._last_beep < BEEP_GAP_S:
            return
        self._last_beep = now
        self.attentions += 1
        self._beeper()

    def _counters_changed(self, counters: dict[str, Any]) -> None:
        self._counters = counters
        if not self._render_timer.isActive():
            self._render_timer.start()

    @property
    def items_counted(self) -> int | None:
        """The items the top line counts now (this run's), None before the first counters."""
        if self._shown_counters is None:
            return None
        items = self._shown_counters.get("items")
        return items if isinstance(items, int) else None

    def _render_counters(self) -> None:
        counters, self._counters = self._counters, None
        if counters is not None:
            self._shown_counters = counters
            self.top.show_counters(counters)

    # ----- language -----------------------------------------------------------------------------
    def set_language(self, language: str) -> None:
        """Speak `language` ("fr" or "en") from now on, for this session: every widget words itself
        again (Qt's LanguageChange); the items shown, the operator and what waits for undo stay."""
        app = QApplication.instance()
        if app is None or language == current_language():
            return
        if install(app, language):
            logger.info("operator switched the window to %s", language)
        else:
            self.show_message(phrase(QT_TRANSLATE_NOOP(
                "MainWindow", "This language cannot be shown here: the window stays as it was.")))
        self.settings_page.show_language(current_language())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._set_window_title()
            self._set_tab_titles()
            self._update_top()
            if self._shown_counters is not None:
                self.top.show_counters(self._shown_counters)
            self._shown_id = None  # the card words the same item again
            self._render_latest()
        super().changeEvent(event)

    def show_message(self, text: str | Phrase) -> None:
        """A one-line notice at the top, stamped with the time (a `Phrase` follows a language change)."""
        self.top.show_message(text)

    def _update_top(self) -> None:
        self.top.show_operator(self.operator_id)
        self.top.show_mode(self.mode)

    # ----- intents ------------------------------------------------------------------------------
    def _send(self, name: str, on_success: Callable[[], None], fn: Callable[..., None], *args: Any) -> None:
        self._intents.send(name, on_success, fn, *args)

    def _intent_failed(self, name: str, text: str) -> None:
        words = _INTENT_WORDS.get(name)
        action: str | Phrase = phrase(words) if words is not None else name.replace("_", " ").capitalize()
        # `text` is the station's refusal (ActionError, the database's words), shown as it came.
        self.top.show_error(phrase(QT_TRANSLATE_NOOP("MainWindow", "{action} failed: {problem}"),
                                   action=action, problem=text))

    def _signed_in(self) -> bool:
        if self.operator_id:
            return True
        self.show_message(phrase(QT_TRANSLATE_NOOP(
            "MainWindow", "Sign in first (F9): every action is recorded with your operator id.")))
        self.ask_sign_in()
        return False

    def _set_status(self, verdict_id: str, text: Phrase | None) -> None:
        """The operator's last action on an item, on its card; None: nothing (an undone confirm)."""
        if text is None:
            self._statuses.pop(verdict_id, None)
        else:
            self._statuses[verdict_id] = text
            self._statuses.move_to_end(verdict_id)
        while len(self._statuses) > max(10, self.settings.recent_items):
            self._statuses.popitem(last=False)
        if self.card.verdict_id == verdict_id:
            self.card.set_status(self._status_of(verdict_id))

    def _status_of(self, verdict_id: str) -> str:
        status = self._statuses.get(verdict_id)
        return status.render() if status is not None else ""

    def _ok(self, text: str | Phrase) -> None:
        self.top.show_ok(text)

    def current_item(self) -> ItemView | None:
        """The item on the card: the newest decided once the card was redrawn (at most 100 ms later)."""
        return self._shown if self._shown is not None else self._latest

    def undo_last(self) -> None:
        """Ctrl+Z or Undo: take back the newest confirm or override still waiting; nothing is recorded."""
        held = self._intents.undo()
        if held is None:
            self.show_message(phrase(QT_TRANSLATE_NOOP(
                "MainWindow", "Nothing to undo: confirms and overrides are recorded after a few seconds.")))
            return
        self._set_status(held.verdict_id, None)
        self._ok(held.undone_notice)
        # Nothing reached the record; the audit log still says the operator took it back.
        self._send("withdraw", lambda: None, self.station_actions.withdraw, held.verdict_id, held.name)

    def _hold(
        self, name: str, verdict: Verdict, notice: Phrase, undone: Phrase, on_success: Callable[[], None],
        fn: Callable[..., None], *args: Any,
    ) -> HeldIntent:
        held = self._intents.hold(
            name, verdict.verdict_id, notice, undone, self.undo_s, on_success, fn, *args
        )
        if self.undo_s > 0:
            self._ok(phrase(QT_TRANSLATE_NOOP("MainWindow", "{notice} — Undo (Ctrl+Z)"), notice=notice))
        return held

    def ask_sign_in(self) -> None:
        """Open the sign-in dialog (start of shift, F9 to change operator)."""
        dialog = SignInDialog(self.operator_id, self)
        dialog.accepted.connect(lambda: self._sign_in(dialog.operator_id()))
        self._open_dialog(dialog)

    def _sign_in(self, operator_id: str) -> None:
        def done() -> None:
            self.operator_id = operator_id
            self._update_top()
            self._ok(phrase(QT_TRANSLATE_NOOP("MainWindow", "Signed in as {operator}."),
                            operator=operator_id))

        # What the operator before pressed is theirs: it goes now, before the change of operator,
        # or the station would record it under the next one.
        self._intents.flush()
        self._send("sign_in", done, self.station_actions.sign_in, operator_id)

    def confirm_current(self) -> None:
        """Enter: the operator agrees with the current verdict."""
        if self.recent.search.hasFocus():  # Enter in the search box means "search", not "confirm"
            self.recent.search_entered()
            return
        view = self.current_item()  # pinned now: a new item arriving during the undo time changes nothing
        if view is None:
            self.show_message(phrase(QT_TRANSLATE_NOOP("MainWindow", "No item to confirm yet.")))
            return
        if not self._signed_in():
            return
        verdict = view.verdict
        operator = self.operator_id
        words = DispositionWords(verdict.decision.disposition)
        notice = phrase(QT_TRANSLATE_NOOP("MainWindow", "Confirmed {item}: {disposition}"),
                        item=_item_name(verdict), disposition=words)

        def done() -> None:
            self._set_status(verdict.verdict_id, phrase(
                QT_TRANSLATE_NOOP("MainWindow", "Confirmed by {operator}"), operator=operator or ""))
            self._ok(phrase(QT_TRANSLATE_NOOP("MainWindow", "{notice} — recorded."), notice=notice))

        undone = phrase(QT_TRANSLATE_NOOP("MainWindow", "Confirm of {item} undone: nothing was recorded."),
                        item=_item_name(verdict))
        self._hold("confirm", verdict, notice, undone, done, self.station_actions.confirm, verdict.verdict_id)

    def override_current(self, disposition: str) -> None:
        """Number key: override the current verdict to `disposition` (asks the reason, maybe the PIN)."""
        view = self.current_item()  # pinned at the key press, before the dialog asks the reason
        if view is None:
            self.show_message(phrase(QT_TRANSLATE_NOOP("MainWindow", "No item to override yet.")))
            return
        self.override_item(view, disposition)

    def _override_shown(self) -> None:
        """The Override button: ask which disposition for the item on the card (pinned now)."""
        view = self.current_item()
        if view is None:
            self.show_message(phrase(QT_TRANSLATE_NOOP("MainWindow", "No item to override yet.")))
            return
        self.override_item(view)

    def override_item(self, view: ItemView, disposition: str | None = None) -> None:
        """Ask for the override of `view` (the current or a past item)."""
        if not self._signed_in():
            return
        waiting = self.active_dialog
        if isinstance(waiting, OverrideDialog) and waiting.isVisible():
            # One override at a time: a second dialog (Override in an item window while one is open) hid
            # the first, whose item the operator then answered without seeing it.
            waiting.raise_()
            waiting.activateWindow()
            return
        verdict = view.verdict
        now = verdict.decision.disposition
        dialog = OverrideDialog(
            self.settings.dispositions,
            disposition or now.value,
            self.settings.override_reasons,
            self.settings.supervisor_required_for,
            self.settings.supervisor_pin,
            (self.tr("{item} — now {disposition}") if verdict.item.rma
             else self.tr("Item without RMA — now {disposition}")).format(
                item=verdict.item.rma, disposition=theme.disposition_words(now)),
            self,
        )
        dialog.accepted.connect(
            lambda: self._override(verdict, dialog.chosen(), dialog.reason_text(), dialog.pin_text())
        )
        self._open_dialog(dialog)

    def _override(self, verdict: Verdict, disposition: str, reason: str, pin: str | None) -> None:
        operator = self.operator_id
        verdict_id = verdict.verdict_id
        words = DispositionWords(disposition)
        notice = phrase(QT_TRANSLATE_NOOP("MainWindow", "Override of {item} to {disposition}"),
                        item=_item_name(verdict), disposition=words)

        def done() -> None:
            self._set_status(verdict_id, phrase(
                QT_TRANSLATE_NOOP("MainWindow", "Overridden to {disposition} by {operator}"),
                disposition=words, operator=operator or ""))
            move = self._hand_move_of(verdict, disposition)
            if move is None:
                self._ok(phrase(QT_TRANSLATE_NOOP("MainWindow", "{notice} — recorded."), notice=notice))
            else:
                self._set_status(verdict_id, move)
                self.top.show_error(move)  # red: the item is in the wrong lane until someone moves it
                self.hand_moves.add(verdict_id, move)  # stays in view after the card moved on

        undone = phrase(
            QT_TRANSLATE_NOOP("MainWindow",
                              "Override of {item} to {disposition} undone: nothing was recorded."),
            item=_item_name(verdict), disposition=words)
        self._hold("override", verdict, notice, undone, done, self.station_actions.override,
                   verdict_id, disposition, reason, pin)

    def _hand_move_of(self, pinned: Verdict, disposition: str) -> Phrase | None:
        """What the operator must do by hand after an override the station flagged `move_by_hand`."""
        verdict_id = pinned.verdict_id
        shown = (v.verdict for v in reversed(self.state.recent()) if v.verdict.verdict_id == verdict_id)
        latest = next(shown, None)
        if latest is not None and MOVE_BY_HAND_FLAG not in latest.decision.flags:
            return None
        # An item no longer in the recent list (opened from a search) is judged on its routing as shown.
        latest = latest or pinned
        lanes = {name: number for number, name in self.settings.lane_names.items()}
        move = hand_move(latest, disposition, lanes)
        if move is None:
            return None
        return phrase(
            QT_TRANSLATE_NOOP("MainWindow",
                              "Take {item} out of lane {lane} ({lane_name}) and put it in {disposition}."),
            item=_item_name(latest),
            lane=move.lane,
            lane_name=DispositionWords(move.lane_name, lower=True),
            disposition=DispositionWords(disposition, lower=True),
        )

    def mark_current_for_supervisor(self) -> None:
        """S: flag the item on the card for a supervisor, with an optional note."""
        view = self.current_item()
        if view is None:
            self.show_message(phrase(QT_TRANSLATE_NOOP("MainWindow", "No item to mark yet.")))
            return
        if not self._signed_in():
            return
        verdict = view.verdict
        dialog = NoteDialog(verdict.item.rma or self.tr("this item"), self)

        def send() -> None:
            def done() -> None:
                self._set_status(verdict.verdict_id,
                                 phrase(QT_TRANSLATE_NOOP("MainWindow", "Waiting for a supervisor")))
                self._ok(phrase(QT_TRANSLATE_NOOP("MainWindow", "{item} marked for a supervisor."),
                                item=_item_name(verdict)))

            self._send(
                "needs_supervisor",
                done,
                self.station_actions.needs_supervisor,
                verdict.verdict_id,
                dialog.note_text(),
            )

        dialog.accepted.connect(send)
        self._open_dialog(dialog)

    def request_reinspect(self) -> None:
        """R: inspect the item on the bench again."""
        if self._signed_in():
            self._send(
                "reinspect",
                lambda: self._ok(phrase(QT_TRANSLATE_NOOP("MainWindow", "Re-inspection requested."))),
                self.station_actions.reinspect,
            )

    def request_trigger(self) -> None:
        """T: inspect now (bench mode)."""
        if self.mode != "bench":
            self.show_message(phrase(QT_TRANSLATE_NOOP(
                "MainWindow", "T triggers only in bench mode: on the conveyor the controller triggers.")))
            return
        if self._signed_in():
            self._send(
                "trigger", lambda: self._ok(phrase(QT_TRANSLATE_NOOP("MainWindow", "Inspection triggered."))),
                self.station_actions.trigger,
            )

    def take_scan(self, text: str) -> None:
        """A code typed by the keyboard-wedge scanner: inspect the item with it (bench mode)."""
        shown = text.replace(GS, "<GS>")
        if self.mode != "bench":
            self.show_message(phrase(
                QT_TRANSLATE_NOOP("MainWindow",
                                  "Scan {code} ignored: hand scans trigger only in bench mode."),
                code=shown))
            return
        if self._signed_in():
            self._send(
                "scan",
                lambda: self._ok(phrase(QT_TRANSLATE_NOOP("MainWindow", "Scanned {code}: inspecting."),
                                        code=shown)),
                self.station_actions.scan,
                text,
            )

    def _scan_ignored(self, text: str) -> None:
        self.top.show_error(phrase(QT_TRANSLATE_NOOP(
            "MainWindow",
            "Scanner input without Enter ignored ({count} characters) — "
            "check the scanner's suffix setting (Enter or Tab after each code)."), count=len(text)))

    def request_mode(self, mode: str) -> None:
        """Save bench/conveyor mode, then offer to restart the station in it now: the conveyor link or the
        bench's triggers are opened at start, so the station runs on in the mode it started in until then.
        "Restart now" closes the window (what waits for its undo time is sent first) and `run_app` returns
        `EXIT_RESTART`: `station run` stops the station and starts it again on the saved settings."""

        def later() -> None:
            bench = QT_TRANSLATE_NOOP("MainWindow", "Saved: bench mode from the next start. Restart the "
                                                    "station to switch.")
            conveyor = QT_TRANSLATE_NOOP("MainWindow", "Saved: conveyor mode from the next start. Restart "
                                                       "the station to switch.")
            self._ok(phrase(bench if mode == "bench" else conveyor))

        def saved() -> None:
            if not self.restart_offered:
                later()
                return
            dialog = RestartDialog(mode, self)
            dialog.accepted.connect(self._restart)
            dialog.rejected.connect(later)
            self._open_dialog(dialog)

        self._send("set_mode", saved, self.station_actions.set_mode, mode)

    def _restart(self) -> None:
        logger.info("restart asked from the window: closing it")
        self.restart_requested = True
        self.close()  # the last window: Qt's event loop ends, and `run_app` returns EXIT_RESTART

    def request_thresholds(self, values: dict[str, float]) -> None:
        """Send new policy thresholds (the station validates, writes config.toml and keeps a backup)."""
        self._send(
            "set_thresholds",
            lambda: self._ok(phrase(QT_TRANSLATE_NOOP(
                "MainWindow", "Thresholds saved to config.toml (backup kept)."))),
            self.station_actions.set_thresholds,
            dict(values),
        )

    # ----- dialogs ------------------------------------------------------------------------------
    def _open_dialog(self, dialog: QDialog) -> None:
        self.active_dialog = dialog
        dialog.finished.connect(lambda _r: self._dialog_closed(dialog))
        dialog.open()
        dialog.activateWindow()

    def _dialog_closed(self, dialog: QDialog) -> None:
        if self.active_dialog is dialog:
            self.active_dialog = None
        dialog.deleteLater()
        open_items = [d for d in self._dialogs if d.isVisible()]
        if open_items:  # an override asked from an item: the keys go back to that item, still on top
            open_items[-1].activateWindow()
            return
        self.activateWindow()  # back to the bench keys
        self.inspect_page.setFocus()

    def open_item(self, view: ItemView) -> None:
        """Open a past item with its images and history."""
        dialog = ItemDialog(
            view,
            self._history_source,
            self.settings.images_dir,
            self.settings.font_scale,
            self.settings.lane_names,
            self,
            repair_threshold=self.inspect_page.camera.repair_threshold,
        )
        dialog.override_requested.connect(self.override_item)
        self._dialogs.append(dialog)
        dialog.finished.connect(lambda _r: self._item_dialog_closed(dialog))
        dialog.show()
        # The kiosk runs X without a window manager: nothing gives a new window the keys, or gives
        # them back when it closes. Without this, O / 1-5 typed at the item shown went to the card's
        # item behind it, and after Close the bench keys were dead until the operator clicked.
        dialog.raise_()
        dialog.activateWindow()

    def _item_dialog_closed(self, dialog: ItemDialog) -> None:
        if dialog in self._dialogs:
            self._dialogs.remove(dialog)
        if self.active_dialog is not None and self.active_dialog.isVisible():
            return  # an override asked from the item keeps the keys
        open_items = [d for d in self._dialogs if d.isVisible()]
        if open_items:
            open_items[-1].activateWindow()
            return
        self.activateWindow()  # back to the bench keys
        self.inspect_page.setFocus()

    # ----- life -------------------------------------------------------------------------------------
    def _wants_live(self) -> bool:
        """Bench mode between items: none shown yet, or the operator has confirmed or overridden the
        one on the card (or is in its undo time): the next item is being placed."""
        if self._live_frames is None or self.mode != "bench":
            return False
        shown = self._shown
        if shown is None:
            return True
        verdict_id = shown.verdict.verdict_id
        return verdict_id in self._statuses or any(h.verdict_id == verdict_id for h in self._intents.held())

    def _show_live(self) -> None:
        """The live timer's round: the latest frame while live is wanted, the item's picture after."""
        if not self._wants_live():
            if self.live_shown:  # e.g. the confirm was undone: the item's picture again
                self.live_shown = False
                self.inspect_page.show_item_picture()
            return
        assert self._live_frames is not None
        try:
            frame = self._live_frames()
        except Exception as exc:  # a camera closing under us must not stop the window
            logger.debug("live frame: %s", exc)
            return
        if frame is None:  # no fresh frame: no picture rather than an old one captioned "Live"
            if self.live_shown:
                self.inspect_page.show_no_live()
            return
        self.inspect_page.show_live(frame)
        self.live_shown = True

    def start(self, ask_sign_in: bool = True) -> None:
        """After show(): start the statistics and, at the start of a shift, ask who is at the bench."""
        self.kpi.start()
        if self._live_frames is not None:
            self._live_timer.start()
        self.inspect_page.setFocus()
        if ask_sign_in and not self.operator_id:
            self.ask_sign_in()

    def shutdown(self) -> None:
        """Stop listening and let intents already sent reach the station."""
        self.bridge.detach()
        if self.wedge is not None:
            self.wedge.remove()
        self._render_timer.stop()
        self._live_timer.stop()
        self.kpi.close_worker()
        self._record_search.close()
        self.calibration_page.shutdown()
        self._intents.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.shutdown()
        super().closeEvent(event)

    def save_pages(self, path: Path) -> list[Path]:
        """PNG of the window at `path`, and of each other page beside it (`<stem>-<page>.png`)."""
        self._render_latest()
        saved = []
        current = self.tabs.currentIndex()
        names = ("inspect", "statistics", "settings", "calibration", "about")
        for index, name in enumerate(names):
            self.tabs.setCurrentIndex(index)
            QApplication.processEvents()  # lay the page out before grabbing it
            target = path if index == 0 else path.with_name(f"{path.stem}-{name}{path.suffix}")
            if not self.grab().save(str(target)):
                raise OSError(
                    f"could not write the screenshot {target}: check the folder exists and is writable"
                )
            saved.append(target)
        self.tabs.setCurrentIndex(current)
        return saved
