"""What the station's bridge needs of a conveyor controller, whichever kind drives the belt.

`hardware.link.ConveyorLink` (our protocol) and `hardware.modbus.driver.ModbusLink` (a PLC
over Modbus) both satisfy it and report the same `hardware.events` to their `on_event`.
"""

from __future__ import annotations

from typing import Protocol

from hardware.link import LinkHealth

__all__ = ["Controller"]


class Controller(Protocol):
    """A started controller link: DIVERTs out, health in; events go to the callback it was built with."""

    def start(self) -> None:
        """Start its thread (it connects, and reconnects, on its own)."""

    def stop(self) -> None:
        """Stop it; the controller falls back to its default lane for every item."""

    def divert(self, item_id: int, lane: int, boot_id: int) -> None:
        """Ask for the item of controller boot `boot_id` to go to `lane`; the answer comes as an event."""

    def clear(self) -> bool:
        """Clear a jam or e-stop the operator cleared; False when not connected."""

    def health(self) -> LinkHealth:
        """Counters and state for the status line."""
