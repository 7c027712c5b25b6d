"""`station hw selftest` against the simulator over a real pty: it passes every rule, and it
fails the rule a broken controller breaks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hardware.messages import NackReason
from hardware.selftest import Status, run_selftest
from hardware.simulator import ControllerSim, SimulatorRunner
from station.cli import main

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def test_selftest_passes_every_rule_against_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hw", "selftest", "--sim", "--item-timeout", "5"])
    out = capsys.readouterr().out
    assert code == 0, out
    for rule in range(1, 15):
        assert f"PASS  S{rule} " in out
    assert "14 passed, 0 failed, 0 skipped" in out


def test_selftest_fails_a_controller_that_applies_late_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    original = ControllerSim._divert

    def never_too_late(self: ControllerSim, cmd, now):  # type: ignore[no-untyped-def]
        reason = original(self, cmd, now)
        if reason is NackReason.TOO_LATE:
            item = self._by_id[cmd.item_id]
            if not item.gated:
                item.commanded_lane = cmd.lane  # the bug: a late command still moves the gate
                return None
        return reason

    monkeypatch.setattr(ControllerSim, "_divert", never_too_late)
    with SimulatorRunner() as sim:
        results = {r.rule: r for r in run_selftest(str(sim.path), item_timeout_s=5)}
    assert results["S12"].status is Status.FAIL
    assert results["S10"].status is Status.PASS


def test_a_plcs_address_is_sent_to_the_doctor_instead_of_opened_as_a_serial_port(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", "/dev/null", "hw", "selftest", "--port", "192.168.0.10:502"]) == 2
    said = capsys.readouterr().err
    assert "192.168.0.10:502 is a network address, not a serial port" in said
    assert "checked with `station doctor`" in said and "dialout" not in said
    modbus = tmp_path / "plc.toml"
    modbus.write_text('[hardware]\ncontroller = "modbus"\n', encoding="utf-8")
    assert main(["--config", str(modbus), "hw", "selftest", "--port", "/dev/ttyUSB0"]) == 2
    assert 'a Modbus PLC ([hardware] controller = "modbus")' in capsys.readouterr().err
