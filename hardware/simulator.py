"""The conveyor controller, simulated: belt physics, photo-eyes, divert gate, confirm eyes,
jams, e-stop, reboot, watchdog and fault injection, speaking the real protocol.

`ControllerSim` is the controller with no I/O (time passed in, bytes in and out), so it
is testable on its own. `SimulatorRunner` puts it on a pseudo-terminal and runs it on a
background thread; the station opens the pty's slave path with pyserial exactly as it
opens real hardware. Every physical item keeps a ground-truth record (`ItemTruth`) that
the simulator run and the tests compare against what the station believed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import select
import shutil
import tempfile
import threading
import time
import tty
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from hardware.framing import FrameError, decode_frame
from hardware.messages import (
    RELIABLE_MIN,
    Ack,
    Capability,
    Clear,
    ClearedMsg,
    Divert,
    DivertedMsg,
    EStopMsg,
    Hello,
    ItemAtCameraMsg,
    ItemEnteredMsg,
    JamMsg,
    LostMsg,
    LostReason,
    Message,
    Nack,
    NackReason,
)
from hardware.protocol import (
    Connection,
    ConnectionState,
    HelloRefused,
    NotConnectedError,
    Received,
    Role,
    SessionLost,
    SessionStarted,
    Timing,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ControllerSim",
    "FaultSettings",
    "ItemFate",
    "ItemTruth",
    "SimSettings",
    "SimulatorRunner",
]

_CAPABILITIES = Capability.CONFIRM_EYES | Capability.JAM_DETECT | Capability.ESTOP | Capability.ITEM_ENTERED


@dataclass(frozen=True)
class FaultSettings:
    """Faults the simulator injects into its own line and its own behaviour."""

    corrupt_rate: float = 0.0  # fraction of frames (both directions) with one bit flipped
    drop_rate: float = 0.0  # fraction of frames (both directions) that vanish
    reboot_after_items: tuple[int, ...] = ()  # reboot when this many items have entered
    silence_after_items: tuple[int, ...] = ()  # stop transmitting when this many items have entered
    silence_s: float = 2.5
    jam_after_items: tuple[int, ...] = ()  # jam zone 1 when this many items have entered
    jam_hold_s: float = 0.3  # the jam is physically gone after this long
    lost_rate: float = 0.0  # fraction of items never seen by a confirm eye
    # Faults at chosen frames, certain whatever the timing (for tests that must see a retransmit).
    # The first copy of the host's reliable frame with one of these seqs vanishes:
    drop_from_host_seqs: tuple[int, ...] = ()
    # The controller's n-th ACK or NACK (1 = the first) vanishes:
    drop_answers: tuple[int, ...] = ()
    # The first copy of the controller's reliable frame with one of these seqs gets a bit flipped:
    corrupt_to_host_seqs: tuple[int, ...] = ()


@dataclass(frozen=True)
class SimSettings:
    """The simulated conveyor (metres, seconds)."""

    speed_m_s: float = 2.0
    spacing_m: float = 0.5  # distance between items at the entry eye
    rate_items_s: float | None = None  # pace items to this rate instead of speed / spacing
    camera_pos_m: float = 0.5
    divert_pos_m: float = 2.0
    # The gate must know the lane this long before the item reaches it: the deadline.
    gate_setup_s: float = 0.05
    confirm_delay_s: float = 0.1  # gate to the lane's confirm eye
    lane_count: int = 5
    default_lane: int = 0
    items: int | None = None  # stop feeding after this many; None = forever
    seed: int = 0
    # None: every boot (and simulated reboot) takes a fresh random boot id, as PROTOCOL.md §5
    # asks of a controller. A number makes the boot ids repeatable, for tests that need it.
    boot_id_seed: int | None = None
    watchdog_ms: int = 1000
    # Feed no item before the first session with the host (the station starts the belt).
    wait_for_host: bool = True
    timing: Timing = field(default_factory=Timing)
    faults: FaultSettings = field(default_factory=FaultSettings)


class ItemFate(Enum):
    """Where a physical item really ended up."""

    ON_BELT = "on_belt"
    LANE = "lane"
    LOST = "lost"  # never seen by a confirm eye
    REMOVED = "removed"  # taken off the belt by hand after a jam or e-stop


@dataclass
class ItemTruth:
    """Ground truth of one physical item (owned by the simulator)."""

    uid: int
    boot_id: int
    item_id: int
    entered_at: float
    belt_entry: float  # belt travel when the item entered
    announced: bool = False  # ITEM_AT_CAMERA reached the session
    at_camera: bool = False
    commanded_lane: int | None = None
    late_nacked: bool = False
    gated: bool = False
    lane: int | None = None
    fate: ItemFate = ItemFate.ON_BELT
    tracked: bool = True  # the controller still knows it (a reboot forgets every item)
    confirm_at: float = 0.0


def _frames(data: bytes) -> list[bytes]:
    parts = data.split(b"\x00")
    return [p + b"\x00" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


class ControllerSim:
    """The controller's logic and the belt's physics; no I/O."""

    def __init__(self, settings: SimSettings, now: float) -> None:
        self.settings = settings
        self.rng = random.Random(settings.seed)
        # Boot ids come from their own generator: the seed of the belt's randomness must not
        # make every simulator boot announce the same boot id.
        self._boot_rng: random.Random = (
            random.SystemRandom() if settings.boot_id_seed is None else random.Random(settings.boot_id_seed)
        )
        self.boot_id = 0
        self.boot_id = self._new_boot_id()
        self.conn = Connection(Role.CONTROLLER, now, settings.timing, self._hello())
        self.truth: list[ItemTruth] = []
        self.boots = 1
        self._next_item_id = 1
        self._belt = 0.0  # metres the belt has moved
        self._last = now
        self._next_spawn = now
        self._silent_until = 0.0
        self._jam_zone: int | None = None
        self._estop = False
        self._physically_clear_at = 0.0
        self._by_id: dict[int, ItemTruth] = {}
        self._active: list[ItemTruth] = []  # on the belt, oldest first
        self._fault_points: deque[tuple[int, str]] = deque(sorted(
            [(n, "reboot") for n in settings.faults.reboot_after_items]
            + [(n, "silence") for n in settings.faults.silence_after_items]
            + [(n, "jam") for n in settings.faults.jam_after_items]
        ))
        self.injected: dict[str, int] = {"corrupted": 0, "dropped": 0, "reboots": 0, "silences": 0, "jams": 0}
        self._host_tail = b""  # an incomplete frame from the host, judged once its 0x00 arrives
        self._answers = 0
        self._hit: set[tuple[bool, int]] = set()  # (from_host, seq) of chosen frames already faulted
        self.refusals = 0  # announcements the host refused (a HELLO that breaks §12 S1)

    # ---- the line ------------------------------------------------------------------------

    def feed(self, data: bytes, now: float) -> None:
        """Bytes from the host, after this side's fault injection."""
        self._advance(now)  # judge a DIVERT against where the item is now
        self.conn.receive_data(self._inject(data, from_host=True), now)
        self._handle_events(now)

    def outgoing(self, now: float) -> bytes:
        """Bytes for the host, after fault injection (silence swallows everything)."""
        data = self.conn.data_to_send()
        if now < self._silent_until:
            return b""
        return self._inject(data, from_host=False)

    def _inject(self, data: bytes, from_host: bool) -> bytes:
        faults = self.settings.faults
        chosen = faults.drop_from_host_seqs or faults.drop_answers or faults.corrupt_to_host_seqs
        if not data or (faults.corrupt_rate <= 0 and faults.drop_rate <= 0 and not chosen):
            return data
        frames = _frames(data)
        if from_host:
            # A read may end inside a frame; keep the rest so that a chosen frame is recognised whole.
            frames = _frames(self._host_tail + data)
            self._host_tail = frames.pop() if frames and not frames[-1].endswith(b"\x00") else b""
        out = bytearray()
        for frame in frames:
            fault = self._chosen_fault(frame, from_host) if chosen else None
            if fault == "drop":
                self.injected["dropped"] += 1
                continue
            if fault == "corrupt":
                buf = bytearray(frame)
                # Flip a bit of the last byte before the delimiter (CRC or COBS code), never making a 0x00.
                buf[-2] ^= 0x40 if buf[-2] != 0x40 else 0x20
                self.injected["corrupted"] += 1
                out += buf
                continue
            roll = self.rng.random()
            if roll < faults.drop_rate:
                self.injected["dropped"] += 1
                continue
            if roll < faults.drop_rate + faults.corrupt_rate and len(frame) > 1:
                buf = bytearray(frame)
                pos = self.rng.randrange(len(buf) - 1)  # never the delimiter
                buf[pos] ^= 1 << self.rng.randrange(8)
                self.injected["corrupted"] += 1
                out += buf
                continue
            out += frame
        return bytes(out)

    def _chosen_fault(self, frame: bytes, from_host: bool) -> str | None:
        """'drop' or 'corrupt' when `frame` is one FaultSettings names by seq or answer number."""
        faults = self.settings.faults
        try:
            raw = decode_frame(frame[:-1])
        except FrameError:
            return None
        if raw.type >= RELIABLE_MIN:
            seqs = faults.drop_from_host_seqs if from_host else faults.corrupt_to_host_seqs
            if raw.seq in seqs and (from_host, raw.seq) not in self._hit:
                self._hit.add((from_host, raw.seq))
                return "drop" if from_host else "corrupt"
        elif not from_host and raw.type in (Ack.TYPE, Nack.TYPE):
            self._answers += 1
            if self._answers in faults.drop_answers:
                return "drop"
        return None

    # ---- time ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the belt moves."""
        return self._jam_zone is None and not self._estop

    @property
    def safe(self) -> bool:
        """True while outputs are safe (no session with the host): every item takes the default lane."""
        return self.conn.state is not ConnectionState.ESTABLISHED

    @property
    def fed(self) -> int:
        """Items that have entered the belt so far."""
        return len(self.truth)

    def done(self) -> bool:
        """True when every item to feed has entered and none is still on the belt."""
        limit = self.settings.items
        return limit is not None and self.fed >= limit and not self._active

    def step(self, now: float) -> None:
        """Advance the belt and the protocol timers to `now`."""
        self._advance(now)
        self.conn.tick(now)
        self._handle_events(now)

    def _advance(self, now: float) -> None:
        s = self.settings
        dt = max(0.0, now - self._last)
        self._last = now
        if self.running:
            self._belt += s.speed_m_s * dt
            if self.conn.stats.sessions or not s.wait_for_host:
                self._spawn(now)
            else:
                self._next_spawn = now
        for item in list(self._active):
            if item.gated:
                if now >= item.confirm_at:
                    self._active.remove(item)
                    self._confirm(item)
                continue
            x = self._belt - item.belt_entry
            if not item.at_camera and x >= s.camera_pos_m:
                item.at_camera = True
                if item.tracked:
                    remaining = (s.divert_pos_m - x) / s.speed_m_s - s.gate_setup_s
                    deadline_ms = max(0, int(remaining * 1000))
                    item.announced = self._emit(ItemAtCameraMsg(item.item_id, deadline_ms), now)
            if x >= s.divert_pos_m:
                item.gated = True
                item.confirm_at = now + s.confirm_delay_s
                use_command = item.tracked and item.commanded_lane is not None and not self.safe
                item.lane = item.commanded_lane if use_command else s.default_lane
                item.commanded_lane = item.commanded_lane if use_command else None

    def next_wakeup(self, now: float) -> float:
        """When `step` must run next (the runner sleeps until then or until bytes arrive)."""
        s = self.settings
        times = [self.conn.next_deadline(now), now + 0.1]
        if self.running:
            if s.items is None or self.fed < s.items:
                times.append(self._next_spawn)
            for item in self._active:
                if item.gated:
                    times.append(item.confirm_at)
                    continue
                x = self._belt - item.belt_entry
                target = s.divert_pos_m if item.at_camera else s.camera_pos_m
                times.append(now + max(0.0, target - x) / s.speed_m_s)
        else:
            times += [item.confirm_at for item in self._active if item.gated]
        return min(times)

    def _spawn(self, now: float) -> None:
        s = self.settings
        period = 1.0 / s.rate_items_s if s.rate_items_s else s.spacing_m / s.speed_m_s
        while now >= self._next_spawn and (s.items is None or self.fed < s.items):
            self._next_spawn = max(self._next_spawn + period, now)
            item = ItemTruth(len(self.truth) + 1, self.boot_id, self._next_item_id, now, self._belt)
            self._next_item_id += 1
            self.truth.append(item)
            self._active.append(item)
            self._by_id[item.item_id] = item
            self._emit(ItemEnteredMsg(item.item_id), now)
            while self._fault_points and self._fault_points[0][0] <= self.fed:
                self._fault(self._fault_points.popleft()[1], now)

    def _confirm(self, item: ItemTruth) -> None:
        if item.tracked:
            self._by_id.pop(item.item_id, None)
        if self.rng.random() < self.settings.faults.lost_rate:
            item.fate = ItemFate.LOST
            if item.tracked:
                self._emit(LostMsg(item.item_id, LostReason.NOT_CONFIRMED), self._last)
            return
        item.fate = ItemFate.LANE
        if item.tracked:
            commanded = int(item.commanded_lane is not None)
            assert item.lane is not None
            self._emit(DivertedMsg(item.item_id, item.lane, commanded), self._last)

    def _emit(self, message: Message, now: float) -> bool:
        try:
            self.conn.send(message, now)
        except NotConnectedError:
            return False  # no session: events are not reported (PROTOCOL.md §8)
        return True

    # ---- commands from the host ----------------------------------------------------------

    def _handle_events(self, now: float) -> None:
        for event in self.conn.events():
            if isinstance(event, Received):
                if isinstance(event.message, Divert):
                    self.conn.respond(event.seq, self._divert(event.message, now))
                elif isinstance(event.message, Clear):
                    reason = self._clear(now)
                    self.conn.respond(event.seq, reason)
                    if reason is None:
                        self._emit(ClearedMsg(), now)
            elif isinstance(event, SessionLost):
                logger.info("simulated controller: safe outputs (%s)", event.reason)
            elif isinstance(event, SessionStarted):
                logger.info("simulated controller: session with the host, boot %08x", event.boot_id)
            elif isinstance(event, HelloRefused):
                self.refusals += 1
                s = self.settings
                logger.warning("simulated controller: the host refused its HELLO (%d lanes, default lane %d, "
                               "watchdog %d ms); outputs stay safe, it keeps announcing",
                               s.lane_count, s.default_lane, s.watchdog_ms)

    def _divert(self, cmd: Divert, now: float) -> NackReason | None:
        s = self.settings
        if cmd.boot_id != self.boot_id:
            return NackReason.STALE_BOOT
        if not self.running:
            return NackReason.STOPPED
        if not 0 <= cmd.lane < s.lane_count:
            return NackReason.BAD_LANE
        item = self._by_id.get(cmd.item_id)
        if item is None or not item.tracked:
            return NackReason.UNKNOWN_ITEM
        x = self._belt - item.belt_entry
        if item.gated or x > s.divert_pos_m - s.gate_setup_s * s.speed_m_s:
            item.late_nacked = True
            return NackReason.TOO_LATE
        if item.commanded_lane is not None and item.commanded_lane != cmd.lane:
            return NackReason.CONFLICT
        item.commanded_lane = cmd.lane  # a repeat of the same command changes nothing
        return None

    def _clear(self, now: float) -> NackReason | None:
        if self._jam_zone is None and not self._estop:
            return None  # nothing to clear: acknowledged, CLEARED re-sent so the host converges
        if now < self._physically_clear_at:
            return NackReason.STILL_ACTIVE
        self._jam_zone = None
        self._estop = False
        self._next_spawn = max(self._next_spawn, now)
        return None

    # ---- faults and physical events ------------------------------------------------------

    def _fault(self, kind: str, now: float) -> None:
        if kind == "reboot":
            self.reboot(now)
        elif kind == "silence":
            self.injected["silences"] += 1
            self._silent_until = now + self.settings.faults.silence_s
        elif kind == "jam":
            self.jam(1, now, self.settings.faults.jam_hold_s)

    def reboot(self, now: float) -> None:
        """Power-cycle the controller: new boot id, item ids restart, tracking forgotten."""
        self.injected["reboots"] += 1
        self.boots += 1
        self.boot_id = self._new_boot_id()
        self._next_item_id = 1
        for item in self._active:
            item.tracked = False  # items on the belt go to the default lane, unreported
            if not item.gated:
                item.commanded_lane = None
        self._by_id.clear()
        self._jam_zone = None
        self._estop = False
        self.conn.restart(now, self._hello())

    def jam(self, zone: int, now: float, hold_s: float = 0.0) -> None:
        """A jam in `zone`: the belt stops, items on it are reported lost and removed by hand."""
        self.injected["jams"] += 1
        self._jam_zone = zone
        self._physically_clear_at = now + hold_s
        self._emit(JamMsg(zone), now)
        self._remove_all(LostReason.JAM, now)

    def estop(self, now: float, hold_s: float = 0.0) -> None:
        """The e-stop button: the belt stops, items on it are reported lost and removed."""
        self._estop = True
        self._physically_clear_at = now + hold_s
        self._emit(EStopMsg(), now)
        self._remove_all(LostReason.ESTOP, now)

    def _remove_all(self, reason: LostReason, now: float) -> None:
        for item in list(self._active):
            if not item.gated:
                self._active.remove(item)
                item.fate = ItemFate.REMOVED
                if item.tracked:
                    self._by_id.pop(item.item_id, None)
                    self._emit(LostMsg(item.item_id, reason), now)

    def _new_boot_id(self) -> int:
        """A random 32-bit boot id, never the previous boot's (nor 0)."""
        while True:
            boot_id = self._boot_rng.getrandbits(32)
            if boot_id not in (0, self.boot_id):
                return boot_id

    def _hello(self) -> Hello:
        s = self.settings
        return Hello(self.boot_id, 0, int(_CAPABILITIES), s.lane_count, s.default_lane, s.watchdog_ms)


class SimulatorRunner:
    """Runs a ControllerSim on a pseudo-terminal on a background thread.

    `start()` returns a stable path (a symlink to the pty's slave, like a udev by-id link)
    that stays valid across `unplug()` / `replug()`.
    """

    def __init__(self, settings: SimSettings | None = None, link_dir: Path | None = None) -> None:
        self.settings = settings or SimSettings()
        self._own_dir = link_dir is None
        self._dir = link_dir or Path(tempfile.mkdtemp(prefix="conveyor-sim-"))
        self.path = self._dir / "ttyCONVEYOR0"
        self.lock = threading.RLock()
        self.sim: ControllerSim | None = None
        self._master = -1
        self._slave = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._txbuf = bytearray()

    def start(self) -> str:
        """Open the pty, start the controller thread; returns the port path to open."""
        with self.lock:
            self.sim = ControllerSim(self.settings, time.monotonic())
            self._plug()
        self._thread = threading.Thread(target=self._run, name="conveyor-sim", daemon=True)
        self._thread.start()
        logger.info("conveyor simulator on %s", self.path)
        return str(self.path)

    def stop(self) -> None:
        """Stop the thread and close the pty."""
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self.lock:
            self._unplug()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._own_dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> SimulatorRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def controller(self) -> ControllerSim:
        """The simulated controller (hold `lock` while touching it)."""
        assert self.sim is not None, "start() first"
        return self.sim

    def unplug(self) -> None:
        """Pull the cable: the pty disappears, the host's reads fail."""
        with self.lock:
            self._unplug()
        os.write(self._wake_w, b"x")

    def replug(self, reboot: bool = True) -> None:
        """Plug it back in (a USB controller usually reboots on power-up)."""
        with self.lock:
            self._plug()
            if reboot:
                self.controller.reboot(time.monotonic())
        os.write(self._wake_w, b"x")

    def reboot(self) -> None:
        """Reset the controller without touching the cable."""
        with self.lock:
            self.controller.reboot(time.monotonic())

    def jam(self, zone: int = 1, hold_s: float = 0.0) -> None:
        """Jam the belt in `zone`; it is physically clear after `hold_s`."""
        with self.lock:
            self.controller.jam(zone, time.monotonic(), hold_s)

    def estop(self, hold_s: float = 0.0) -> None:
        """Press the e-stop; it is released after `hold_s`."""
        with self.lock:
            self.controller.estop(time.monotonic(), hold_s)

    def silence(self, seconds: float) -> None:
        """Stop transmitting for `seconds` (a broken TX line, a hung firmware)."""
        with self.lock:
            self.controller._silent_until = time.monotonic() + seconds

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes pass unchanged
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        tmp = self._dir / "ttyCONVEYOR0.new"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.path)

    def _unplug(self) -> None:
        self._txbuf.clear()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    def _run(self) -> None:
        sim = self.controller
        while not self._stop.is_set():
            now = time.monotonic()
            with self.lock:
                timeout = max(0.0, sim.next_wakeup(now) - now)
                master = self._master
            fds = [self._wake_r] + ([master] if master >= 0 else [])
            try:
                readable, _, _ = select.select(fds, [], [], timeout)
            except (OSError, ValueError):
                readable = []
            if self._wake_r in readable:
                os.read(self._wake_r, 64)
            with self.lock:
                now = time.monotonic()
                if self._master >= 0 and self._master in readable:
                    try:
                        data = os.read(self._master, 4096)
                    except (BlockingIOError, InterruptedError):
                        data = b""
                    except OSError:
                        data = b""  # EIO: nobody has the slave open
                    if data:
                        sim.feed(data, now)
                sim.step(now)
                self._txbuf += sim.outgoing(now)
                if self._txbuf and self._master >= 0:
                    try:
                        written = os.write(self._master, self._txbuf)
                    except (BlockingIOError, OSError):
                        written = len(self._txbuf)  # nobody reading: a UART's bytes are lost too
                    del self._txbuf[:written]
