"""`station hw selftest --port PATH`: check a conveyor controller against hardware/PROTOCOL.md."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from station.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("hw", help="conveyor controller tools (selftest)")
    subs = parser.add_subparsers(dest="hw_command", metavar="{selftest}", required=True)
    selftest = subs.add_parser("selftest", help="conformance run: pass/fail per rule of PROTOCOL.md §12")
    where = selftest.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port of the controller (/dev/ttyUSB0, COM3, a pty)")
    where.add_argument("--sim", action="store_true", help="start the built-in simulator and test it")
    where.add_argument("--firmware", action="store_true",
                       help="run the reference firmware (hardware/firmware/) on a simulated belt and test it")
    selftest.add_argument("--baud", type=int, default=None, help="baud rate (default [hardware] baudrate)")
    selftest.add_argument("--item-timeout", type=float, default=10.0,
                          help="seconds to wait for an item at the camera (default 10); feed items meanwhile")
    selftest.add_argument("--json", action="store_true", help="one JSON object per rule on stdout")
    selftest.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    from hardware.firmware.simbelt import FirmwareRunner
    from hardware.selftest import RuleResult, Status, run_selftest
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
        results = run_selftest(port, args.baud or config.hardware.link.baudrate, args.item_timeout, show)
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
    return 1 if failed else 0
