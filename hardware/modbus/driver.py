"""The station's end of a Modbus controller (a PLC or remote I/O), RTU over RS-485 or TCP.

`ModbusLink` offers what `hardware.link.ConveyorLink` offers (`divert`, `clear`, `health`,
`start`, `stop`) and reports the same `hardware.events`, so the station's bridge does not
know which controller it drives. One thread owns the pymodbus client: it polls the PLC's
header registers every `poll_ms`, reads the event ring behind the PLC's write counter,
writes one DIVERT at a time into the command registers and waits for the PLC to echo its
sequence number, and keeps the PLC's watchdog of the station alive. The register map is
in `hardware.modbus.registers` and hardware/MODBUS.md.

Safety follows PROTOCOL.md: a command is never sent after the item's deadline, nor for
another PLC boot than the current one; a PLC that stops answering or whose heartbeat
stops counts as down (LinkDown), and a PLC restart (new BOOT_COUNT, or its heartbeat or
event counter starting again from 0) voids every item id, as a controller reboot does.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException, ModbusIOException
from pymodbus.framer import FramerType

from hardware import events as ev
from hardware.link import LinkHealth, wait_delivering
from hardware.messages import LostReason, NackReason
from hardware.modbus.registers import (
    EVENT_WORDS,
    HEADER_WORDS,
    EventType,
    HoldingRegister,
    InputRegister,
    Status,
    ring_slot_ranges,
)
from hardware.modbus.settings import SIM_PORT, ModbusSettings, host_port

logger = logging.getLogger(__name__)

__all__ = ["ModbusLink", "quiet_pymodbus"]

class _PlcDownError(Exception):
    """The PLC stopped answering, or answers without running: end the session."""


class _PlcMapError(_PlcDownError):
    """The PLC answers but its registers break the map: a program or config to fix, so the
    reconnects back off as for a PLC that does not answer (no quick retry helps)."""


# Modbus exception codes, in the words PLC manuals use, and what each asks of the site.
_EXCEPTIONS = {
    1: "ILLEGAL FUNCTION", 2: "ILLEGAL DATA ADDRESS", 3: "ILLEGAL DATA VALUE", 4: "SERVER DEVICE FAILURE",
    5: "ACKNOWLEDGE", 6: "SERVER DEVICE BUSY", 10: "GATEWAY PATH UNAVAILABLE",
    11: "GATEWAY TARGET DEVICE FAILED TO RESPOND",
}


@dataclass
class _Command:
    boot_id: int
    item_id: int
    lane: int
    seq: int = 0
    first_sent: float | None = None
    last_sent: float = 0.0
    writes: int = 0
    answered: bool = False  # the last write was answered (so waiting for ACK_SEQ makes sense)


@dataclass
class _Totals:
    failed_requests: int = 0  # timeouts and exception responses
    exceptions: int = 0
    timeouts: int = 0
    retransmits: int = 0
    sessions: int = 0
    reconnects: int = 0
    commands_sent: int = 0
    commands_rejected: int = 0
    rtt_s: deque[float] = field(default_factory=lambda: deque(maxlen=5000))


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _name(code: int, enum: type[NackReason] | type[LostReason]) -> str:
    try:
        return enum(code).name
    except ValueError:
        return f"UNKNOWN_0x{code:02x}"


class ModbusLink:
    """The Modbus link to the conveyor's PLC; `on_event` runs on the link's thread."""

    def __init__(self, settings: ModbusSettings, on_event: Callable[[ev.Event], None],
                 port: str | None = None) -> None:
        self.settings = settings
        self.port = port or settings.port
        if self.port == SIM_PORT:
            raise ValueError("the simulated PLC's port comes from PlcSimRunner.start(); pass it as `port`")
        self.map = settings.register_map()
        self._read_words = settings.read_words_limit()  # per ring read: what the line carries in time
        self._on_event = on_event
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._totals = _Totals()
        self._local: list[ev.Event] = []
        self._queue: deque[_Command] = deque()
        self._inflight: _Command | None = None
        self._clear_wanted = False
        self._clear_seq: int | None = None
        # The session: None while down.
        self._boot_id: int | None = None
        self._plc_boot: int | None = None  # BOOT_COUNT of the current (or last) session
        self._epoch = 0  # bumped when the PLC restarts without a new BOOT_COUNT
        self._seq = 0
        self._cursor = 0  # the next event number to read
        self._heartbeat: int | None = None
        self._heartbeat_at = 0.0
        self._last_answer: float | None = None
        self._deadlines: dict[tuple[int, int], float] = {}
        self._alive = 0
        self._next_alive = 0.0
        self._fails = 0
        self._had_session = False
        # Why the last attempt to reach the PLC failed (None: none failed yet), for `station doctor`.
        self.last_problem: str | None = None
        self._answered = False  # the PLC ever answered (else: unit id, frame, wiring, not an outage)
        self._said: set[str] = set()  # what the log already said since the last session came up
        self._bad_slot: int | None = None  # the event number whose slot held another number

    # ---- public API ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the link thread (it connects, and reconnects, on its own)."""
        if self._thread is not None:
            raise RuntimeError("ModbusLink already started")
        quiet_pymodbus()
        self._thread = threading.Thread(target=self._run, name="modbus-link", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close the port; the PLC's watchdog then puts it in safe outputs."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def divert(self, item_id: int, lane: int, boot_id: int) -> None:
        """Ask for `item_id` (of PLC boot `boot_id`) to go to `lane`; returns at once.

        The answer arrives as DivertAccepted or DivertRejected. A command for another boot
        than the current one is rejected here (STALE_BOOT) and never written.
        """
        with self._lock:
            reason = ""
            if self._boot_id is None:
                reason = "NOT_CONNECTED"
            elif boot_id != self._boot_id:
                reason = NackReason.STALE_BOOT.name
            if reason:
                self._totals.commands_rejected += 1
                self._local.append(ev.DivertRejected(boot_id, item_id, lane, reason))
            else:
                self._queue.append(_Command(boot_id, item_id, lane))
        self._wake.set()

    def clear(self) -> bool:
        """Ask the PLC to clear a jam or e-stop the operator cleared; False when not connected."""
        with self._lock:
            if self._boot_id is None:
                return False
            self._clear_wanted = True
        self._wake.set()
        return True

    def health(self) -> LinkHealth:
        """Counters since start (over every reconnect) and the current state."""
        with self._lock:
            t = self._totals
            rtts = list(t.rtt_s)
            age = None if self._last_answer is None or self._boot_id is None else (
                time.monotonic() - self._last_answer)
            return LinkHealth(
                connected=self._boot_id is not None, port=self.port, boot_id=self._boot_id,
                last_frame_age_s=age, crc_errors=0, frame_errors=t.failed_requests,
                retransmits=t.retransmits, duplicates=0, reconnects=t.reconnects, sessions=t.sessions,
                commands_sent=t.commands_sent, commands_rejected=t.commands_rejected,
                rtt_ms_p50=_ms(_percentile(rtts, 50)), rtt_ms_p99=_ms(_percentile(rtts, 99)),
            )

    @property
    def connected(self) -> bool:
        """True while a session with the PLC is up."""
        return self._boot_id is not None

    @property
    def failures(self) -> dict[str, int]:
        """Failed requests by kind since start: {"timeouts": n, "exceptions": n}."""
        with self._lock:
            return {"timeouts": self._totals.timeouts, "exceptions": self._totals.exceptions}

    # ---- the thread ---------------------------------------------------------------------

    def _client(self) -> ModbusSerialClient | ModbusTcpClient:
        s = self.settings
        timeout = s.timeout_ms / 1000
        if s.transport == "tcp":
            host, port = host_port(self.port)
            return ModbusTcpClient(host, port=port, timeout=timeout, retries=0)
        return ModbusSerialClient(self.port, framer=FramerType.RTU, baudrate=s.baudrate, parity=s.parity,
                                  stopbits=s.stopbits, bytesize=8, timeout=timeout, retries=0)

    def _run(self) -> None:
        backoff = self.settings.reconnect_backoff_s
        first = True
        while not self._stop.is_set():
            if not first:
                with self._lock:
                    self._totals.reconnects += 1
                if self._wait(backoff):
                    break
                backoff = min(backoff * 2, self.settings.reconnect_backoff_max_s)
            first = False
            client = self._client()
            self._had_session = False
            try:
                if not client.connect():
                    kind = self.settings.transport.upper()
                    self.last_problem = f"cannot open the PLC's {kind} port {self.port}"
                    logger.warning("%s; retrying in %.1f s", self.last_problem, backoff)
                    continue
                logger.info("PLC port %s open (Modbus %s, unit %d)", self.port,
                            self.settings.transport.upper(), self.settings.unit_id)
                self._serve(client)
                self._session_down("link stopped")
            except _PlcMapError as exc:
                self.last_problem = str(exc)
                logger.error("PLC on %s: %s; reconnecting in %.1f s", self.port, exc, backoff)
                self._session_down(str(exc))
                self._had_session = False
            except _PlcDownError as exc:
                self.last_problem = str(exc)
                logger.warning("PLC on %s: %s; reconnecting", self.port, exc)
                self._session_down(str(exc))
            except (ModbusException, OSError) as exc:
                self.last_problem = f"port {self.port}: {exc}"
                logger.warning("PLC port %s failed: %s; reconnecting", self.port, exc)
                self._session_down(f"port {self.port}: {exc}")
            finally:
                client.close()  # type: ignore[no-untyped-call]
            if self._had_session:
                # It worked until this failure: try again soon, the events wait in the PLC's ring.
                backoff = self.settings.reconnect_backoff_s
        self._deliver([])

    def _wait(self, seconds: float) -> bool:
        """Sleep `seconds` while still delivering callers' events; True when stopped."""
        return wait_delivering(self._stop, lambda: self._deliver([]), seconds)

    def _serve(self, client: ModbusSerialClient | ModbusTcpClient) -> None:
        """Poll until stopped (_PlcDownError when the PLC stops answering)."""
        self._fails = 0
        self._heartbeat = None
        while not self._stop.is_set():
            out: list[ev.Event] = []
            if self._boot_id is not None:
                self._keep_alive(client)
                self._pump_commands(client, out)
            sent = time.monotonic()
            header = self._read(client, self.map.ir_base, HEADER_WORDS)
            if header is not None:
                self._header(client, header, sent, out)
                self._had_session = self._had_session or self._boot_id is not None
            self._deliver(out)
            busy = self._inflight is not None or self._queue or self._clear_wanted
            if not busy:
                self._wake.wait(self.settings.poll_ms / 1000)
                self._wake.clear()

    # ---- requests -----------------------------------------------------------------------

    def _failed(self, what: str, exception: bool) -> None:
        with self._lock:
            self._totals.failed_requests += 1
            if exception:
                self._totals.exceptions += 1
            else:
                self._totals.timeouts += 1
        self._fails += 1
        if self._fails > self.settings.retries:
            hint = "" if self._answered or exception else f": {self._never_answered()}"
            raise _PlcDownError(f"{self._fails} requests in a row failed (the last: {what}){hint}")

    def _no_answer(self, request: str, exc: ModbusException) -> str:
        if isinstance(exc, ModbusIOException):  # pymodbus's words for a timeout
            return f"no answer within {self.settings.timeout_ms} ms to {request}"
        return f"{request} failed: {exc}"

    def _never_answered(self) -> str:
        """What to check when nothing at all answered since the port opened."""
        s = self.settings
        if s.transport == "tcp":
            return (f"the PLC took the connection but answered nothing; check [hardware.modbus] unit_id "
                    f"({s.unit_id}) against the PLC's Modbus address, and that its Modbus server runs")
        return (f"nothing answered on this port; check [hardware.modbus] unit_id ({s.unit_id}), baudrate, "
                f"parity and stopbits ({s.baudrate} 8{s.parity}{s.stopbits}) against the PLC's, and swap "
                "the A and B wires once")

    def _say_once(self, message: str) -> None:
        """Log an error the PLC repeats on every request once (until a session comes up)."""
        if message not in self._said:
            self._said.add(message)
            logger.error(message)

    def _refused(self, code: int, function: int, address: int, count: int) -> str:
        """An exception response in words; the ones a setting or the PLC program must fix are logged."""
        what = "reading input registers" if function == 4 else "writing holding registers"
        span = f"{address}..{address + count - 1}"
        s = self.settings
        if code == 1:
            self._say_once(f"the PLC does not serve function {function} ({what}): the map needs function 4 "
                           "for its input registers and 16 for its holding registers; enable them in the "
                           "PLC's Modbus server (hardware/MODBUS.md)")
        elif code == 2:
            kind, key, first = (("input", "ir_base and ring_slots", 30001) if function == 4
                                else ("holding", "hr_base", 40001))
            self._say_once(f"the PLC has no {kind} registers {span}: check [hardware.modbus] {key} against "
                           f"the PLC program (addresses count from 0: the PLC tool's {first} is address 0)")
        elif code == 3:
            self._say_once(f"the PLC refuses {what} {span} ({count} registers in one request): its "
                           "Modbus server must take up to 125 registers per read and 4 per write "
                           "(hardware/MODBUS.md)")
        elif code in (10, 11):
            self._say_once(f"the gateway found no PLC at unit id {s.unit_id}: check [hardware.modbus] "
                           "unit_id against the PLC's Modbus address, and the gateway's serial side")
        name = _EXCEPTIONS.get(code, "unknown exception")
        return f"exception {code} ({name}) {what} at {address}"

    def _read(self, client: ModbusSerialClient | ModbusTcpClient, address: int,
              count: int) -> list[int] | None:
        """Read `count` input registers; None when this request failed (counted)."""
        try:
            response = client.read_input_registers(address, count=count, device_id=self.settings.unit_id)
        except ModbusException as exc:
            self._failed(self._no_answer(f"reading {count} input registers at {address}", exc), False)
            return None
        self._answered = True
        if response.isError():
            self._failed(self._refused(getattr(response, "exception_code", 0), 4, address, count), True)
            return None
        registers = list(response.registers)
        if len(registers) != count:
            self._failed(f"{len(registers)} registers instead of {count} at {address}", True)
            return None
        self._fails = 0
        self._last_answer = time.monotonic()
        return registers

    def _write(self, client: ModbusSerialClient | ModbusTcpClient, address: int,
               values: Sequence[int]) -> bool:
        """Write holding registers with function 16; False when the request failed (counted)."""
        try:
            response = client.write_registers(address, list(values), device_id=self.settings.unit_id)
        except ModbusException as exc:
            self._failed(self._no_answer(f"writing {len(values)} holding registers at {address}", exc), False)
            return False
        self._answered = True
        if response.isError():
            code = getattr(response, "exception_code", 0)
            self._failed(self._refused(code, 16, address, len(values)), True)
            return False
        self._fails = 0
        self._last_answer = time.monotonic()
        return True

    def _keep_alive(self, client: ModbusSerialClient | ModbusTcpClient) -> None:
        now = time.monotonic()
        if now < self._next_alive:
            return
        self._alive = self._alive % 0xFFFF + 1
        if self._write(client, self.map.hr(HoldingRegister.HOST_ALIVE), [self._alive]):
            self._next_alive = now + self.settings.heartbeat_ms / 1000

    # ---- commands -----------------------------------------------------------------------

    def _pump_commands(self, client: ModbusSerialClient | ModbusTcpClient, out: list[ev.Event]) -> None:
        now = time.monotonic()
        with self._lock:
            if self._inflight is None and self._queue:
                self._inflight = self._queue.popleft()
            command = self._inflight
            clear = self._clear_wanted and self._clear_seq is None
        if clear:
            self._clear_seq = (self._clear_seq_base + 1) % 0x10000 or 1
            if self._write(client, self.map.hr(HoldingRegister.CLEAR_SEQ), [self._clear_seq]):
                with self._lock:
                    self._clear_wanted = False
                    self._totals.commands_sent += 1
            else:
                self._clear_seq = None
        if command is None:
            return
        if not command.writes:
            # Judged once, before the first write: after one, the PLC may have executed it (its
            # answer lost), so the same command goes again and the PLC's ACK_CODE says how it went.
            deadline = self._deadlines.get((command.boot_id, command.item_id))
            reason = ""
            if command.boot_id != self._boot_id:
                reason = NackReason.STALE_BOOT.name
            elif deadline is not None and now >= deadline:
                reason = NackReason.TOO_LATE.name  # never written: the item is past the diverter's setup
            if reason:
                self._reject(command, reason, out)
                return
            self._seq = self._seq % 0xFFFF + 1
            command.seq = self._seq
            command.first_sent = now
        elif command.answered and now - command.last_sent < self.settings.ack_timeout_ms / 1000:
            return  # written: waiting for ACK_SEQ
        if command.writes > self.settings.retries:
            self._reject(command, "NO_ACK", out)
            return
        values = [command.item_id & 0xFFFF, command.lane, command.boot_id & 0xFFFF, command.seq]
        if command.writes:
            with self._lock:
                self._totals.retransmits += 1
        else:
            with self._lock:
                self._totals.commands_sent += 1
        command.writes += 1
        command.last_sent = now
        # One function 16 request: the PLC sees item, lane, boot and sequence together; the same
        # sequence written again is a no-op for a PLC that already executed it.
        command.answered = self._write(client, self.map.hr(HoldingRegister.CMD_ITEM), values)

    def _reject(self, command: _Command, reason: str, out: list[ev.Event]) -> None:
        with self._lock:
            if self._inflight is command:
                self._inflight = None
            self._totals.commands_rejected += 1
        out.append(ev.DivertRejected(command.boot_id, command.item_id, command.lane, reason))

    def _acknowledged(self, header: list[int], now: float, out: list[ev.Event]) -> None:
        command = self._inflight
        echoed = header[InputRegister.ACK_SEQ]
        written = command is not None and command.writes and command.first_sent is not None
        if command is not None and command.first_sent is not None and written and echoed == command.seq:
            code = header[InputRegister.ACK_CODE]
            rtt = now - command.first_sent
            with self._lock:
                self._inflight = None
                self._totals.rtt_s.append(rtt)
                if code:
                    self._totals.commands_rejected += 1
            # After a rewrite the time is not one round trip: report it as unknown, as the protocol link does.
            rtt_ms = rtt * 1000 if command.writes == 1 else None
            if code:
                out.append(ev.DivertRejected(command.boot_id, command.item_id, command.lane,
                                             _name(code, NackReason)))
            else:
                out.append(ev.DivertAccepted(command.boot_id, command.item_id, command.lane, rtt_ms))
        if self._clear_seq is not None and header[InputRegister.CLEAR_ACK] == self._clear_seq:
            self._clear_seq_base = self._clear_seq
            self._clear_seq = None
            if header[InputRegister.CLEAR_CODE]:
                out.append(ev.ClearRejected(_name(header[InputRegister.CLEAR_CODE], NackReason)))

    _clear_seq_base = 0

    # ---- the header and the events ------------------------------------------------------

    def _header(self, client: ModbusSerialClient | ModbusTcpClient, header: list[int], sent: float,
                out: list[ev.Event]) -> None:
        now = time.monotonic()
        boot = header[InputRegister.BOOT_COUNT]
        beat = header[InputRegister.HEARTBEAT]
        head = header[InputRegister.EVENT_HEAD]
        if header[InputRegister.RING_SLOTS] != self.map.ring_slots:
            raise _PlcMapError(self._ring_slots_problem(header))
        if self._heartbeat is None or beat != self._heartbeat:
            restarted = self._heartbeat is not None and (beat - self._heartbeat) & 0xFFFF > 0x8000
            first_beat = self._heartbeat is None
            self._heartbeat, self._heartbeat_at = beat, now
            if self._boot_id is None:
                if not first_beat:  # two different heartbeats: the PLC program runs
                    self._session_up(header, out)
                return
            if restarted or boot != self._plc_boot or (head - self._cursor) & 0xFFFF > 0x8000:
                self._restarted(header, out)
                return
        elif now - self._heartbeat_at > self.settings.silence_ms / 1000:
            raise _PlcDownError(f"the PLC answers but its heartbeat has not moved for "
                           f"{now - self._heartbeat_at:.1f} s (program stopped?)")
        if self._boot_id is None:
            return
        if boot != self._plc_boot or (head - self._cursor) & 0xFFFF > 0x8000:
            self._restarted(header, out)
            return
        self._acknowledged(header, now, out)
        self._events(client, header, sent, out)

    def _ring_slots_problem(self, header: list[int]) -> str:
        """Why RING_SLOTS is not `ring_slots`: most often the PLC's header sits a register or two off
        ir_base (a map counted from 1, as PLC tools number 30001), which the header itself shows."""
        slots = self.map.ring_slots
        base = self.map.ir_base
        for shift in (1, 2, -1, -2):
            at = InputRegister.RING_SLOTS + shift
            if 0 <= at < HEADER_WORDS and base + shift >= 0 and header[at] == slots:
                return (f"the PLC's header starts at input register {base + shift}, not at ir_base ({base}): "
                        f"its RING_SLOTS ({slots}) is read at {base + at}; put BOOT_COUNT at address {base} "
                        f"in the PLC program (the PLC tool's 3{base + 1:04d}), or set [hardware.modbus] "
                        f"ir_base = {base + shift}; check hr_base the same way")
        return (f"the PLC's event ring has {header[InputRegister.RING_SLOTS]} slots (RING_SLOTS, input "
                f"register {self.map.ir(InputRegister.RING_SLOTS)}), [hardware.modbus] ring_slots says "
                f"{slots}: make them equal")

    def _session_up(self, header: list[int], out: list[ev.Event]) -> None:
        boot = header[InputRegister.BOOT_COUNT]
        new_boot = boot != self._plc_boot
        first = self._plc_boot is None
        head = header[InputRegister.EVENT_HEAD]
        if new_boot:
            # Events from before the station first connected are not replayed; after a
            # restart, the new boot's events are read from its first one still in the ring.
            slots = self.map.ring_slots
            self._cursor = head if first else (0 if head < slots else head - slots)
            self._deadlines.clear()
        self._start_session(boot, new_boot, header, out)

    def _restarted(self, header: list[int], out: list[ev.Event]) -> None:
        boot = header[InputRegister.BOOT_COUNT]
        logger.warning("the PLC restarted (boot count %d -> %d): items on the belt go to the manual lane",
                       self._plc_boot or 0, boot)
        if boot == self._plc_boot:
            logger.warning("the PLC restarted without counting it in BOOT_COUNT (its heartbeat or event "
                           "counter started again): make BOOT_COUNT a RETAIN variable that the PLC program "
                           "adds 1 to at every start (hardware/MODBUS.md)")
            self._epoch = (self._epoch + 1) % 0x8000  # restarted without counting the boot: still a new boot
        self._end_session("controller restarted", out)
        head = header[InputRegister.EVENT_HEAD]
        self._cursor = 0 if head < self.map.ring_slots else head - self.map.ring_slots
        self._deadlines.clear()
        self._start_session(boot, True, header, out)

    def _start_session(self, boot: int, new_boot: bool, header: list[int], out: list[ev.Event]) -> None:
        boot_id = (self._epoch << 16) | boot
        self._seq = header[InputRegister.ACK_SEQ]  # the next command differs from the last executed
        self._clear_seq_base = header[InputRegister.CLEAR_ACK]
        self._clear_seq = None
        self._next_alive = 0.0
        with self._lock:
            self._plc_boot = boot
            self._boot_id = boot_id
            self._totals.sessions += 1
        logger.info("PLC up on %s: boot count %d, %d lanes, default lane %d, watchdog %d ms%s", self.port,
                    boot, header[InputRegister.LANE_COUNT], header[InputRegister.DEFAULT_LANE],
                    header[InputRegister.WATCHDOG_MS], " (new boot: tracking flushed)" if new_boot else "")
        self._said.clear()
        self._bad_slot = None
        for problem in self._header_problems(header):
            logger.error("PLC on %s: %s", self.port, problem)
        if not header[InputRegister.STATUS] & Status.HOST_OK:
            logger.info("the PLC is in safe outputs until it sees the station's heartbeat")
        out.append(ev.LinkUp(boot_id, new_boot, self.port, header[InputRegister.LANE_COUNT],
                             header[InputRegister.DEFAULT_LANE], 0))

    def _header_problems(self, header: list[int]) -> list[str]:
        """What in the PLC's constant header registers makes items go to the default lane."""
        problems = []
        lanes, default = header[InputRegister.LANE_COUNT], header[InputRegister.DEFAULT_LANE]
        watchdog, beat = header[InputRegister.WATCHDOG_MS], self.settings.heartbeat_ms
        if default >= lanes:
            problems.append(f"DEFAULT_LANE ({default}) is not one of its LANE_COUNT ({lanes}) lanes: set "
                            "both in the PLC program; the default lane is the manual-review lane")
        if watchdog < 2 * beat:
            problems.append(f"its watchdog of the station (WATCHDOG_MS {watchdog} ms) is shorter than twice "
                            f"[hardware.modbus] heartbeat_ms ({beat} ms): it drops to safe outputs between "
                            "the station's writes and refuses commands (STOPPED); set it to 500 ms or more "
                            "in the PLC program, and report it in WATCHDOG_MS")
        return problems

    def _end_session(self, reason: str, out: list[ev.Event]) -> None:
        """The session is over: commands not acknowledged are dropped, never written later."""
        with self._lock:
            if self._boot_id is None:
                return
            dropped = ([self._inflight] if self._inflight is not None else []) + list(self._queue)
            self._inflight = None
            self._queue.clear()
            self._clear_wanted = False
            self._boot_id = None
            self._totals.commands_rejected += len(dropped)
        for command in dropped:
            out.append(ev.DivertRejected(command.boot_id, command.item_id, command.lane, "LINK_RESET"))
        out.append(ev.LinkDown(reason))

    def _session_down(self, reason: str) -> None:
        out: list[ev.Event] = []
        self._end_session(reason, out)
        self._deliver(out)

    def _events(self, client: ModbusSerialClient | ModbusTcpClient, header: list[int], sent: float,
                out: list[ev.Event]) -> None:
        head = header[InputRegister.EVENT_HEAD]
        pending = (head - self._cursor) & 0xFFFF
        if not pending:
            return
        slots = self.map.ring_slots
        if pending > slots:
            logger.warning("%d PLC events were overwritten before they were read: their items end "
                           "unconfirmed", pending - slots)
            self._cursor = (head - slots) & 0xFFFF
            pending = slots
        clock = header[InputRegister.CLOCK_MS]
        for first_slot, count in ring_slot_ranges(self._cursor, pending, slots, self._read_words):
            words = self._read(client, self.map.ring_base + first_slot * EVENT_WORDS, count * EVENT_WORDS)
            if words is None:
                return  # read again at the next poll, from the same event
            for i in range(count):
                slot = words[i * EVENT_WORDS:(i + 1) * EVENT_WORDS]
                if slot[0] != self._cursor:
                    self._wrong_slot(first_slot + i, slot[0], head)
                    return  # overwritten meanwhile: the next header read sees the overrun
                self._bad_slot = None
                self._cursor = (self._cursor + 1) & 0xFFFF
                event = self._event(slot, clock, sent)
                if event is not None:
                    out.append(event)

    def _wrong_slot(self, slot: int, found: int, head: int) -> None:
        """A slot without the event number the station expects. Once, it may have been overwritten
        between the header read and this one (the next header then shows more than RING_SLOTS new
        events and the cursor moves on); twice for the same event, the PLC writes its ring wrongly
        and the station would never read another event: every item would go to the default lane."""
        if self._bad_slot != self._cursor:
            self._bad_slot = self._cursor
            return
        raise _PlcMapError(
            f"the PLC's event ring slot {slot} holds event number {found}, not {self._cursor} (EVENT_HEAD "
            f"{head}): the PLC must write event n into slot n mod RING_SLOTS with EVENT_NO = n, then set "
            "EVENT_HEAD to n + 1 (hardware/MODBUS.md)")

    def _event(self, slot: list[int], clock: int, sent: float) -> ev.Event | None:
        _, kind, item_id, value, at_ms = slot
        boot_id = self._boot_id
        assert boot_id is not None
        key = (boot_id, item_id)
        if kind == EventType.ITEM_ENTERED:
            return ev.ItemEntered(boot_id, item_id)
        if kind == EventType.ITEM_AT_CAMERA:
            # `value` counts from the event's time on the PLC's clock; the header's clock was
            # read after `sent`, so this deadline is never later than the PLC's.
            age_ms = (clock - at_ms) & 0xFFFF
            left_ms = value - age_ms
            deadline = sent + left_ms / 1000
            self._deadlines[key] = deadline
            if len(self._deadlines) > 4096:  # items whose outcome never came (outage): forget the oldest
                self._deadlines.pop(next(iter(self._deadlines)))
            return ev.ItemAtCamera(boot_id, item_id, deadline, max(0, left_ms))
        if kind in (EventType.DIVERTED, EventType.DIVERTED_DEFAULT):
            self._deadlines.pop(key, None)
            return ev.Diverted(boot_id, item_id, value, kind == EventType.DIVERTED)
        if kind == EventType.LOST:
            self._deadlines.pop(key, None)
            return ev.Lost(boot_id, item_id, _name(value, LostReason))
        if kind == EventType.JAM:
            return ev.Jam(value)
        if kind == EventType.ESTOP:
            return ev.EStop()
        if kind == EventType.CLEARED:
            return ev.Cleared()
        logger.warning("unknown PLC event type %d (item %d): ignored", kind, item_id)
        return None

    def _deliver(self, out: list[ev.Event]) -> None:
        with self._lock:
            local, self._local = self._local, []
        for event in [*local, *out]:
            try:
                self._on_event(event)
            except Exception:
                # A bug in the station's handler must not kill the link thread.
                logger.exception("conveyor event handler failed on %s", event)


def quiet_pymodbus() -> None:
    """Keep pymodbus's own error lines (with hex dumps of the last frames) out of the station's log.

    This link counts every timeout and exception response and logs, in words, what they mean
    for the belt; a level set on the "pymodbus" loggers by the site is left as it is.
    """
    for name in ("pymodbus", "pymodbus.logging"):
        log = logging.getLogger(name)
        if log.level == logging.NOTSET:
            log.setLevel(logging.CRITICAL)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
