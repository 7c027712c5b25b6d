"""The firmware's belt tracker and protocol engine on a hand-driven hardware layer: the clock,
the eyes and the outputs are set by the test, the frames read back with the station's decoder."""

from __future__ import annotations

import struct

from hardware.firmware import wire
from hardware.firmware.app import App
from hardware.firmware.config import Config
from hardware.firmware.hal import CAMERA, CONFIRM, ENTRY, ESTOP, GATE, Hal
from hardware.framing import decode_frame, encode_frame
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
    LostMsg,
    LostReason,
    Message,
    Nack,
    NackReason,
    Welcome,
    decode_message,
)

BOOT = 0x0B00_7001


class HandHal(Hal):
    """Inputs and the clock set by the test; outputs recorded."""

    def __init__(self) -> None:
        self.now = 0
        self.levels: dict[tuple[int, int], bool] = {}
        self.pending: list[tuple[int, int, bool, int]] = []
        self.rx = b""
        self.tx = bytearray()
        self.gate = -1
        self.motor = False
        self.led = False
        self.lines: list[str] = []

    def ticks_ms(self) -> int:
        return self.now

    def idle(self, ms: int) -> None:
        self.now += ms

    def uart_read(self) -> bytes | None:
        data, self.rx = self.rx, b""
        return data or None

    def uart_write(self, data: bytes) -> None:
        self.tx += data

    def edges(self) -> list[tuple[int, int, bool, int]]:
        out, self.pending = self.pending, []
        return out

    def active(self, source: int, index: int) -> bool:
        return self.levels.get((source, index), False)

    def set_gate(self, lane: int) -> None:
        self.gate = lane

    def set_motor(self, on: bool) -> None:
        self.motor = on

    def set_led(self, on: bool) -> None:
        self.led = on

    def new_boot_id(self) -> int:
        return BOOT

    def log(self, message: str) -> None:
        self.lines.append(message)


class Bench:
    """The firmware's App on a HandHal, with a host that speaks by hand."""

    def __init__(self) -> None:
        self.hal = HandHal()
        self.log: list[tuple[int, Message]] = []
        self.app = App(Config(), self.hal)
        self.host_seq = 1
        hello = self.frames()[0]
        assert isinstance(hello[1], Hello)
        self.hal.rx = encode_frame(Welcome.TYPE, 0, Welcome(BOOT, hello[0]).payload())
        self.step()
        assert self.hal.led

    def step(self, to: int | None = None) -> None:
        if to is not None:
            self.hal.now = to
        self.app.step()
        self._collect()

    def _collect(self) -> None:
        """Read what the firmware wrote; ACK its events at once, as a prompt station does."""
        while True:
            events = []
            for block in bytes(self.hal.tx).split(b"\x00")[:-1]:
                raw = decode_frame(block)
                message = decode_message(raw.type, raw.payload)
                if isinstance(message, Heartbeat):
                    continue
                if message.TYPE >= 0x20:
                    events.append(raw.seq)
                self.log.append((raw.seq, message))
            self.hal.tx.clear()
            if not events:
                return
            self.hal.rx += encode_frame(Ack.TYPE, 0, Ack(events[-1]).payload())
            self.app.step()

    def edge(self, source: int, active: bool, at: int, index: int = 0) -> None:
        self.hal.levels[(source, index)] = active
        self.hal.pending.append((source, index, active, at))
        self.step(max(self.hal.now, at))

    def send(self, message: Message) -> int:
        seq = self.host_seq
        self.host_seq += 1
        self.hal.rx = encode_frame(message.TYPE, seq, message.payload())
        self.step()
        return seq

    def frames(self) -> list[tuple[int, Message]]:
        """(seq, message) the firmware wrote since the last call, heartbeats left out."""
        self._collect()
        out, self.log = self.log, []
        return out

    def messages(self) -> list[Message]:
        return [m for _s, m in self.frames()]


def test_an_item_goes_to_its_lane_and_a_stray_to_manual_review() -> None:
    b = Bench()
    b.edge(ENTRY, True, 0)
    b.edge(ENTRY, False, 50)
    b.edge(CAMERA, True, 250)
    got = b.messages()
    assert got[0] == ItemEnteredMsg(1)
    assert isinstance(got[1], ItemAtCameraMsg) and got[1].item_id == 1 and got[1].deadline_ms == 698
    seq = b.send(Divert(BOOT, 1, 3))
    assert Ack(seq) in b.messages()
    # Something at the gate long before item 1 is due (put on by hand): the gate stays at manual.
    b.edge(GATE, True, 400)
    assert b.hal.gate == 0
    b.edge(GATE, False, 450)
    b.step(900)  # item 1 is near: the gate is set for it
    assert b.hal.gate == 3
    b.edge(GATE, True, 1000)
    b.edge(GATE, False, 1050)
    assert b.hal.gate == 0  # back to manual review as soon as it has passed
    b.edge(CONFIRM, True, 1150, index=3)
    assert DivertedMsg(1, 3, 1) in b.messages()


def test_estop_loses_the_items_and_clear_waits_for_the_button() -> None:
    b = Bench()
    b.edge(ENTRY, True, 0)
    b.edge(ESTOP, True, 20)
    got = b.messages()
    assert EStopMsg() in got and LostMsg(1, LostReason.ESTOP) in got
    assert not b.hal.motor
    assert Nack(b.send(Divert(BOOT, 1, 2)), NackReason.STOPPED) in b.messages()
    assert Nack(b.send(Clear()), NackReason.STILL_ACTIVE) in b.messages()
    b.edge(ESTOP, False, 500)
    seq = b.send(Clear())
    got = b.messages()
    assert got.index(Ack(seq)) < got.index(ClearedMsg())  # ACK first, then CLEARED
    assert b.hal.motor


def test_host_silence_makes_outputs_safe_and_announces_again() -> None:
    b = Bench()
    b.edge(ENTRY, True, 0)
    b.edge(CAMERA, True, 250)
    seq = b.send(Divert(BOOT, 1, 2))
    assert Ack(seq) in b.messages()
    b.step(1300)  # 1 s without a frame from the host
    hellos = [(s, m) for s, m in b.frames() if isinstance(m, Hello)]
    assert hellos and hellos[0][0] == 2  # a new announcement
    assert not b.hal.led and b.hal.gate == 0
    b.edge(GATE, True, 1000 + 250)
    b.edge(GATE, False, 1300)
    assert b.hal.gate == 0
    b.edge(CONFIRM, True, 1400, index=0)
    assert not any(isinstance(m, DivertedMsg) for m in b.messages())  # no session: not reported


def test_a_duplicate_divert_is_answered_the_same_and_a_late_one_refused() -> None:
    b = Bench()
    b.edge(ENTRY, True, 0)
    b.edge(CAMERA, True, 250)
    b.messages()
    frame = encode_frame(Divert.TYPE, 1, Divert(BOOT, 1, 4).payload())
    b.hal.rx = frame
    b.step()
    b.hal.rx = frame  # the same seq again: its ACK was lost
    b.step()
    assert [m for m in b.messages() if isinstance(m, Ack | Nack)] == [Ack(1), Ack(1)]
    b.host_seq = 2
    assert Nack(b.send(Divert(BOOT, 1, 2)), NackReason.CONFLICT) in b.messages()
    b.edge(ENTRY, True, 300)
    b.edge(CAMERA, True, 550)
    b.step(550 + 750 - 50 + 1)  # a millisecond past item 2's deadline
    assert Nack(b.send(Divert(BOOT, 2, 1)), NackReason.TOO_LATE) in b.messages()
    assert Nack(b.send(Divert(BOOT ^ 1, 2, 1)), NackReason.STALE_BOOT) in b.messages()
    assert Nack(b.send(Divert(BOOT, 99, 1)), NackReason.UNKNOWN_ITEM) in b.messages()
    assert Nack(b.send(Divert(BOOT, 2, 5)), NackReason.BAD_LANE) in b.messages()
    b.hal.rx = encode_frame(0x7E, b.host_seq, b"x")
    b.step()
    assert Nack(b.host_seq, NackReason.UNSUPPORTED) in b.messages()
    assert struct.calcsize("<IIB") == 9 and wire.DIVERT == Divert.TYPE
