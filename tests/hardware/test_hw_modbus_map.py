"""The Modbus register map, its settings in the config, the simulated PLC's program with no
I/O, the tracker's accounting of commands the controller did not apply, and a short
`station sim run --controller modbus`."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pytest

from hardware import events as ev
from hardware.item_tracker import ItemTracker, LaneMap
from hardware.messages import NackReason
from hardware.modbus.plc_sim import PlcController
from hardware.modbus.registers import (
    EVENT_WORDS,
    HEADER_WORDS,
    EventType,
    HoldingRegister,
    InputRegister,
    RegisterMap,
    Status,
    ring_slot_ranges,
)
from hardware.modbus.settings import ModbusSettings, ModbusSettingsError, host_port
from hardware.simulator import SimSettings
from station import config as config_module
from station.cli import main
from station.config import ConfigError, load_config

LANES = LaneMap({"manual": 0, "restock": 1, "repair": 2, "recycle": 3, "quarantine": 4})


def test_ring_reads_split_at_the_wrap_and_at_the_125_register_limit() -> None:
    assert ring_slot_ranges(18, 4, 20) == [(18, 2), (0, 2)]
    assert ring_slot_ranges(3, 1, 20) == [(3, 1)]
    assert ring_slot_ranges(0, 60, 100) == [(0, 25), (25, 25), (50, 10)]
    assert all(n * EVENT_WORDS <= 125 for _, n in ring_slot_ranges(0, 100, 100))
    assert ring_slot_ranges(65535, 2, 20) == [(15, 2)]  # event numbers wrap at 65536; 65536 % 20 == 16


def test_the_map_addresses_and_its_limits() -> None:
    m = RegisterMap(hr_base=100, ir_base=300, ring_slots=20)
    assert m.hr(HoldingRegister.CMD_SEQ) == 103
    assert m.ir(InputRegister.EVENT_HEAD) == 311
    assert m.ring_base == 300 + HEADER_WORDS
    assert m.ir_end == 300 + HEADER_WORDS + 20 * EVENT_WORDS
    with pytest.raises(ValueError, match="ring_slots"):
        RegisterMap(ring_slots=0)
    with pytest.raises(ValueError, match="ir_base"):
        RegisterMap(ir_base=65500)


def test_settings_refuse_what_contradicts_and_read_host_port() -> None:
    assert host_port("192.168.0.10:1502") == ("192.168.0.10", 1502)
    assert host_port("plc-3") == ("plc-3", 502)
    with pytest.raises(ModbusSettingsError) as bad_port:
        ModbusSettings(transport="tcp", port="plc:http")
    assert bad_port.value.key == "port"
    with pytest.raises(ModbusSettingsError) as silence:
        ModbusSettings(silence_ms=150)
    assert silence.value.key == "silence_ms"
    with pytest.raises(ModbusSettingsError) as backoff:
        ModbusSettings(reconnect_backoff_s=20.0)
    assert backoff.value.key == "reconnect_backoff_s"


def test_every_number_of_the_modbus_table_has_a_range() -> None:
    hints = typing.get_type_hints(ModbusSettings)
    numeric = [f.name for f in dataclasses.fields(ModbusSettings) if hints[f.name] in (int, float)]
    assert numeric
    assert [n for n in numeric if ("hardware.modbus", n) not in config_module.RANGES] == []


def test_the_config_selects_a_modbus_plc_and_names_a_bad_key_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[hardware]\ncontroller = "modbus"\n\n[hardware.modbus]\ntransport = "tcp"\n'
                    'port = "10.0.0.7:502"\nunit_id = 3\npoll_ms = 20\n', encoding="utf-8")
    hw = load_config(path, env={}).hardware
    assert hw.controller == "modbus"
    modbus = hw.modbus
    assert (modbus.transport, modbus.port, modbus.unit_id, modbus.poll_ms) == ("tcp", "10.0.0.7:502", 3, 20)
    path.write_text('[hardware.modbus]\nunit_id = 300\n', encoding="utf-8")
    with pytest.raises(ConfigError) as out_of_range:
        load_config(path, env={})
    assert (out_of_range.value.key, out_of_range.value.line) == ("hardware.modbus.unit_id", 2)
    path.write_text('[hardware.modbus]\nparity = "M"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="parity"):
        load_config(path, env={})
    path.write_text('[hardware.modbus]\nbaud = 9600\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key") as unknown:
        load_config(path, env={})
    assert unknown.value.line == 2
    path.write_text('[hardware.modbus]\ntransport = "tcp"\nport = "plc:x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="host:port") as bad:
        load_config(path, env={})
    assert bad.value.key == "hardware.modbus.port"


def _plc() -> tuple[PlcController, float]:
    now = 1000.0
    plc = PlcController(SimSettings(items=3, rate_items_s=10.0), now)
    return plc, now


def _header(plc: PlcController, now: float) -> list[int]:
    return plc.input_registers(now)[:HEADER_WORDS]


def test_the_plc_program_executes_a_command_once_and_echoes_its_sequence() -> None:
    plc, now = _plc()
    assert plc.safe and plc.fed == 0  # no station yet: safe outputs, no items fed
    assert plc.write(16, HoldingRegister.HOST_ALIVE, [1], now) is None
    assert not plc.safe
    t = now

    def slots() -> list[list[int]]:
        ring = plc.input_registers(t)[HEADER_WORDS:]
        return [ring[i:i + EVENT_WORDS] for i in range(0, plc.head * EVENT_WORDS, EVENT_WORDS)]

    while not any(slot[1] == EventType.ITEM_AT_CAMERA for slot in slots()):
        t += 0.01
        plc.step(t)
    assert slots()[0][:3] == [0, EventType.ITEM_ENTERED, 1]
    at_camera = next(slot for slot in slots() if slot[1] == EventType.ITEM_AT_CAMERA)
    assert at_camera[2] == 1 and at_camera[3] > 0  # item 1, ms until its deadline
    header = _header(plc, t)
    assert header[InputRegister.EVENT_HEAD] == plc.head
    assert header[InputRegister.STATUS] & Status.HOST_OK and header[InputRegister.STATUS] & Status.RUNNING
    seq = header[InputRegister.ACK_SEQ] + 1
    assert plc.write(16, HoldingRegister.CMD_ITEM, [1, 3, plc.boot_count, seq], t) is None
    header = _header(plc, t)
    assert (header[InputRegister.ACK_SEQ], header[InputRegister.ACK_CODE]) == (seq, 0)
    # The same sequence written again (its answer was lost) changes nothing.
    assert plc.write(16, HoldingRegister.CMD_ITEM, [1, 4, plc.boot_count, seq], t) is None
    assert plc.truth[0].commanded_lane == 3
    # Another boot's item id, a lane that does not exist: refused with the protocol's reasons.
    plc.write(16, HoldingRegister.CMD_ITEM, [1, 3, plc.boot_count + 1, seq + 1], t)
    assert _header(plc, t)[InputRegister.ACK_CODE] == NackReason.STALE_BOOT
    plc.write(16, HoldingRegister.CMD_ITEM, [1, 9, plc.boot_count, seq + 2], t)
    assert _header(plc, t)[InputRegister.ACK_CODE] == NackReason.BAD_LANE
    assert plc.write(16, 6, [1], t) is not None  # beyond the holding registers: illegal address
    assert plc.read(4, 0, HEADER_WORDS + 20 * EVENT_WORDS + 1, t) != plc.read(4, 0, HEADER_WORDS, t)


def test_a_plc_restart_counts_the_boot_and_does_not_run_the_last_command_again() -> None:
    plc, now = _plc()
    plc.write(16, HoldingRegister.HOST_ALIVE, [1], now)
    plc.write(16, HoldingRegister.CMD_ITEM, [1, 3, 1, 7], now)
    plc.reboot(now + 1)
    header = _header(plc, now + 1)
    assert header[InputRegister.BOOT_COUNT] == 2
    assert header[InputRegister.HEARTBEAT] == 0 and header[InputRegister.EVENT_HEAD] == 0
    assert header[InputRegister.ACK_SEQ] == 7  # the command written before the restart counts as done
    assert plc.safe  # until the station writes again


def test_a_command_the_controller_did_not_apply_is_no_misroute() -> None:
    tracker = ItemTracker(LANES)
    tracker.handle(ev.LinkUp(1, True, "plc", 5, 0, 0), 0.0)
    for item in (1, 2):
        tracker.handle(ev.ItemAtCamera(1, item, 0.7, 700), 0.0)
        assert tracker.command(1, item, 3, 0.6)
    tracker.handle(ev.DivertRejected(1, 1, 3, "TOO_LATE"), 0.71)
    (refused,) = tracker.handle(ev.Diverted(1, 1, 0, False), 1.0)
    tracker.handle(ev.DivertAccepted(1, 2, 3, 1.0), 0.61)
    (unapplied,) = tracker.handle(ev.Diverted(1, 2, 0, False), 1.0)  # safe outputs after an outage
    for outcome in (refused, unapplied):
        assert outcome.lane_commanded is None and outcome.lane_confirmed == 0
    assert refused.late and not unapplied.late
    assert "no command applied" in unapplied.reason


def test_station_sim_run_with_a_modbus_plc_under_faults(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sim", "run", "--controller", "modbus", "--items", "100", "--rate", "8",
                 "--late-fraction", "0.1", "--faults", "timeout,exception,restart", "--fault-rate", "0.03",
                 "--seed", "2", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert summary["items"] == 100
    assert summary["misrouted"] == 0 and summary["lost"] == 0
    assert summary["late_to_manual"] > 0
    assert summary["reboots"] == 1 and summary["injected"]["restarts"] == 1
    assert summary["injected"]["timeouts"] > 0 and summary["injected"]["exceptions"] > 0
    assert summary["diverted_as_commanded"] + summary["late_to_manual"] + summary["to_manual_by_fault"] \
        + summary["unannounced_to_manual"] == 100


def test_station_sim_refuses_a_fault_the_controller_cannot_have(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="corrupt"):
        main(["sim", "run", "--controller", "modbus", "--items", "10", "--faults", "corrupt"])
    with pytest.raises(SystemExit, match="timeout"):
        main(["sim", "run", "--controller", "protocol", "--items", "10", "--faults", "timeout"])


@pytest.mark.parametrize(("table", "problem", "fix"), [
    ('transport = "tcp"\nport = ""', "port is empty", 'the PLC\'s "host:port"'),
    ('transport = "rtu"\nport = "192.168.0.10:502"', "is a network address", 'transport = "tcp"'),
    ('transport = "tcp"\nport = ":502"', "has no host", "before the colon"),
    ('transport = "tcp"\nport = "fd00::10:502"', "IPv6 address goes in brackets", '"[fd00::10]:502"'),
])
def test_a_port_the_transport_cannot_open_is_refused_with_what_to_write(
        tmp_path: Path, table: str, problem: str, fix: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[hardware]\ncontroller = \"modbus\"\n\n[hardware.modbus]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path, env={})
    assert (refused.value.key, refused.value.line) == ("hardware.modbus.port", 6)
    assert problem in str(refused.value) and fix in str(refused.value)


def test_a_serial_port_and_a_bracketed_ipv6_address_are_taken() -> None:
    assert ModbusSettings(transport="rtu", port="/dev/ttyUSB0").port == "/dev/ttyUSB0"
    assert ModbusSettings(transport="rtu", port="rfc2217://10.0.0.5:4000").port == "rfc2217://10.0.0.5:4000"
    assert host_port("[fd00::10]:1502") == ("fd00::10", 1502)
    assert host_port("[fd00::10]") == ("fd00::10", 502)


def test_a_serial_line_reads_no_more_than_arrives_within_the_timeout() -> None:
    tcp = ModbusSettings(transport="tcp", port="10.0.0.7:502")
    assert tcp.read_words_limit() == 125
    # 19200 8E1: 11 bits a byte; half of 100 ms carries 87 bytes, the request and framing 13 of them.
    assert ModbusSettings(transport="rtu", port="/dev/ttyUSB0").read_words_limit() == 37
    assert ModbusSettings(transport="rtu", port="/dev/ttyUSB0", baudrate=115200).read_words_limit() == 125
    with pytest.raises(ModbusSettingsError) as too_short:
        ModbusSettings(transport="rtu", port="/dev/ttyUSB0", baudrate=2400)
    assert too_short.value.key == "timeout_ms"
    assert too_short.value.fix is not None and "timeout_ms to 412 or more" in too_short.value.fix
