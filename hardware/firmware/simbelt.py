"""A simulated conveyor for running the firmware on a PC (never copied to the board).

`Belt` is the physical line: items fed at the entry, photo-eyes at the entry, the camera and
the gate, the gate's solenoids, a confirm eye per lane, the motor, a jam sensor. It moves
on the firmware's clock (`SimHal`), keeps the ground truth of every physical item and
injects faults. `FirmwareRunner` puts the firmware on a pseudo-terminal with this belt, on
a background thread, and returns the port to open - as the station opens real hardware.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import tempfile
import threading
import time
import tty
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from .app import App
from .compat import TICKS_PERIOD
from .config import Config, Pins
from .hal import CAMERA, CONFIRM, ENTRY, ESTOP, GATE, JAM, Hal

logger = logging.getLogger(__name__)

__all__ = ["BeltSettings", "FirmwareRunner", "PhysicalItem", "SimHal"]


class SimHal(Hal):
    """CPython: a pty as the UART, a simulated belt as the eyes, the solenoids and the motor.

    The belt's clock is the firmware's clock. `idle` moves it forward with the wall clock, at
    most `ms` at a time: when the process was descheduled the belt catches up millisecond by
    millisecond with the firmware running in between, as a board's interrupts would, and the
    UART is read only once the belt has caught up (an edge never overtakes a byte).
    """

    def __init__(self, belt: Belt, master_fd: int, wake_fd: int, start: float) -> None:
        import random
        import threading

        self.belt = belt
        self.master_fd = master_fd
        self.wake_fd = wake_fd
        self.t = start
        self.caught_up = True
        self.stop_requested = False
        self.reboot_requested = False
        self.lock = threading.Lock()
        self._edges: list[tuple[int, int, bool, int]] = []
        self._host_tail = b""
        self.rng = random.Random(belt.settings.seed + 7)
        self.boot_id = 0
        self.entries_this_boot = 0
        self.corrupted = 0
        self.dropped = 0
        self.silent_until = 0.0
        self.outputs_lane = belt.settings.default_lane
        belt.hal = self

    # ---- clock --------------------------------------------------------------------------

    def ticks_ms(self) -> int:
        return self.ticks_at(self.t)

    @staticmethod
    def ticks_at(t: float) -> int:
        """The tick of monotonic time `t`."""
        return int(t * 1000) % TICKS_PERIOD

    def running(self) -> bool:
        return not (self.stop_requested or self.reboot_requested)

    def idle(self, ms: int) -> None:
        import os
        import select
        import time

        target = self.t + ms / 1000
        self.lock.release()  # the harness looks at the belt while the firmware sleeps
        try:
            wall = time.monotonic()
            if wall < target:
                fds = [self.wake_fd] + ([self.master_fd] if self.master_fd >= 0 else [])
                try:
                    readable, _, _ = select.select(fds, [], [], target - wall)
                except (OSError, ValueError):
                    readable = []
                if self.wake_fd in readable:
                    os.read(self.wake_fd, 64)
                wall = time.monotonic()
        finally:
            self.lock.acquire()
        new_t = max(self.t, min(wall, target))
        self.caught_up = wall - new_t < 0.002
        self.belt.advance(new_t)
        self.t = new_t

    # ---- UART ---------------------------------------------------------------------------

    def uart_read(self) -> bytes | None:
        import os

        if not self.caught_up or self.master_fd < 0:
            return None
        try:
            data = os.read(self.master_fd, 4096)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return None  # EIO: nobody has the port open
        return self._inject(data, True) or None

    def uart_write(self, data: bytes) -> None:
        import os

        if self.t < self.silent_until or self.master_fd < 0:
            return  # a broken TX line: the bytes are gone
        data = self._inject(data, False)
        try:
            os.write(self.master_fd, data)
        except OSError:
            return  # nobody reading: a UART's bytes are lost too

    def _inject(self, data: bytes, from_host: bool) -> bytes:
        s = self.belt.settings
        if s.corrupt_rate <= 0 and s.drop_rate <= 0:
            return data
        if from_host:
            data = self._host_tail + data
        parts = data.split(b"\x00")
        tail = parts.pop()
        if from_host:
            self._host_tail = tail
            tail = b""
        out = bytearray()
        for part in parts:
            frame = bytearray(part + b"\x00")
            roll = self.rng.random()
            if roll < s.drop_rate:
                self.dropped += 1
                continue
            if roll < s.drop_rate + s.corrupt_rate and len(frame) > 1:
                pos = self.rng.randrange(len(frame) - 1)  # never the delimiter
                frame[pos] ^= 1 << self.rng.randrange(8)
                self.corrupted += 1
            out += frame
        return bytes(out + tail)

    # ---- pins ---------------------------------------------------------------------------

    def push_edge(self, source: int, index: int, active: bool, t: float) -> None:
        """The belt: an input changed at time `t`."""
        self._edges.append((source, index, active, self.ticks_at(t)))

    def edges(self) -> list[tuple[int, int, bool, int]]:
        out = self._edges
        self._edges = []
        for source, _index, active, _at in out:
            if source == ENTRY and active:
                # The firmware numbers items by entry edges, 1 up in each boot: the belt's
                # ground truth learns which physical item got which id.
                self.entries_this_boot += 1
                self.belt.bind_entry(self.boot_id, self.entries_this_boot)
        return out

    def active(self, source: int, index: int) -> bool:
        return self.belt.level(source, index)

    def set_gate(self, lane: int) -> None:
        self.outputs_lane = lane
        self.belt.gate_lane = lane

    def set_motor(self, on: bool) -> None:
        self.belt.set_motor(on, self.t)

    def set_led(self, on: bool) -> None:
        if on:
            self.belt.start_feeding(self.t)

    def new_boot_id(self) -> int:
        import random

        rng = random.SystemRandom()
        while True:
            boot_id = rng.getrandbits(32)
            if boot_id not in (0, self.boot_id):
                self.boot_id = boot_id
                self.entries_this_boot = 0
                return boot_id

    def log(self, message: str) -> None:
        import logging

        logging.getLogger("hardware.firmware").info("%s", message)

    def power_cycle(self) -> None:
        """A reboot: latched edges are lost, outputs fall to off until the new boot sets them."""
        self._edges = []
        self.set_gate(self.belt.settings.default_lane)
        self.set_motor(False)
        self.reboot_requested = False


@dataclass(frozen=True)
class BeltSettings:
    """The simulated line (metres, seconds) and the faults to inject."""

    speed_m_s: float = 2.0
    spacing_m: float = 0.5
    rate_items_s: float | None = None  # pace items to this rate instead of speed / spacing
    camera_pos_m: float = 0.5
    gate_pos_m: float = 2.0
    item_length_m: float = 0.1
    gate_setup_s: float = 0.05
    confirm_delay_s: float = 0.1  # gate to the lane's confirm eye
    confirm_pulse_s: float = 0.02
    lane_count: int = 5
    default_lane: int = 0
    watchdog_ms: int = 1000
    items: int | None = None  # stop feeding after this many; None = forever
    seed: int = 0
    corrupt_rate: float = 0.0  # fraction of frames (both directions) with a bit flipped
    drop_rate: float = 0.0  # fraction of frames (both directions) that vanish
    lost_rate: float = 0.0  # fraction of items no confirm eye sees
    reboot_after_items: tuple[int, ...] = ()
    silence_after_items: tuple[int, ...] = ()  # the firmware's TX goes dead for silence_s
    silence_s: float = 2.5
    jam_after_items: tuple[int, ...] = ()
    jam_hold_s: float = 0.3

    @property
    def spacing(self) -> float:
        """Metres of belt between two items."""
        return self.speed_m_s / self.rate_items_s if self.rate_items_s else self.spacing_m

    def config(self) -> Config:
        """The firmware configuration that matches this belt (as a commissioning engineer measures it)."""
        length = min(self.item_length_m, self.spacing / 2)
        return Config(
            lane_count=self.lane_count, default_lane=self.default_lane, watchdog_ms=self.watchdog_ms,
            entry_to_camera_ms=round(self.camera_pos_m / self.speed_m_s * 1000),
            camera_to_gate_ms=round((self.gate_pos_m - self.camera_pos_m) / self.speed_m_s * 1000),
            gate_setup_ms=round(self.gate_setup_s * 1000),
            confirm_window_ms=round((self.confirm_delay_s + length / self.speed_m_s) * 1000) + 300,
            pins=Pins(confirm_eyes=tuple(range(20, 20 + max(self.lane_count, 0))),
                      solenoids=tuple(None if n == self.default_lane else 30 + n
                                      for n in range(max(self.lane_count, 0)))),
        )


@dataclass
class PhysicalItem:
    """Ground truth of one item on the simulated line."""

    uid: int
    entered_at: float
    belt_entry: float  # belt travel when it entered
    boot_id: int | None = None  # the boot that numbered it at the entry eye, and its id there
    item_id: int | None = None
    lane: int | None = None
    fate: str = "on_belt"  # on_belt, lane, lost (no confirm eye saw it), removed (by hand, jam)
    next_mark: int = 1
    confirm_at: float = 0.0
    confirmed: bool = False
    # simrun's vocabulary: the firmware may have announced it; a reboot's strays are never confirmed.
    announced: bool = True
    tracked: bool = True


class Belt:
    """The physical line, moved by events on the firmware's clock."""

    def __init__(self, settings: BeltSettings, now: float) -> None:
        self.settings = settings
        self.hal: SimHal | None = None
        self.rng = random.Random(settings.seed)
        self.t = now
        self.travel = 0.0
        self.motor_on = False
        self.feeding = False
        self.next_spawn = 0.0
        self.gate_lane = settings.default_lane
        self.jam_active = False
        self.jam_release_at: float | None = None
        self.estop_active = False
        self.length = min(settings.item_length_m, settings.spacing / 2)
        size = self.length
        # Marks along the belt: [entry front, entry tail, camera front, camera tail, gate front, gate tail].
        self.marks = (0.0, size, settings.camera_pos_m, settings.camera_pos_m + size, settings.gate_pos_m,
                      settings.gate_pos_m + size)
        self.on_belt: list[PhysicalItem] = []
        self.in_chute: list[PhysicalItem] = []
        self.truth: list[PhysicalItem] = []
        self.pending_entry: deque[PhysicalItem] = deque()
        self.finished = threading.Event()
        self.injected: dict[str, int] = {"reboots": 0, "silences": 0, "jams": 0}
        self._faults: deque[tuple[int, str]] = deque(sorted(
            [(n, "reboot") for n in settings.reboot_after_items]
            + [(n, "silence") for n in settings.silence_after_items]
            + [(n, "jam") for n in settings.jam_after_items]))

    # ---- what the HAL asks ----------------------------------------------------------------

    def level(self, source: int, index: int) -> bool:
        """An input's level now."""
        if source in (ENTRY, CAMERA, GATE):
            covering = 1 + 2 * source  # next_mark while the item's body is under that eye
            return any(item.next_mark == covering for item in self.on_belt)
        if source == CONFIRM:
            p = self.settings.confirm_pulse_s
            return any(i.lane == index and i.confirm_at <= self.t < i.confirm_at + p for i in self.in_chute)
        if source == JAM:
            return self.jam_active
        return self.estop_active if source == ESTOP else False

    def set_motor(self, on: bool, now: float) -> None:
        """The motor contactor."""
        self.motor_on = on

    def start_feeding(self, now: float) -> None:
        """The station is connected: the line starts feeding items."""
        if not self.feeding:
            self.feeding = True
            self.next_spawn = self.travel

    def bind_entry(self, boot_id: int, item_id: int) -> None:
        """The firmware took an entry edge and numbered the item that made it."""
        if self.pending_entry:
            item = self.pending_entry.popleft()
            item.boot_id, item.item_id = boot_id, item_id

    @property
    def fed(self) -> int:
        """Items fed so far."""
        return len(self.truth)

    def done(self) -> bool:
        """Every item fed and none left on the belt or in a chute."""
        limit = self.settings.items
        return limit is not None and self.fed >= limit and not self.on_belt and not self.in_chute

    # ---- time -----------------------------------------------------------------------------

    def advance(self, to_t: float) -> None:
        """Move the line to `to_t`, one event at a time."""
        while True:
            when, what, item = self._next_event()
            if when is None or when > to_t:
                self._move(to_t)
                break
            self._move(max(when, self.t))
            self._handle(what, item)
        if self.done():
            self.finished.set()

    def _move(self, t: float) -> None:
        if self.motor_on:
            self.travel += self.settings.speed_m_s * (t - self.t)
        self.t = t

    def _next_event(self) -> tuple[float | None, str, PhysicalItem | None]:
        s = self.settings
        best: tuple[float | None, str, PhysicalItem | None] = (None, "", None)

        def consider(when: float, what: str, item: PhysicalItem | None) -> None:
            nonlocal best
            if best[0] is None or when < best[0]:
                best = (when, what, item)

        if self.jam_release_at is not None:
            consider(self.jam_release_at, "jam_release", None)
        if self.motor_on:
            if self.feeding and not self.jam_active and (s.items is None or self.fed < s.items):
                consider(self.t + max(0.0, self.next_spawn - self.travel) / s.speed_m_s, "spawn", None)
            for item in self.on_belt:
                x = self.travel - item.belt_entry
                consider(self.t + max(0.0, self.marks[item.next_mark] - x) / s.speed_m_s, "mark", item)
        for item in self.in_chute:
            if not item.confirmed:
                consider(item.confirm_at, "confirm_on", item)
            else:
                consider(item.confirm_at + s.confirm_pulse_s, "confirm_off", item)
        return best

    def _edge(self, source: int, index: int, active: bool) -> None:
        if self.hal is not None:
            self.hal.push_edge(source, index, active, self.t)

    def _handle(self, what: str, item: PhysicalItem | None) -> None:
        s = self.settings
        if what == "spawn":
            self.next_spawn += s.spacing
            new = PhysicalItem(len(self.truth) + 1, self.t, self.travel)
            self.truth.append(new)
            self.on_belt.append(new)
            self.pending_entry.append(new)
            self._edge(ENTRY, 0, True)
            while self._faults and self._faults[0][0] <= self.fed:
                self._fault(self._faults.popleft()[1])
        elif what == "mark":
            assert item is not None
            mark = item.next_mark
            item.next_mark += 1
            source = mark // 2
            if mark == 4:
                item.lane = self.gate_lane  # the solenoids as they are when the item reaches the gate
            self._edge(source, 0, mark % 2 == 0)
            if mark == 5:
                self.on_belt.remove(item)
                if self.rng.random() < s.lost_rate:
                    item.fate = "lost"  # fell off, or the confirm eye is dirty
                else:
                    item.confirm_at = self.t + s.confirm_delay_s
                    self.in_chute.append(item)
        elif what == "confirm_on":
            assert item is not None and item.lane is not None
            item.confirmed = True
            item.fate = "lane"
            self._edge(CONFIRM, item.lane, True)
        elif what == "confirm_off":
            assert item is not None and item.lane is not None
            self.in_chute.remove(item)
            self._edge(CONFIRM, item.lane, False)
        elif what == "jam_release":
            self.jam_release_at = None
            self.jam_active = False
            self._edge(JAM, 0, False)

    def _fault(self, kind: str) -> None:
        hal = self.hal
        assert hal is not None
        if kind == "reboot":
            self.injected["reboots"] += 1
            hal.reboot_requested = True
        elif kind == "silence":
            self.injected["silences"] += 1
            hal.silent_until = self.t + self.settings.silence_s
        elif kind == "jam":
            self.injected["jams"] += 1
            self.jam_active = True
            self.jam_release_at = self.t + self.settings.jam_hold_s
            self._edge(JAM, 0, True)
            # Operators take every item before the gate off by hand.
            for item in list(self.on_belt):
                if item.next_mark <= 4:
                    if item.next_mark % 2 == 1:
                        self._edge(item.next_mark // 2, 0, False)  # the eye it covered sees clear
                    self.on_belt.remove(item)
                    item.fate = "removed"


class FirmwareRunner:
    """The reference firmware on a pseudo-terminal with a simulated belt, on a background thread."""

    def __init__(self, settings: BeltSettings | None = None, config: Config | None = None,
                 link_dir: Path | None = None) -> None:
        self.settings = settings or BeltSettings()
        self.config = config or self.settings.config()
        self._own_dir = link_dir is None
        self._dir = link_dir or Path(tempfile.mkdtemp(prefix="conveyor-fw-"))
        self.path = self._dir / "ttyCONVEYOR0"
        self.belt: Belt | None = None
        self.hal: SimHal | None = None
        self.app: App | None = None
        self.boots = 0
        self.crc_errors = 0
        self.retransmits = 0
        self._master = -1
        self._slave = -1
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    def start(self) -> str:
        """Open the pty and boot the firmware; returns the port path to open."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes pass unchanged
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.path.symlink_to(os.ttyname(slave))
        now = time.monotonic()
        self.belt = Belt(self.settings, now)
        self.hal = SimHal(self.belt, master, self._wake_r, now)
        self._thread = threading.Thread(target=self._run, name="conveyor-firmware", daemon=True)
        self._thread.start()
        self._started.wait(5)
        logger.info("reference firmware on %s", self.path)
        return str(self.path)

    def _run(self) -> None:
        hal = self.hal
        assert hal is not None
        with hal.lock:
            while not hal.stop_requested:
                self.boots += 1
                self.app = App(self.config, hal)
                self._started.set()
                self.app.run()
                self.crc_errors += self.app.link.crc_errors
                self.retransmits += self.app.link.retransmits
                if hal.reboot_requested:
                    assert self.belt is not None
                    self.belt.pending_entry.clear()
                    hal.power_cycle()

    def stop(self) -> None:
        """Stop the firmware and close the pty."""
        if self.hal is not None:
            self.hal.stop_requested = True
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self._own_dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> FirmwareRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def link_counters(self) -> tuple[int, int]:
        """(crc_errors, retransmits) of the firmware's end over every boot so far."""
        app = self.app
        extra = (app.link.crc_errors, app.link.retransmits) if app is not None else (0, 0)
        return self.crc_errors + extra[0], self.retransmits + extra[1]
