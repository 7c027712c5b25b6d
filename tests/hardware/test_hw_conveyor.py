"""The station's item tracker and port finding: pure logic, no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from hardware import events as ev
from hardware.hello_probe import HelloProbeError, probe_hello
from hardware.item_tracker import ItemTracker, LaneMap
from hardware.ports import find_port, parse_usb_id
from station.cli import main

LANES = LaneMap({"manual": 0, "restock": 1, "repair": 2, "recycle": 3, "quarantine": 4})


def _up(boot: int, new: bool = True) -> ev.LinkUp:
    return ev.LinkUp(boot, new, "/dev/pty", 5, 0, 15)


def test_lane_map_names_and_refuses_bad_maps() -> None:
    assert LANES.lane_for("repair") == 2
    assert LANES.lane_for("no-such-disposition") == 0
    assert LANES.name_of(3) == "recycle"
    with pytest.raises(ValueError, match="manual"):
        LaneMap({"restock": 1})
    with pytest.raises(ValueError, match="same lane"):
        LaneMap({"manual": 0, "restock": 1, "repair": 1})


def test_an_item_decided_in_time_ends_with_its_confirmed_lane() -> None:
    conveyor = ItemTracker(LANES)
    conveyor.handle(_up(7), 0.0)
    conveyor.handle(ev.ItemAtCamera(7, 1, 0.7, 700), 0.0)
    assert conveyor.command(7, 1, 2, 0.1)
    conveyor.handle(ev.DivertAccepted(7, 1, 2, 0.3), 0.1)
    (done,) = conveyor.handle(ev.Diverted(7, 1, 2, True), 1.0)
    assert done.as_dict() == {"lane_commanded": 2, "lane_confirmed": 2, "late": False, "lost": False}


def test_a_decision_after_the_deadline_is_not_sent_and_recorded_late() -> None:
    conveyor = ItemTracker(LANES)
    conveyor.handle(_up(7), 0.0)
    conveyor.handle(ev.ItemAtCamera(7, 1, 0.7, 700), 0.0)
    assert not conveyor.command(7, 1, 2, 0.8)
    (done,) = conveyor.handle(ev.Diverted(7, 1, 0, False), 1.0)
    assert done.late and done.lane_confirmed == 0 and done.lane_commanded is None


def test_too_late_from_the_controller_marks_the_item_late() -> None:
    conveyor = ItemTracker(LANES)
    conveyor.handle(_up(7), 0.0)
    conveyor.handle(ev.ItemAtCamera(7, 1, 0.7, 700), 0.0)
    conveyor.command(7, 1, 3, 0.69)
    conveyor.handle(ev.DivertRejected(7, 1, 3, "TOO_LATE"), 0.71)
    (done,) = conveyor.handle(ev.Diverted(7, 1, 0, False), 1.0)
    assert done.late and done.lane_confirmed == 0 and "TOO_LATE" in done.reason


def test_no_diverts_while_jammed_until_cleared() -> None:
    conveyor = ItemTracker(LANES)
    conveyor.handle(_up(7), 0.0)
    conveyor.handle(ev.ItemAtCamera(7, 1, 5.0, 5000), 0.0)
    conveyor.handle(ev.Jam(2), 0.1)
    assert not conveyor.may_divert(7, 1, 0.2)
    conveyor.handle(ev.Cleared(), 0.3)
    assert conveyor.may_divert(7, 1, 0.4)


def test_a_new_boot_flushes_every_tracked_item_and_blocks_its_ids() -> None:
    conveyor = ItemTracker(LANES)
    conveyor.handle(_up(7), 0.0)
    conveyor.handle(ev.ItemAtCamera(7, 1, 5.0, 5000), 0.0)
    conveyor.handle(ev.ItemEntered(7, 2), 0.0)
    flushed = conveyor.handle(_up(8), 0.1)
    assert {(r.item_id, r.lost) for r in flushed} == {(1, True), (2, True)}
    assert not conveyor.command(7, 1, 2, 0.2)  # old boot: never sent
    same_boot = conveyor.handle(_up(8, new=False), 0.3)
    assert same_boot == []


def test_unconfirmed_items_expire_as_lost() -> None:
    conveyor = ItemTracker(LANES, confirm_timeout_s=2.0)
    conveyor.handle(_up(7), 0.0)
    conveyor.handle(ev.ItemAtCamera(7, 1, 0.7, 700), 0.0)
    assert conveyor.expire(2.0) == []
    (done,) = conveyor.expire(2.8)
    assert done.lost and done.lane_confirmed is None
    assert "unconfirmed" in done.reason and "no DIVERT was accepted" in done.reason


def test_an_accepted_divert_never_confirmed_says_which_lane_was_commanded() -> None:
    # The DIVERT was accepted but its Diverted report was lost: the item may well be in
    # lane 2, and the reason says so instead of calling it lost without a word.
    conveyor = ItemTracker(LANES, confirm_timeout_s=2.0)
    conveyor.handle(_up(7), 0.0)
    conveyor.handle(ev.ItemAtCamera(7, 1, 0.7, 700), 0.0)
    assert conveyor.command(7, 1, 2, 0.1)
    conveyor.handle(ev.DivertAccepted(7, 1, 2, 0.4), 0.15)
    (done,) = conveyor.expire(2.8)
    assert done.lane_commanded == 2 and done.lane_confirmed is None
    assert "lane 2 was commanded and accepted" in done.reason and "check the lanes" in done.reason


@dataclass
class _Port:
    device: str
    vid: int | None
    pid: int | None


def test_find_port_by_path_then_by_usb_id(tmp_path) -> None:
    existing = tmp_path / "ttyACM0"
    existing.touch()
    ports = [_Port("/dev/ttyS0", None, None), _Port("/dev/ttyACM3", 0x2341, 0x0043)]
    assert find_port(str(existing), "2341:0043", ports) == str(existing)
    # Renumbered after a replug: the path is gone, the VID:PID finds it.
    assert find_port(str(tmp_path / "ttyACM1"), "2341:0043", ports) == "/dev/ttyACM3"
    assert find_port("", "2341:0044", ports) is None
    assert find_port("COM3", "", []) == "COM3"
    with pytest.raises(ValueError, match="VID:PID"):
        parse_usb_id("arduino")


def test_a_controller_not_found_says_whether_its_port_or_its_usb_id_is_missing(tmp_path) -> None:
    with pytest.raises(HelloProbeError, match=r"^no serial port '/dev/ttyUSB7' on this PC$"):
        probe_hello("/dev/ttyUSB7", 115200)
    # A VID:PID no plugged-in device has (ffff is no vendor's).
    with pytest.raises(HelloProbeError, match=r"^no USB device with the id ffff:fff0 is plugged in"):
        probe_hello("", 115200, usb_id="ffff:fff0")
    with pytest.raises(HelloProbeError, match=r"^no serial port ./dev/ttyUSB7. on this PC, and no USB "):
        probe_hello("/dev/ttyUSB7", 115200, usb_id="ffff:fff0")


def test_sim_run_with_faults_never_misroutes(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sim", "run", "--items", "40", "--spacing", "0.2", "--camera-pos", "0.1",
                 "--divert-pos", "0.9", "--late-fraction", "0.2", "--faults", "corrupt,drop,reboot",
                 "--fault-rate", "0.03",
                 "--seed", "5", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert summary["items"] == 40
    assert summary["misrouted"] == 0
    assert summary["late_to_manual"] > 0
    assert summary["reboots"] == 1
    assert summary["crc_errors"] + summary["retransmits"] > 0
    assert summary["diverted_as_commanded"] + summary["late_to_manual"] + summary["lost"] \
        + summary["to_manual_by_fault"] + summary["unannounced_to_manual"] == 40
