"""`station doctor [--json]`: is this dock PC ready to run the station? Checked without starting the line."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from station.config import Config

if TYPE_CHECKING:
    from station.doctor import CheckResult


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "doctor",
        help="check the config, cameras, conveyor, broker, models, calibration, disk and clock",
        description="Check that this PC can run the station, without starting the line: every error of the "
        "config file, each camera (frames and sharpness), the conveyor controller's HELLO (or the "
        "simulator's), "
        "the broker (and central's acknowledgement on the demo line), the models against their manifests, "
        "each camera's calibration, free disk space, the clock, and whether a station already runs on the "
        "data folder. One line per check: ok, warn or fail, with what to do. Exit status 0 when no check "
        "fails (a warning counts as passing: the station runs), 1 when one fails.",
    )
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per check on stdout: check, status (ok/warn/fail), "
                        "message, fix")
    parser.add_argument("--camera-seconds", type=float, default=2.0, metavar="S",
                        help="how long each camera is watched (0.5 to 60, default 2)")
    parser.set_defaults(handler=run, config_error_handler=run_broken_config)


def _show(as_json: bool) -> Callable[[CheckResult], None]:
    def show(result: CheckResult) -> None:
        print(json.dumps(result.to_json()) if as_json else result.line(), flush=True)

    return show


def run(args: argparse.Namespace, config: Config) -> int:
    from station.config_check import config_problems
    from station.doctor import Status, config_results, run_checks

    if args.log_level is None:  # the checks' own lines say it all; the parts' progress is noise here
        logging.getLogger().setLevel(logging.WARNING)
    show = _show(args.json)
    if not 0.5 <= args.camera_seconds <= 60:
        print("station doctor: --camera-seconds must be between 0.5 and 60", flush=True)
        return 2
    path = None if config.source == "<defaults>" else Path(config.source)
    results = config_results(config_problems(path), config.source)
    for result in results:
        show(result)
    results += run_checks(config, show, args.camera_seconds)
    failed = [r for r in results if r.status is Status.FAIL]
    if not args.json:
        warned = sum(r.status is Status.WARN for r in results)
        verdict = ("the station is ready" if not failed
                   else "fix the failures above, then run station doctor again")
        counts = f"{len(failed)} failed, {warned} warning{'' if warned == 1 else 's'}"
        print(f"{len(results)} checks: {counts} — {verdict}", flush=True)
    return 1 if failed else 0


def run_broken_config(args: argparse.Namespace, path: Path | None) -> int:
    """The config does not load: list every one of its errors; the other checks need it."""
    from station.config_check import config_problems
    from station.doctor import CheckResult, Status, config_results

    show = _show(args.json)
    results = config_results(config_problems(path), str(path))
    results.append(CheckResult("others", Status.FAIL, "the other checks need a config that loads",
                               "fix the config errors above, then run station doctor again"))
    for result in results:
        show(result)
    if not args.json:
        errors = len(results) - 1
        print(f"{errors} config error{'' if errors == 1 else 's'} — fix them, then run station doctor again",
              flush=True)
    return 1
