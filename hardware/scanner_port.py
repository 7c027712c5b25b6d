"""A serial hand scanner: one thread owns the port and hands each scanned line to a callback.

Knows nothing of barcodes (the station parses lines with `vision.barcode.scanner`); it
only frames bytes into lines (CR, LF or CR LF) and survives unplugging: a failure is
reported once through `on_error` and the port is reopened with back-off until `stop()`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import serial

__all__ = ["ScannerPort"]

logger = logging.getLogger(__name__)

_MAX_LINE = 4096  # a scanner line longer than this is noise (wrong baud rate), not a code


class ScannerPort:
    """Reads lines from a serial scanner on `port` (name or pyserial URL) in a background thread."""

    def __init__(
        self,
        port: str,
        on_line: Callable[[str], None],
        *,
        baudrate: int = 9600,
        on_error: Callable[[Exception], None] | None = None,
        reopen_backoff_s: float = 0.5,
        reopen_backoff_max_s: float = 10.0,
        encoding: str = "latin-1",
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self._on_line = on_line
        self._on_error = on_error
        self._backoff = reopen_backoff_s
        self._backoff_max = reopen_backoff_max_s
        self._encoding = encoding
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lines_read = 0
        self.errors = 0
        # Set while the port is open; opening discards what the scanner sent before.
        self.connected = threading.Event()

    def start(self) -> None:
        """Open the port and start reading (returns at once)."""
        if self._thread is not None:
            raise RuntimeError(f"scanner port {self.port} is already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"scanner-{self.port}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading and close the port."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.connected.clear()

    def _run(self) -> None:
        delay = self._backoff
        while not self._stop.is_set():
            try:
                with serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0.1) as link:
                    logger.info("scanner port %s open at %d baud", self.port, self.baudrate)
                    delay = self._backoff
                    self.connected.set()
                    self._read_lines(link)
            except (serial.SerialException, OSError) as exc:
                self.connected.clear()
                self.errors += 1
                logger.warning("scanner port %s failed (%s); reopening in %.1f s", self.port, exc, delay)
                if self._on_error is not None:
                    self._on_error(exc)
                self._stop.wait(delay)
                delay = min(delay * 2, self._backoff_max)

    def _read_lines(self, link: serial.SerialBase) -> None:
        buffer = bytearray()
        while not self._stop.is_set():
            # in_waiting is on Serial, not on every SerialBase a URL may give (e.g. loop://).
            chunk = link.read(max(1, int(getattr(link, "in_waiting", 0))))
            if not chunk:
                continue
            buffer.extend(chunk)
            while True:
                ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
                if not ends:
                    break
                end = min(ends)
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                if line:
                    self._deliver(line)
            if len(buffer) > _MAX_LINE:
                logger.warning("scanner port %s: %d bytes without a line end dropped (baud rate?)",
                               self.port, len(buffer))
                buffer.clear()

    def _deliver(self, line: bytes) -> None:
        self.lines_read += 1
        try:
            self._on_line(line.decode(self._encoding))
        except Exception:  # a faulty consumer must not kill the port's thread
            logger.exception("scanner line handler failed on %r", line)
