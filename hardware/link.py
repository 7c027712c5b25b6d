"""The station's end of the conveyor link over pyserial.

One reader thread owns the port: it opens it (exclusive), waits for the controller's
HELLO, feeds bytes to the sans-I/O `Connection`, runs its timers and delivers events to
the station's callback. Writes (DIVERT, CLEAR, ACKs, heartbeats) take one lock, so
`divert()` returns at once and its frame leaves immediately. Every failure goes through
`_connection_lost`: the port is closed, the station gets LinkDown, and the thread finds
the port again (by path or USB VID:PID) and reopens it with exponential back-off.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import serial

from hardware import events as ev
from hardware.messages import (
    Clear,
    ClearedMsg,
    Divert,
    DivertedMsg,
    EStopMsg,
    ItemAtCameraMsg,
    ItemEnteredMsg,
    JamMsg,
    LostMsg,
    LostReason,
    NackReason,
)
from hardware.ports import find_port, parse_usb_id
from hardware.protocol import (
    Acked,
    Connection,
    ConnectionState,
    Dropped,
    LinkStats,
    NotConnectedError,
    ProtocolEvent,
    Received,
    Rejected,
    Role,
    SessionLost,
    SessionStarted,
    Timing,
)

logger = logging.getLogger(__name__)

__all__ = ["SIM_PORT", "ConveyorLink", "LinkHealth", "LinkSettings", "LinkSettingsError"]

SIM_PORT = "sim"
"""The port name that means the built-in controller simulator (see `start_conveyor`)."""


class LinkSettingsError(ValueError):
    """Link settings that contradict each other; `key` names the setting to change."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class LinkSettings:
    """How to reach the controller; the station's config holds one, its keys flat in [hardware]."""

    # SIM_PORT starts the built-in simulator (`start_conveyor`); otherwise a path or name
    # (/dev/ttyUSB0, COM3), or "" to find the controller by usb_id.
    port: str = SIM_PORT
    usb_id: str = ""  # "VID:PID" in hex, used when the path is gone (replug, renumbering)
    baudrate: int = 115200
    heartbeat_ms: int = 200
    ack_timeout_ms: int = 50
    retries: int = 3
    silence_ms: int = 1000
    reconnect_backoff_s: float = 0.5
    reconnect_backoff_max_s: float = 10.0
    hello_warning_s: float = 3.0  # log (once) when no HELLO arrives this long after opening

    def __post_init__(self) -> None:
        if self.reconnect_backoff_s > self.reconnect_backoff_max_s:
            raise LinkSettingsError(
                "reconnect_backoff_s",
                f"reconnect_backoff_s ({self.reconnect_backoff_s}) is above reconnect_backoff_max_s "
                f"({self.reconnect_backoff_max_s})",
            )
        if self.silence_ms <= self.heartbeat_ms:
            raise LinkSettingsError(
                "silence_ms",
                f"silence_ms ({self.silence_ms}) must be above heartbeat_ms ({self.heartbeat_ms}), "
                "or every pause between heartbeats counts as the link down",
            )

    def timing(self) -> Timing:
        """The protocol timers of these settings."""
        return Timing(
            heartbeat_s=self.heartbeat_ms / 1000,
            ack_timeout_s=self.ack_timeout_ms / 1000,
            retries=self.retries,
            silence_s=self.silence_ms / 1000,
        )


@dataclass(frozen=True)
class LinkHealth:
    """A snapshot of the link for the UI, `status` and stats."""

    connected: bool
    port: str
    boot_id: int | None
    last_frame_age_s: float | None
    crc_errors: int
    frame_errors: int
    retransmits: int
    duplicates: int
    reconnects: int
    sessions: int
    commands_sent: int
    commands_rejected: int
    rtt_ms_p50: float | None
    rtt_ms_p99: float | None


@dataclass
class _Totals:
    crc_errors: int = 0
    frame_errors: int = 0
    retransmits: int = 0
    duplicates: int = 0
    sessions: int = 0
    reconnects: int = 0
    commands_sent: int = 0
    commands_rejected: int = 0
    rtt_s: deque[float] = field(default_factory=lambda: deque(maxlen=5000))

    def fold(self, stats: LinkStats) -> None:
        self.crc_errors += stats.crc_errors
        self.frame_errors += stats.frame_errors + stats.payload_errors
        self.retransmits += stats.retransmits
        self.duplicates += stats.duplicates
        self.sessions += stats.sessions


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _reason_name(code: int, enum: type[NackReason] | type[LostReason]) -> str:
    try:
        return enum(code).name
    except ValueError:
        return f"UNKNOWN_0x{code:02x}"


def wait_delivering(stop: threading.Event, deliver: Callable[[], None], seconds: float) -> bool:
    """Sleep `seconds` on a link's thread, still handing queued events to their callers every 50 ms;
    True when `stop` was set meanwhile (a back-off that must not hold the station's events)."""
    end = time.monotonic() + seconds
    while not stop.is_set():
        deliver()
        left = end - time.monotonic()
        if left <= 0:
            return False
        stop.wait(min(left, 0.05))
    return True


class ConveyorLink:
    """The serial link to the conveyor controller; `on_event` runs on the link's thread."""

    def __init__(self, port: str, settings: LinkSettings | None, on_event: Callable[[ev.Event], None]):
        base = settings or LinkSettings()
        self.settings = replace(base, port=port) if port else base
        if not self.settings.port and not self.settings.usb_id:
            raise ValueError("no conveyor port: set [hardware] port (e.g. /dev/ttyUSB0) or usb_id (VID:PID)")
        if self.settings.usb_id:
            parse_usb_id(self.settings.usb_id)  # a typo fails here, with what to write, not in the thread
        self._on_event = on_event
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial: serial.Serial | None = None
        self._conn: Connection | None = None
        self._port_open = ""
        self._totals = _Totals()
        self._local: list[ev.Event] = []  # events raised by callers' threads, delivered by ours
        self._write_error: Exception | None = None
        self._last_boot_id: int | None = None  # survives reconnects: same id = no reboot

    # ---- public API ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the link thread (it connects, and reconnects, on its own)."""
        if self._thread is not None:
            raise RuntimeError("ConveyorLink already started")
        self._thread = threading.Thread(target=self._run, name="conveyor-link", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close the port; the controller falls back to safe outputs."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def divert(self, item_id: int, lane: int, boot_id: int) -> None:
        """Ask for `item_id` (of controller boot `boot_id`) to go to `lane`; returns at once.

        The answer arrives as DivertAccepted or DivertRejected. A command for another boot
        than the current one is rejected here (STALE_BOOT) and never sent.
        """
        reason = ""
        with self._lock:
            conn = self._conn
            if conn is None or conn.state is not ConnectionState.ESTABLISHED:
                reason = "NOT_CONNECTED"
            elif conn.boot_id != boot_id:
                reason = NackReason.STALE_BOOT.name
            else:
                conn.send(Divert(boot_id, item_id, lane), time.monotonic())
                self._totals.commands_sent += 1
                self._flush_locked()
            if reason:
                self._totals.commands_rejected += 1
                self._local.append(ev.DivertRejected(boot_id, item_id, lane, reason))

    def clear(self) -> bool:
        """Send CLEAR after the operator cleared a jam or e-stop; False when not connected."""
        with self._lock:
            conn = self._conn
            if conn is None or conn.state is not ConnectionState.ESTABLISHED:
                return False
            try:
                conn.send(Clear(), time.monotonic())
            except NotConnectedError:
                return False
            self._totals.commands_sent += 1
            self._flush_locked()
            return True

    def health(self) -> LinkHealth:
        """Counters since start (over every reconnect) and the current state."""
        with self._lock:
            conn = self._conn
            totals = _Totals(**{k: v for k, v in self._totals.__dict__.items() if k != "rtt_s"})
            rtts = list(self._totals.rtt_s)
            connected = conn is not None and conn.state is ConnectionState.ESTABLISHED
            age = conn.silence_age(time.monotonic()) if conn is not None and connected else None
            if conn is not None:
                totals.fold(conn.stats)
            return LinkHealth(
                connected=connected,
                port=self._port_open,
                boot_id=conn.boot_id if conn is not None else None,
                last_frame_age_s=age,
                crc_errors=totals.crc_errors,
                frame_errors=totals.frame_errors,
                retransmits=totals.retransmits,
                duplicates=totals.duplicates,
                reconnects=totals.reconnects,
                sessions=totals.sessions,
                commands_sent=totals.commands_sent,
                commands_rejected=totals.commands_rejected,
                rtt_ms_p50=_ms(_percentile(rtts, 50)),
                rtt_ms_p99=_ms(_percentile(rtts, 99)),
            )

    @property
    def connected(self) -> bool:
        """True while a session with the controller is up."""
        conn = self._conn
        return conn is not None and conn.state is ConnectionState.ESTABLISHED

    # ---- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.settings.reconnect_backoff_s
        first = True
        while not self._stop.is_set():
            if not first:
                self._totals.reconnects += 1
                if self._wait(backoff):
                    break
                backoff = min(backoff * 2, self.settings.reconnect_backoff_max_s)
            first = False
            path = find_port(self.settings.port, self.settings.usb_id)
            if path is None:
                logger.warning(
                    "conveyor controller not found (port %r, usb_id %r); retrying in %.1f s — check the "
                    "cable and [hardware] port / usb_id", self.settings.port, self.settings.usb_id, backoff,
                )
                continue
            try:
                port = serial.Serial(path, self.settings.baudrate, timeout=0.005, write_timeout=0.5,
                                     exclusive=True)
            except (serial.SerialException, OSError, ValueError) as exc:
                logger.warning("cannot open the conveyor port %s (%s); retrying in %.1f s",
                               path, exc, backoff)
                continue
            logger.info("conveyor port %s open; waiting for the controller's HELLO", path)
            with self._lock:
                self._serial = port
                self._port_open = path
                self._write_error = None
                self._conn = Connection(Role.HOST, time.monotonic(), self.settings.timing(),
                                        known_boot_id=self._last_boot_id)
            try:
                if self._serve(port):
                    backoff = self.settings.reconnect_backoff_s
            except (serial.SerialException, OSError) as exc:
                self._connection_lost(exc)
            else:
                self._connection_lost(None)
        self._deliver([])

    def _wait(self, seconds: float) -> bool:
        """Sleep `seconds` while still delivering callers' events; True when stopped."""
        return wait_delivering(self._stop, lambda: self._deliver([]), seconds)

    def _serve(self, port: serial.Serial) -> bool:
        """Read until stopped or the port fails; returns True if a session came up."""
        opened = time.monotonic()
        warned = False
        had_session = False
        while not self._stop.is_set():
            waiting = port.in_waiting
            data = port.read(waiting or 1)
            now = time.monotonic()
            with self._lock:
                if self._write_error is not None:
                    raise serial.SerialException(f"write failed: {self._write_error}")
                conn = self._conn
                assert conn is not None
                if data:
                    conn.receive_data(data, now)
                conn.tick(now)
                self._flush_locked()
                proto_events = conn.events()
                if conn.state is ConnectionState.ESTABLISHED:
                    had_session = True
            if not warned and not had_session and now - opened > self.settings.hello_warning_s:
                warned = True
                logger.warning(
                    "no HELLO from the controller on %s after %.0f s: is it a conveyor controller, at "
                    "%d baud? still waiting", self._port_open, now - opened, self.settings.baudrate,
                )
            self._deliver(self._translate(proto_events, now))
        return had_session

    def _flush_locked(self) -> None:
        conn, port = self._conn, self._serial
        if conn is None or port is None:
            return
        data = conn.data_to_send()
        if not data or self._write_error is not None:
            return
        try:
            port.write(data)
        except (serial.SerialException, OSError) as exc:
            # The reader thread owns failures: it sees this and goes through _connection_lost.
            self._write_error = exc

    def _connection_lost(self, exc: Exception | None) -> None:
        with self._lock:
            conn, port = self._conn, self._serial
            self._conn = None
            self._serial = None
            pending: list[ProtocolEvent] = []
            if conn is not None:
                # What was never acknowledged is dropped, never resent on a later session.
                reason = f"port {self._port_open}: {exc}" if exc is not None else "link stopped"
                conn.close(reason, time.monotonic())
                pending = conn.events()
                self._totals.fold(conn.stats)
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()
        if exc is not None:
            logger.warning("conveyor port %s failed: %s; reconnecting", self._port_open, exc)
        self._deliver(self._translate(pending, time.monotonic()))

    def _translate(self, proto_events: list[ProtocolEvent], now: float) -> list[ev.Event]:
        # Under the lock: it updates the totals that health() reads from other threads.
        with self._lock:
            return self._translate_locked(proto_events, now)

    def _translate_locked(self, proto_events: list[ProtocolEvent], now: float) -> list[ev.Event]:
        out: list[ev.Event] = []
        for pe in proto_events:
            if isinstance(pe, SessionStarted):
                self._last_boot_id = pe.boot_id
                logger.info("conveyor controller up on %s: boot %08x%s", self._port_open, pe.boot_id,
                            " (new boot: tracking flushed)" if pe.new_boot else "")
                out.append(ev.LinkUp(pe.boot_id, pe.new_boot, self._port_open, pe.hello.lane_count,
                                     pe.hello.default_lane, pe.hello.capabilities))
            elif isinstance(pe, SessionLost):
                out.append(ev.LinkDown(pe.reason))
            elif isinstance(pe, Received):
                # The boot the frame arrived in, not the current one: never misattribute an item.
                out.extend(self._from_controller(pe, pe.boot_id or 0, now))
            elif isinstance(pe, Acked):
                if pe.rtt_s is not None:
                    self._totals.rtt_s.append(pe.rtt_s)
                if isinstance(pe.message, Divert):
                    m = pe.message
                    out.append(ev.DivertAccepted(m.boot_id, m.item_id, m.lane, _ms(pe.rtt_s)))
            elif isinstance(pe, Rejected):
                if pe.rtt_s is not None:
                    self._totals.rtt_s.append(pe.rtt_s)
                self._totals.commands_rejected += 1
                name = _reason_name(pe.reason, NackReason)
                if isinstance(pe.message, Divert):
                    m = pe.message
                    out.append(ev.DivertRejected(m.boot_id, m.item_id, m.lane, name))
                else:
                    out.append(ev.ClearRejected(name))
            elif isinstance(pe, Dropped) and isinstance(pe.message, Divert):
                m = pe.message
                self._totals.commands_rejected += 1
                out.append(ev.DivertRejected(m.boot_id, m.item_id, m.lane, "LINK_RESET"))
        return out

    @staticmethod
    def _from_controller(pe: Received, boot_id: int, now: float) -> list[ev.Event]:
        m = pe.message
        if isinstance(m, ItemAtCameraMsg):
            return [ev.ItemAtCamera(boot_id, m.item_id, now + m.deadline_ms / 1000, m.deadline_ms)]
        if isinstance(m, ItemEnteredMsg):
            return [ev.ItemEntered(boot_id, m.item_id)]
        if isinstance(m, DivertedMsg):
            return [ev.Diverted(boot_id, m.item_id, m.lane, bool(m.commanded))]
        if isinstance(m, LostMsg):
            return [ev.Lost(boot_id, m.item_id, _reason_name(m.reason, LostReason))]
        if isinstance(m, JamMsg):
            return [ev.Jam(m.zone)]
        if isinstance(m, EStopMsg):
            return [ev.EStop()]
        if isinstance(m, ClearedMsg):
            return [ev.Cleared()]
        return []

    def _deliver(self, out: list[ev.Event]) -> None:
        with self._lock:
            local, self._local = self._local, []
        for event in [*local, *out]:
            try:
                self._on_event(event)
            except Exception:
                # A bug in the station's handler must not kill the link thread.
                logger.exception("conveyor event handler failed on %s", event)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
