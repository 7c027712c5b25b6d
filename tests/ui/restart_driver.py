"""`station run` with its window, driven by key presses and clicks the way the operator does: sign in,
wait for items, F3, the other mode's button, Switch mode, Enter on "Restart now"; in the window of the
station started again, say its mode and operator on stdout and close it.

    python restart_driver.py DB_PATH bench|conveyor <station argv...>
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest

from station.cli import main
from station.ui.dialogs import RestartDialog, SignInDialog
from station.ui.main_window import MainWindow

ITEMS_BEFORE_SWITCH = 3
_start = MainWindow.start
_windows: list[MainWindow] = []


def _items(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0) as conn:
            return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


class _Operator:
    """One step each tick: what the operator would do next in front of `window`."""

    def __init__(self, window: MainWindow, db: Path, mode: str) -> None:
        self.window = window
        self.db = db
        self.mode = mode
        self.switched = False
        self.timer = QTimer()
        self.timer.setInterval(200)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        window = self.window
        dialog = window.active_dialog
        if len(_windows) > 1:  # the station started again: say what it runs as and for whom, and close it
            asked = isinstance(dialog, SignInDialog) and dialog.isVisible()
            print(f"window {len(_windows)} mode {window.settings.mode} operator {window.operator_id}"
                  f"{' (asked to sign in)' if asked else ''}", flush=True)
            self.timer.stop()
            window.close()
        elif isinstance(dialog, SignInDialog) and dialog.isVisible():
            QTest.keyClicks(dialog.operator, "op-7")
            QTest.keyClick(dialog.operator, Qt.Key.Key_Return)
        elif isinstance(dialog, RestartDialog) and dialog.isVisible():
            self.timer.stop()
            dialog.activateWindow()
            QTest.keyClick(dialog, Qt.Key.Key_Return)
        elif not self.switched and window.operator_id and _items(self.db) < ITEMS_BEFORE_SWITCH:
            if window.settings.mode == "bench":  # at a bench the operator inspects: T
                QTest.keyClick(window.inspect_page, Qt.Key.Key_T)
        elif not self.switched and window.operator_id:
            self.switched = True
            QTest.keyClick(window, Qt.Key.Key_F3)
            page = window.settings_page
            button = page.bench if self.mode == "bench" else page.conveyor
            QTest.mouseClick(button, Qt.MouseButton.LeftButton)
            QTest.mouseClick(page.switch, Qt.MouseButton.LeftButton)


def _driven_start(window: MainWindow, ask_sign_in: bool = True) -> None:
    _start(window, ask_sign_in)
    _windows.append(window)
    window._driver = _Operator(window, Path(sys.argv[1]), sys.argv[2])  # type: ignore[attr-defined]


if __name__ == "__main__":
    MainWindow.start = _driven_start  # type: ignore[method-assign]
    sys.exit(main(sys.argv[3:]))
