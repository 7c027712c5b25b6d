"""What the conveyor link tells the station: frozen dataclasses, one per event.

These are the station-facing events of `ConveyorLink` (the wire messages live in
`hardware.messages`). Item ids are only unique within one controller boot, so every
item event carries its `boot_id`; pass it back to `ConveyorLink.divert`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ClearRejected",
    "Cleared",
    "DivertAccepted",
    "DivertRejected",
    "Diverted",
    "EStop",
    "Event",
    "ItemAtCamera",
    "ItemEntered",
    "Jam",
    "LinkDown",
    "LinkUp",
    "Lost",
]


@dataclass(frozen=True)
class LinkUp:
    """A session with the controller began; `new_boot` means every tracked item is gone."""

    boot_id: int
    new_boot: bool
    port: str
    lane_count: int
    default_lane: int
    capabilities: int


@dataclass(frozen=True)
class LinkDown:
    """The session ended (unplugged, silence, reboot, errors); the controller goes to safe outputs."""

    reason: str


@dataclass(frozen=True)
class ItemEntered:
    """An item crossed the entry eye."""

    boot_id: int
    item_id: int


@dataclass(frozen=True)
class ItemAtCamera:
    """The item is at the camera; decide before `deadline` (time.monotonic() seconds)."""

    boot_id: int
    item_id: int
    deadline: float
    deadline_ms: int


@dataclass(frozen=True)
class DivertAccepted:
    """The controller ACKed DIVERT(item_id, lane); `rtt_ms` is None after a retransmit."""

    boot_id: int
    item_id: int
    lane: int
    rtt_ms: float | None


@dataclass(frozen=True)
class DivertRejected:
    """The DIVERT will not be applied: the item takes the default (manual) lane.

    `reason` is a NACK reason name (TOO_LATE, UNKNOWN_ITEM, BAD_LANE, CONFLICT, STOPPED,
    STALE_BOOT, UNSUPPORTED) or NOT_CONNECTED / LINK_RESET when it never reached the controller.
    """

    boot_id: int
    item_id: int
    lane: int
    reason: str


@dataclass(frozen=True)
class Diverted:
    """A confirm eye saw the item in `lane`; `commanded` is False when it took the default lane."""

    boot_id: int
    item_id: int
    lane: int
    commanded: bool


@dataclass(frozen=True)
class Lost:
    """The controller gave up on the item (NOT_CONFIRMED, JAM, ESTOP, WATCHDOG)."""

    boot_id: int
    item_id: int
    reason: str


@dataclass(frozen=True)
class Jam:
    """The belt stopped on a jam in `zone`; send `clear()` once the operator has cleared it."""

    zone: int


@dataclass(frozen=True)
class EStop:
    """The e-stop was pressed; send `clear()` once it is released."""


@dataclass(frozen=True)
class Cleared:
    """The jam or e-stop is cleared; the belt runs again."""


@dataclass(frozen=True)
class ClearRejected:
    """CLEAR was refused (STILL_ACTIVE: the jam or e-stop is physically still there)."""

    reason: str


Event = (LinkUp | LinkDown | ItemEntered | ItemAtCamera | DivertAccepted | DivertRejected | Diverted
         | Lost | Jam | EStop | Cleared | ClearRejected)
