"""A simulated PLC on pymodbus's own server: the belt of `hardware.simulator` behind the
register map of hardware/MODBUS.md, served as Modbus RTU over a pseudo-terminal or Modbus
TCP on 127.0.0.1.

`PlcController` is `ControllerSim` (items, camera and diverter positions, speed, deadlines,
TOO_LATE, jams, reboots, ground truth) with its reports written into the event ring instead
of protocol frames, and its commands taken from holding registers; it runs what a PLC
programmer would write (hardware/MODBUS.md, "The PLC's side"). `PlcSimRunner` serves it on
a thread with its own asyncio loop and injects the faults of `PlcFaults`: requests left
unanswered (timeouts), exception responses (device busy) and PLC restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import select
import shutil
import socket
import tempfile
import threading
import time
import tty
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

from hardware.messages import (
    ClearedMsg,
    Divert,
    DivertedMsg,
    EStopMsg,
    ItemAtCameraMsg,
    ItemEnteredMsg,
    JamMsg,
    LostMsg,
    Message,
    NackReason,
)
from hardware.modbus.driver import quiet_pymodbus
from hardware.modbus.registers import (
    EVENT_WORDS,
    HEADER_WORDS,
    HOLDING_WORDS,
    EventType,
    HoldingRegister,
    InputRegister,
    RegisterMap,
    Status,
)
from hardware.modbus.settings import ModbusSettings
from hardware.simulator import ControllerSim, SimSettings

logger = logging.getLogger(__name__)

__all__ = ["PlcController", "PlcFaults", "PlcSimRunner"]

HEARTBEAT_S = 0.1
"""The PLC's HEARTBEAT counts up this often."""


@dataclass(frozen=True)
class PlcFaults:
    """Faults the simulated PLC injects into its answers and its own life."""

    timeout_rate: float = 0.0  # fraction of requests left unanswered (some of them after applying a write)
    exception_rate: float = 0.0  # fraction of requests answered with exception 6 (device busy), not applied
    restart_after_items: tuple[int, ...] = ()  # restart the PLC when this many items have entered
    restart_s: float = 0.3  # no answer at all for this long after a restart (the PLC boots)
    seed: int = 0


def _clock_ms(now: float) -> int:
    return int(now * 1000) & 0xFFFF


class PlcController(ControllerSim):
    """The belt and the PLC program behind the register map; no I/O (time passed in)."""

    def __init__(self, settings: SimSettings, now: float, registers: RegisterMap | None = None,
                 watchdog_ms: int = 500) -> None:
        self.registers = registers or RegisterMap()
        self.watchdog_ms = watchdog_ms
        self.boot_count = 0  # before ControllerSim's __init__: its first boot id is the first count
        self.hr = [0] * HOLDING_WORDS  # holding registers keep their values over a restart
        self.restarts = 0
        super().__init__(settings, now)
        self._power_on(now)

    def _new_boot_id(self) -> int:
        # The PLC's boot id is its retentive boot counter: what the station reads in BOOT_COUNT.
        self.boot_count = self.boot_count % 0xFFFF + 1
        return self.boot_count

    def _power_on(self, now: float) -> None:
        slots = self.registers.ring_slots
        self.started_at = now
        self.head = 0
        self.ring = [[0] * EVENT_WORDS for _ in range(slots)]
        # A command written before the restart is not executed by the new boot.
        self.ack_seq = self.hr[HoldingRegister.CMD_SEQ]
        self.ack_code = 0
        self.clear_ack = self.hr[HoldingRegister.CLEAR_SEQ]
        self.clear_code = 0
        self.host_seen_at: float | None = None
        self.halted_at: float | None = None  # the program stopped (STOP mode): the heartbeat stands still

    def reboot(self, now: float) -> None:
        """Restart the PLC: a new boot count, item ids from 1, events and heartbeat from 0."""
        self.restarts += 1
        super().reboot(now)
        self._power_on(now)

    # ---- the station's watchdog ----------------------------------------------------------

    @property
    def safe(self) -> bool:
        """Safe outputs (every item to the default lane) until the station's writes keep coming."""
        seen = self.host_seen_at
        return seen is None or self._last - seen > self.watchdog_ms / 1000

    def host_wrote(self, now: float) -> None:
        """A write from the station: its watchdog restarts; the first one starts the belt's feed."""
        self.host_seen_at = now
        self.conn.stats.sessions = max(self.conn.stats.sessions, 1)

    # ---- the event ring ------------------------------------------------------------------

    def _emit(self, message: Message, now: float) -> bool:
        kind, item_id, value = _event_of(message)
        slot = self.head % self.registers.ring_slots
        self.ring[slot] = [self.head & 0xFFFF, int(kind), item_id & 0xFFFF, value & 0xFFFF, _clock_ms(now)]
        self.head = (self.head + 1) & 0xFFFF
        return True

    def step(self, now: float) -> None:
        """Advance the belt, then one scan of the PLC program."""
        super().step(now)
        self.conn.data_to_send()  # the inner protocol end talks to nobody: drop its HELLOs
        self.scan(now)

    def scan(self, now: float) -> None:
        """Execute a new command or clear request (CMD_SEQ / CLEAR_SEQ differ from their echo)."""
        hr = self.hr
        if hr[HoldingRegister.CMD_SEQ] != self.ack_seq:
            command = Divert(hr[HoldingRegister.CMD_BOOT], hr[HoldingRegister.CMD_ITEM],
                             hr[HoldingRegister.CMD_LANE])
            reason = self._divert(command, now) if not self.safe else NackReason.STOPPED
            self.ack_code = 0 if reason is None else int(reason)
            self.ack_seq = hr[HoldingRegister.CMD_SEQ]
        if hr[HoldingRegister.CLEAR_SEQ] != self.clear_ack:
            reason = self._clear(now)
            self.clear_code = 0 if reason is None else int(reason)
            self.clear_ack = hr[HoldingRegister.CLEAR_SEQ]
            if reason is None:
                self._emit(ClearedMsg(), now)

    # ---- the registers -------------------------------------------------------------------

    def input_registers(self, now: float) -> list[int]:
        """The whole input-register image from `ir_base`: the header, then the ring."""
        status = Status(0)
        if self.running:
            status |= Status.RUNNING
        if self._jam_zone is not None:
            status |= Status.JAM
        if self._estop:
            status |= Status.ESTOP
        if not self.safe:
            status |= Status.HOST_OK
        header = [0] * HEADER_WORDS
        header[InputRegister.BOOT_COUNT] = self.boot_count
        beat_at = now if self.halted_at is None else self.halted_at
        header[InputRegister.HEARTBEAT] = int((beat_at - self.started_at) / HEARTBEAT_S) & 0xFFFF
        header[InputRegister.STATUS] = int(status)
        header[InputRegister.JAM_ZONE] = self._jam_zone or 0
        header[InputRegister.ACK_SEQ] = self.ack_seq
        header[InputRegister.ACK_CODE] = self.ack_code
        header[InputRegister.CLEAR_ACK] = self.clear_ack
        header[InputRegister.CLEAR_CODE] = self.clear_code
        header[InputRegister.LANE_COUNT] = self.settings.lane_count
        header[InputRegister.DEFAULT_LANE] = self.settings.default_lane
        header[InputRegister.CLOCK_MS] = _clock_ms(now)
        header[InputRegister.EVENT_HEAD] = self.head
        header[InputRegister.WATCHDOG_MS] = self.watchdog_ms
        header[InputRegister.RING_SLOTS] = self.registers.ring_slots
        return header + [word for slot in self.ring for word in slot]

    def read(self, func_code: int, address: int, count: int, now: float) -> list[int] | ExcCodes:
        """Function 4 (input registers) or 3 (holding registers) at `address`."""
        self.step(now)
        if func_code == 4:
            image, base = self.input_registers(now), self.registers.ir_base
        elif func_code == 3:
            image, base = self.hr, self.registers.hr_base
        else:
            return ExcCodes.ILLEGAL_FUNCTION
        start = address - base
        if start < 0 or start + count > len(image):
            return ExcCodes.ILLEGAL_ADDRESS
        return image[start:start + count]

    def write(self, func_code: int, address: int, values: Sequence[int], now: float) -> ExcCodes | None:
        """Function 16 or 6 into the holding registers; the PLC program runs on the new values."""
        if func_code not in (6, 16):
            return ExcCodes.ILLEGAL_FUNCTION
        start = address - self.registers.hr_base
        if start < 0 or start + len(values) > HOLDING_WORDS:
            return ExcCodes.ILLEGAL_ADDRESS
        self._advance(now)  # judge a command against where the item is now
        self.hr[start:start + len(values)] = [int(v) & 0xFFFF for v in values]
        self.host_wrote(now)
        self.scan(now)
        return None


def _event_of(message: Message) -> tuple[EventType, int, int]:
    """(TYPE, ITEM_ID, VALUE) of a ring slot for a controller report."""
    if isinstance(message, ItemEnteredMsg):
        return EventType.ITEM_ENTERED, message.item_id, 0
    if isinstance(message, ItemAtCameraMsg):
        return EventType.ITEM_AT_CAMERA, message.item_id, min(message.deadline_ms, 0xFFFF)
    if isinstance(message, DivertedMsg):
        kind = EventType.DIVERTED if message.commanded else EventType.DIVERTED_DEFAULT
        return kind, message.item_id, message.lane
    if isinstance(message, LostMsg):
        return EventType.LOST, message.item_id, message.reason
    if isinstance(message, JamMsg):
        return EventType.JAM, 0, message.zone
    if isinstance(message, EStopMsg):
        return EventType.ESTOP, 0, 0
    if isinstance(message, ClearedMsg):
        return EventType.CLEARED, 0, 0
    raise ValueError(f"no PLC event for {message!r}")


class _PlcContext(ModbusServerContext):
    """pymodbus's datastore interface, answered by the PLC (with the runner's faults)."""

    def __init__(self, runner: PlcSimRunner) -> None:
        # Not the base class's __init__: the registers live in the PLC, not in pymodbus blocks.
        self.runner = runner
        self.old_simulator = True  # pymodbus then calls async_getValues / async_setValues as they are
        self.simdevices = []
        self._devices = {}

    async def async_getValues(  # noqa: N802 - pymodbus's name
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        fault = self.runner.fault(device_id)
        if fault == "timeout":
            raise NoSuchIdException("no answer")  # the server stays silent: the client times out
        if fault == "exception":
            return ExcCodes.DEVICE_BUSY
        with self.runner.lock:
            return self.runner.controller.read(func_code, address, count, time.monotonic())

    async def async_setValues(  # noqa: N802 - pymodbus's name
        self, device_id: int, func_code: int, address: int, values: Sequence[int] | Sequence[bool]
    ) -> ExcCodes | None:
        fault = self.runner.fault(device_id)
        if fault == "exception":
            return ExcCodes.DEVICE_BUSY
        if fault == "timeout" and self.runner.coin():
            raise NoSuchIdException("no answer")  # lost before the PLC saw it
        with self.runner.lock:
            result = self.runner.controller.write(func_code, address, [int(v) for v in values],
                                                  time.monotonic())
        if fault == "timeout":
            raise NoSuchIdException("no answer")  # applied, but the answer is lost
        return result

    def device_ids(self) -> list[int]:
        return [self.runner.unit_id]


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PlcSimRunner:
    """Serves a `PlcController` over Modbus RTU (a pseudo-terminal) or TCP (127.0.0.1).

    `start()` returns what the station opens: the path of the serial port, or "127.0.0.1:port".
    RTU runs through two pseudo-terminals joined back to back, like a null-modem cable: the
    PLC's server opens one, the station the other. A pseudo-terminal refuses a parity bit:
    both ends use 8N1 (`PlcSimRunner.PARITY`), whatever [hardware.modbus] parity says.
    """

    PARITY: Literal["N"] = "N"

    def __init__(self, settings: SimSettings | None = None, transport: Literal["rtu", "tcp"] = "rtu",
                 faults: PlcFaults | None = None, registers: RegisterMap | None = None, unit_id: int = 1,
                 baudrate: int = 19200) -> None:
        self.settings = settings or SimSettings()
        self.transport = transport
        self.faults = faults or PlcFaults()
        self.registers = registers or RegisterMap()
        self.unit_id = unit_id
        self.baudrate = baudrate
        self.lock = threading.RLock()
        self.sim: PlcController | None = None
        self._rng = random.Random(self.faults.seed)
        self._restart_points = sorted(self.faults.restart_after_items)
        self._down_until = 0.0
        self.injected = {"timeouts": 0, "exceptions": 0, "restarts": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="plc-sim-"))
        self.path = self._dir / "ttyPLC0"
        self._fds: list[int] = []
        self._bridge: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self.address = ""

    @property
    def controller(self) -> PlcController:
        """The simulated PLC (hold `lock` while touching it)."""
        assert self.sim is not None, "start() first"
        return self.sim

    def start(self) -> str:
        """Start the PLC and its server; returns the port (RTU) or host:port (TCP) to open."""
        quiet_pymodbus()
        with self.lock:
            self.sim = PlcController(self.settings, time.monotonic(), self.registers)
        if self.transport == "rtu":
            plc_side = self._null_modem()
            self.address = str(self.path)
        else:
            plc_side = ""
            self.address = f"127.0.0.1:{_free_tcp_port()}"
        self._thread = threading.Thread(target=self._serve, args=(plc_side,), name="plc-sim", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError(f"the simulated PLC did not start: {self._error}")
        logger.info("simulated PLC (Modbus %s, unit %d) on %s", self.transport.upper(), self.unit_id,
                    self.address)
        return self.address

    def stop(self) -> None:
        """Stop the server, the belt and the pseudo-terminals."""
        self._stop.set()
        loop, server = self._loop, self._server
        if loop is not None and server is not None and loop.is_running():
            with contextlib.suppress(Exception):
                stopping = server.shutdown()  # type: ignore[no-untyped-call]
                asyncio.run_coroutine_threadsafe(stopping, loop).result(5)
        if self._thread is not None:
            self._thread.join(timeout=5)
        os.write(self._wake_w, b"x")
        if self._bridge is not None:
            self._bridge.join(timeout=5)
        for fd in [*self._fds, self._wake_r, self._wake_w]:
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> PlcSimRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def link_settings(self, settings: ModbusSettings) -> ModbusSettings:
        """`settings` as the station must use them to reach this PLC (8N1 on a pseudo-terminal)."""
        return replace(settings, transport=self.transport, parity=self.PARITY, unit_id=self.unit_id,
                       port=self.address)

    def restart(self) -> None:
        """Restart the PLC now (it answers nothing for `restart_s`)."""
        with self.lock:
            self._restart(time.monotonic())

    def halt(self, halted: bool = True) -> None:
        """Put the PLC's program in STOP (or back in RUN): its Modbus still answers, its heartbeat stops."""
        with self.lock:
            self.controller.halted_at = time.monotonic() if halted else None

    def jam(self, zone: int = 1) -> None:
        """Jam the belt in `zone` until `release()` (a CLEAR before then is refused: still active)."""
        with self.lock:
            self.controller.jam(zone, time.monotonic(), hold_s=1e9)

    def release(self) -> None:
        """The operator took the jammed item off (or released the e-stop): a CLEAR now clears it."""
        with self.lock:
            self.controller._physically_clear_at = 0.0

    def _restart(self, now: float) -> None:
        self.injected["restarts"] += 1
        self.controller.reboot(now)
        self._down_until = now + self.faults.restart_s

    # ---- faults --------------------------------------------------------------------------

    def fault(self, device_id: int) -> str | None:
        """The fault this request meets: "timeout", "exception" or None (answered)."""
        with self.lock:
            now = time.monotonic()
            if device_id not in (self.unit_id, 0):
                return "timeout"  # another address on the bus: not ours to answer
            self._maybe_restart(now)
            if now < self._down_until:
                return "timeout"
            roll = self._rng.random()
            if roll < self.faults.timeout_rate:
                self.injected["timeouts"] += 1
                return "timeout"
            if roll < self.faults.timeout_rate + self.faults.exception_rate:
                self.injected["exceptions"] += 1
                return "exception"
            return None

    def coin(self) -> bool:
        """A fair coin of the fault generator."""
        with self.lock:
            return self._rng.random() < 0.5

    def _maybe_restart(self, now: float) -> None:
        while self._restart_points and self.controller.fed >= self._restart_points[0]:
            self._restart_points.pop(0)
            self._restart(now)

    # ---- the server thread ---------------------------------------------------------------

    def _serve(self, plc_side: str) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(plc_side))
        except BaseException as exc:  # reported to start(), which waits for it
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _main(self, plc_side: str) -> None:
        context = _PlcContext(self)
        server: ModbusTcpServer | ModbusSerialServer
        if self.transport == "tcp":
            host, port = self.address.rsplit(":", 1)
            server = ModbusTcpServer(context, address=(host, int(port)), ignore_missing_devices=True)
        else:
            server = ModbusSerialServer(context, framer=FramerType.RTU, port=plc_side, baudrate=self.baudrate,
                                        parity="N", stopbits=1, bytesize=8,
                                        ignore_missing_devices=True)
        self._server = server
        await server.serve_forever(background=True)
        self._ready.set()
        # The PLC's cycle: the belt moves and the program scans whether or not anyone asks.
        while not self._stop.is_set() and not server.serving.done():
            with self.lock:
                now = time.monotonic()
                sim = self.controller
                self._maybe_restart(now)
                sim.step(now)
                wait = min(max(0.0, sim.next_wakeup(now) - now), 0.02)
            await asyncio.sleep(wait)
        with contextlib.suppress(Exception):
            await server.shutdown()  # type: ignore[no-untyped-call]

    def _null_modem(self) -> str:
        """Two raw pseudo-terminals joined back to back; returns the PLC's end (the station's is `path`)."""
        ends = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._fds += [master, slave]
            ends.append((master, os.ttyname(slave)))
        (plc_master, plc_path), (station_master, station_path) = ends
        self.path.symlink_to(station_path)
        self._bridge = threading.Thread(target=self._carry, args=(plc_master, station_master),
                                        name="plc-sim-cable", daemon=True)
        self._bridge.start()
        return plc_path

    def _carry(self, a: int, b: int) -> None:
        """Copy bytes both ways between the two pseudo-terminals until stopped."""
        peer = {a: b, b: a}
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([a, b, self._wake_r], [], [], 0.5)
            except (OSError, ValueError):
                return
            for fd in readable:
                if fd == self._wake_r:
                    continue
                try:
                    data = os.read(fd, 4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    time.sleep(0.01)  # EIO: nobody has that end open yet; do not spin
                    continue
                if data:
                    with contextlib.suppress(BlockingIOError, OSError):
                        os.write(peer[fd], data)
