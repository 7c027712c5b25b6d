"""The conveyor link protocol with no I/O: bytes in, events out; messages in, bytes out.

One `Connection` is one end of the link, either the station (`Role.HOST`) or the
conveyor controller (`Role.CONTROLLER`). The caller feeds received bytes with
`receive_data(data, now)`, pulls events with `next_event()`, queues messages with
`send(message, now)`, calls `tick(now)` at least every few milliseconds (retransmits,
heartbeats, silence watchdog) and writes whatever `data_to_send()` returns. Time is
always passed in, so the state machine runs the same in tests, on a pty and on a port.

Reliability is go-back-N: reliable frames carry consecutive sequence numbers, the
receiver accepts only the next one in order, answers ACK (cumulative) or NACK, and the
sender resends every unacknowledged frame after `ack_timeout_s`. PROTOCOL.md holds the
rules this module implements.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from hardware.framing import MAX_FRAME, FrameError, FrameErrorKind, decode_frame, encode_frame
from hardware.messages import (
    RELIABLE_MIN,
    Ack,
    Clear,
    Divert,
    Heartbeat,
    Hello,
    Message,
    Nack,
    NackReason,
    PayloadError,
    Welcome,
    decode_message,
    hello_problems,
)

logger = logging.getLogger(__name__)

__all__ = [
    "Acked",
    "Connection",
    "ConnectionState",
    "Dropped",
    "HelloRefused",
    "LinkStats",
    "NotConnectedError",
    "ProtocolEvent",
    "Received",
    "Rejected",
    "Role",
    "SessionLost",
    "SessionStarted",
    "Timing",
]

_SEQ_MOD = 0x10000
_HALF = 0x8000
# How many recent responses a receiver keeps to answer a retransmitted duplicate the same way.
_RESPONSE_CACHE = 64


class Role(Enum):
    """Which end of the link a Connection is."""

    HOST = "host"
    CONTROLLER = "controller"


class ConnectionState(Enum):
    """Where a Connection is in its session."""

    WAIT_HELLO = "wait_hello"  # host: says nothing until the controller's HELLO
    ANNOUNCING = "announcing"  # controller: resending HELLO until the host ACKs it
    ESTABLISHED = "established"


@dataclass(frozen=True)
class Timing:
    """Timers of one end (seconds). Both ends should use the same values."""

    heartbeat_s: float = 0.2
    ack_timeout_s: float = 0.05
    retries: int = 3
    silence_s: float = 1.0
    hello_interval_s: float = 0.25
    window: int = 8


@dataclass(frozen=True)
class SessionStarted:
    """A session began: the host got a HELLO (and ACKed it), or the controller's HELLO was ACKed."""

    boot_id: int
    new_boot: bool
    hello: Hello


@dataclass(frozen=True)
class SessionLost:
    """The session ended; unacknowledged messages were dropped (see Dropped events)."""

    reason: str


@dataclass(frozen=True)
class Received:
    """A new reliable message from the peer, in order. A controller must `respond()` to commands.

    `boot_id` is the controller's boot at the time it arrived (item ids are only unique per boot).
    """

    seq: int
    message: Message
    boot_id: int | None = None


@dataclass(frozen=True)
class Acked:
    """The peer ACKed our message; `rtt_s` is None when it had been retransmitted (Karn)."""

    seq: int
    message: Message
    rtt_s: float | None


@dataclass(frozen=True)
class Rejected:
    """The peer NACKed our message with `reason`."""

    seq: int
    message: Message
    reason: int
    rtt_s: float | None


@dataclass(frozen=True)
class Dropped:
    """Our message was never acknowledged before the session ended; it must not be resent."""

    message: Message


@dataclass(frozen=True)
class HelloRefused:
    """Controller: the host answered this announcement with NACK (its HELLO breaks §12 S1)."""

    reason: int


ProtocolEvent = SessionStarted | SessionLost | Received | Acked | Rejected | Dropped | HelloRefused


class NotConnectedError(RuntimeError):
    """A message was sent while there is no session (nothing may be sent before HELLO)."""


@dataclass
class LinkStats:
    """Counters of one end of the link (mutable, owned by its Connection)."""

    frames_rx: int = 0
    frames_tx: int = 0
    crc_errors: int = 0
    frame_errors: int = 0  # COBS, length, version
    payload_errors: int = 0
    duplicates: int = 0
    seq_gaps: int = 0
    retransmits: int = 0
    sessions: int = 0
    rtt_s: deque[float] = field(default_factory=lambda: deque(maxlen=2000))


@dataclass
class _Outgoing:
    seq: int
    message: Message
    frame: bytes
    first_sent: float = 0.0
    last_sent: float = 0.0
    attempts: int = 0
    # Host: a later answer showed the controller received this command, but its own answer
    # was lost; it stays outstanding (and is resent) until that answer arrives.
    received: bool = False


_CONTROLLER_COMMANDS = (Divert, Clear)


class Connection:
    """One end of the conveyor link (sans-I/O)."""

    def __init__(self, role: Role, now: float, timing: Timing | None = None, hello: Hello | None = None,
                 known_boot_id: int | None = None):
        """`hello`: the controller's own HELLO. `known_boot_id`: the host's last boot id seen
        on an earlier connection, so that a HELLO with the same id is not a new boot."""
        if role is Role.CONTROLLER and hello is None:
            raise ValueError("a controller Connection needs its HELLO")
        self.role = role
        self.timing = timing or Timing()
        self.stats = LinkStats()
        self.hello: Hello | None = hello
        self.boot_id: int | None = hello.boot_id if hello else known_boot_id
        self._events: deque[ProtocolEvent] = deque()
        self._out = bytearray()
        self._rx = bytearray()
        self._rx_overflow = False
        self._tx_seq = 1
        self._rx_expected = 1
        self._hello_seq = 0  # controller: this announcement's seq; host: the session's HELLO seq
        self._unacked: deque[_Outgoing] = deque()
        self._pending: deque[_Outgoing] = deque()
        self._responses: dict[int, bytes] = {}
        self._undecided: set[int] = set()  # controller: commands delivered, respond() not called yet
        self._last_rx = now
        self._last_heartbeat = now
        self._last_hello = -1e9
        self._start = now
        self._warned_version = False
        self._refused_hello: tuple[int, int] | None = None  # host: (boot id, seq) of a HELLO it refused
        if role is Role.HOST:
            self.state = ConnectionState.WAIT_HELLO
        else:
            self.state = ConnectionState.WAIT_HELLO  # _announce starts the first announcement
            self._announce(now)

    # ---- public API ---------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes read from the line; complete frames are processed at once."""
        for byte in data:
            if byte != 0:
                if len(self._rx) > MAX_FRAME + 2:
                    # No delimiter where one must be: drop until the next 0x00.
                    if not self._rx_overflow:
                        self._rx_overflow = True
                        self.stats.frame_errors += 1
                    continue
                self._rx.append(byte)
                continue
            block = bytes(self._rx)
            self._rx.clear()
            overflow, self._rx_overflow = self._rx_overflow, False
            if block and not overflow:
                self._handle_block(block, now)

    def next_event(self) -> ProtocolEvent | None:
        """The next event, or None when there is none."""
        return self._events.popleft() if self._events else None

    def events(self) -> list[ProtocolEvent]:
        """Every pending event, oldest first."""
        out = list(self._events)
        self._events.clear()
        return out

    def data_to_send(self) -> bytes:
        """Bytes to write to the line (and forget)."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def send(self, message: Message, now: float) -> int:
        """Queue a reliable message; returns its sequence number."""
        if not message.reliable:
            raise ValueError(f"{type(message).__name__} is a link-layer frame; send() takes reliable ones")
        if self.state is not ConnectionState.ESTABLISHED:
            raise NotConnectedError(
                f"no session (state {self.state.value}); nothing may be sent before HELLO"
            )
        seq = self._tx_seq
        self._tx_seq = (self._tx_seq + 1) % _SEQ_MOD
        item = _Outgoing(seq, message, encode_frame(message.TYPE, seq, message.payload()))
        self._pending.append(item)
        self._fill_window(now)
        return seq

    def respond(self, seq: int, reason: NackReason | None) -> None:
        """Answer a command received by a controller: ACK when `reason` is None, else NACK."""
        if reason is None:
            frame = encode_frame(Ack.TYPE, 0, Ack(seq).payload())
        else:
            frame = encode_frame(Nack.TYPE, 0, Nack(seq, int(reason)).payload())
        self._undecided.discard(seq)
        self._remember(seq, frame)
        self._write(frame)

    def tick(self, now: float) -> None:
        """Run the timers: HELLO resend, retransmits, heartbeats, silence watchdog."""
        if self.state is ConnectionState.ANNOUNCING:
            if now - self._last_hello >= self.timing.hello_interval_s:
                self._announce(now)
            return
        if self.state is not ConnectionState.ESTABLISHED:
            return
        if now - self._last_rx >= self.timing.silence_s:
            self._lose(f"no frame from the {self._peer_name} for {now - self._last_rx:.2f} s", now)
            return
        if self._unacked and now - self._unacked[0].last_sent >= self.timing.ack_timeout_s:
            # The host gives up after `retries` resends; the controller resends until its
            # watchdog trips, so a stalled host never sends items to manual before ~1 s.
            if self.role is Role.HOST and self._unacked[0].attempts > self.timing.retries:
                first = self._unacked[0]
                self._lose(
                    f"{type(first.message).__name__} seq {first.seq} not acknowledged after "
                    f"{first.attempts} tries", now,
                )
                return
            for item in self._unacked:  # go-back-N: resend the whole window in order
                item.attempts += 1
                item.last_sent = now
                self.stats.retransmits += 1
                self._write(item.frame)
        if now - self._last_heartbeat >= self.timing.heartbeat_s:
            self._last_heartbeat = now
            uptime = int((now - self._start) * 1000) & 0xFFFFFFFF
            self._write(encode_frame(Heartbeat.TYPE, 0, Heartbeat(uptime).payload()))

    def next_deadline(self, now: float) -> float:
        """The latest time at which `tick` must run again."""
        if self.state is ConnectionState.ANNOUNCING:
            return self._last_hello + self.timing.hello_interval_s
        if self.state is ConnectionState.WAIT_HELLO:
            return now + 0.05
        times = [self._last_heartbeat + self.timing.heartbeat_s, self._last_rx + self.timing.silence_s]
        if self._unacked:
            times.append(self._unacked[0].last_sent + self.timing.ack_timeout_s)
        return min(times)

    def restart(self, now: float, hello: Hello) -> None:
        """Controller only: a reboot; drop the session and announce `hello`."""
        if self.role is not Role.CONTROLLER:
            raise ValueError("only a controller announces itself")
        self.hello = hello
        self.boot_id = hello.boot_id
        if self.state is ConnectionState.ESTABLISHED:
            self._lose("controller restarted", now)
        else:
            self._announce(now)

    def close(self, reason: str, now: float) -> None:
        """End the session from this side (port closed): unacknowledged messages are Dropped."""
        if self.state is ConnectionState.ESTABLISHED:
            self._lose(reason, now)
        for item in [*self._unacked, *self._pending]:
            self._events.append(Dropped(item.message))
        self._unacked.clear()
        self._pending.clear()
        if self.role is Role.HOST:
            self.state = ConnectionState.WAIT_HELLO

    def silence_age(self, now: float) -> float:
        """Seconds since the last valid frame from the peer."""
        return now - self._last_rx

    @property
    def in_flight(self) -> int:
        """Reliable messages sent or queued but not yet acknowledged."""
        return len(self._unacked) + len(self._pending)

    # ---- internals ----------------------------------------------------------------------

    @property
    def _peer_name(self) -> str:
        return "controller" if self.role is Role.HOST else "host"

    def _write(self, frame: bytes) -> None:
        self.stats.frames_tx += 1
        self._out += frame

    def _remember(self, seq: int, frame: bytes) -> None:
        self._responses[seq] = frame
        if len(self._responses) > _RESPONSE_CACHE:
            del self._responses[next(iter(self._responses))]

    def _announce(self, now: float) -> None:
        assert self.hello is not None
        if self.state is not ConnectionState.ANNOUNCING:
            # A new announcement gets a new seq, its resends keep it: the host starts one
            # session per announcement, however many copies of the HELLO it receives.
            self._hello_seq = self._hello_seq % 0xFFFF + 1
            self.state = ConnectionState.ANNOUNCING
        self._last_hello = now
        self._write(encode_frame(Hello.TYPE, self._hello_seq, self.hello.payload()))

    def _lose(self, reason: str, now: float) -> None:
        logger.info("%s link session lost: %s", self.role.value, reason)
        for item in [*self._unacked, *self._pending]:
            self._events.append(Dropped(item.message))
        self._unacked.clear()
        self._pending.clear()
        self._responses.clear()
        self._undecided.clear()
        self._events.append(SessionLost(reason))
        if self.role is Role.HOST:
            self.state = ConnectionState.WAIT_HELLO
        else:
            self.state = ConnectionState.WAIT_HELLO  # so that _announce starts a new announcement
            self._announce(now)

    def _start_session(self, now: float) -> None:
        for item in [*self._unacked, *self._pending]:
            self._events.append(Dropped(item.message))
        self._unacked.clear()
        self._pending.clear()
        self._responses.clear()
        self._undecided.clear()
        self._rx_expected = 1
        self._tx_seq = 1
        self._last_rx = now
        self._last_heartbeat = now
        self.state = ConnectionState.ESTABLISHED
        self.stats.sessions += 1

    def _fill_window(self, now: float) -> None:
        while self._pending and len(self._unacked) < self.timing.window:
            item = self._pending.popleft()
            item.first_sent = item.last_sent = now
            item.attempts = 1
            self._unacked.append(item)
            self._write(item.frame)

    def _handle_block(self, block: bytes, now: float) -> None:
        try:
            raw = decode_frame(block)
        except FrameError as exc:
            if exc.kind is FrameErrorKind.CRC:
                self.stats.crc_errors += 1
            else:
                self.stats.frame_errors += 1
                if exc.kind is FrameErrorKind.VERSION and not self._warned_version:
                    self._warned_version = True
                    logger.warning("the %s speaks another protocol version (%s); its frames are dropped — "
                                   "update the controller firmware or the station", self._peer_name, exc)
            return
        self.stats.frames_rx += 1
        try:
            message: Message | None = decode_message(raw.type, raw.payload)
        except PayloadError as exc:
            self.stats.payload_errors += 1
            logger.debug("unusable frame: %s", exc)
            message = None
        if self.state is ConnectionState.WAIT_HELLO:
            if isinstance(message, Hello):
                self._on_hello(raw.seq, message, now)
            return  # nothing but HELLO counts before a session
        if self.state is ConnectionState.ANNOUNCING:
            assert self.hello is not None
            if (isinstance(message, Welcome) and message.boot_id == self.hello.boot_id
                    and message.hello_seq == self._hello_seq):
                self._start_session(now)
                self._events.append(SessionStarted(self.hello.boot_id, False, self.hello))
            elif (isinstance(message, Nack) and message.seq == self._hello_seq
                  and self._refused_hello != (self.hello.boot_id, self._hello_seq)):
                # Once per announcement: the host refused this HELLO; it goes on announcing.
                self._refused_hello = (self.hello.boot_id, self._hello_seq)
                self._events.append(HelloRefused(message.reason))
            return  # frames of an earlier session are ignored: never apply a stale command
        self._last_rx = now
        if isinstance(message, Hello | Welcome):
            if self.role is Role.HOST and isinstance(message, Hello):
                self._on_hello(raw.seq, message, now)
            return
        if isinstance(message, Ack | Nack):
            self._on_ack(message, now)
            return
        if raw.type < RELIABLE_MIN:
            return  # heartbeat, or a link-layer frame of a later minor version
        self._on_reliable(raw.seq, message, now)

    def _on_hello(self, seq: int, hello: Hello, now: float) -> None:
        problems = hello_problems(hello, round(self.timing.heartbeat_s * 1000))
        if problems:
            # No session with a controller the station cannot work with: NACK instead of WELCOME.
            if self._refused_hello != (hello.boot_id, seq):
                self._refused_hello = (hello.boot_id, seq)
                logger.warning("the conveyor controller (boot %08x) announces %s: refused, no session — "
                               "fix the controller's configuration (PROTOCOL.md §12 S1)",
                               hello.boot_id, "; ".join(problems))
            if self.state is ConnectionState.ESTABLISHED:
                self._lose("the controller announced itself again with a HELLO that is refused", now)
            self._write(encode_frame(Nack.TYPE, 0, Nack(seq, NackReason.BAD_HELLO).payload()))
            return
        welcome = encode_frame(Welcome.TYPE, 0, Welcome(hello.boot_id, seq).payload())
        if (self.state is ConnectionState.ESTABLISHED and hello.boot_id == self.boot_id
                and seq == self._hello_seq):
            self._write(welcome)  # a resent copy of this session's HELLO: our WELCOME was late
            return
        new_boot = hello.boot_id != self.boot_id
        if self.state is ConnectionState.ESTABLISHED:
            self._lose("the controller announced itself again (reboot or watchdog)", now)
        self.hello = hello
        self.boot_id = hello.boot_id
        self._hello_seq = seq
        self._start_session(now)
        self._write(welcome)
        self._events.append(SessionStarted(hello.boot_id, new_boot, hello))

    def _on_ack(self, message: Ack | Nack, now: float) -> None:
        # Cumulative: everything up to message.seq was received by the peer.
        if not any(item.seq == message.seq for item in self._unacked):
            return  # a late duplicate answer
        unanswered: list[_Outgoing] = []
        while self._unacked:
            item = self._unacked.popleft()
            if item.seq != message.seq and self.role is Role.HOST:
                # The controller received this command but its own answer was lost, and it may
                # have been a NACK (CONFLICT, TOO_LATE, ...): a later ACK only says "received".
                # Taking it as accepted would make the station believe a lane the controller
                # refused. Ask again: a duplicate is answered the way it was the first time.
                unanswered.append(item)
                continue
            rtt = now - item.first_sent if item.attempts == 1 else None
            if rtt is not None:
                self.stats.rtt_s.append(rtt)
            if item.seq == message.seq and isinstance(message, Nack):
                self._events.append(Rejected(item.seq, item.message, message.reason, rtt))
            else:
                self._events.append(Acked(item.seq, item.message, rtt))
            if item.seq == message.seq:
                break
        for item in unanswered:
            if not item.received:
                item.received = True  # resend at once, the answer is known to be lost
                item.attempts += 1
                item.last_sent = now
                self.stats.retransmits += 1
                self._write(item.frame)
        self._unacked.extendleft(reversed(unanswered))  # still oldest first
        self._fill_window(now)

    def _on_reliable(self, seq: int, message: Message | None, now: float) -> None:
        ahead = (seq - self._rx_expected) % _SEQ_MOD
        if ahead >= _HALF:  # behind: a retransmission of something already delivered
            self.stats.duplicates += 1
            cached = self._responses.get(seq)
            if cached is not None:
                self._write(cached)
            elif seq not in self._undecided:
                # A copy of a command not answered yet (it came in the same read as the first)
                # gets no answer of its own: respond() gives it. A fallback ACK would tell the
                # host a command was accepted that may yet be refused.
                last = (self._rx_expected - 1) % _SEQ_MOD
                self._write(encode_frame(Ack.TYPE, 0, Ack(last).payload()))
            return
        if ahead > 0:  # a gap: an earlier frame was lost; the sender will go back
            self.stats.seq_gaps += 1
            return
        self._rx_expected = (seq + 1) % _SEQ_MOD
        # A type this end never receives (an event sent to the controller, a command to the host)
        # is as unknown to it as a type from a later minor version: NACKed, never applied (§4).
        is_command = isinstance(message, _CONTROLLER_COMMANDS)
        if message is None or is_command != (self.role is Role.CONTROLLER):
            self.respond(seq, NackReason.UNSUPPORTED)
            return
        self._events.append(Received(seq, message, self.boot_id))
        if self.role is Role.CONTROLLER:
            self._undecided.add(seq)
        else:
            self.respond(seq, None)
