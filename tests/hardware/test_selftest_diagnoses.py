"""`station hw selftest` names what a controller really got wrong: a watchdog that HEARTBEATs do
not feed, a retransmission whose payload changed, a copy of a refused command answered ACK,
items too close to the gate for S9-S12. Each runs the real self-test over a pty against the
reference firmware or the simulator, with the mistake put in."""

from __future__ import annotations

import re
import struct
import sys

import pytest

from hardware.firmware import config as fw_config
from hardware.firmware import link, wire
from hardware.firmware.compat import ticks_diff
from hardware.firmware.simbelt import BeltSettings, FirmwareRunner
from hardware.protocol import Connection, Role
from hardware.selftest import RuleResult, Status, run_selftest
from hardware.simulator import SimSettings, SimulatorRunner
from station.cli import main

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def _watchdog_fed_by_acks_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The firmware mistake: only ACKs and commands reset the watchdog, HEARTBEATs do not."""
    original = link.Link._on_block

    def on_block(self: link.Link, block: bytes, now: int) -> None:
        before = self._last_rx
        original(self, block, now)
        frame = wire.decode_frame(block)
        if isinstance(frame, wire.Frame) and frame.type == wire.HEARTBEAT:
            self._last_rx = before

    monkeypatch.setattr(link.Link, "_on_block", on_block)


def _selftest(runner: FirmwareRunner | SimulatorRunner, item_timeout_s: float) -> dict[str, RuleResult]:
    with runner:
        return {r.rule: r for r in run_selftest(str(runner.path), item_timeout_s=item_timeout_s)}


def test_a_watchdog_that_heartbeats_do_not_feed_fails_s14(monkeypatch: pytest.MonkeyPatch) -> None:
    # Items flow, so the ACKs of their events keep such a controller in session through S3-S13;
    # on an idle belt it would drop the session every watchdog_ms.
    _watchdog_fed_by_acks_only(monkeypatch)
    results = _selftest(FirmwareRunner(), item_timeout_s=5)
    s14 = results["S14"]
    assert s14.status is Status.FAIL
    assert "into a spell of HEARTBEATs without ACKs (watchdog_ms 1000)" in s14.detail
    assert "HEARTBEAT included" in s14.hint
    assert all(r.status is Status.PASS for rule, r in results.items() if rule != "S14")


def test_a_controller_that_leaves_the_session_on_an_idle_belt_is_told_why_in_s3(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _watchdog_fed_by_acks_only(monkeypatch)
    results = _selftest(FirmwareRunner(BeltSettings(items=0)), item_timeout_s=0.5)
    s3 = results["S3"]
    assert s3.status is Status.FAIL
    assert "HELLO seq 2" in s3.detail and "after the WELCOME" in s3.detail
    assert "took the WELCOME, then announced itself again" in s3.hint
    assert "did not take the WELCOME" not in s3.hint


def test_items_too_close_to_the_gate_are_not_reported_as_no_items() -> None:
    # Camera 0.25 m before the gate at 2 m/s: 125 ms of travel, about 75 ms of deadline per item.
    settings = SimSettings(camera_pos_m=0.5, divert_pos_m=0.75)
    results = _selftest(SimulatorRunner(settings), item_timeout_s=1.5)
    for rule in ("S9", "S10", "S11", "S12"):
        assert results[rule].status is Status.SKIP
        found = re.search(r"items at the camera in 1\.5 s, none with deadline_ms above 150 "
                          r"\(longest (\d+) ms\)", results[rule].detail)
        assert found is not None, results[rule].detail
        assert int(found.group(1)) <= 75
        assert "deadline_ms in milliseconds" in results[rule].hint


def test_a_run_that_skipped_rules_exits_3_and_does_not_read_as_conformance(
        capsys: pytest.CaptureFixture[str]) -> None:
    with SimulatorRunner(SimSettings(camera_pos_m=0.5, divert_pos_m=0.75)) as runner:
        code = main(["--config", "/dev/null", "hw", "selftest", "--port", str(runner.path),
                     "--item-timeout", "1.5"])
    out = capsys.readouterr().out
    assert code == 3, out
    assert "10 passed, 0 failed, 4 skipped" in out
    assert "not every rule was tested (S9, S10, S11, S12): feed items onto the belt" in out


def test_a_retransmission_with_a_recomputed_deadline_is_named_as_changed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    original_tick = link.Link.tick
    original_send = link.Link.send

    def tick(self: link.Link, now: int) -> None:
        # The mistake: ITEM_AT_CAMERA is rebuilt at each resend with the time left by then.
        if self._unacked and ticks_diff(now, self._unacked[0].last_sent) >= fw_config.ACK_TIMEOUT_MS:
            for out in self._unacked:
                frame = wire.decode_frame(out.frame[:-1])
                if isinstance(frame, wire.Frame) and frame.type == wire.ITEM_AT_CAMERA:
                    item_id, deadline = struct.unpack("<IH", frame.payload)
                    left = max(0, deadline - ticks_diff(now, out.last_sent))
                    payload = struct.pack("<IH", item_id, left)
                    out.frame = wire.encode_frame(wire.ITEM_AT_CAMERA, out.seq, payload)
        original_tick(self, now)

    def send(self: link.Link, type_: int, payload: bytes, now: int) -> bool:
        # Only ITEM_AT_CAMERA goes out, so that it is the event S13 withholds its ACK from.
        return original_send(self, type_, payload, now) if type_ == wire.ITEM_AT_CAMERA else self.established

    monkeypatch.setattr(link.Link, "tick", tick)
    monkeypatch.setattr(link.Link, "send", send)
    # Deadlines of 73 ms: S9-S12 are skipped quickly and never wait for a DIVERTED.
    results = _selftest(FirmwareRunner(BeltSettings(camera_pos_m=0.5, gate_pos_m=0.75)), item_timeout_s=0.5)
    s13 = results["S13"]
    assert s13.status is Status.FAIL
    assert "but changed: ItemAtCameraMsg(" in s13.detail
    assert "not resent" not in s13.detail
    assert "byte for byte" in s13.hint


def test_a_controller_that_answers_a_copy_of_a_refused_divert_with_ack_fails_s11(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The mistake: no answer cache, so every copy gets ACK(expected - 1); a lost CONFLICT or
    # TOO_LATE then reaches the station as an ACK of a command the controller refused.
    original = Connection._remember

    def remember(self: Connection, seq: int, frame: bytes) -> None:
        if self.role is not Role.CONTROLLER:
            original(self, seq, frame)

    monkeypatch.setattr(Connection, "_remember", remember)
    results = _selftest(SimulatorRunner(), item_timeout_s=5)
    s11 = results["S11"]
    assert s11.status is Status.FAIL
    assert "retransmitted other lane ACK (first NACK CONFLICT)" in s11.detail
    assert "a NACK as well as an ACK" in s11.hint
    assert results["S10"].status is Status.PASS
