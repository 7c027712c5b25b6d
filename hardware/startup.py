"""Starting the conveyor link the way the station's config says: a real port, or the built-in simulator."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from hardware import events as ev
from hardware.link import SIM_PORT, ConveyorLink, LinkSettings
from hardware.simulator import SimSettings, SimulatorRunner

logger = logging.getLogger(__name__)

__all__ = ["SIM_PORT", "start_conveyor"]


def start_conveyor(settings: LinkSettings, on_event: Callable[[ev.Event], None],
                   sim: SimSettings | None = None) -> tuple[ConveyorLink, SimulatorRunner | None]:
    """Start the link (and first the simulator when `settings.port` is "sim").

    Returns the started link and the simulator (None on real hardware); stop the link
    first, then the simulator.
    """
    runner: SimulatorRunner | None = None
    if settings.port == SIM_PORT:
        runner = SimulatorRunner(sim or SimSettings())
        port = runner.start()
        logger.info("conveyor: built-in simulator on %s", port)
        settings = replace(settings, port=port, usb_id="")
    link = ConveyorLink(settings.port, settings, on_event)
    link.start()
    return link, runner
