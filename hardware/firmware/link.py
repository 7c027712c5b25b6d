"""The protocol engine, controller end (PROTOCOL.md §3-§7): announce, session, go-back-N,
ACK/NACK with the answer cache, heartbeats, the host-silence watchdog.

Bytes come in with `feed`, timers run in `tick`, bytes go out through `take_output`. The
commands themselves (DIVERT, CLEAR) are decided by the `Commands` object (the tracker).
"""

import struct

from . import config as cfg
from . import wire
from .compat import ticks_add, ticks_diff
from .hal import Hal

ANNOUNCING = 0
ESTABLISHED = 1

_ANSWER_CACHE = 16  # the protocol asks for at least the last 8 answers


class Commands:
    """What the engine asks of the rest of the firmware (the tracker implements it)."""

    def command(self, type_: int, payload: bytes, now: int) -> int:
        """Apply a command; 0 to ACK it, a NACK reason to refuse it."""
        raise NotImplementedError

    def answered(self, type_: int, reason: int, now: int) -> None:
        """The command's answer is on its way (CLEAR is followed by CLEARED)."""

    def session_changed(self, established: bool, now: int) -> None:
        """A session started, or ended (outputs go safe)."""


class _Out:
    def __init__(self, seq: int, frame: bytes) -> None:
        self.seq = seq
        self.frame = frame
        self.last_sent = 0


class Link:
    """One controller's end of the link."""

    def __init__(self, config: cfg.Config, boot_id: int, commands: Commands, now: int, hal: Hal) -> None:
        self.config = config
        self.boot_id = boot_id
        self.commands = commands
        self.hal = hal
        self.state = ANNOUNCING
        self.hello_seq = 0
        self.refused = 0  # the NACK reason of the host's refusal of the current announcement
        self.crc_errors = 0
        self.frame_errors = 0
        self.retransmits = 0
        self._start = now
        self._rx = bytearray()
        self._rx_overflow = False
        self._out = bytearray()
        self._tx_seq = 1
        self._expected = 1
        self._unacked: list[_Out] = []
        self._pending: list[_Out] = []
        self._answers: dict[int, bytes] = {}
        self._answer_order: list[int] = []
        self._last_rx = now
        self._last_heartbeat = now
        self._last_hello = now
        self._announce(now)

    # ---- the line ---------------------------------------------------------------------

    def feed(self, data: bytes, now: int) -> None:
        """Bytes read from the UART."""
        for byte in data:
            if byte:
                if len(self._rx) > wire.MAX_FRAME + 2:
                    if not self._rx_overflow:
                        self._rx_overflow = True
                        self.frame_errors += 1
                    continue
                self._rx.append(byte)
                continue
            block = bytes(self._rx)
            self._rx = bytearray()
            overflow = self._rx_overflow
            self._rx_overflow = False
            if block and not overflow:
                self._on_block(block, now)

    def take_output(self) -> bytes:
        """Bytes to write to the UART (and forget)."""
        out = bytes(self._out)
        self._out = bytearray()
        return out

    # ---- sending ----------------------------------------------------------------------

    @property
    def established(self) -> bool:
        """True during a session with the host."""
        return self.state == ESTABLISHED

    def send(self, type_: int, payload: bytes, now: int) -> bool:
        """Queue an event; False (and nothing sent, ever) when there is no session (§7)."""
        if self.state != ESTABLISHED:
            return False
        item = _Out(self._tx_seq, wire.encode_frame(type_, self._tx_seq, payload))
        self._tx_seq = (self._tx_seq + 1) & 0xFFFF
        self._pending.append(item)
        self._fill_window(now)
        return True

    def tick(self, now: int) -> None:
        """Timers: HELLO resend, watchdog, retransmits, heartbeat. Call every few ms."""
        if self.state == ANNOUNCING:
            if ticks_diff(now, self._last_hello) >= cfg.HELLO_INTERVAL_MS:
                self._send_hello(now)
            return
        if ticks_diff(now, self._last_rx) >= self.config.watchdog_ms:
            silent = ticks_diff(now, self._last_rx)
            self._say(f"host silent for {silent} ms: safe outputs, announcing again")
            self._end_session(now)
            return
        if self._unacked and ticks_diff(now, self._unacked[0].last_sent) >= cfg.ACK_TIMEOUT_MS:
            for item in self._unacked:  # go-back-N: every outstanding frame, in order
                item.last_sent = now
                self.retransmits += 1
                self._out.extend(item.frame)
        if ticks_diff(now, self._last_heartbeat) >= cfg.HEARTBEAT_MS:
            self._last_heartbeat = now
            uptime = ticks_diff(now, self._start) & 0xFFFFFFFF
            self._out.extend(wire.encode_frame(wire.HEARTBEAT, 0, struct.pack("<I", uptime)))

    def next_deadline(self, now: int) -> int:
        """The tick at which `tick` has something to do (for a board that sleeps)."""
        if self.state == ANNOUNCING:
            return ticks_add(self._last_hello, cfg.HELLO_INTERVAL_MS)
        due = ticks_add(self._last_heartbeat, cfg.HEARTBEAT_MS)
        if self._unacked:
            retry = ticks_add(self._unacked[0].last_sent, cfg.ACK_TIMEOUT_MS)
            if ticks_diff(retry, due) < 0:
                due = retry
        return due

    # ---- sessions ---------------------------------------------------------------------

    def hello_payload(self) -> bytes:
        """HELLO: boot id, minor version, capabilities, lanes, default lane, watchdog."""
        c = self.config
        caps = wire.CAP_CONFIRM_EYES | wire.CAP_ITEM_ENTERED
        if c.pins.jam is not None:
            caps |= wire.CAP_JAM_DETECT
        if c.pins.estop is not None:
            caps |= wire.CAP_ESTOP
        return struct.pack("<IBHBBH", self.boot_id, 0, caps, c.lane_count & 0xFF, c.default_lane & 0xFF,
                           c.watchdog_ms & 0xFFFF)

    def _announce(self, now: int) -> None:
        # A new announcement takes a new seq (never 0); its copies keep it.
        self.hello_seq = self.hello_seq % 0xFFFF + 1
        self.refused = 0
        self.state = ANNOUNCING
        self._send_hello(now)

    def _send_hello(self, now: int) -> None:
        self._last_hello = now
        self._out.extend(wire.encode_frame(wire.HELLO, self.hello_seq, self.hello_payload()))

    def _start_session(self, now: int) -> None:
        self.state = ESTABLISHED
        self._tx_seq = 1
        self._expected = 1
        self._unacked = []
        self._pending = []
        self._answers = {}
        self._answer_order = []
        self._last_rx = now
        self._last_heartbeat = now
        self._say(f"session with the station, boot {self.boot_id:08x}")
        self.commands.session_changed(True, now)

    def _end_session(self, now: int) -> None:
        # Unacknowledged events are dropped, never sent later (§7).
        self._unacked = []
        self._pending = []
        self._announce(now)
        self.commands.session_changed(False, now)

    # ---- receiving --------------------------------------------------------------------

    def _on_block(self, block: bytes, now: int) -> None:
        frame = wire.decode_frame(block)
        if not isinstance(frame, wire.Frame):
            if frame == wire.BAD_CRC:
                self.crc_errors += 1
            else:
                self.frame_errors += 1
            return  # never answered: the sender's retransmission repairs it
        if self.state == ANNOUNCING:
            self._while_announcing(frame)
            if self.state == ANNOUNCING:
                return
            self._start_session(now)
            return
        self._last_rx = now
        t = frame.type
        if t in (wire.ACK, wire.NACK):
            if len(frame.payload) >= 2:
                self._on_ack(frame.payload[0] | (frame.payload[1] << 8), now)
            return
        if t < wire.RELIABLE_MIN or t == wire.HELLO:
            return  # heartbeat, a late WELCOME, or a link-layer type of a later minor version
        self._on_reliable(frame, now)

    def _while_announcing(self, frame: wire.Frame) -> None:
        p = frame.payload
        if frame.type == wire.WELCOME and len(p) >= 6:
            boot_id, hello_seq = struct.unpack("<IH", p[:6])
            if boot_id == self.boot_id and hello_seq == self.hello_seq:
                self.state = ESTABLISHED  # _on_block starts the session
            return
        if frame.type == wire.NACK and len(p) >= 3 and (p[0] | (p[1] << 8)) == self.hello_seq:
            if not self.refused:
                problems = "; ".join(self.config.problems()) or "see the station's log"
                self._say(f"the station refused this HELLO (reason {p[2]}): {problems}")
            self.refused = p[2]
        # Everything else is ignored: nothing from an earlier session may reach this one.

    def _on_ack(self, seq: int, now: int) -> None:
        # Cumulative: the host never refuses an event, so any answer acknowledges up to seq.
        for i in range(len(self._unacked)):
            if self._unacked[i].seq == seq:
                del self._unacked[: i + 1]
                self._fill_window(now)
                return

    def _on_reliable(self, frame: wire.Frame, now: int) -> None:
        seq = frame.seq
        ahead = (seq - self._expected) & 0xFFFF
        if ahead >= 0x8000:  # a duplicate: its answer was lost; answer the same, apply nothing
            cached = self._answers.get(seq)
            if cached is None:
                cached = wire.encode_frame(wire.ACK, 0, struct.pack("<H", (self._expected - 1) & 0xFFFF))
            self._out.extend(cached)
            return
        if ahead:
            return  # a gap: an earlier frame was lost, the host goes back
        self._expected = (seq + 1) & 0xFFFF
        reason = self.commands.command(frame.type, frame.payload, now)
        if reason:
            answer = wire.encode_frame(wire.NACK, 0, struct.pack("<HB", seq, reason))
        else:
            answer = wire.encode_frame(wire.ACK, 0, struct.pack("<H", seq))
        self._answers[seq] = answer
        self._answer_order.append(seq)
        if len(self._answer_order) > _ANSWER_CACHE:
            self._answers.pop(self._answer_order.pop(0), None)
        self._out.extend(answer)
        self.commands.answered(frame.type, reason, now)

    def _fill_window(self, now: int) -> None:
        while self._pending and len(self._unacked) < cfg.WINDOW:
            item = self._pending.pop(0)
            item.last_sent = now
            self._unacked.append(item)
            self._out.extend(item.frame)

    def _say(self, message: str) -> None:
        self.hal.log(message)
