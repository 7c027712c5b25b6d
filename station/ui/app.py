"""`run_app`: open the station's window on a running `StationState` (what `station run` calls)."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from calibration.board import BoardSpec
from station.state import StationActions, StationState
from station.ui.calibration_page import FrameSource, WizardSettings
from station.ui.item_dialog import HistorySource
from station.ui.kpi_panel import KpiSource
from station.ui.main_window import MainWindow
from station.ui.pages import ModelsSource
from station.ui.record_search import SearchSource
from station.ui.settings import EXIT_RESTART, UiSettings, display_available
from station.ui.translation import install

logger = logging.getLogger(__name__)

BASE_POINT_SIZE = 11.0  # before font_scale; legible at arm's length on a 1366x768 panel

# While Qt's event loop runs, Python's signal handlers only run when some Python code does: this
# timer both gives them that chance and looks at the stop request they set.
STOP_POLL_MS = 100


class _StopWatch:
    """Closes the window and ends the event loop once `stop` is set (SIGTERM from a service stop)."""

    def __init__(self, app: QApplication, window: MainWindow, stop: threading.Event) -> None:
        self.app = app
        self.window = window
        self.stop = stop
        self.timer = QTimer()
        self.timer.setInterval(STOP_POLL_MS)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def _poll(self) -> None:
        if not self.stop.is_set():
            return
        self.timer.stop()
        logger.info("stop requested: closing the window")
        # Closing sends the confirms and overrides still waiting for their undo time.
        self.window.close()
        self.app.exit(0)


def application(font_scale: float = 1.0, offscreen: bool = False) -> QApplication:
    """The process's QApplication (created once), with the station's base font size."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        if offscreen and not display_available():
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QApplication(sys.argv[:1])
        app.setApplicationName("returns-station")
    font = app.font()
    font.setPointSizeF(BASE_POINT_SIZE * font_scale)
    app.setFont(font)
    return app


class _ScreenshotJob:
    """Waits for `items` decided items, counted in the top line and in statistics asked for after
    them, then saves the pages and quits."""

    def __init__(
        self, app: QApplication, window: MainWindow, path: Path, items: int, timeout_s: float
    ) -> None:
        self.app = app
        self.window = window
        self.path = path
        self.items = items
        self.deadline = time.monotonic() + timeout_s
        self.exit_code = 1
        self.timer = QTimer()
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._poll)
        self.settled_at: float | None = None
        self.kpi_mark: int | None = None  # statistics reports finished when the items were decided

    def start(self) -> None:
        self.timer.start()

    def _poll(self) -> None:
        decided = self.window.items_seen >= self.items
        counted = self.window.items_counted
        kpi = self.window.kpi
        if decided and self.kpi_mark is None and kpi.has_source and not kpi.busy_reporting:
            # Statistics of these items: a report asked for now, not the one made at start.
            self.kpi_mark = kpi.loads
            kpi.refresh()
        kpi_ready = not kpi.has_source or (self.kpi_mark is not None and kpi.loads > self.kpi_mark)
        # The top line too: its counters come once a second, after the items.
        ready = decided and kpi_ready and counted is not None and counted >= self.items
        timed_out = time.monotonic() > self.deadline
        if not ready and not timed_out:
            return
        if ready and self.settled_at is None:
            self.settled_at = time.monotonic()  # give the coalesced redraw one more round
            return
        self.timer.stop()
        if not ready:
            logger.warning(
                "screenshot: only %d of %d items decided before the timeout; saving what is shown",
                self.window.items_seen,
                self.items,
            )
        try:
            saved = self.window.save_pages(self.path)
        except OSError as exc:
            logger.error("%s", exc)
            self.exit_code = 1
        else:
            logger.info("screenshot saved: %s", ", ".join(str(p) for p in saved))
            self.exit_code = 0 if ready else 1
        self.app.exit(self.exit_code)


def run_app(
    state: StationState,
    actions: StationActions,
    settings: UiSettings,
    *,
    kpi_source: KpiSource | None = None,
    history_source: HistorySource | None = None,
    search_source: SearchSource | None = None,
    screenshot: Path | None = None,
    items: int | None = None,
    about: dict[str, Any] | None = None,
    config_text: str = "",
    config_source: str = "",
    calibration_frames: FrameSource | None = None,
    live_frames: FrameSource | None = None,
    calibration_file: Path | None = None,
    board: BoardSpec | None = None,
    calibration_settings: WizardSettings | None = None,
    stop: threading.Event | None = None,
    models_source: ModelsSource | None = None,
    beeper: Callable[[], None] | None = None,
    restart: bool = False,
) -> int:
    """Show the window until it is closed (exit code 0), or, with `screenshot`, save PNGs and return.

    `stop` (set by the SIGTERM handler of `station run`, on any thread) closes the window and
    returns 0 within `STOP_POLL_MS`; what waits for its undo time is sent first. `models_source()`
    names the models in use on the About page. `beeper` sounds the operator's alert (the alert tone;
    the desktop's bell without it). With `restart`, a switch of bench/conveyor mode offers to restart
    the station now; the operator's yes closes the window and returns `EXIT_RESTART`.

    With `screenshot`, waits until `items` items were decided (default 1), counted in the top
    line and in statistics asked for after them, or `settings.screenshot_timeout_s`, then saves the window at
    `screenshot` and each other page as `<stem>-<page>.png`; returns 1 on timeout.
    `history_source(verdict_id)` gives an item's revisions for the item dialog;
    `search_source(text)` looks RMA / GTIN words up in the record (Enter in the search box).
    `live_frames()` (the first camera's latest frame) is shown live in bench mode between items.
    With `calibration_frames` (the camera's latest frame), `calibration_file` and `board`, the
    calibration page is the wizard (docs/ui.md); without them it shows the status only.
    Runs offscreen when there is no display. The caller keeps running the pipeline
    (on its own threads) while this runs the Qt event loop on the calling thread.
    """
    app = application(settings.font_scale, offscreen=screenshot is not None)
    # Before the window exists, so every widget is built in the operator's language.
    install(app, settings.language)
    window = MainWindow(
        state,
        actions,
        settings,
        kpi_source=kpi_source,
        history_source=history_source,
        search_source=search_source,
        about=about,
        config_text=config_text,
        config_source=config_source,
        calibration_frames=calibration_frames,
        live_frames=live_frames,
        calibration_file=calibration_file,
        board=board,
        calibration_settings=calibration_settings,
        models_source=models_source,
        beeper=beeper,
    )
    window.restart_offered = restart
    window.resize(*settings.window_size)
    job: _ScreenshotJob | None = None
    if screenshot is not None:
        window.show()
        window.start(ask_sign_in=False)
        job = _ScreenshotJob(
            app, window, screenshot, items if items is not None else 1, settings.screenshot_timeout_s
        )
        job.start()
    else:
        if settings.fullscreen:
            # A kiosk's bare X session has no window manager to honour the full-screen state:
            # the screen's own size makes it so there as well.
            window.setGeometry(window.screen().geometry())
            window.showFullScreen()
        else:
            window.show()
        window.start(ask_sign_in=True)
    watch = _StopWatch(app, window, stop) if stop is not None else None
    code = app.exec()
    if watch is not None:
        watch.timer.stop()
    window.shutdown()
    window.close()
    window.deleteLater()
    if job is not None:
        return job.exit_code
    if window.restart_requested:
        return EXIT_RESTART
    return int(code)
