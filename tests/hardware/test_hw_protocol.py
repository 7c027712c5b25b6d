"""The sans-I/O protocol: framing round trips, garbage, truncation, bit flips, and two
Connections paired over a fake link that drops, duplicates and reorders frames."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware.framing import (
    MAX_FRAME,
    FrameError,
    FrameErrorKind,
    cobs_decode,
    cobs_encode,
    crc16,
    decode_frame,
    encode_frame,
)
from hardware.messages import (
    Ack,
    Clear,
    ClearedMsg,
    Divert,
    DivertedMsg,
    EStopMsg,
    Heartbeat,
    Hello,
    ItemAtCameraMsg,
    ItemEnteredMsg,
    JamMsg,
    LostMsg,
    Message,
    Nack,
    NackReason,
    Welcome,
    decode_message,
)
from hardware.protocol import (
    Acked,
    Connection,
    ConnectionState,
    Dropped,
    NotConnectedError,
    Received,
    Rejected,
    Role,
    SessionLost,
    SessionStarted,
    Timing,
)

PROPS = settings(max_examples=150, derandomize=True, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)

messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(Ack, u16),
    st.builds(Nack, u16, u8),
    st.builds(Heartbeat, u32),
    st.builds(Welcome, u32, u16),
    st.builds(Hello, u32, u8, u16, u8, u8, u16),
    st.builds(ItemEnteredMsg, u32),
    st.builds(ItemAtCameraMsg, u32, u16),
    st.builds(DivertedMsg, u32, u8, u8),
    st.builds(LostMsg, u32, u8),
    st.builds(JamMsg, u8),
    st.just(EStopMsg()),
    st.just(ClearedMsg()),
    st.builds(Divert, u32, u32, u8),
    st.just(Clear()),
)

HELLO = Hello(0x12345678, 0, 0x0F, 5, 0, 1000)


def test_crc_is_ccitt_false() -> None:
    # The standard check value of CRC-16/CCITT-FALSE.
    assert crc16(b"123456789") == 0x29B1


def test_example_frame_of_protocol_md() -> None:
    # DIVERT(boot 0x12345678, item 17, lane 2), seq 5: the example in PROTOCOL.md.
    frame = encode_frame(Divert.TYPE, 5, Divert(0x12345678, 17, 2).payload())
    assert frame.hex(" ") == "04 01 40 05 06 78 56 34 12 11 01 01 04 02 6c 77 00"


@PROPS
@given(st.binary(max_size=600))
def test_cobs_round_trip_and_no_zero(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert 0 not in encoded
    assert cobs_decode(encoded) == data


@PROPS
@given(messages, u16)
def test_every_message_round_trips(message: Message, seq: int) -> None:
    frame = encode_frame(message.TYPE, seq, message.payload())
    assert frame.endswith(b"\x00") and 0 not in frame[:-1]
    raw = decode_frame(frame[:-1])
    assert raw.seq == seq
    assert decode_message(raw.type, raw.payload) == message


@PROPS
@given(messages, st.data())
def test_truncated_frames_are_rejected(message: Message, data: st.DataObject) -> None:
    frame = encode_frame(message.TYPE, 1, message.payload())[:-1]
    cut = data.draw(st.integers(1, len(frame) - 1))
    with pytest.raises(FrameError):
        decode_frame(frame[:cut])


@PROPS
@given(messages, st.data())
def test_single_bit_flips_are_caught(message: Message, data: st.DataObject) -> None:
    frame = bytearray(encode_frame(message.TYPE, 7, message.payload())[:-1])
    pos = data.draw(st.integers(0, len(frame) - 1))
    frame[pos] ^= 1 << data.draw(st.integers(0, 7))
    # A flip that makes a 0x00 splits the frame in two; neither part may pass.
    for block in bytes(frame).split(b"\x00"):
        if block:
            with pytest.raises(FrameError):
                decode_frame(block)


def test_oversized_and_wrong_version_frames_are_rejected() -> None:
    with pytest.raises(ValueError, match="MAX_FRAME"):
        encode_frame(0x7F, 0, bytes(MAX_FRAME))
    with pytest.raises(FrameError) as err:
        decode_frame(encode_frame(ItemEnteredMsg.TYPE, 1, ItemEnteredMsg(1).payload(), version=2)[:-1])
    assert err.value.kind is FrameErrorKind.VERSION


def _established(now: float = 0.0, timing: Timing | None = None) -> tuple[Connection, Connection]:
    ctrl = Connection(Role.CONTROLLER, now, timing, HELLO)
    host = Connection(Role.HOST, now, timing)
    host.receive_data(ctrl.data_to_send(), now)
    ctrl.receive_data(host.data_to_send(), now)
    assert host.state is ctrl.state is ConnectionState.ESTABLISHED
    host.events()
    ctrl.events()
    return ctrl, host


@PROPS
@given(st.binary(max_size=300))
def test_garbage_never_crashes_and_the_next_frame_gets_through(garbage: bytes) -> None:
    ctrl, host = _established()
    host.receive_data(garbage, 0.001)
    for event in host.events():  # garbage may, at 2**-16 odds, be a valid frame; never an exception
        assert not isinstance(event, SessionStarted)
    ctrl.send(ItemEnteredMsg(42), 0.002)
    host.receive_data(b"\x00" + ctrl.data_to_send(), 0.002)
    assert any(isinstance(e, Received) and e.message == ItemEnteredMsg(42) for e in host.events())


def test_host_says_nothing_before_hello_and_cannot_send() -> None:
    host = Connection(Role.HOST, 0.0)
    host.receive_data(encode_frame(ItemEnteredMsg.TYPE, 1, ItemEnteredMsg(1).payload()), 0.0)
    host.tick(5.0)
    assert host.data_to_send() == b""
    assert host.events() == []
    with pytest.raises(NotConnectedError):
        host.send(Divert(1, 1, 1), 5.0)


def test_commands_from_an_earlier_session_are_ignored_while_announcing() -> None:
    ctrl, host = _established()
    ctrl.restart(0.01, Hello(0xCAFE, 0, 0, 5, 0, 1000))
    ctrl.data_to_send()
    host.send(Divert(HELLO.boot_id, 3, 2), 0.02)  # stale: sent before the host saw the reboot
    ctrl.receive_data(host.data_to_send(), 0.02)
    assert not any(isinstance(e, Received) for e in ctrl.events())


def test_a_late_copy_of_hello_does_not_restart_the_session() -> None:
    ctrl = Connection(Role.CONTROLLER, 0.0, None, HELLO)
    host = Connection(Role.HOST, 0.0)
    first = ctrl.data_to_send()
    ctrl.tick(0.3)  # WELCOME not back yet: HELLO resent with the same seq
    second = ctrl.data_to_send()
    host.receive_data(first, 0.3)
    ctrl.receive_data(host.data_to_send(), 0.3)
    host.send(Divert(HELLO.boot_id, 1, 1), 0.31)
    ctrl.receive_data(host.data_to_send(), 0.31)
    host.receive_data(second, 0.32)
    assert not any(isinstance(e, SessionLost) for e in host.events())
    (received,) = [e for e in ctrl.events() if isinstance(e, Received)]
    ctrl.respond(received.seq, None)
    host.receive_data(ctrl.data_to_send(), 0.33)
    assert any(isinstance(e, Acked) for e in host.events())


def test_retries_exhausted_drops_the_session_and_the_command() -> None:
    timing = Timing(ack_timeout_s=0.05, retries=2)
    ctrl, host = _established(0.0, timing)
    host.send(Divert(HELLO.boot_id, 1, 1), 0.0)
    t = 0.0
    for _ in range(10):
        t += 0.06
        host.receive_data(ctrl.data_to_send(), t)  # heartbeats keep the silence watchdog quiet
        ctrl.tick(t)
        host.tick(t)
    events = host.events()
    assert any(isinstance(e, Dropped) and isinstance(e.message, Divert) for e in events)
    assert any(isinstance(e, SessionLost) for e in events)
    assert host.stats.retransmits == 2


def test_a_lost_nack_is_not_taken_as_accepted_when_a_later_ack_covers_it() -> None:
    ctrl, host = _established()
    host.send(Divert(HELLO.boot_id, 8, 1), 0.0)
    host.send(Divert(HELLO.boot_id, 8, 0), 0.0)  # another lane for the same item: CONFLICT
    host.send(Divert(HELLO.boot_id, 9, 0), 0.0)
    ctrl.receive_data(host.data_to_send(), 0.001)
    first, second, third = [e.seq for e in ctrl.events() if isinstance(e, Received)]
    ctrl.respond(first, None)
    ctrl.respond(second, NackReason.CONFLICT)
    ctrl.respond(third, None)
    ack1, _lost_nack, ack3 = ctrl.data_to_send().split(b"\x00")[:3]
    host.receive_data(ack1 + b"\x00" + ack3 + b"\x00", 0.002)  # the NACK vanished on the line
    verdicts = [(type(e).__name__, e.message) for e in host.events() if isinstance(e, Acked | Rejected)]
    assert ("Acked", Divert(HELLO.boot_id, 8, 0)) not in verdicts  # ACK 3 says "received", not "accepted"
    assert host.in_flight == 1
    # The host asks again at once; the controller answers the duplicate as it did the first time.
    ctrl.receive_data(host.data_to_send(), 0.003)
    host.receive_data(ctrl.data_to_send(), 0.004)
    (rejected,) = [e for e in host.events() if isinstance(e, Rejected)]
    assert rejected.message == Divert(HELLO.boot_id, 8, 0) and rejected.reason == NackReason.CONFLICT
    assert host.in_flight == 0 and ctrl.stats.duplicates == 1
    assert not [e for e in ctrl.events() if isinstance(e, Received)]  # never applied twice


def test_a_copy_of_a_command_arriving_before_its_answer_is_not_acked_early() -> None:
    ctrl, host = _established()
    host.send(Divert(HELLO.boot_id, 1, 0), 0.0)
    first = host.data_to_send()  # lost on the line
    host.send(Divert(HELLO.boot_id, 1, 3), 0.04)
    host.tick(0.06)  # no answer: both resent; the controller reads everything at once
    ctrl.receive_data(first + host.data_to_send(), 0.061)
    received = [e for e in ctrl.events() if isinstance(e, Received)]
    assert [e.message for e in received] == [Divert(HELLO.boot_id, 1, 0), Divert(HELLO.boot_id, 1, 3)]
    ctrl.respond(received[0].seq, None)
    ctrl.respond(received[1].seq, NackReason.CONFLICT)
    host.receive_data(ctrl.data_to_send(), 0.062)
    verdicts = [(type(e).__name__, e.message.lane) for e in host.events() if isinstance(e, Acked | Rejected)]
    assert verdicts == [("Acked", 0), ("Rejected", 3)]


def test_silence_trips_both_watchdogs_and_the_controller_announces_again() -> None:
    ctrl, host = _established()
    host.tick(1.01)
    ctrl.tick(1.01)
    assert any(isinstance(e, SessionLost) for e in host.events())
    assert any(isinstance(e, SessionLost) for e in ctrl.events())
    assert ctrl.state is ConnectionState.ANNOUNCING
    host.receive_data(ctrl.data_to_send(), 1.02)
    (started,) = [e for e in host.events() if isinstance(e, SessionStarted)]
    assert started.boot_id == HELLO.boot_id and not started.new_boot


def test_unknown_reliable_type_is_nacked_unsupported_and_the_stream_goes_on() -> None:
    _ctrl, host = _established()
    host.receive_data(encode_frame(0x7E, 1, b"future"), 0.0)
    answer = decode_frame(host.data_to_send()[:-1])
    assert decode_message(answer.type, answer.payload) == Nack(1, NackReason.UNSUPPORTED)
    host.receive_data(encode_frame(ItemEnteredMsg.TYPE, 2, ItemEnteredMsg(5).payload()), 0.0)
    assert [e.message for e in host.events() if isinstance(e, Received)] == [ItemEnteredMsg(5)]


def test_minor_version_extra_payload_bytes_are_ignored() -> None:
    payload = ItemAtCameraMsg(9, 700).payload() + struct.pack("<H", 99)
    assert decode_message(ItemAtCameraMsg.TYPE, payload) == ItemAtCameraMsg(9, 700)


# ---- two connections over a misbehaving fake link ------------------------------------------


class FakeLine:
    """Frames in flight in one direction; the test decides what happens to each."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def put(self, data: bytes) -> None:
        self.frames += [f + b"\x00" for f in data.split(b"\x00")[:-1]]


@PROPS
@given(st.lists(st.tuples(st.sampled_from(["deliver", "swap", "dup", "drop", "wait", "send_up", "send_down"]),
                          st.integers(0, 7)), max_size=120))
def test_messages_arrive_once_in_order_despite_drops_duplicates_and_reordering(
        actions: list[tuple[str, int]]) -> None:
    timing = Timing(ack_timeout_s=0.05, retries=1000, silence_s=1e9)
    ctrl, host = _established(0.0, timing)
    up, down = FakeLine(), FakeLine()  # up: controller -> host
    sent_up: list[Message] = []
    sent_down: list[Message] = []
    got_up: list[Message] = []
    got_down: list[Message] = []
    acked_down: list[Message] = []
    t = 0.0
    n = 0

    def pump() -> None:
        up.put(ctrl.data_to_send())
        down.put(host.data_to_send())

    def collect() -> None:
        for e in host.events():
            if isinstance(e, Received):
                got_up.append(e.message)
            assert not isinstance(e, SessionLost | SessionStarted)
        for e in ctrl.events():
            if isinstance(e, Received):
                got_down.append(e.message)
                ctrl.respond(e.seq, None)
            elif isinstance(e, Acked | Rejected):
                pass
            assert not isinstance(e, SessionLost | SessionStarted)

    for action, arg in actions:
        line = up if arg % 2 else down
        target = host if line is up else ctrl
        if action == "send_up":
            n += 1
            sent_up.append(ItemEnteredMsg(n))
            ctrl.send(sent_up[-1], t)
        elif action == "send_down":
            n += 1
            sent_down.append(Divert(HELLO.boot_id, n, arg % 5))
            host.send(sent_down[-1], t)
        elif action == "wait":
            t += 0.02 * (arg + 1)
            ctrl.tick(t)
            host.tick(t)
        elif line.frames:
            i = arg % len(line.frames)
            if action == "deliver":
                target.receive_data(line.frames.pop(0), t)
            elif action == "swap" and len(line.frames) > 1:
                line.frames.insert(0, line.frames.pop(i))
            elif action == "dup":
                line.frames.insert(i, line.frames[i])
            elif action == "drop":
                line.frames.pop(i)
        pump()
        collect()
    # Then the line heals: everything must get through, exactly once, in order.
    for _ in range(200):
        while up.frames or down.frames:
            if up.frames:
                host.receive_data(up.frames.pop(0), t)
            if down.frames:
                ctrl.receive_data(down.frames.pop(0), t)
            pump()
            collect()
        if not ctrl.in_flight and not host.in_flight:
            break
        t += 0.06
        ctrl.tick(t)
        host.tick(t)
        pump()
    for e in host.events():
        if isinstance(e, Acked):
            acked_down.append(e.message)
    assert got_up == sent_up
    assert got_down == sent_down


def test_every_example_frame_in_protocol_md_is_valid() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "hardware" / "PROTOCOL.md").read_text(encoding="utf-8")
    lines = [line.split(":", 1)[1].strip() for line in text.splitlines() if "on wire:" in line]
    assert len(lines) >= 10
    for line in lines:
        frame = bytes.fromhex(line.replace(" ", ""))
        raw = decode_frame(frame[:-1])
        decode_message(raw.type, raw.payload)  # raises if the layout is wrong
