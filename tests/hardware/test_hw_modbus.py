"""A PLC over Modbus, end to end: the simulated PLC on pymodbus's server (RTU over a
pseudo-terminal, TCP on 127.0.0.1), the real ModbusLink and the real ConveyorBridge with
a decision worker standing in for the pipeline. Under timeouts, exception responses and
PLC restarts every item ends in its lane or in the manual lane, none elsewhere, and the
conveyor's outcome of every recorded item reaches the bridge."""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import pytest

from hardware import events as ev
from hardware.item_tracker import LaneMap
from hardware.modbus.driver import ModbusLink
from hardware.modbus.plc_sim import PlcFaults, PlcSimRunner
from hardware.modbus.settings import ModbusSettings
from hardware.simulator import ItemFate, SimSettings
from station.conveyor_bridge import ConveyorBridge
from station.pipeline import Trigger
from station.verdict import Disposition, Routing

LANES = LaneMap({"manual": 0, "restock": 1, "repair": 2, "recycle": 3, "quarantine": 4})
DECISIONS = (Disposition.RESTOCK, Disposition.REPAIR, Disposition.RECYCLE, Disposition.QUARANTINE)
WAIT_S = 120.0  # generous: the machine is shared; nothing here measures time


def _wait_until(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _belt(items: int, seed: int = 3) -> SimSettings:
    # 10 items/s, about 0.7 s from the camera to the diverter's deadline.
    return SimSettings(items=items, rate_items_s=10.0, camera_pos_m=0.5, divert_pos_m=2.0, seed=seed)


@dataclass
class _Station:
    """The bridge and a worker that decides each item (some deliberately after the deadline)."""

    late_every: int = 5
    bridge: ConveyorBridge = field(init=False)
    decided: dict[tuple[int, int], tuple[int, bool]] = field(default_factory=dict)
    routed: dict[str, Routing] = field(default_factory=dict)
    events: list[ev.Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bridge = ConveyorBridge(LANES, on_trigger=self._triggered, on_routed=self._routed,
                                     on_health=lambda _h: None, confirm_timeout_s=2.0)
        self._work: queue.Queue[Trigger | None] = queue.Queue()
        self._lock = threading.Lock()
        self._rng = random.Random(1)
        self._thread = threading.Thread(target=self._decide, daemon=True)
        self._thread.start()

    def on_event(self, event: ev.Event) -> None:
        with self._lock:
            self.events.append(event)
        self.bridge.on_event(event)

    def _triggered(self, trigger: Trigger) -> None:
        self._work.put(trigger)

    def _routed(self, verdict_id: str, routing: Routing) -> None:
        with self._lock:
            self.routed[verdict_id] = routing

    def _decide(self) -> None:
        n = 0
        while (trigger := self._work.get()) is not None:
            n += 1
            assert trigger.item_key is not None and trigger.deadline is not None
            late = n % self.late_every == 0
            if late:
                time.sleep(max(0.0, trigger.deadline - time.monotonic()) + 0.02)
            else:
                time.sleep(self._rng.uniform(0.005, 0.03))  # the "inspection"
            disposition = DECISIONS[n % len(DECISIONS)]
            routing = self.bridge.route(trigger, disposition)
            with self._lock:
                self.decided[trigger.item_key] = (LANES.lane_for(disposition.value), late)
            done = self.bridge.recorded(trigger.item_key, _verdict_id(trigger.item_key))
            if done is not None:
                self._routed(_verdict_id(trigger.item_key), done)
            del routing

    def stop(self) -> None:
        self._work.put(None)
        self._thread.join(timeout=10)

    def of_kind(self, kind: type) -> list[ev.Event]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]


def _verdict_id(key: tuple[int, int]) -> str:
    return f"v-{key[0]}-{key[1]}"


@pytest.fixture
def station() -> Iterator[_Station]:
    s = _Station()
    yield s
    s.stop()


def _run(plc: PlcSimRunner, station: _Station, settings: ModbusSettings | None = None) -> ModbusLink:
    plc.start()
    link = ModbusLink(plc.link_settings(settings or ModbusSettings(timeout_ms=100)), station.on_event,
                      port=plc.address)
    station.bridge.attach(link)
    link.start()
    return link


def _finish(plc: PlcSimRunner, link: ModbusLink, station: _Station) -> None:
    """Wait for the belt to empty and every recorded item's outcome, then stop everything."""
    def belt_empty() -> bool:
        with plc.lock:
            return plc.controller.done()

    try:
        _wait_until(belt_empty, "the belt to empty")

        def outcomes_in() -> bool:
            station.bridge.expire()
            with station._lock:
                return all(_verdict_id(key) in station.routed for key in station.decided)

        _wait_until(outcomes_in, "every recorded item's outcome")
    finally:
        link.stop()
        plc.stop()


def _check_no_misroute(plc: PlcSimRunner, station: _Station) -> dict[str, int]:
    """Every item is in its decided lane or the manual one; the outcomes the bridge got match the belt."""
    counts = {"as_decided": 0, "manual": 0}
    manual = LANES.manual_lane
    truth = plc.controller.truth
    assert truth, "no item went down the belt"
    for item in truth:
        assert item.fate is ItemFate.LANE, f"item {item.uid} {item.fate}"
        decided = station.decided.get((item.boot_id, item.item_id)) if item.announced else None
        if item.lane == manual:
            counts["manual"] += 1
            continue
        assert decided is not None, f"item {item.uid} went to lane {item.lane} with no decision"
        lane, late = decided
        assert not late, f"item {item.uid} decided late went to lane {item.lane}"
        assert item.lane == lane, f"item {item.uid} went to lane {item.lane}, decided {lane}"
        counts["as_decided"] += 1
    by_key = {(t.boot_id, t.item_id): t for t in truth if t.tracked}
    for key in station.decided:
        routing = station.routed[_verdict_id(key)]
        item = by_key.get(key)
        if routing.lane_confirmed is not None:
            assert item is not None and routing.lane_confirmed == item.lane, (key, routing)
        if station.decided[key][1]:
            assert routing.late and routing.lane_commanded is None
    assert station.bridge.counters.misrouted == 0
    return counts


@pytest.mark.parametrize("transport", ["rtu", "tcp"])
def test_faults_never_misroute_and_every_outcome_reaches_the_bridge(
        transport: str, station: _Station) -> None:
    faults = PlcFaults(timeout_rate=0.03, exception_rate=0.03, restart_after_items=(20,), seed=4)
    plc = PlcSimRunner(_belt(40), "rtu" if transport == "rtu" else "tcp", faults)
    link = _run(plc, station)
    _finish(plc, link, station)
    counts = _check_no_misroute(plc, station)
    assert counts["as_decided"] > 0
    assert plc.injected["restarts"] == 1
    assert plc.injected["timeouts"] > 0 and plc.injected["exceptions"] > 0
    ups = station.of_kind(ev.LinkUp)
    assert any(isinstance(u, ev.LinkUp) and u.new_boot and u.boot_id == 2 for u in ups)
    # The late decisions were refused (never written, or TOO_LATE from the PLC) and went to manual.
    late = [key for key, (_lane, was_late) in station.decided.items() if was_late]
    assert late and all(station.routed[_verdict_id(k)].late for k in late)
    failures = link.failures
    assert failures["timeouts"] > 0 and failures["exceptions"] > 0


@pytest.mark.parametrize("transport", ["rtu", "tcp"])
def test_a_clean_line_diverts_every_item_decided_in_time(transport: str, station: _Station) -> None:
    station.late_every = 1_000_000
    plc = PlcSimRunner(_belt(15), "rtu" if transport == "rtu" else "tcp")
    link = _run(plc, station)
    _finish(plc, link, station)
    counts = _check_no_misroute(plc, station)
    assert counts == {"as_decided": 15, "manual": 0}
    accepted = station.of_kind(ev.DivertAccepted)
    assert len(accepted) == 15
    health = link.health()
    assert health.commands_sent == 15 and health.rtt_ms_p50 is not None
    for key, (lane, _late) in station.decided.items():
        routing = station.routed[_verdict_id(key)]
        assert (routing.lane_commanded, routing.lane_confirmed, routing.lost) == (lane, lane, False)


def test_a_restart_seen_only_by_the_boot_count_flushes_the_items_on_the_belt(station: _Station) -> None:
    # No silence after the restart: the station sees it in BOOT_COUNT, not by timeouts.
    plc = PlcSimRunner(_belt(30), "tcp", PlcFaults(restart_s=0.0))
    link = _run(plc, station)
    _wait_until(lambda: len(station.of_kind(ev.ItemAtCamera)) >= 10, "ten items at the camera")
    plc.restart()
    _finish(plc, link, station)
    downs = station.of_kind(ev.LinkDown)
    assert any(isinstance(d, ev.LinkDown) and d.reason == "controller restarted" for d in downs)
    new_boots = [u for u in station.of_kind(ev.LinkUp) if isinstance(u, ev.LinkUp) and u.new_boot]
    assert [u.boot_id for u in new_boots] == [1, 2]
    flushed = [r for r in station.routed.values() if r.lost]
    assert flushed, "items of the first boot still on the belt are closed as lost"
    _check_no_misroute(plc, station)
    assert station.bridge.counters.flushed >= len(flushed)  # with items that never reached the camera


def test_a_restart_that_keeps_its_boot_count_is_still_a_new_boot(station: _Station) -> None:
    # A PLC whose boot counter is not retentive: its heartbeat starting again from 0 gives it away.
    plc = PlcSimRunner(_belt(30), "tcp", PlcFaults(restart_s=0.0))
    link = _run(plc, station)
    _wait_until(lambda: len(station.of_kind(ev.ItemAtCamera)) >= 5, "five items at the camera")
    time.sleep(0.3)  # let the heartbeat count past 0
    with plc.lock:
        sim = plc.controller
        sim.reboot(time.monotonic())
        sim.boot_count = sim.boot_id = 1  # the same boot count as before
    _finish(plc, link, station)
    new_boots = [u for u in station.of_kind(ev.LinkUp) if isinstance(u, ev.LinkUp) and u.new_boot]
    assert len(new_boots) == 2
    assert new_boots[0].boot_id != new_boots[1].boot_id  # item ids of the two boots never meet
    # Each boot's items keep their own outcomes: every confirmed lane is the one decided, or manual.
    assert station.bridge.counters.misrouted == 0
    for key, (lane, late) in station.decided.items():
        routing = station.routed[_verdict_id(key)]
        assert routing.lane_confirmed in (None, LANES.manual_lane, None if late else lane), (key, routing)


def test_a_decision_after_the_deadline_is_never_written() -> None:
    events: list[ev.Event] = []
    plc = PlcSimRunner(_belt(1), "tcp")
    plc.start()
    link = ModbusLink(plc.link_settings(ModbusSettings()), events.append, port=plc.address)
    link.start()
    try:
        _wait_until(lambda: any(isinstance(e, ev.ItemAtCamera) for e in events), "the item at the camera")
        at_camera = next(e for e in events if isinstance(e, ev.ItemAtCamera))
        _wait_until(lambda: time.monotonic() > at_camera.deadline, "the deadline")
        with plc.lock:
            acked_before = plc.controller.ack_seq
        link.divert(at_camera.item_id, 2, at_camera.boot_id)
        _wait_until(lambda: any(isinstance(e, ev.DivertRejected) for e in events), "the refusal")
        rejected = next(e for e in events if isinstance(e, ev.DivertRejected))
        assert rejected.reason == "TOO_LATE"
        with plc.lock:
            assert plc.controller.ack_seq == acked_before  # nothing reached the PLC
            assert plc.controller.hr[2] == 0
        link.divert(at_camera.item_id, 2, at_camera.boot_id + 1)
        _wait_until(lambda: sum(isinstance(e, ev.DivertRejected) for e in events) == 2, "the second refusal")
        assert [e.reason for e in events if isinstance(e, ev.DivertRejected)][-1] == "STALE_BOOT"
        _wait_until(lambda: any(isinstance(e, ev.Diverted) for e in events), "the item's lane")
        diverted = next(e for e in events if isinstance(e, ev.Diverted))
        assert (diverted.lane, diverted.commanded) == (0, False)
    finally:
        link.stop()
        plc.stop()


def test_a_plc_answering_only_exceptions_is_down_and_items_take_the_manual_lane(station: _Station) -> None:
    plc = PlcSimRunner(_belt(20), "tcp")
    link = _run(plc, station, ModbusSettings(reconnect_backoff_s=0.1, reconnect_backoff_max_s=0.2))
    _wait_until(lambda: len(station.of_kind(ev.ItemAtCamera)) >= 3, "three items at the camera")
    plc.faults = replace(plc.faults, exception_rate=1.0)
    _wait_until(lambda: bool(station.of_kind(ev.LinkDown)), "the link to go down")
    assert not link.connected and not link.health().connected
    time.sleep(1.0)  # items pass the diverter meanwhile: the PLC's watchdog keeps the default lane
    plc.faults = replace(plc.faults, exception_rate=0.0)
    _finish(plc, link, station)
    counts = _check_no_misroute(plc, station)
    assert counts["manual"] > 0
    assert link.failures["exceptions"] >= 3


def test_the_station_gone_puts_the_plc_in_safe_outputs() -> None:
    events: list[ev.Event] = []
    plc = PlcSimRunner(_belt(200), "tcp")
    plc.start()
    link = ModbusLink(plc.link_settings(ModbusSettings()), events.append, port=plc.address)
    link.start()
    try:
        _wait_until(lambda: any(isinstance(e, ev.ItemAtCamera) for e in events), "an item at the camera")
        with plc.lock:
            assert not plc.controller.safe
        link.stop()

        def safe() -> bool:
            with plc.lock:
                plc.controller.step(time.monotonic())
                return plc.controller.safe

        _wait_until(safe, "the PLC's watchdog")
        with plc.lock:
            sim = plc.controller
            sim.hr[0:4] = [1, 2, sim.boot_count, sim.ack_seq + 1]  # a command with no station alive
            sim.scan(time.monotonic())
            assert sim.ack_code == 5  # STOPPED: refused in safe outputs
    finally:
        link.stop()
        plc.stop()


def test_a_plc_program_in_stop_is_down_though_its_modbus_answers() -> None:
    events: list[ev.Event] = []
    plc = PlcSimRunner(_belt(50), "tcp")
    plc.start()
    link = ModbusLink(plc.link_settings(ModbusSettings(silence_ms=500, reconnect_backoff_s=0.1,
                                                       reconnect_backoff_max_s=0.2)),
                      events.append, port=plc.address)
    link.start()
    try:
        _wait_until(lambda: link.connected, "the session")
        plc.halt()
        _wait_until(lambda: any(isinstance(e, ev.LinkDown) for e in events), "the link to go down")
        down = next(e for e in events if isinstance(e, ev.LinkDown))
        assert "heartbeat" in down.reason
        assert not link.connected  # no session while the heartbeat stands still
        plc.halt(False)
        _wait_until(lambda: link.connected, "the session to come back")
        ups = [e for e in events if isinstance(e, ev.LinkUp)]
        assert len(ups) == 2 and not ups[1].new_boot  # the same boot: its items are still tracked
    finally:
        link.stop()
        plc.stop()


def test_a_jam_stops_the_diverts_until_the_plc_clears_it() -> None:
    events: list[ev.Event] = []
    plc = PlcSimRunner(_belt(50), "tcp")
    plc.start()
    link = ModbusLink(plc.link_settings(ModbusSettings()), events.append, port=plc.address)
    link.start()
    try:
        _wait_until(lambda: any(isinstance(e, ev.ItemAtCamera) for e in events), "an item at the camera")
        plc.jam(2)
        _wait_until(lambda: any(isinstance(e, ev.Jam) for e in events), "the jam")
        assert next(e for e in events if isinstance(e, ev.Jam)) == ev.Jam(2)
        _wait_until(lambda: any(isinstance(e, ev.Lost) for e in events), "the items on the belt lost")
        assert {e.reason for e in events if isinstance(e, ev.Lost)} == {"JAM"}
        assert link.clear()
        _wait_until(lambda: any(isinstance(e, ev.ClearRejected) for e in events), "the refusal")
        assert next(e for e in events if isinstance(e, ev.ClearRejected)).reason == "STILL_ACTIVE"
        plc.release()
        assert link.clear()
        _wait_until(lambda: any(isinstance(e, ev.Cleared) for e in events), "the belt to run again")
        with plc.lock:
            assert plc.controller.running
    finally:
        link.stop()
        plc.stop()
