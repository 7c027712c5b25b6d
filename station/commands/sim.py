"""`station sim`: the conveyor controller simulator on a pseudo-terminal.

`station sim` runs it until Ctrl-C and prints the port to open (as you would open the
real controller); `station sim run --items N ...` runs it together with the real link
and a decision driver and prints one JSON summary. `--controller modbus` puts the same
belt behind a simulated PLC (Modbus RTU on a pseudo-terminal, or TCP with `--transport tcp`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import TYPE_CHECKING

from station.cli_output import print_run_summary
from station.commands._args import CAMERA_POS, DIVERT_POS, RATE, SPACING, SPEED, number, whole
from station.config import Config

if TYPE_CHECKING:
    from hardware.modbus.plc_sim import PlcSimRunner

_FAULTS = ("corrupt", "drop", "reboot", "silence", "jam", "timeout", "exception", "restart")
_PROTOCOL_ONLY = {"corrupt", "drop", "silence"}  # faults of our protocol's frames and heartbeats
_MODBUS_ONLY = {"timeout", "exception", "restart"}  # faults of a PLC's Modbus answers


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("sim", help="the conveyor controller simulator on a pseudo-terminal",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_belt_options(parser)
    parser.set_defaults(handler=run, log_to_file=False, sim_command=None)
    subs = parser.add_subparsers(dest="sim_command", metavar="{run}")
    run_parser = subs.add_parser("run", help="simulator + real link + decision driver; prints a JSON summary")
    _add_belt_options(run_parser)
    run_parser.add_argument("--late-fraction", type=number(0, 1, example="0.1"), default=0.0,
                            help="fraction of items decided after their deadline (default 0)")
    run_parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    run_parser.set_defaults(handler=run)


def _add_belt_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--items", type=whole(1, example="100"), default=None,
                        help="items to feed (default: forever; 100 for run)")
    parser.add_argument("--speed", type=SPEED, default=None,
                        help="belt speed in m/s (default [hardware] sim_speed_m_s, 2.0)")
    parser.add_argument("--spacing", type=SPACING, default=None,
                        help="metres between items (default [hardware] sim_spacing_m, 0.5)")
    parser.add_argument("--rate", type=RATE, default=None,
                        help="pace items to this many per second (default [hardware] sim_items_per_s)")
    parser.add_argument("--camera-pos", type=CAMERA_POS, default=None,
                        help="camera position in m (default [hardware] sim_camera_pos_m, 0.5)")
    parser.add_argument("--divert-pos", type=DIVERT_POS, default=None,
                        help="diverter position in m (default [hardware] sim_divert_pos_m, 2.0)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--faults", default="",
                        help=f"comma-separated faults to inject: {', '.join(_FAULTS)} (timeout, exception "
                        "and restart with --controller modbus; corrupt, drop and silence without)")
    parser.add_argument("--fault-rate", type=number(0, 1, example="0.01"), default=0.01,
                        help="fraction of frames corrupted / dropped, or of Modbus requests unanswered / "
                        "answered with an exception, by those faults (default 0.01)")
    parser.add_argument("--controller", choices=("protocol", "modbus"), default=None,
                        help="our protocol's controller, or a PLC over Modbus "
                        "(default [hardware] controller)")
    parser.add_argument("--transport", choices=("rtu", "tcp"), default=None,
                        help="Modbus RTU on a pseudo-terminal or TCP on 127.0.0.1 "
                        "(default [hardware.modbus] transport)")


def _faults(args: argparse.Namespace) -> set[str]:
    faults = {f.strip() for f in args.faults.split(",") if f.strip()}
    unknown = faults - set(_FAULTS)
    if unknown:
        raise SystemExit(f"station sim: unknown fault(s) {', '.join(sorted(unknown))}; "
                         f"use {', '.join(_FAULTS)}")
    wrong = faults & (_PROTOCOL_ONLY if args.controller == "modbus" else _MODBUS_ONLY)
    if wrong:
        raise SystemExit(f"station sim: {', '.join(sorted(wrong))} cannot happen with --controller "
                         f"{args.controller}; use {', '.join(sorted(set(_FAULTS) - wrong))}")
    return faults


def _plc_faults(args: argparse.Namespace, items: int | None) -> object:
    from hardware.modbus.plc_sim import PlcFaults

    faults = _faults(args)
    n = items or 0
    return PlcFaults(timeout_rate=args.fault_rate if "timeout" in faults else 0.0,
                     exception_rate=args.fault_rate if "exception" in faults else 0.0,
                     restart_after_items=(n // 2,) if "restart" in faults else (), seed=args.seed)


def _settings(args: argparse.Namespace, items: int | None) -> object:
    from hardware.simulator import FaultSettings, SimSettings

    faults = _faults(args)
    if items is None and faults & {"reboot", "silence", "jam", "restart"}:
        raise SystemExit("station sim: reboot, silence, jam and restart need --items "
                         "(they happen at a fraction of the run)")
    n = items or 0
    fault_settings = FaultSettings(
        corrupt_rate=args.fault_rate if "corrupt" in faults else 0.0,
        drop_rate=args.fault_rate if "drop" in faults else 0.0,
        reboot_after_items=(n // 2,) if "reboot" in faults else (),
        silence_after_items=(n * 3 // 4,) if "silence" in faults else (),
        jam_after_items=(n // 4,) if "jam" in faults else (),
    )
    return SimSettings(speed_m_s=args.speed, spacing_m=args.spacing, rate_items_s=args.rate,
                       camera_pos_m=args.camera_pos, divert_pos_m=args.divert_pos, items=items,
                       seed=args.seed, faults=fault_settings)


def run(args: argparse.Namespace, config: Config) -> int:
    from hardware.simrun import run_simulation
    from hardware.simulator import SimSettings, SimulatorRunner

    hw = config.hardware
    args.controller = args.controller or hw.controller
    modbus = dataclasses.replace(hw.modbus, transport=args.transport or hw.modbus.transport)
    args.speed = hw.sim_speed_m_s if args.speed is None else args.speed
    args.spacing = hw.sim_spacing_m if args.spacing is None else args.spacing
    args.rate = (hw.sim_items_per_s or None) if args.rate is None else args.rate
    args.camera_pos = hw.sim_camera_pos_m if args.camera_pos is None else args.camera_pos
    args.divert_pos = hw.sim_divert_pos_m if args.divert_pos is None else args.divert_pos

    if args.speed <= 0 or args.spacing <= 0 or args.divert_pos <= args.camera_pos:
        print("station sim: need --speed > 0, --spacing > 0 and --divert-pos beyond --camera-pos",
              file=sys.stderr)
        return 2
    if args.sim_command == "run":
        items = args.items if args.items is not None else 100
        settings = _settings(args, items)
        assert isinstance(settings, SimSettings)
        # The simulator is on a pseudo-terminal: never look for it by the controller's USB id.
        link = dataclasses.replace(hw.link, usb_id="")
        if args.controller == "modbus":
            from hardware.modbus.plc_sim import PlcFaults

            plc_faults = _plc_faults(args, items)
            assert isinstance(plc_faults, PlcFaults)
            summary = run_simulation(settings, args.late_fraction, link, dict(hw.lanes), modbus=modbus,
                                     plc_faults=plc_faults)
        else:
            summary = run_simulation(settings, args.late_fraction, link, dict(hw.lanes))
        return print_run_summary(dataclasses.asdict(summary), args.json)

    settings = _settings(args, args.items)
    assert isinstance(settings, SimSettings)
    import signal

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # a service manager's SIGTERM stops it as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, _terminate)
    runner: SimulatorRunner | PlcSimRunner
    if args.controller == "modbus":
        from hardware.modbus.plc_sim import PlcFaults, PlcSimRunner

        plc_faults = _plc_faults(args, args.items)
        assert isinstance(plc_faults, PlcFaults)
        runner = PlcSimRunner(settings, modbus.transport, plc_faults, modbus.register_map(), modbus.unit_id,
                              modbus.baudrate)
        port = runner.start()
        print(port, flush=True)
        frame = ", 8N1" if modbus.transport == "rtu" else ""  # a pseudo-terminal takes no parity bit
        print(f"simulated PLC (Modbus {modbus.transport.upper()}, unit {modbus.unit_id}{frame}) running on "
              f"{port} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    else:
        runner = SimulatorRunner(settings)
        port = runner.start()
        print(port, flush=True)
        print(f"conveyor simulator running on {port} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
    return 0
