"""The conveyor link: protocol (sans-I/O), pyserial transport, item tracker, simulator.

The station uses:

    from hardware import LinkSettings, SimSettings, events, start_conveyor
    link, sim = start_conveyor(LinkSettings(port="sim"), on_event, SimSettings(speed_m_s=2.0))
    link.divert(item_id, lane, boot_id); link.health(); link.stop(); sim.stop()

or by hand: `sim = SimulatorRunner(SimSettings(...)); port = sim.start();
ConveyorLink(port, LinkSettings(), on_event).start()`.

This package imports pyserial and the standard library only (docs/architecture.md); hardware.modbus
(a PLC over Modbus, hardware/MODBUS.md) adds pymodbus, loaded only when it is used.
"""

from hardware import events
from hardware.item_tracker import ItemRouting, ItemState, ItemTracker, LaneMap
from hardware.link import ConveyorLink, LinkHealth, LinkSettings
from hardware.simulator import FaultSettings, SimSettings, SimulatorRunner
from hardware.startup import SIM_PORT, start_conveyor

__all__ = [
    "SIM_PORT",
    "ConveyorLink",
    "FaultSettings",
    "ItemRouting",
    "ItemState",
    "ItemTracker",
    "LaneMap",
    "LinkHealth",
    "LinkSettings",
    "SimSettings",
    "SimulatorRunner",
    "events",
    "start_conveyor",
]
