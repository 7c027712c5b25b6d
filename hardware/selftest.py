"""Conformance run against any controller (real or simulated): checks PROTOCOL.md §12 rule by rule.

It speaks the protocol by hand (framing and messages only, no `Connection`), because it
must do what a well-behaved host never does: withhold ACKs, send bad CRCs, repeat
sequence numbers, go silent.

A failed rule comes with a hint (what a controller usually gets wrong there) and the bytes
exchanged just before: hex in both directions, each frame decoded.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import Enum

import serial

from hardware.framing import FrameError, decode_frame, encode_frame
from hardware.messages import (
    HEARTBEAT_MS,
    RELIABLE_MIN,
    WATCHDOG_MAX_MS,
    WATCHDOG_MIN_MS,
    Ack,
    Divert,
    DivertedMsg,
    Heartbeat,
    Hello,
    ItemAtCameraMsg,
    Message,
    Nack,
    NackReason,
    PayloadError,
    Welcome,
    decode_message,
    hello_problems,
)

logger = logging.getLogger(__name__)

__all__ = ["RuleResult", "Status", "run_selftest"]


class Status(Enum):
    """Outcome of one rule."""

    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class RuleResult:
    """One rule of PROTOCOL.md §12 and how the controller did."""

    rule: str
    title: str
    status: Status
    detail: str
    hint: str = ""  # what to look at in the controller when the rule fails or is skipped
    trace: tuple[str, ...] = ()  # the last frames exchanged before a failure, hex and decoded


# How many frames (heartbeats aside) a failure shows.
TRACE_FRAMES = 12

# What a controller usually gets wrong, rule by rule (PROTOCOL.md section in brackets).
_HINTS = {
    "S2": "send the same HELLO again every 250 ms, with the same seq, until a WELCOME carrying "
          "your boot id and that seq arrives (§5)",
    "S3": "after the WELCOME, send HEARTBEAT every 200 ms; if none came at all, the controller did "
          "not take the WELCOME: compare its boot id and hello_seq with the HELLO's (§5, §7)",
    "S4": "a frame whose CRC does not match must be dropped without an answer (and counted); an "
          "answer means the CRC is not checked, or checked over the wrong bytes (§2)",
    "S5": "after garbage, drop bytes up to the next 0x00 and start a fresh frame; a COBS or CRC error "
          "must empty the receive buffer. No answer at all: is the baud rate {baud} on both ends, "
          "is the session up (HEARTBEATs arriving)? (§2)",
    "S6": "answer a reliable frame of an unknown type with NACK(seq, UNSUPPORTED = 0x08) so the "
          "stream goes on (§4, §11)",
    "S7": "check DIVERT's boot id against this boot's before anything else: NACK STALE_BOOT = 0x06; "
          "the checks go in §8's order: STALE_BOOT, STOPPED, BAD_LANE, UNKNOWN_ITEM, TOO_LATE, CONFLICT",
    "S8": "an item id this boot does not track: NACK UNKNOWN_ITEM = 0x02 (§6)",
    "S9": "lane >= lane_count: NACK BAD_LANE = 0x03, checked before the item (§8's order)",
    "S10": "in time: ACK; the same DIVERT again: ACK and nothing changes; another lane for the same "
           "item: NACK CONFLICT = 0x04; then DIVERTED(item, lane, commanded = 1) when the lane's "
           "confirm eye sees it (§8)",
    "S11": "a seq already answered is a duplicate: send the answer you gave the first time "
           "(keep the last 8 or more), a NACK as well as an ACK, and never apply it again; answering "
           "the copy of a refused command with ACK(expected - 1) tells the station it was accepted (§4)",
    "S12": "a DIVERT after the deadline is NACKed TOO_LATE = 0x01 and never applied: the item "
           "takes the default lane and DIVERTED says commanded = 0 (§8)",
    "S13": "resend every unacknowledged event after 50 ms: the same frame, byte for byte, with its "
           "original seq (go-back-N, §4)",
    "S14": "after watchdog_ms without any frame from the host: safe outputs and a new announcement "
           "(HELLO with the next seq) (§7)",
}
_REANNOUNCED_HINT = ("the controller took the WELCOME, then announced itself again although the station sent "
                     "a HEARTBEAT every 200 ms: its watchdog must count from the last valid frame of any "
                     "type, HEARTBEAT included, not only from ACKs and commands (§7)")
_HEARTBEATS_IGNORED_HINT = ("the controller announced itself again while the station's HEARTBEATs arrived "
                            "(and no ACK, as on a belt with nothing to report): its watchdog must count from "
                            "the last valid frame of any type, HEARTBEAT included (§7)")
# S9-S12 use the first item at the camera with more time than this to decide (ms).
MIN_DEADLINE_MS = 150
_SHORT_DEADLINE_HINT = (f"S9-S12 send up to six DIVERTs for one item before its deadline and need an item "
                        f"whose deadline_ms is above {MIN_DEADLINE_MS}: is deadline_ms in milliseconds, the "
                        "camera-to-gate travel minus the gate's set-up time (§8)? On a short belt, run it "
                        "slower for the test")
_RESENT_CHANGED_HINT = ("a retransmission is the frame sent the first time, byte for byte: keep the "
                        "encoded frame and send it again; never recompute its payload (ITEM_AT_CAMERA keeps "
                        "its first deadline_ms) (§4)")
_NO_ANSWER_HINT = ("no ACK or NACK within 500 ms: is the session up (HEARTBEATs arriving, or did the "
                   "controller go back to announcing)? is the baud rate {baud}? Every reliable frame "
                   "received in order must be answered. Then: ")
_NO_ITEM_HINT = "feed items onto the belt during the run, or give more time with --item-timeout"
BAD_HELLO_HINT = ("the station refuses this HELLO (NACK BAD_HELLO) and never starts a session: set "
                  "lane_count >= 2, default_lane < lane_count and watchdog_ms within "
                  f"{WATCHDOG_MIN_MS}..{WATCHDOG_MAX_MS} in the controller's configuration (§12 S1)")


def _describe(block: bytes) -> str:
    """One frame (without its delimiter), decoded for a person."""
    if not block:
        return "empty frame (flush)"
    try:
        raw = decode_frame(block)
    except FrameError as exc:
        return f"dropped: {exc}"
    try:
        message = decode_message(raw.type, raw.payload)
    except PayloadError as exc:
        return f"type 0x{raw.type:02x} seq {raw.seq}, payload {raw.payload.hex(' ')} ({exc})"
    values = []
    for f in fields(message):
        value = getattr(message, f.name)
        if f.name == "boot_id":
            values.append(f"{f.name}=0x{value:08x}")
        elif f.name == "reason" and isinstance(message, Nack):
            try:
                values.append(f"reason={NackReason(value).name}")
            except ValueError:
                values.append(f"reason=0x{value:02x}")
        else:
            values.append(f"{f.name}={value}")
    name = message.TYPE.name
    seq = f" seq {raw.seq}" if raw.type >= RELIABLE_MIN else ""
    return f"{name}{seq}" + (f" ({', '.join(values)})" if values else "")

@dataclass(frozen=True)
class _Frame:
    seq: int
    message: Message
    at: float


class _Probe:
    """A hand-driven host: sends what it is told, ACKs events only when asked to."""

    def __init__(self, port: serial.Serial) -> None:
        self.port = port
        self.started = time.monotonic()
        # (heartbeat?, line) for every frame either way; a failure shows the tail of it.
        self.trace: deque[tuple[bool, str]] = deque(maxlen=400)
        self.rx_bytes = 0
        self.rx_head = bytearray()  # the first bytes received, shown when no frame ever made sense
        self.buf = bytearray()
        self.tx_seq = 1
        self.expected = 1
        self.auto_ack = True
        self.heartbeats = False
        self.last_heartbeat = 0.0
        self.log: list[_Frame] = []  # every valid frame received, in order
        self.last_tx = 0.0  # when the probe last started writing: the controller's watchdog counts from it

    def write(self, data: bytes) -> None:
        self.last_tx = time.monotonic()
        self.port.write(data)
        blocks = data.split(b"\x00")
        for i, block in enumerate(blocks):
            if i == len(blocks) - 1 and not block:
                break
            ends = i < len(blocks) - 1
            wire = block + (b"\x00" if ends else b"")
            self._note("->", wire, _describe(block) if ends else "unterminated bytes")

    def _note(self, arrow: str, wire: bytes, text: str) -> None:
        at = time.monotonic() - self.started
        self.trace.append((text.startswith("HEARTBEAT"), f"{at:8.3f} s {arrow} {wire.hex(' ')}  {text}"))

    def trace_tail(self, heartbeats: bool) -> tuple[str, ...]:
        """The last TRACE_FRAMES frames (without heartbeats unless asked), oldest first."""
        lines: list[str] = []
        skipped = 0
        for beat, line in reversed(self.trace):
            if len(lines) >= TRACE_FRAMES:
                break
            if beat and not heartbeats:
                skipped += 1
                continue
            lines.append(line)
        if skipped:
            lines.append(f"({skipped} heartbeats left out)")
        if not lines and self.rx_head:  # bytes, but never a 0x00 to end a frame
            return (f"first {len(self.rx_head)} of {self.rx_bytes} bytes received, no frame delimiter "
                    f"(0x00) among them: {bytes(self.rx_head).hex(' ')}",)
        return tuple(reversed(lines))

    def send(self, message: Message, seq: int | None = None) -> int:
        if seq is None:
            seq = self.tx_seq
            self.tx_seq = (self.tx_seq + 1) % 0x10000
        self.write(encode_frame(message.TYPE, seq, message.payload()))
        return seq

    def poll(self, timeout: float) -> list[_Frame]:
        """Read for up to `timeout` s; returns the valid frames received."""
        end = time.monotonic() + timeout
        got: list[_Frame] = []
        while True:
            now = time.monotonic()
            if self.heartbeats and now - self.last_heartbeat >= HEARTBEAT_MS / 1000:
                self.last_heartbeat = now
                self.write(encode_frame(Heartbeat.TYPE, 0, Heartbeat(int(now * 1000) & 0xFFFFFFFF).payload()))
            data = self.port.read(self.port.in_waiting or 1)
            self.rx_bytes += len(data)
            if len(self.rx_head) < 48:
                self.rx_head += data[: 48 - len(self.rx_head)]
            self.buf += data
            while b"\x00" in self.buf:
                block, _, rest = bytes(self.buf).partition(b"\x00")
                self.buf = bytearray(rest)
                frame = self._parse(block, time.monotonic())
                if frame is not None:
                    got.append(frame)
            if time.monotonic() >= end:
                return got

    def _parse(self, block: bytes, now: float) -> _Frame | None:
        if not block:
            return None
        self._note("<-", block + b"\x00", _describe(block))
        try:
            raw = decode_frame(block)
            message = decode_message(raw.type, raw.payload)
        except (FrameError, PayloadError):
            return None
        frame = _Frame(raw.seq, message, now)
        self.log.append(frame)
        if self.auto_ack and message.TYPE >= RELIABLE_MIN and not isinstance(message, Hello):
            if raw.seq == self.expected:
                self.expected = (self.expected + 1) % 0x10000
                self.write(encode_frame(Ack.TYPE, 0, Ack(raw.seq).payload()))
            elif (self.expected - raw.seq) % 0x10000 < 0x8000:
                self.write(encode_frame(Ack.TYPE, 0, Ack((self.expected - 1) % 0x10000).payload()))
        return frame

    def wait(self, predicate: Callable[[Message, int], bool], timeout: float) -> _Frame | None:
        """The first frame received within `timeout` s that matches."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            for frame in self.poll(min(left, 0.02)):
                if predicate(frame.message, frame.seq):
                    return frame

    def answer(self, seq: int, timeout: float = 0.5) -> Message | None:
        frame = self.wait(lambda m, _s: isinstance(m, Ack | Nack) and m.seq == seq, timeout)
        return frame.message if frame is not None else None


def _nack_name(message: Message | None) -> str:
    if message is None:
        return "no answer"
    if isinstance(message, Nack):
        try:
            return f"NACK {NackReason(message.reason).name}"
        except ValueError:
            return f"NACK 0x{message.reason:02x}"
    return type(message).__name__.upper()


def run_selftest(port_path: str, baudrate: int = 115200, item_timeout_s: float = 10.0,
                 report: Callable[[RuleResult], None] | None = None) -> list[RuleResult]:
    """Run every rule against the controller on `port_path`; returns the results in order.

    Raises ValueError for a baud rate or an item timeout that is not a positive number (before the
    port is opened), OSError when the port cannot be opened."""
    if not (isinstance(baudrate, int) and baudrate > 0):
        raise ValueError(f"baud rate {baudrate!r}: give the controller's rate, e.g. 115200")
    if not 0 < item_timeout_s < math.inf:  # NaN fails too
        raise ValueError(f"item timeout {item_timeout_s!r} s: give a number of seconds, e.g. 10")
    results: list[RuleResult] = []
    port = serial.Serial(port_path, baudrate, timeout=0.005, exclusive=True)
    probe = _Probe(port)

    def record(rule: str, title: str, ok: bool | None, detail: str, hint: str = "") -> None:
        status = Status.SKIP if ok is None else Status.PASS if ok else Status.FAIL
        if status is Status.FAIL:
            hint = hint or _HINTS.get(rule, "")
            if detail.startswith("no answer") and rule != "S5":
                hint = _NO_ANSWER_HINT + hint
            trace = probe.trace_tail(heartbeats=rule in ("S3", "S14"))
        else:
            hint = hint if status is Status.SKIP else ""
            trace = ()
        result = RuleResult(rule, title, status, detail, hint.format(baud=baudrate), trace)
        results.append(result)
        if report is not None:
            report(result)

    try:
        _run(probe, record, item_timeout_s)
    finally:
        port.close()
    return results


_Record = Callable[..., None]


def _s1_hint(p: _Probe) -> str:
    if not p.rx_bytes:
        return ("nothing at all arrived: check the port, the cable (controller TX to station RX), that "
                "the controller is powered and running; it must speak first, HELLO every 250 ms (§5)")
    if not p.log:
        return (f"{p.rx_bytes} bytes arrived but not one valid frame: is the baud rate {{baud}} on both "
                "ends? Frames are COBS-encoded and end in 0x00; the CRC is CRC-16/CCITT-FALSE, "
                "0x29B1 for ASCII 123456789 (§2)")
    return ("valid frames arrived but no HELLO: without a session the controller must announce itself, "
            "HELLO every 250 ms (§5)")


_ITEM_RULES = (
    ("S9", "DIVERT to a lane that does not exist: NACK BAD_LANE"),
    ("S10", "DIVERT in time ACKed, repeat ACKed, other lane CONFLICT, DIVERTED follows"),
    ("S11", "a retransmitted DIVERT is answered the same and applied once"),
    ("S12", "late DIVERT: NACK TOO_LATE, item to the default lane"),
)
_LATER_RULES = ("S2", "S3", "S4", "S5", "S8", "S6", "S7", "S9", "S10", "S11", "S12", "S13", "S14")


def _run(p: _Probe, record: _Record, item_timeout_s: float) -> None:
    first = _s1(p, record)
    if first is None:
        return
    hello = first.message
    assert isinstance(hello, Hello)
    hello_seq = _s2(p, record, first)
    _s3(p, record, hello, hello_seq)
    _framing_rules(p, record, hello)
    _item_rules(p, record, hello, item_timeout_s)
    _s13(p, record, item_timeout_s)
    _s14(p, record, hello, hello_seq)


def _s1(p: _Probe, record: _Record) -> _Frame | None:
    """A HELLO arrives while the station says nothing (an established controller re-announces
    after its watchdog), and the station accepts it; None when the run stops there."""
    first = p.wait(lambda m, _s: isinstance(m, Hello), 6.5)
    if first is None:
        record("S1", "HELLO without being asked", False, "no valid HELLO in 6.5 s", _s1_hint(p))
        return None
    hello = first.message
    assert isinstance(hello, Hello)
    problems = hello_problems(hello)
    if problems:
        # Refused the way the station refuses it: NACK instead of WELCOME, no session.
        p.write(encode_frame(Nack.TYPE, 0, Nack(first.seq, NackReason.BAD_HELLO).payload()))
        p.poll(0.6)
        later = [f for f in p.log if f.at > first.at]
        in_session = any(not isinstance(f.message, Hello) for f in later)
        announcing = any(isinstance(f.message, Hello) for f in later)
        reaction = ("then sent frames as if in a session" if in_session
                    else "kept announcing" if announcing else "went quiet")
        record("S1", "HELLO without being asked", False,
               "; ".join(problems) + f"; refused with NACK BAD_HELLO, the controller {reaction}",
               BAD_HELLO_HINT)
        for rule in _LATER_RULES:
            record(rule, "not run", None, "the station refuses this controller's HELLO (S1)",
                   "fix S1 first")
        return None
    record("S1", "HELLO without being asked", True,
           f"boot {hello.boot_id:08x}, {hello.lane_count} lanes, default "
           f"{hello.default_lane}, watchdog {hello.watchdog_ms} ms, minor {hello.minor_version}")
    return first


def _s2(p: _Probe, record: _Record, first: _Frame) -> int:
    """The HELLO is resent with the same seq until WELCOME; returns the seq to welcome."""
    hello = first.message
    assert isinstance(hello, Hello)
    again = p.wait(lambda m, _s: isinstance(m, Hello), 1.0)
    ok = again is not None and again.seq == first.seq and isinstance(again.message, Hello) \
        and again.message.boot_id == hello.boot_id
    gap = f"{(again.at - first.at) * 1000:.0f} ms later" if again else "not resent within 1 s"
    record("S2", "HELLO resent with the same seq until WELCOME", ok,
           f"{gap}, seq {again.seq if again else '-'} (first {first.seq})")
    return again.seq if again is not None else first.seq


def _s3(p: _Probe, record: _Record, hello: Hello, hello_seq: int) -> None:
    """A session: WELCOME, then the controller's HEARTBEATs while the station's arrive."""
    p.write(b"\x00" + encode_frame(Welcome.TYPE, 0, Welcome(hello.boot_id, hello_seq).payload()))
    p.heartbeats = True
    start = time.monotonic()
    p.poll(1.2)
    beats = [f.at for f in p.log if isinstance(f.message, Heartbeat) and f.at >= start]
    gaps = [b - a for a, b in zip([start, *beats], beats, strict=False)]
    worst = max(gaps) if gaps else None
    detail = (f"{len(beats)} heartbeats in 1.2 s, longest gap "
              f"{'-' if worst is None else f'{worst * 1000:.0f} ms'}")
    # A new announcement while the station's HEARTBEATs arrive: the session ended on its own.
    again_hello = next((f for f in p.log if isinstance(f.message, Hello) and f.at >= start
                        and f.seq != hello_seq), None)
    if again_hello is not None:
        record("S3", "HEARTBEAT at least every 400 ms in a session", False,
               f"{detail}; HELLO seq {again_hello.seq} {(again_hello.at - start) * 1000:.0f} ms after "
               "the WELCOME", _REANNOUNCED_HINT)
    else:
        record("S3", "HEARTBEAT at least every 400 ms in a session", worst is not None and worst <= 0.4,
               detail)



def _framing_rules(p: _Probe, record: _Record, hello: Hello) -> None:
    """S4-S8: bad CRC, garbage, unknown type, stale boot, unknown item; no item on the belt needed."""
    boot = hello.boot_id
    # S4: a bad CRC is not answered (the seq is then reused by the next valid frame).
    seq = p.tx_seq
    frame = bytearray(encode_frame(Divert.TYPE, seq, Divert(boot, 0xFFFFFFF0, 1).payload()))
    frame[-2] ^= 0x01 if frame[-2] not in (0x01,) else 0x02
    p.write(bytes(frame))
    answer = p.answer(seq, 0.3)
    record("S4", "a bad CRC gets no answer", answer is None,
           f"got {_nack_name(answer)}" if answer else "silent")

    # S5: garbage then a delimiter, then a valid frame is answered.
    p.write(os.urandom(40).replace(b"\x00", b"\x55") + b"\x00")
    seq = p.send(Divert(boot, 0xFFFFFFF0, 1))
    answer = p.answer(seq)
    record("S5", "resynchronises after garbage", answer is not None,
           _nack_name(answer) + ("" if answer else " within 500 ms"))
    record("S8", "DIVERT for an unknown item: NACK UNKNOWN_ITEM",
           isinstance(answer, Nack) and answer.reason == NackReason.UNKNOWN_ITEM, _nack_name(answer))

    # S6: unknown reliable type.
    seq = p.tx_seq
    p.tx_seq += 1
    p.write(encode_frame(0x7E, seq, b"future"))
    answer = p.answer(seq)
    record("S6", "unknown reliable type: NACK UNSUPPORTED",
           isinstance(answer, Nack) and answer.reason == NackReason.UNSUPPORTED, _nack_name(answer))

    # S7: stale boot id.
    seq = p.send(Divert(boot ^ 0xFFFFFFFF, 1, 1))
    answer = p.answer(seq)
    record("S7", "DIVERT with another boot id: NACK STALE_BOOT",
           isinstance(answer, Nack) and answer.reason == NackReason.STALE_BOOT, _nack_name(answer))



def _item_rules(p: _Probe, record: _Record, hello: Hello, item_timeout_s: float) -> None:
    """S9-S12: DIVERTs of items at the camera (bad lane, in time, retransmitted, conflicting, late)."""
    boot = hello.boot_id
    lane = (hello.default_lane + 1) % hello.lane_count
    other = (hello.default_lane + 2) % hello.lane_count
    short: list[int] = []  # deadlines of the items too close to the gate to run S9-S12 on

    def usable(m: Message, _s: int) -> bool:
        if isinstance(m, ItemAtCameraMsg) and m.deadline_ms <= MIN_DEADLINE_MS:
            short.append(m.deadline_ms)
        return isinstance(m, ItemAtCameraMsg) and m.deadline_ms > MIN_DEADLINE_MS

    item = p.wait(usable, item_timeout_s)
    if item is None:
        if short:
            why = (f"{len(short)} items at the camera in {item_timeout_s:g} s, none with deadline_ms above "
                   f"{MIN_DEADLINE_MS} (longest {max(short)} ms)")
        else:
            why = f"no item at the camera in {item_timeout_s:g} s"
        for rule, title in _ITEM_RULES:
            record(rule, title, None, why, _SHORT_DEADLINE_HINT if short else _NO_ITEM_HINT)
    else:
        assert isinstance(item.message, ItemAtCameraMsg)
        item_id = item.message.item_id
        seq = p.send(Divert(boot, item_id, hello.lane_count))
        answer = p.answer(seq)
        titles = dict(_ITEM_RULES)
        record("S9", titles["S9"],
               isinstance(answer, Nack) and answer.reason == NackReason.BAD_LANE, _nack_name(answer))
        seq = p.send(Divert(boot, item_id, lane))
        first_answer = p.answer(seq)
        # S11: the same frame again (its answer "was lost"): same answer, applied once.
        p.write(encode_frame(Divert.TYPE, seq, Divert(boot, item_id, lane).payload()))
        repeat_answer = p.answer(seq)
        again_answer = p.answer(p.send(Divert(boot, item_id, lane)))
        conflict_seq = p.send(Divert(boot, item_id, other))
        conflict = p.answer(conflict_seq)
        # S11 again, for a refused command: a copy must get the same NACK, never ACK(expected - 1).
        p.write(encode_frame(Divert.TYPE, conflict_seq, Divert(boot, item_id, other).payload()))
        conflict_repeat = p.answer(conflict_seq)
        confirmed = p.wait(lambda m, _s: isinstance(m, DivertedMsg) and m.item_id == item_id, 10.0)
        more = p.wait(lambda m, _s: isinstance(m, DivertedMsg) and m.item_id == item_id, 0.5)
        d = confirmed.message if confirmed is not None else None
        ok = (isinstance(first_answer, Ack) and isinstance(again_answer, Ack)
              and isinstance(conflict, Nack) and conflict.reason == NackReason.CONFLICT
              and isinstance(d, DivertedMsg) and d.lane == lane and d.commanded == 1)
        record("S10", titles["S10"], ok,
               f"first {_nack_name(first_answer)}, repeat {_nack_name(again_answer)}, other lane "
               f"{_nack_name(conflict)}, confirmed {d if d else 'nothing'}")
        record("S11", titles["S11"],
               isinstance(repeat_answer, Ack) and conflict is not None and conflict_repeat == conflict
               and more is None,
               f"retransmission {_nack_name(repeat_answer)}, retransmitted other lane "
               f"{_nack_name(conflict_repeat)} (first {_nack_name(conflict)}), "
               f"{'a second DIVERTED' if more else 'one DIVERTED'}")
        _s12(p, record, hello, lane, item_timeout_s)


def _s12(p: _Probe, record: _Record, hello: Hello, lane: int, item_timeout_s: float) -> None:
    """A DIVERT just after the next item's deadline is refused, and the item takes the default lane."""
    title = dict(_ITEM_RULES)["S12"]
    boot = hello.boot_id
    late = p.wait(lambda m, _s: isinstance(m, ItemAtCameraMsg), item_timeout_s)
    if late is None:
        record("S12", title, None, "no second item", _NO_ITEM_HINT)
        return
    assert isinstance(late.message, ItemAtCameraMsg)
    late_id = late.message.item_id
    # 20 ms after the deadline: late by the rules, yet (usually) before the gate moves.
    p.poll(max(0.0, late.at + late.message.deadline_ms / 1000 + 0.02 - time.monotonic()))
    answer = p.answer(p.send(Divert(boot, late_id, lane)))
    confirmed = p.wait(lambda m, _s: isinstance(m, DivertedMsg) and m.item_id == late_id, 10.0)
    d = confirmed.message if confirmed is not None else None
    ok = (isinstance(answer, Nack) and answer.reason == NackReason.TOO_LATE
          and isinstance(d, DivertedMsg) and d.lane == hello.default_lane and d.commanded == 0)
    record("S12", title, ok, f"{_nack_name(answer)}, confirmed {d if d else 'nothing'}")


def _s13(p: _Probe, record: _Record, item_timeout_s: float) -> None:
    """An event the station does not ACK comes again: the same frame, with the same seq."""
    p.auto_ack = False
    event = p.wait(lambda m, s: m.TYPE >= 0x20 and s == p.expected, item_timeout_s)
    if event is None:
        record("S13", "unacknowledged events are resent", None, "no event to withhold an ACK from",
               _NO_ITEM_HINT)
    else:
        resent = p.wait(lambda m, s: s == event.seq and m.TYPE == event.message.TYPE, 1.0)
        if resent is None:
            record("S13", "unacknowledged events are resent", False, f"seq {event.seq} not resent within 1 s")
        elif resent.message != event.message:
            record("S13", "unacknowledged events are resent", False,
                   f"seq {event.seq} resent after {(resent.at - event.at) * 1000:.0f} ms but changed: "
                   f"{event.message} first, {resent.message} then", _RESENT_CHANGED_HINT)
        else:
            record("S13", "unacknowledged events are resent", True,
                   f"seq {event.seq} resent after {(resent.at - event.at) * 1000:.0f} ms")


def _s14(p: _Probe, record: _Record, hello: Hello, hello_seq: int) -> None:
    """HEARTBEATs alone keep the session up; silence for watchdog_ms ends it (a new announcement)."""
    title = "host silence trips the watchdog: HELLO again"
    watchdog_s = hello.watchdog_ms / 1000

    def announced(m: Message, s: int) -> bool:
        return isinstance(m, Hello) and s != hello_seq

    # First HEARTBEATs and nothing else (S13 stopped the ACKs) for longer than the watchdog.
    p.heartbeats = True
    quiet_from = time.monotonic()
    early = p.wait(announced, watchdog_s + 0.3)
    if early is not None:
        record("S14", title, False,
               f"HELLO seq {early.seq} {(early.at - quiet_from) * 1000:.0f} ms into a spell of HEARTBEATs "
               f"without ACKs (watchdog_ms {hello.watchdog_ms})", _HEARTBEATS_IGNORED_HINT)
        return
    p.heartbeats = False
    silent_from = p.last_tx
    again = p.wait(announced, watchdog_s + 1.5)
    record("S14", title, again is not None,
           f"HELLO {(again.at - silent_from) * 1000:.0f} ms after the station's last frame" if again
           else f"no new HELLO within {hello.watchdog_ms + 1500} ms of silence")
