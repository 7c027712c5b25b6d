"""`station sim`: the conveyor controller simulator on a pseudo-terminal.

`station sim` runs it until Ctrl-C and prints the port to open (as you would open the
real controller); `station sim run --items N ...` runs it together with the real link
and a decision driver and prints one JSON summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from station.config import Config

_FAULTS = ("corrupt", "drop", "reboot", "silence", "jam")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("sim", help="the conveyor controller simulator on a pseudo-terminal",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_belt_options(parser)
    parser.set_defaults(handler=run, log_to_file=False, sim_command=None)
    subs = parser.add_subparsers(dest="sim_command", metavar="{run}")
    run_parser = subs.add_parser("run", help="simulator + real link + decision driver; prints a JSON summary")
    _add_belt_options(run_parser)
    run_parser.add_argument("--late-fraction", type=float, default=0.0,
                            help="fraction of items decided after their deadline (default 0)")
    run_parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    run_parser.set_defaults(handler=run)


def _add_belt_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--items", type=int, default=None,
                        help="items to feed (default: forever; 100 for run)")
    parser.add_argument("--speed", type=float, default=None,
                        help="belt speed in m/s (default [hardware] sim_speed_m_s, 2.0)")
    parser.add_argument("--spacing", type=float, default=None,
                        help="metres between items (default [hardware] sim_spacing_m, 0.5)")
    parser.add_argument("--rate", type=float, default=None,
                        help="pace items to this many per second (default [hardware] sim_items_per_s)")
    parser.add_argument("--camera-pos", type=float, default=None,
                        help="camera position in m (default [hardware] sim_camera_pos_m, 0.5)")
    parser.add_argument("--divert-pos", type=float, default=None,
                        help="diverter position in m (default [hardware] sim_divert_pos_m, 2.0)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--faults", default="",
                        help=f"comma-separated faults to inject: {', '.join(_FAULTS)}")
    parser.add_argument("--fault-rate", type=float, default=0.01,
                        help="fraction of frames corrupted / dropped by those faults (default 0.01)")


def _settings(args: argparse.Namespace, items: int | None) -> object:
    from hardware.simulator import FaultSettings, SimSettings

    faults = {f.strip() for f in args.faults.split(",") if f.strip()}
    unknown = faults - set(_FAULTS)
    if unknown:
        raise SystemExit(f"station sim: unknown fault(s) {', '.join(sorted(unknown))}; "
                         f"use {', '.join(_FAULTS)}")
    if items is None and faults & {"reboot", "silence", "jam"}:
        raise SystemExit("station sim: reboot, silence and jam need --items "
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
        summary = run_simulation(settings, args.late_fraction, link, dict(hw.lanes))
        result = dataclasses.asdict(summary)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            for key, value in result.items():
                print(f"{key:24} {value}")
        return 0 if summary.misrouted == 0 else 1

    settings = _settings(args, args.items)
    assert isinstance(settings, SimSettings)
    import signal

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # a service manager's SIGTERM stops it as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, _terminate)
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
