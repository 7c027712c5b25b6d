"""The register map shared by the station's Modbus driver and the simulated PLC.

Addresses are zero-based PDU addresses (what goes on the wire), counted from two bases
that a site may move (`RegisterMap.hr_base`, `RegisterMap.ir_base`). hardware/MODBUS.md
has the same map as a table, with the Modicon numbers (4xxxx, 3xxxx) PLC tools show.

Station -> PLC: holding registers, written with function 16 (write multiple registers).
PLC -> station: input registers, read with function 4 (read input registers); the events
(item at camera, diverted, lost, ...) sit in a ring buffer the station reads behind the
PLC's write counter, so a poll that fails loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

__all__ = [
    "EVENT_WORDS",
    "HEADER_WORDS",
    "EventType",
    "HoldingRegister",
    "InputRegister",
    "RegisterMap",
    "Status",
    "ring_slot_ranges",
]


class HoldingRegister(IntEnum):
    """Offsets from `hr_base` of the registers the station writes."""

    CMD_ITEM = 0  # item id of the DIVERT command
    CMD_LANE = 1  # lane of the DIVERT command
    CMD_BOOT = 2  # the PLC's BOOT_COUNT the item id belongs to
    CMD_SEQ = 3  # 1..65535; the PLC executes the command when it changes, echoes it in ACK_SEQ
    HOST_ALIVE = 4  # the station's heartbeat counter: the PLC's watchdog of the station
    CLEAR_SEQ = 5  # changed by the station to clear a jam / e-stop; echoed in CLEAR_ACK


HOLDING_WORDS = 6
"""Holding registers the map uses, from `hr_base`."""


class InputRegister(IntEnum):
    """Offsets from `ir_base` of the header registers the PLC writes (one read of HEADER_WORDS)."""

    BOOT_COUNT = 0  # +1 at each PLC start (retentive): a new value means every item id is void
    HEARTBEAT = 1  # +1 every 100 ms while the PLC program runs; 0 after a start
    STATUS = 2  # Status bits
    JAM_ZONE = 3  # the zone of the jam while Status.JAM is set
    ACK_SEQ = 4  # the last CMD_SEQ the PLC executed
    ACK_CODE = 5  # its result: 0 accepted, else a NackReason number (PROTOCOL.md)
    CLEAR_ACK = 6  # the last CLEAR_SEQ the PLC executed
    CLEAR_CODE = 7  # its result: 0 cleared, 7 still active
    LANE_COUNT = 8
    DEFAULT_LANE = 9  # the lane an item takes when the station said nothing: manual review
    CLOCK_MS = 10  # the PLC's millisecond clock, low 16 bits (the events' TIME_MS is on it)
    EVENT_HEAD = 11  # events written since the start (wraps at 65536); the next goes to slot HEAD % slots
    WATCHDOG_MS = 12  # the PLC's watchdog of HOST_ALIVE: safe outputs after this long unchanged
    RING_SLOTS = 13  # the ring's size in events, so the station can check the map matches


HEADER_WORDS = 16
"""The header block at `ir_base` (offsets 14 and 15 are reserved, read as 0)."""

EVENT_WORDS = 5
"""Words per ring slot: EVENT_NO, TYPE, ITEM_ID, VALUE, TIME_MS."""


class EventType(IntEnum):
    """TYPE of a ring slot, and what its VALUE holds."""

    ITEM_ENTERED = 1  # VALUE 0
    ITEM_AT_CAMERA = 2  # VALUE: ms from TIME_MS until the item's DIVERT deadline
    DIVERTED = 3  # VALUE: the lane, as commanded
    DIVERTED_DEFAULT = 4  # VALUE: the lane, the default one (no command applied)
    LOST = 5  # VALUE: a LostReason number (PROTOCOL.md)
    JAM = 6  # VALUE: the zone
    ESTOP = 7  # VALUE 0
    CLEARED = 8  # VALUE 0


class Status(IntFlag):
    """Bits of the STATUS register."""

    RUNNING = 0x0001  # the belt moves
    JAM = 0x0002
    ESTOP = 0x0004
    HOST_OK = 0x0008  # the station's watchdog is alive: commands are applied (else safe outputs)


@dataclass(frozen=True)
class RegisterMap:
    """Where the map sits in the PLC's address space ([hardware.modbus] hr_base, ir_base, ring_slots)."""

    hr_base: int = 0
    ir_base: int = 0
    ring_slots: int = 20

    def __post_init__(self) -> None:
        if not 1 <= self.ring_slots <= 2000:
            raise ValueError(f"ring_slots ({self.ring_slots}) must be 1 to 2000")
        if self.hr_base + HOLDING_WORDS > 0x10000:
            raise ValueError(f"hr_base ({self.hr_base}) leaves no room for the {HOLDING_WORDS} "
                             "holding registers")
        if self.ir_end > 0x10000:
            raise ValueError(f"ir_base ({self.ir_base}) leaves no room for the header and the event ring")

    def hr(self, register: HoldingRegister) -> int:
        """The PDU address of a holding register."""
        return self.hr_base + register

    def ir(self, register: InputRegister) -> int:
        """The PDU address of a header input register."""
        return self.ir_base + register

    @property
    def ring_base(self) -> int:
        """The PDU address of slot 0 of the event ring."""
        return self.ir_base + HEADER_WORDS

    @property
    def ir_end(self) -> int:
        """One past the last input register of the map."""
        return self.ring_base + self.ring_slots * EVENT_WORDS


MAX_READ_WORDS = 125
"""The most registers one function 4 request may read (the Modbus spec)."""


def ring_slot_ranges(first: int, count: int, slots: int,
                     max_words: int = MAX_READ_WORDS) -> list[tuple[int, int]]:
    """(first slot, number of slots) reads covering events first..first+count-1, each at most
    `max_words` long (and one slot at least), split where the ring wraps."""
    out: list[tuple[int, int]] = []
    per_read = max(1, min(max_words, MAX_READ_WORDS) // EVENT_WORDS)
    slot = first % slots
    left = min(count, slots)
    while left > 0:
        n = min(left, slots - slot, per_read)
        out.append((slot, n))
        left -= n
        slot = (slot + n) % slots
    return out
