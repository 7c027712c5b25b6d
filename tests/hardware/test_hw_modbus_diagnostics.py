"""A PLC program that breaks hardware/MODBUS.md, seen from the station: the simulated PLC on
Modbus TCP with one fault of its program (or of the config) each, the real ModbusLink, and
what the log and the LinkDown reason tell the PLC programmer to fix."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from hardware import events as ev
from hardware.messages import Message
from hardware.modbus.driver import ModbusLink
from hardware.modbus.plc_sim import PlcController, PlcSimRunner
from hardware.modbus.registers import RegisterMap
from hardware.modbus.settings import ModbusSettings
from hardware.simulator import SimSettings

WAIT_S = 60.0  # generous: the machine is shared; nothing here measures time
FAST = ModbusSettings(reconnect_backoff_s=0.05, reconnect_backoff_max_s=0.2)


def _wait_until(check: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def plc() -> Iterator[PlcSimRunner]:
    runner = PlcSimRunner(SimSettings(items=20, rate_items_s=10.0, camera_pos_m=0.5, divert_pos_m=2.0), "tcp")
    yield runner
    runner.stop()


def _link(plc: PlcSimRunner, events: list[ev.Event], settings: ModbusSettings = FAST) -> ModbusLink:
    link = ModbusLink(plc.link_settings(settings), events.append, port=plc.address)
    link.start()
    return link


def _logged(caplog: pytest.LogCaptureFixture, level: int, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level and text in r.getMessage()]


def test_an_event_ring_written_with_the_wrong_event_numbers_takes_the_link_down_saying_why(
        plc: PlcSimRunner) -> None:
    # The PLC program writes EVENT_NO one too high (EVENT_HEAD after adding 1): the station would
    # never find the event it expects and, silently, never see an item.
    plc.start()
    with plc.lock:
        sim = plc.controller
        emit = sim._emit

        def one_too_high(message: Message, now: float) -> bool:
            done = emit(message, now)
            slot = sim.ring[(sim.head - 1) % sim.registers.ring_slots]
            slot[0] = (slot[0] + 1) & 0xFFFF
            return done

        sim._emit = one_too_high  # type: ignore[method-assign]
    events: list[ev.Event] = []
    link = _link(plc, events)
    try:
        _wait_until(lambda: any(isinstance(e, ev.LinkDown) for e in events), "the link to go down")
    finally:
        link.stop()
    down = next(e for e in events if isinstance(e, ev.LinkDown))
    assert "holds event number 1, not 0" in down.reason
    assert "EVENT_NO = n" in down.reason
    assert not any(isinstance(e, ev.ItemAtCamera) for e in events)


def test_a_header_one_register_off_ir_base_is_named_with_the_base_to_set(
        plc: PlcSimRunner, caplog: pytest.LogCaptureFixture) -> None:
    plc.registers = RegisterMap(ir_base=1)  # the PLC's map from 30002: a map counted from 1
    plc.start()
    events: list[ev.Event] = []
    link = _link(plc, events, replace(FAST, ir_base=2))
    try:
        _wait_until(lambda: len(_logged(caplog, logging.ERROR, "header starts")) >= 2, "two refusals")
    finally:
        link.stop()
    (said,) = set(_logged(caplog, logging.ERROR, "header starts"))
    assert "starts at input register 1, not at ir_base (2)" in said
    assert "ir_base = 1" in said
    assert not link.health().sessions  # no session on a map the station cannot read


def test_a_plc_that_never_answers_points_at_the_unit_id(caplog: pytest.LogCaptureFixture) -> None:
    # A PLC answering another unit id stays silent, as on an RS-485 bus.
    runner = PlcSimRunner(SimSettings(items=0), "tcp", unit_id=2)
    runner.start()
    try:
        settings = replace(runner.link_settings(FAST), unit_id=1)
        link = ModbusLink(settings, lambda _e: None, port=runner.address)
        link.start()
        try:
            _wait_until(lambda: bool(_logged(caplog, logging.WARNING, "in a row failed")), "the failures")
        finally:
            link.stop()
    finally:
        runner.stop()
    said = _logged(caplog, logging.WARNING, "in a row failed")[0]
    assert "answered nothing" in said and "unit_id (1)" in said
    assert "No response received" not in said  # pymodbus's words, not the site's


def test_registers_the_plc_does_not_have_are_named_once_with_the_key_to_check(
        plc: PlcSimRunner, caplog: pytest.LogCaptureFixture) -> None:
    plc.start()
    link = _link(plc, [], replace(FAST, ir_base=200))
    try:
        _wait_until(lambda: len(_logged(caplog, logging.WARNING, "ILLEGAL DATA ADDRESS")) >= 3,
                    "three reconnects refused")
    finally:
        link.stop()
    said = _logged(caplog, logging.ERROR, "no input registers")
    assert said == ["the PLC has no input registers 200..215: check [hardware.modbus] ir_base and ring_slots "
                    "against the PLC program (addresses count from 0: the PLC tool's 30001 is address 0)"]


def test_a_watchdog_shorter_than_the_station_heartbeat_and_a_default_lane_out_of_range_are_reported(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hardware.modbus.driver")
    runner = PlcSimRunner(SimSettings(items=0, lane_count=4, default_lane=4), "tcp")
    runner.start()
    with runner.lock:
        runner.controller.watchdog_ms = 300
    events: list[ev.Event] = []
    link = ModbusLink(runner.link_settings(FAST), events.append, port=runner.address)
    link.start()
    try:
        _wait_until(lambda: link.connected, "the session")
    finally:
        link.stop()
        runner.stop()
    assert _logged(caplog, logging.INFO, "4 lanes, default lane 4, watchdog 300 ms")
    assert _logged(caplog, logging.ERROR, "DEFAULT_LANE (4) is not one of its LANE_COUNT (4) lanes")
    assert _logged(caplog, logging.ERROR, "WATCHDOG_MS 300 ms) is shorter than twice [hardware.modbus] "
                                          "heartbeat_ms (200 ms)")


def test_a_healthy_plc_header_raises_no_complaint(
        plc: PlcSimRunner, caplog: pytest.LogCaptureFixture) -> None:
    plc.start()
    link = _link(plc, [])
    try:
        _wait_until(lambda: link.connected, "the session")
    finally:
        link.stop()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_restart_without_a_new_boot_count_asks_for_a_retentive_counter(
        plc: PlcSimRunner, caplog: pytest.LogCaptureFixture) -> None:
    plc.start()
    events: list[ev.Event] = []
    link = _link(plc, events)
    try:
        _wait_until(lambda: link.connected, "the session")
        heartbeat_moved = time.monotonic() + 0.3
        _wait_until(lambda: time.monotonic() > heartbeat_moved, "the heartbeat to count past 0")
        with plc.lock:
            sim: PlcController = plc.controller
            sim.reboot(time.monotonic())
            sim.boot_count = sim.boot_id = 1  # not retentive: the same count as before
        _wait_until(lambda: any(isinstance(e, ev.LinkDown) for e in events), "the restart")
    finally:
        link.stop()
    assert _logged(caplog, logging.WARNING, "make BOOT_COUNT a RETAIN variable")


def test_on_a_serial_line_a_backlog_of_events_is_read_in_pieces_that_arrive_within_the_timeout() -> None:
    # 19200 baud 8N1 and the default 100 ms: a 125-register answer would take 133 ms on a real line
    # and time out every time, so after an outage the backlog would never be read.
    settings = replace(FAST, baudrate=19200, timeout_ms=100)
    runner = PlcSimRunner(SimSettings(items=30, rate_items_s=20.0, camera_pos_m=0.5, divert_pos_m=2.0), "rtu")
    runner.start()
    link_settings = runner.link_settings(settings)
    limit = link_settings.read_words_limit()
    assert limit < 125
    ring_reads: list[int] = []
    with runner.lock:
        sim = runner.controller
        read = sim.read

        def counted(func_code: int, address: int, count: int, now: float) -> list[int] | object:
            if func_code == 4 and address >= sim.registers.ring_base:
                ring_reads.append(count)
            return read(func_code, address, count, now)

        sim.read = counted  # type: ignore[method-assign,assignment]
    events: list[ev.Event] = []
    link = ModbusLink(link_settings, events.append, port=runner.address)
    link.start()
    try:
        _wait_until(lambda: any(isinstance(e, ev.ItemAtCamera) for e in events), "the first item")
        # The PLC stops answering while the belt runs on: its ring fills up.
        runner.faults = replace(runner.faults, timeout_rate=1.0)
        _wait_until(lambda: any(isinstance(e, ev.LinkDown) for e in events), "the link to go down")
        with runner.lock:
            backlog_from = sim.head
        _wait_until(lambda: runner.controller.head - backlog_from >= 15, "a backlog of events")
        runner.faults = replace(runner.faults, timeout_rate=0.0)
        _wait_until(lambda: len([e for e in events if isinstance(e, ev.LinkUp)]) == 2, "the session back")
        _wait_until(lambda: any(isinstance(e, ev.Diverted) and e.item_id > 20 for e in events),
                    "the events behind the backlog")
    finally:
        link.stop()
        runner.stop()
    assert ring_reads and max(ring_reads) <= limit
    assert max(ring_reads) > 5  # several events per read, not one by one
