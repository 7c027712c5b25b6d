"""Keyboard-wedge hand scanners in the window: a fast burst of typed characters ended by Enter is a scan.

Most USB hand scanners are keyboard wedges: they type the code's characters 2–15 ms apart and
then Enter (or Tab, a scanner setting); people type 80 ms or more apart. `WedgeFilter`,
installed on the application for one window, holds back each printable key pressed in that
window outside a text-entry widget for `gap_ms`:

- further printable keys within the gap, then Enter / Return / Tab: a scan, `scanned(text)`
  is emitted and no key reaches the window (no bench shortcut fires);
- no second key within the gap: the held key is replayed as the normal key press (shortcuts
  such as T trigger, R re-inspect work as before, `gap_ms` later);
- a burst that ends without Enter / Tab: dropped, `ignored(text)` is emitted (the scanner's
  suffix is probably not set); it is not turned into shortcuts.

Typing in line edits, text edits, spin boxes and editable combo boxes is never touched, nor are
keys in other windows (dialogs). Ctrl+] or a typed ASCII 29 (how wedges send the GS1 group
separator, FNC1) is kept as "\\x1d" in the scanned text.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

logger = logging.getLogger(__name__)

DEFAULT_GAP_MS = 50.0  # wedges type every 2–15 ms, people every 80 ms or more
GS = "\x1d"  # GS1 group separator (FNC1 in a GS1-128 / DataMatrix code)

# Keys that come between a scan's characters without being one: Shift for capitals, Ctrl for Ctrl+].
_MODIFIER_KEYS = frozenset({
    Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_AltGr, Qt.Key.Key_Meta,
    Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock, Qt.Key.Key_Super_L, Qt.Key.Key_Super_R,
})
_END_KEYS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab})
_COMMAND_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
)
_KEY_EVENTS = (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress, QEvent.Type.KeyRelease)


@dataclass(frozen=True)
class _Held:
    """One key press held back: what to replay, and the character(s) it adds to a scan."""

    target: QWidget
    key: int
    modifiers: Qt.KeyboardModifier
    text: str
    chars: str


def scan_chars(event: QKeyEvent) -> str:
    """The character(s) a scanner means by this key press, or "" for a key that is no scan character."""
    modifiers = event.modifiers()
    text = event.text()
    control = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
    if text == GS or (control and event.key() == Qt.Key.Key_BracketRight):
        return GS
    if modifiers & _COMMAND_MODIFIERS:
        return ""  # Ctrl / Alt / Meta combinations are commands (Ctrl+F), never part of a code
    return text if text and text.isprintable() else ""


def is_text_entry(widget: QWidget) -> bool:
    """Whether typing in `widget` edits text (keys there are the operator's, never a scan)."""
    if isinstance(widget, QLineEdit | QAbstractSpinBox):
        return not widget.isReadOnly()
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return False


class WedgeFilter(QObject):
    """Tells a keyboard-wedge scan from the operator's keys in `window` (see the module docstring)."""

    scanned = Signal(str)  # the scanned text, without the Enter / Tab that ended it
    ignored = Signal(str)  # a burst without Enter / Tab, dropped

    def __init__(self, window: QWidget, gap_ms: float = DEFAULT_GAP_MS, min_length: int = 2) -> None:
        super().__init__(window)
        if gap_ms <= 0:
            raise ValueError(f"gap_ms must be positive, got {gap_ms}")
        self.window = window
        self.gap_ms = gap_ms
        self.min_length = min_length  # one key then Enter is a person (T then Enter), not a scan
        self._held: list[_Held] = []
        self._last_at = 0.0
        self._late_once = False
        self._replaying = False
        self._swallow: set[int] = set()  # keys whose release belongs to a held (or replayed) press
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(1, round(gap_ms)))
        self._timer.timeout.connect(self._gap_elapsed)
        self._installed = False

    def install(self) -> None:
        """Start watching the window's keys (an application event filter: keys go to the focus widget)."""
        app = QApplication.instance()
        if app is not None and not self._installed:
            app.installEventFilter(self)
            self._installed = True

    def remove(self) -> None:
        """Stop watching; a key still held is dropped."""
        app = QApplication.instance()
        if app is not None and self._installed:
            app.removeEventFilter(self)
            self._installed = False
        self._timer.stop()
        self._held.clear()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Hold, replay or take the window's key presses; everything else passes."""
        if self._replaying or event.type() not in _KEY_EVENTS or not isinstance(event, QKeyEvent):
            return False
        if not isinstance(watched, QWidget) or watched is not self._first_receiver():
            # Another window (a dialog), or the key propagating to the focus widget's parents.
            return False
        key = event.key()
        if key in _MODIFIER_KEYS:
            return False
        if event.type() == QEvent.Type.KeyRelease:
            if key in self._swallow:
                self._swallow.discard(key)
                return True
            return False
        if is_text_entry(watched):
            return False
        chars = scan_chars(event)
        if chars and not event.isAutoRepeat():
            if event.type() == QEvent.Type.ShortcutOverride:
                # Accepting the override keeps Qt from firing a shortcut: the press comes to us instead.
                event.accept()
                return True
            self._hold(_Held(watched, key, event.modifiers(), event.text(), chars))
            return True
        if key in _END_KEYS and len(self._held) >= self.min_length:
            if event.type() == QEvent.Type.ShortcutOverride:
                event.accept()
                return True
            self._swallow.add(key)
            self._take_scan()
            return True
        # Any other key: what is held goes first (a single key as typed), then this key as usual.
        self._settle()
        return False

    # ----- internals ----------------------------------------------------------------------------
    def _first_receiver(self) -> QWidget | None:
        focus = QApplication.focusWidget()
        receiver = focus if focus is not None else QApplication.activeWindow()
        if receiver is None or receiver.window() is not self.window:
            return None
        return receiver

    def _hold(self, held: _Held) -> None:
        now = time.monotonic()
        if self._held and (now - self._last_at) * 1000.0 > self.gap_ms:
            # The gap timer has not run yet (a busy event loop) but this key came too late to be
            # part of a scan: what is held is settled as if the timer had fired in time.
            self._settle()
        self._held.append(held)
        self._swallow.add(held.key)
        self._last_at = now
        self._late_once = False
        self._timer.start()

    def _gap_elapsed(self) -> None:
        late_ms = (time.monotonic() - self._last_at) * 1000.0 - self.gap_ms
        if late_ms > self.gap_ms and not self._late_once:
            # The event loop was busy past the gap: keys typed meanwhile may still wait in the
            # queue. Look once more after they were delivered, so a scan is not cut in two.
            self._late_once = True
            self._timer.start()
            return
        self._settle()

    def _settle(self) -> None:
        """No scan after all: replay a single held key, drop a burst that did not end with Enter."""
        self._timer.stop()
        held, self._held = self._held, []
        if not held:
            return
        if len(held) < self.min_length:
            for one in held:
                self._replay(one)
            return
        text = "".join(h.chars for h in held)
        logger.info("scanner input without Enter ignored (%d characters)", len(text))
        self.ignored.emit(text)

    def _take_scan(self) -> None:
        self._timer.stop()
        text = "".join(h.chars for h in self._held)
        self._held = []
        logger.info("keyboard-wedge scan: %r", text)
        self.scanned.emit(text)

    def _replay(self, held: _Held) -> None:
        try:
            alive = held.target.isVisible() and held.target.window() is self.window
        except RuntimeError:  # the widget was deleted meanwhile (a page closed)
            alive = False
        if not alive:
            logger.debug("held key %r dropped: its widget is gone", held.text)
            return
        key = Qt.Key(held.key)
        self._replaying = True
        try:
            # A non-spontaneous key press goes through Qt's shortcut map first, like a typed key.
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(held.target, QKeyEvent(kind, key, held.modifiers, held.text))
        finally:
            self._replaying = False
