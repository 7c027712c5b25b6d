"""The reference firmware (hardware/firmware/) under CPython on a pty, against the real host:
the self-test passes every rule, a long faulty run never misroutes nor loses an item, a HELLO
the station cannot work with is refused, and a broken firmware's failure shows the bytes."""

from __future__ import annotations

import json
import sys

import pytest

from hardware.firmware import tracker, wire
from hardware.firmware.simbelt import BeltSettings, FirmwareRunner
from hardware.framing import decode_frame, encode_frame
from hardware.messages import Hello, Nack, NackReason, Welcome, decode_message
from hardware.protocol import Connection, Role, SessionStarted
from hardware.selftest import Status, run_selftest
from hardware.simulator import SimSettings, SimulatorRunner
from station.cli import main

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def test_selftest_passes_every_rule_against_the_firmware(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hw", "selftest", "--firmware", "--item-timeout", "5"])
    out = capsys.readouterr().out
    assert code == 0, out
    for rule in range(1, 15):
        assert f"PASS  S{rule} " in out
    assert "14 passed, 0 failed, 0 skipped" in out


@pytest.mark.slow
def test_firmware_run_with_faults_never_misroutes_nor_loses(capsys: pytest.CaptureFixture[str]) -> None:
    items = 300
    code = main(["hw", "firmware-run", "--items", str(items), "--spacing", "0.2",
                 "--camera-pos", "0.1", "--divert-pos", "0.9", "--late-fraction", "0.1",
                 "--faults", "corrupt,drop,reboot,silence", "--fault-rate", "0.01", "--seed", "3", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, summary
    assert summary["items"] == items
    assert summary["misrouted"] == 0
    assert summary["lost"] == 0
    assert summary["confirm_mismatches"] == 0
    assert summary["reboots"] == 1 and summary["injected"]["silences"] == 1
    assert summary["diverted_as_commanded"] > 0 and summary["late_to_manual"] > 0
    assert summary["crc_errors"] + summary["retransmits"] > 0
    assert summary["diverted_as_commanded"] + summary["late_to_manual"] + summary["to_manual_by_fault"] \
        + summary["unannounced_to_manual"] == items


def test_the_host_refuses_a_hello_with_no_lanes() -> None:
    host = Connection(Role.HOST, 0.0)
    bad = Hello(0x1234, 0, 0x0F, 0, 0, 1000)
    host.receive_data(encode_frame(Hello.TYPE, 3, bad.payload()), 0.0)
    out = host.data_to_send()
    assert host.events() == []
    assert out.endswith(b"\x00")
    raw = decode_frame(out[:-1])
    answer = decode_message(raw.type, raw.payload)
    assert answer == Nack(3, NackReason.BAD_HELLO)
    # A valid announcement afterwards is welcomed as usual.
    good = Hello(0x1234, 0, 0x0F, 5, 0, 1000)
    host.receive_data(encode_frame(Hello.TYPE, 4, good.payload()), 0.1)
    assert [type(e) for e in host.events()] == [SessionStarted]
    welcome = decode_frame(host.data_to_send()[:-1])
    assert decode_message(welcome.type, welcome.payload) == Welcome(0x1234, 4)


def test_selftest_refuses_a_simulator_with_no_lanes() -> None:
    with SimulatorRunner(SimSettings(lane_count=0)) as sim:
        results = run_selftest(str(sim.path), item_timeout_s=1)
        with sim.lock:
            refusals = sim.controller.refusals
    s1 = results[0]
    assert s1.rule == "S1" and s1.status is Status.FAIL
    assert "lane_count 0 < 2" in s1.detail and "NACK BAD_HELLO" in s1.detail
    assert "kept announcing" in s1.detail
    assert "BAD_HELLO" in "\n".join(s1.trace)
    assert all(r.status is Status.SKIP for r in results[1:]) and len(results) == 14
    assert refusals >= 1  # the simulated controller saw the refusal and stayed out of a session


def test_selftest_refuses_a_firmware_with_a_1_ms_watchdog() -> None:
    with FirmwareRunner(BeltSettings(watchdog_ms=1)) as fw:
        results = run_selftest(str(fw.path), item_timeout_s=1)
        assert fw.hal is not None
        with fw.hal.lock:
            assert fw.app is not None
            refused, established = fw.app.link.refused, fw.app.link.established
    assert results[0].status is Status.FAIL
    assert "watchdog_ms 1 outside 500..5000" in results[0].detail
    assert refused == wire.BAD_HELLO and not established


def test_a_failed_rule_shows_a_hint_and_the_bytes(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    original = tracker.Tracker.command

    def acks_unknown_types(self: tracker.Tracker, type_: int, payload: bytes, now: int) -> int:
        reason = original(self, type_, payload, now)
        return 0 if reason == wire.UNSUPPORTED else reason  # the bug: ACK what it cannot read

    monkeypatch.setattr(tracker.Tracker, "command", acks_unknown_types)
    code = main(["hw", "selftest", "--firmware", "--item-timeout", "5"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  S6   unknown reliable type: NACK UNSUPPORTED: ACK" in out
    failure = out.split("FAIL  S6", 1)[1].split("PASS", 1)[0]
    assert "hint: answer a reliable frame of an unknown type with NACK(seq, UNSUPPORTED = 0x08)" in failure
    # Both directions, in hex, decoded: the probe's unknown type 0x7e and the firmware's ACK of it.
    assert "-> 04 01 7e" in failure and "type 0x7e seq" in failure
    assert "<- 03 01 01 01 02" in failure and "ACK (seq=" in failure
    assert "13 passed, 1 failed, 0 skipped (failed: S6)" in out


def test_a_controller_at_the_wrong_baud_rate_is_told_so(capsys: pytest.CaptureFixture[str]) -> None:
    import os
    import threading
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def noise() -> None:  # what 115200 baud hears from a controller talking at 9600: no 0x00, no frame
        while not stop.wait(0.1):
            os.write(master, b"\x55\xaa\xf0" * 10)

    thread = threading.Thread(target=noise, daemon=True)
    thread.start()
    try:
        code = main(["hw", "selftest", "--port", os.ttyname(slave)])
    finally:
        stop.set()
        thread.join()
        os.close(master)
        os.close(slave)
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  S1   HELLO without being asked: no valid HELLO in 6.5 s" in out
    assert "bytes arrived but not one valid frame: is the baud rate 115200 on both ends?" in out
    assert "no frame delimiter (0x00) among them: 55 aa f0 55 aa f0" in out
