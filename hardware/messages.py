"""Every message of the conveyor link, as frozen dataclasses with their byte layouts.

All integers are little-endian. Types 0x01-0x0F are link-layer frames (never
acknowledged, never retransmitted); types 0x10 and up are reliable: the receiver answers
ACK or NACK and the sender retransmits until it does. PROTOCOL.md is the normative text.

A message that has a station-facing counterpart in `hardware.events` (an item entered, at
the camera, diverted, lost; jam, e-stop, cleared) ends in `Msg`: `ItemAtCameraMsg` is the
frame with a deadline in milliseconds, `events.ItemAtCamera` what the link makes of it.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import ClassVar

__all__ = [
    "HEARTBEAT_MS",
    "RELIABLE_MIN",
    "WATCHDOG_MAX_MS",
    "WATCHDOG_MIN_MS",
    "Ack",
    "Capability",
    "Clear",
    "ClearedMsg",
    "Divert",
    "DivertedMsg",
    "EStopMsg",
    "Heartbeat",
    "Hello",
    "ItemAtCameraMsg",
    "ItemEnteredMsg",
    "JamMsg",
    "LostMsg",
    "LostReason",
    "Message",
    "MessageType",
    "Nack",
    "NackReason",
    "PayloadError",
    "Welcome",
    "decode_message",
    "hello_problems",
]

RELIABLE_MIN = 0x10
# The host's HEARTBEAT period (PROTOCOL.md §7) and the controller watchdogs it accepts in HELLO
# (§12 S1). A watchdog must outlast two heartbeat periods and then some: one HEARTBEAT lost to
# line noise must not end the session, and a shorter one ends every session of an idle belt.
HEARTBEAT_MS = 200
WATCHDOG_MIN_MS = 500
WATCHDOG_MAX_MS = 5000


class MessageType(IntEnum):
    """The type byte of each frame."""

    ACK = 0x01
    NACK = 0x02
    HEARTBEAT = 0x03
    WELCOME = 0x04
    HELLO = 0x10
    ITEM_ENTERED = 0x20
    ITEM_AT_CAMERA = 0x21
    DIVERTED = 0x22
    LOST = 0x23
    JAM = 0x24
    ESTOP = 0x25
    CLEARED = 0x26
    DIVERT = 0x40
    CLEAR = 0x41


class NackReason(IntEnum):
    """Why a reliable frame was refused (the NACK's reason byte)."""

    TOO_LATE = 0x01
    UNKNOWN_ITEM = 0x02
    BAD_LANE = 0x03
    CONFLICT = 0x04
    STOPPED = 0x05
    STALE_BOOT = 0x06
    STILL_ACTIVE = 0x07
    UNSUPPORTED = 0x08
    BAD_HELLO = 0x09  # host -> controller: the HELLO breaks PROTOCOL.md §12 S1; no session


class LostReason(IntEnum):
    """Why the controller gave up tracking an item (LOST's reason byte)."""

    NOT_CONFIRMED = 0x00  # never seen by the confirm eye of any lane
    JAM = 0x01
    ESTOP = 0x02
    WATCHDOG = 0x03


class Capability(IntFlag):
    """What a controller can do (HELLO's capability bits)."""

    CONFIRM_EYES = 0x0001
    JAM_DETECT = 0x0002
    ESTOP = 0x0004
    ITEM_ENTERED = 0x0008


class PayloadError(ValueError):
    """A frame whose CRC is good but whose type or payload this side cannot parse."""


@dataclass(frozen=True)
class Message:
    """Base of every message; subclasses set TYPE and FORMAT (struct of the payload)."""

    TYPE: ClassVar[MessageType]
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<")

    def payload(self) -> bytes:
        """The payload bytes of this message."""
        return self.FORMAT.pack(*(getattr(self, f.name) for f in dataclasses.fields(self)))

    @property
    def reliable(self) -> bool:
        """True when the receiver must ACK/NACK it and the sender retransmits it."""
        return self.TYPE >= RELIABLE_MIN


@dataclass(frozen=True)
class Ack(Message):
    """Every reliable frame up to and including `seq` was received (cumulative)."""

    TYPE = MessageType.ACK
    FORMAT = struct.Struct("<H")
    seq: int


@dataclass(frozen=True)
class Nack(Message):
    """The reliable frame `seq` was received but refused for `reason` (also acknowledges it)."""

    TYPE = MessageType.NACK
    FORMAT = struct.Struct("<HB")
    seq: int
    reason: int


@dataclass(frozen=True)
class Heartbeat(Message):
    """Sent every heartbeat period by both sides; `uptime_ms` wraps at 2**32."""

    TYPE = MessageType.HEARTBEAT
    FORMAT = struct.Struct("<I")
    uptime_ms: int


@dataclass(frozen=True)
class Welcome(Message):
    """The host's answer to HELLO: it echoes the boot id and the HELLO's sequence number."""

    TYPE = MessageType.WELCOME
    FORMAT = struct.Struct("<IH")
    boot_id: int
    hello_seq: int


@dataclass(frozen=True)
class Hello(Message):
    """The controller's first frame after boot and after every watchdog trip."""

    TYPE = MessageType.HELLO
    FORMAT = struct.Struct("<IBHBBH")
    boot_id: int
    minor_version: int
    capabilities: int
    lane_count: int
    default_lane: int
    watchdog_ms: int


@dataclass(frozen=True)
class ItemEnteredMsg(Message):
    """An item crossed the entry eye; `item_id` is new for this boot."""

    TYPE = MessageType.ITEM_ENTERED
    FORMAT = struct.Struct("<I")
    item_id: int


@dataclass(frozen=True)
class ItemAtCameraMsg(Message):
    """The item is at the camera; a DIVERT must arrive within `deadline_ms` of this frame."""

    TYPE = MessageType.ITEM_AT_CAMERA
    FORMAT = struct.Struct("<IH")
    item_id: int
    deadline_ms: int


@dataclass(frozen=True)
class DivertedMsg(Message):
    """A lane's confirm eye saw the item; `commanded` is 1 when a DIVERT chose the lane."""

    TYPE = MessageType.DIVERTED
    FORMAT = struct.Struct("<IBB")
    item_id: int
    lane: int
    commanded: int


@dataclass(frozen=True)
class LostMsg(Message):
    """The controller stopped tracking the item without a confirmation."""

    TYPE = MessageType.LOST
    FORMAT = struct.Struct("<IB")
    item_id: int
    reason: int


@dataclass(frozen=True)
class JamMsg(Message):
    """The belt stopped on a jam in `zone`; items on it are reported LOST."""

    TYPE = MessageType.JAM
    FORMAT = struct.Struct("<B")
    zone: int


@dataclass(frozen=True)
class EStopMsg(Message):
    """The emergency stop was pressed; the belt is stopped."""

    TYPE = MessageType.ESTOP


@dataclass(frozen=True)
class ClearedMsg(Message):
    """A jam or e-stop was cleared after CLEAR; the belt runs again."""

    TYPE = MessageType.CLEARED


@dataclass(frozen=True)
class Divert(Message):
    """Send item `item_id` of boot `boot_id` to `lane`; idempotent."""

    TYPE = MessageType.DIVERT
    FORMAT = struct.Struct("<IIB")
    boot_id: int
    item_id: int
    lane: int


@dataclass(frozen=True)
class Clear(Message):
    """The operator cleared a jam or e-stop; resume when it is physically gone."""

    TYPE = MessageType.CLEAR


def hello_problems(hello: Hello, heartbeat_ms: int = HEARTBEAT_MS) -> list[str]:
    """Why a host refuses this HELLO (PROTOCOL.md §12 S1); [] when it is acceptable.

    `heartbeat_ms`: the host's own HEARTBEAT period. A host set to send them more slowly than
    the default needs a longer watchdog too, or the controller would trip between two of them."""
    problems = []
    if hello.lane_count < 2:
        problems.append(f"lane_count {hello.lane_count} < 2")
    if hello.default_lane >= hello.lane_count:
        problems.append(f"default_lane {hello.default_lane} >= lane_count {hello.lane_count}")
    if not WATCHDOG_MIN_MS <= hello.watchdog_ms <= WATCHDOG_MAX_MS:
        problems.append(f"watchdog_ms {hello.watchdog_ms} outside {WATCHDOG_MIN_MS}..{WATCHDOG_MAX_MS}")
    elif hello.watchdog_ms <= 2 * heartbeat_ms:
        problems.append(f"watchdog_ms {hello.watchdog_ms} not above twice the station's heartbeat period "
                        f"({heartbeat_ms} ms): one lost HEARTBEAT would end the session; lower [hardware] "
                        "heartbeat_ms or raise the controller's watchdog")
    return problems


_BY_TYPE: dict[int, type[Message]] = {
    cls.TYPE: cls
    for cls in (Ack, Nack, Heartbeat, Welcome, Hello, ItemEnteredMsg, ItemAtCameraMsg, DivertedMsg, LostMsg,
                JamMsg, EStopMsg, ClearedMsg, Divert, Clear)
}


def decode_message(type_: int, payload: bytes) -> Message:
    """The message of a checked frame; raises PayloadError on an unknown type or bad length."""
    cls = _BY_TYPE.get(type_)
    if cls is None:
        raise PayloadError(f"unknown message type 0x{type_:02x}")
    # A later minor version may append fields: extra trailing bytes are ignored.
    if len(payload) < cls.FORMAT.size:
        raise PayloadError(
            f"{cls.TYPE.name} payload of {len(payload)} bytes, expected at least {cls.FORMAT.size}"
        )
    return cls(*cls.FORMAT.unpack_from(payload))
