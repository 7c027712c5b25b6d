"""A whole conveyor run against the reference firmware: the firmware (hardware/firmware/) under
CPython on a pty with its simulated belt, the real ConveyorLink over pyserial, and the decision
driver of `station sim run` standing in for the station's pipeline.

The summary is `station sim run`'s, compared with the belt's ground truth: where each physical
item really went, against what the driver decided for the id the firmware gave it.
"""

from __future__ import annotations

import logging
import time

from hardware.firmware.simbelt import BeltSettings, FirmwareRunner
from hardware.item_tracker import LaneMap
from hardware.link import ConveyorLink, LinkSettings
from hardware.simrun import RunSummary, _Driver
from hardware.simulator import ItemFate

logger = logging.getLogger(__name__)

__all__ = ["run_firmware"]


def run_firmware(settings: BeltSettings, late_fraction: float = 0.0, link: LinkSettings | None = None,
                 lanes: dict[str, int] | None = None, timeout_s: float = 3600.0) -> RunSummary:
    """Run `settings.items` items through the reference firmware and the real link; the summary."""
    if settings.items is None:
        raise ValueError("a simulated run needs a number of items")
    lane_map = LaneMap(lanes or {"manual": 0, "restock": 1, "repair": 2, "recycle": 3, "quarantine": 4})
    if lane_map.manual_lane != settings.default_lane:
        raise ValueError("the controller's default lane must be the manual-review lane")
    driver = _Driver(lane_map, settings.lane_count, late_fraction, settings.seed)
    firmware = FirmwareRunner(settings)
    started = time.monotonic()
    port = firmware.start()
    conveyor_link = ConveyorLink(port, link or LinkSettings(), driver.on_event)
    driver.link = conveyor_link
    driver.start()
    conveyor_link.start()
    belt = firmware.belt
    assert belt is not None and firmware.hal is not None
    try:
        if not belt.finished.wait(timeout_s):
            logger.warning("firmware run stopped after %.0f s with items still on the belt", timeout_s)
        time.sleep(0.1)  # let the last DIVERTED frames arrive
        link_downs = driver.link_downs  # before stop(), which takes the link down on purpose
    finally:
        conveyor_link.stop()
        driver.stop()
        firmware.stop()
    seconds = time.monotonic() - started
    crc, retransmits = firmware.link_counters()
    injected = {**belt.injected, "corrupted": firmware.hal.corrupted, "dropped": firmware.hal.dropped}
    manual = lane_map.manual_lane
    counts = dict.fromkeys(("as_commanded", "late_manual", "misrouted", "lost", "fault_manual",
                            "unannounced_manual", "mismatch"), 0)
    for item in belt.truth:
        if ItemFate(item.fate) is not ItemFate.LANE:
            counts["lost"] += 1
            continue
        # An item the firmware never numbered (its entry edge was lost in a reboot) has no key.
        key = (item.boot_id, item.item_id) if item.boot_id is not None and item.item_id is not None else None
        if key is not None and key in driver.confirmed and driver.confirmed[key] != item.lane:
            counts["mismatch"] += 1
        intent = driver.intended.get(key) if key is not None else None
        if intent is None:
            counts["unannounced_manual" if item.lane == manual else "misrouted"] += 1
        elif intent[1]:
            counts["late_manual" if item.lane == manual else "misrouted"] += 1
        elif item.lane == intent[0]:
            counts["as_commanded"] += 1
        elif item.lane == manual:
            counts["fault_manual"] += 1
        else:
            counts["misrouted"] += 1
    health = conveyor_link.health()
    truth = belt.truth
    span = max(truth[-1].entered_at - truth[0].entered_at, 1e-9) if truth else 1e-9
    return RunSummary(
        items=len(truth),
        diverted_as_commanded=counts["as_commanded"],
        late_to_manual=counts["late_manual"],
        misrouted=counts["misrouted"],
        lost=counts["lost"],
        to_manual_by_fault=counts["fault_manual"],
        unannounced_to_manual=counts["unannounced_manual"],
        crc_errors=health.crc_errors + crc,
        retransmits=health.retransmits + retransmits,
        rtt_ms_p50=None if health.rtt_ms_p50 is None else round(health.rtt_ms_p50, 3),
        rtt_ms_p99=None if health.rtt_ms_p99 is None else round(health.rtt_ms_p99, 3),
        link_downs=link_downs,
        reboots=injected["reboots"],
        rejections=dict(sorted(driver.rejections.items())),
        confirm_mismatches=counts["mismatch"],
        items_per_s=round((len(truth) - 1) / span, 2) if len(truth) > 1 else 0.0,
        seconds=round(seconds, 1),
        injected=injected,
    )
