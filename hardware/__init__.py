"""The conveyor link: protocol (sans-I/O), pyserial transport, conveyor model, simulator.

The station uses:

    from hardware import ConveyorLink, LinkSettings, SimulatorRunner, SimSettings, events
    sim = SimulatorRunner(SimSettings(speed_m_s=2.0, items=None)); port = sim.start()
    link = ConveyorLink(port, LinkSettings(), on_event); link.start()
    link.divert(item_id, lane, boot_id); link.health(); link.stop(); sim.stop()

This package imports pyserial and the standard library only (DESIGN §2).
"""

from hardware import events
from hardware.conveyor import Conveyor, ItemRouting, LaneMap
from hardware.link import ConveyorLink, LinkHealth, LinkSettings
from hardware.simulator import FaultSettings, SimSettings, SimulatorRunner

__all__ = [
    "Conveyor",
    "ConveyorLink",
    "FaultSettings",
    "ItemRouting",
    "LaneMap",
    "LinkHealth",
    "LinkSettings",
    "SimSettings",
    "SimulatorRunner",
    "events",
]
