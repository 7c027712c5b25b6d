"""`station hw selftest --port PATH`: check a conveyor controller against hardware/PROTOCOL.md.

`station hw firmware-run --items N ...`: `station sim run` against the reference firmware
(hardware/firmware/) on its simulated belt; one JSON summary, misrouted and lost counted
against the belt's ground truth.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from station.cli_output import print_run_summary
from station.commands._args import CAMERA_POS, DIVERT_POS, SPACING, SPEED, number, whole
from station.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("hw", help="conveyor controller tools (selftest, firmware-run)")
    subs = parser.add_subparsers(dest="hw_command", metavar="{selftest,firmware-run}", required=True)
    selftest = subs.add_parser("selftest", help="conformance run: pass/fail per rule of PROTOCOL.md §12",
                               description="Exit status: 0 every rule passed, 1 a rule failed, 2 the port "
                               "or an option cannot be used, 3 none failed but some were skipped (no item "
                               "came).")
    where = selftest.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port of the controller (/dev/ttyUSB0, COM3, a pty)")
    where.add_argument("--sim", action="store_true", help="start the built-in simulator and test it")
    where.add_argument("--firmware", action="store_true",
                       help="run the reference firmware (hardware/firmware/) on a simulated belt and test it")
    selftest.add_argument("--baud", type=whole(300, 4_000_000, example="115200"), default=None,
                          help="baud rate (default [hardware] baudrate)")
    selftest.add_argument("--item-timeout", type=number(0, 3600, low_open=True, example="10"), default=10.0,
                          help="seconds to wait for an item at the camera (default 10); feed items meanwhile")
    selftest.add_argument("--json", action="store_true", help="one JSON object per rule on stdout")
    selftest.set_defaults(handler=run)

    fw = subs.add_parser("firmware-run", help="the reference firmware on a simulated belt, the real link and "
                         "a decision driver; prints a summary like `station sim run`")
    fw.add_argument("--items", type=whole(1, example="100"), default=100, help="items to feed (default 100)")
    fw.add_argument("--speed", type=SPEED, default=None,
                    help="belt speed in m/s (default [hardware] sim_speed_m_s)")
    fw.add_argument("--spacing", type=SPACING, default=None,
                    help="metres between items (default [hardware] sim_spacing_m)")
    fw.add_argument("--camera-pos", type=CAMERA_POS, default=None,
                    help="camera position in m (default [hardware] sim_camera_pos_m)")
    fw.add_argument("--divert-pos", type=DIVERT_POS, default=None,
                    help="gate position in m (default [hardware] sim_divert_pos_m)")
    fw.add_argument("--late-fraction", type=number(0, 1, example="0.1"), default=0.0,
                    help="fraction of items decided after their deadline (default 0)")
    fw.add_argument("--faults", default="", help=f"comma-separated faults to inject: {', '.join(_FW_FAULTS)}")
    fw.add_argument("--fault-rate", type=number(0, 1, example="0.01"), default=0.01,
                    help="fraction of frames corrupted / dropped by those faults (default 0.01)")
    fw.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    fw.add_argument("--json", action="store_true", help="one JSON object on stdout")
    fw.set_defaults(handler=firmware_run)


_FW_FAULTS = ("corrupt", "drop", "reboot", "silence", "jam")


def firmware_run(args: argparse.Namespace, config: Config) -> int:
    """`station hw firmware-run`: exit 0 when no item was misrouted."""
    from hardware.firmware.simbelt import BeltSettings
    from hardware.firmware_run import run_firmware

    hw = config.hardware
    faults = {f.strip() for f in args.faults.split(",") if f.strip()}
    unknown = faults - set(_FW_FAULTS)
    if unknown:
        print(f"station hw firmware-run: unknown fault(s) {', '.join(sorted(unknown))}; "
              f"use {', '.join(_FW_FAULTS)}", file=sys.stderr)
        return 2
    speed = hw.sim_speed_m_s if args.speed is None else args.speed
    spacing = hw.sim_spacing_m if args.spacing is None else args.spacing
    camera = hw.sim_camera_pos_m if args.camera_pos is None else args.camera_pos
    gate = hw.sim_divert_pos_m if args.divert_pos is None else args.divert_pos
    if speed <= 0 or spacing <= 0 or gate <= camera or args.items < 1:
        print("station hw firmware-run: need --items >= 1, --speed > 0, --spacing > 0 and --divert-pos "
              "beyond --camera-pos", file=sys.stderr)
        return 2
    n = args.items
    settings = BeltSettings(
        speed_m_s=speed, spacing_m=spacing, camera_pos_m=camera, gate_pos_m=gate, items=n, seed=args.seed,
        corrupt_rate=args.fault_rate if "corrupt" in faults else 0.0,
        drop_rate=args.fault_rate if "drop" in faults else 0.0,
        reboot_after_items=(n // 2,) if "reboot" in faults else (),
        silence_after_items=(n * 3 // 4,) if "silence" in faults else (),
        jam_after_items=(n // 4,) if "jam" in faults else (),
    )
    # The firmware is on a pseudo-terminal: never look for it by the controller's USB id.
    link = dataclasses.replace(hw.link, usb_id="")
    summary = run_firmware(settings, args.late_fraction, link, dict(hw.lanes))
    return print_run_summary(dataclasses.asdict(summary), args.json)


def run(args: argparse.Namespace, config: Config) -> int:
    from hardware.firmware.simbelt import FirmwareRunner
    from hardware.modbus.settings import is_network_address
    from hardware.selftest import RuleResult, Status, run_selftest

    if args.port is not None and (config.hardware.controller == "modbus" or is_network_address(args.port)):
        # The rules are those of our serial protocol: a PLC over Modbus has none of them to check.
        what = ("a Modbus PLC ([hardware] controller = \"modbus\")" if config.hardware.controller == "modbus"
                else "a network address, not a serial port")
        print(f"station hw selftest: {args.port} is {what}: the self-test checks a controller of the "
              "station's serial protocol (hardware/PROTOCOL.md). A PLC over Modbus is checked with "
              "`station doctor` (hardware/MODBUS.md)", file=sys.stderr)
        return 2
    from hardware.simulator import SimulatorRunner

    def show(result: RuleResult) -> None:
        if args.json:
            print(json.dumps({**dataclasses.asdict(result), "status": result.status.value}), flush=True)
            return
        print(f"{result.status.value:4}  {result.rule:3}  {result.title}: {result.detail}", flush=True)
        if result.hint:
            print(f"            hint: {result.hint}", flush=True)
        if result.trace:
            print("            bytes exchanged before it (-> station to controller, <- controller to "
                  "station; time since the start):", flush=True)
            for line in result.trace:
                print(f"            {line}", flush=True)

    runner: SimulatorRunner | FirmwareRunner | None = (
        SimulatorRunner() if args.sim else FirmwareRunner() if args.firmware else None)
    port = runner.start() if runner is not None else args.port
    try:
        baud = config.hardware.link.baudrate if args.baud is None else args.baud
        results = run_selftest(port, baud, args.item_timeout, show)
    except ValueError as exc:  # a baud rate or a timeout the controller cannot use (also pyserial's)
        print(f"station hw selftest: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # pyserial's SerialException is an OSError; serial stays in hardware/
        print(f"station hw selftest: cannot use {port}: {exc} — check the path, that no other program "
              "(a running station) holds it, and your permissions (dialout group)", file=sys.stderr)
        return 2
    finally:
        if runner is not None:
            runner.stop()
    failed = [r.rule for r in results if r.status is Status.FAIL]
    skipped = [r.rule for r in results if r.status is Status.SKIP]
    if not args.json:
        print(f"{len(results) - len(failed) - len(skipped)} passed, {len(failed)} failed, "
              f"{len(skipped)} skipped" + (f" (failed: {', '.join(failed)})" if failed else ""))
        if skipped and not failed:
            print(f"not every rule was tested ({', '.join(skipped)}): feed items onto the belt during the "
                  "run (or give a longer --item-timeout) before taking the controller as conformant")
    # Skipped rules are not passed ones: a conformance run that tested less says so in its status too.
    return 1 if failed else 3 if skipped else 0
