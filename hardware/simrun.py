"""A whole conveyor run with no hardware: the simulator on a pty, the real ConveyorLink over
pyserial, and a decision driver standing in for the station's pipeline. With `modbus`
settings, the simulated PLC (same belt) on pymodbus's server and the real ModbusLink.

The driver answers each item at the camera with a lane after a short "inspection" delay,
or deliberately after the deadline for a `late_fraction` of items. The summary compares
what the driver decided with where the simulator says each physical item really went.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hardware import events as ev
from hardware.controller import Controller
from hardware.item_tracker import LaneMap
from hardware.link import ConveyorLink, LinkSettings
from hardware.simulator import ControllerSim, ItemFate, SimSettings, SimulatorRunner

if TYPE_CHECKING:
    from hardware.modbus.driver import ModbusLink
    from hardware.modbus.plc_sim import PlcFaults, PlcSimRunner
    from hardware.modbus.settings import ModbusSettings

logger = logging.getLogger(__name__)

__all__ = ["RunSummary", "run_simulation"]


@dataclass(frozen=True)
class RunSummary:
    """The outcome of one simulated run (the JSON of `station sim run`)."""

    items: int
    diverted_as_commanded: int
    late_to_manual: int
    misrouted: int  # an item in a lane that is neither the one decided nor manual review
    lost: int  # never confirmed, or taken off the belt after a jam / e-stop
    to_manual_by_fault: int  # decided in time but sent to manual by a link fault or reboot (safe)
    unannounced_to_manual: int  # never reported to the station (outage, reboot) and went to manual
    crc_errors: int
    retransmits: int
    rtt_ms_p50: float | None
    rtt_ms_p99: float | None
    link_downs: int
    reboots: int
    rejections: dict[str, int]
    confirm_mismatches: int  # DIVERTED events whose lane differs from the simulator's truth
    items_per_s: float
    seconds: float
    injected: dict[str, int] = field(default_factory=dict)


class _Driver:
    """Decides a lane for each item at the camera, on time or deliberately late."""

    def __init__(self, lanes: LaneMap, lane_count: int, late_fraction: float, seed: int) -> None:
        self.rng = random.Random(seed + 1)
        self.lanes = lanes
        self.lane_count = lane_count
        self.late_fraction = late_fraction
        self.link: Controller | None = None
        self.intended: dict[tuple[int, int], tuple[int, bool]] = {}
        self.confirmed: dict[tuple[int, int], int] = {}
        self.rejections: dict[str, int] = {}
        self.link_downs = 0
        self._heap: list[tuple[float, int, int, int, str]] = []
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="sim-driver", daemon=True)
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def on_event(self, event: ev.Event) -> None:
        now = time.monotonic()
        with self._lock:
            if isinstance(event, ev.ItemAtCamera):
                choices = [n for n in range(self.lane_count) if n != self.lanes.manual_lane]
                lane = self.rng.choice(choices)
                late = self.rng.random() < self.late_fraction
                self.intended[(event.boot_id, event.item_id)] = (lane, late)
                # On time: a 5-40 ms "inspection". Late: 30 ms after the deadline.
                when = event.deadline + 0.03 if late else now + self.rng.uniform(0.005, 0.04)
                self._schedule(when, event.boot_id, event.item_id, lane, "divert")
            elif isinstance(event, ev.Diverted):
                self.confirmed[(event.boot_id, event.item_id)] = event.lane
            elif isinstance(event, ev.DivertRejected | ev.ClearRejected):
                self.rejections[event.reason] = self.rejections.get(event.reason, 0) + 1
                if isinstance(event, ev.ClearRejected):
                    self._schedule(now + 0.2, 0, 0, 0, "clear")
            elif isinstance(event, ev.Jam | ev.EStop):
                self._schedule(now + 0.2, 0, 0, 0, "clear")  # the operator clears it
            elif isinstance(event, ev.LinkDown):
                self.link_downs += 1

    def _schedule(self, when: float, boot_id: int, item_id: int, lane: int, what: str) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, boot_id, item_id, lane, what))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stop:
                    return
                _, boot_id, item_id, lane, what = heapq.heappop(self._heap)
            assert self.link is not None
            if what == "clear":
                self.link.clear()
            else:
                # Late ones are sent anyway, on purpose: the controller must refuse them.
                self.link.divert(item_id, lane, boot_id)


def run_simulation(settings: SimSettings, late_fraction: float = 0.0, link: LinkSettings | None = None,
                   lanes: dict[str, int] | None = None, timeout_s: float = 3600.0,
                   modbus: ModbusSettings | None = None, plc_faults: PlcFaults | None = None) -> RunSummary:
    """Run `settings.items` items through the simulator and the real link; returns the summary.

    With `modbus`, the controller is the simulated PLC (faults `plc_faults`) behind ModbusLink.
    """
    if settings.items is None:
        raise ValueError("a simulated run needs a number of items")
    lane_map = LaneMap(lanes or {"manual": 0, "restock": 1, "repair": 2, "recycle": 3, "quarantine": 4})
    if lane_map.manual_lane != settings.default_lane:
        raise ValueError("the controller's default lane must be the manual-review lane")
    driver = _Driver(lane_map, settings.lane_count, late_fraction, settings.seed)
    runner: SimulatorRunner | PlcSimRunner
    conveyor_link: ConveyorLink | ModbusLink
    started = time.monotonic()
    if modbus is None:
        runner = SimulatorRunner(settings)
        port = runner.start()
        conveyor_link = ConveyorLink(port, link or LinkSettings(), driver.on_event)
    else:
        from hardware.modbus.driver import ModbusLink  # loaded only for a Modbus run
        from hardware.modbus.plc_sim import PlcSimRunner

        runner = PlcSimRunner(settings, modbus.transport, plc_faults, modbus.register_map(), modbus.unit_id,
                              modbus.baudrate)
        address = runner.start()
        conveyor_link = ModbusLink(runner.link_settings(modbus), driver.on_event, port=address)
    driver.link = conveyor_link
    driver.start()
    conveyor_link.start()
    try:
        while time.monotonic() - started < timeout_s:
            with runner.lock:
                if runner.controller.done():
                    break
            time.sleep(0.05)
        else:
            logger.warning("simulated run stopped after %.0f s with items still on the belt", timeout_s)
        time.sleep(0.1)  # let the last DIVERTED frames arrive
        link_downs = driver.link_downs  # before stop(), which takes the link down on purpose
    finally:
        conveyor_link.stop()
        driver.stop()
        runner.stop()
    seconds = time.monotonic() - started
    sim: ControllerSim = runner.controller
    injected = dict(sim.injected)
    if not isinstance(runner, SimulatorRunner):
        injected.update(runner.injected)
    manual = lane_map.manual_lane
    counts = dict.fromkeys(("as_commanded", "late_manual", "misrouted", "lost", "fault_manual",
                            "unannounced_manual", "mismatch"), 0)
    first_entry = sim.truth[0].entered_at if sim.truth else started
    last_entry = sim.truth[-1].entered_at if sim.truth else started
    for item in sim.truth:
        key = (item.boot_id, item.item_id)
        if item.fate is not ItemFate.LANE:
            counts["lost"] += 1
            continue
        if key in driver.confirmed and item.tracked and driver.confirmed[key] != item.lane:
            counts["mismatch"] += 1
        intent = driver.intended.get(key) if item.announced else None
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
    span = max(last_entry - first_entry, 1e-9)
    return RunSummary(
        items=len(sim.truth),
        diverted_as_commanded=counts["as_commanded"],
        late_to_manual=counts["late_manual"],
        misrouted=counts["misrouted"],
        lost=counts["lost"],
        to_manual_by_fault=counts["fault_manual"],
        unannounced_to_manual=counts["unannounced_manual"],
        crc_errors=health.crc_errors + sim.conn.stats.crc_errors,
        retransmits=health.retransmits + sim.conn.stats.retransmits,
        rtt_ms_p50=None if health.rtt_ms_p50 is None else round(health.rtt_ms_p50, 3),
        rtt_ms_p99=None if health.rtt_ms_p99 is None else round(health.rtt_ms_p99, 3),
        link_downs=link_downs,
        reboots=sim.injected["reboots"],
        rejections=dict(sorted(driver.rejections.items())),
        confirm_mismatches=counts["mismatch"],
        items_per_s=round((len(sim.truth) - 1) / span, 2) if len(sim.truth) > 1 else 0.0,
        seconds=round(seconds, 1),
        injected=injected,
    )
