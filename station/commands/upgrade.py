"""`station upgrade BUNDLE` and `station rollback`: releases side by side (station/releases.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from station.config import Config
from station.releases import ReleaseError, Releases, home_of_running_release

RESTART = "restart the station to run it: sudo systemctl restart returns-station (or reboot the kiosk)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    upgrade = sub.add_parser(
        "upgrade",
        help="install a bundle beside the current release, check its migration, switch to it",
        description="Install the bundle of scripts/bundle.sh as a new release beside the current one "
        "(no network needed), have it migrate a copy of the database, and only then switch to it; the "
        "previous release is kept for `station rollback`. A bundle that fails leaves the current "
        "release as it was.",
    )
    upgrade.add_argument("bundle", type=Path, metavar="BUNDLE")
    upgrade.add_argument("--home", type=Path, default=None,
                         help="the releases' folder (default $STATION_HOME, else the running release's)")
    upgrade.set_defaults(handler=run_upgrade)
    rollback = sub.add_parser(
        "rollback",
        help="switch back to the previous release",
        description="Switch back to the release before the last upgrade, after checking it can open "
        "the database as it is now.",
    )
    rollback.add_argument("--home", type=Path, default=None,
                          help="the releases' folder (default $STATION_HOME, else the running release's)")
    rollback.set_defaults(handler=run_rollback)


def _config_file(config: Config) -> Path | None:
    return None if config.source == "<defaults>" else Path(config.source)


def run_upgrade(args: argparse.Namespace, config: Config) -> int:
    releases = Releases(args.home or home_of_running_release())
    try:
        switch = releases.upgrade(args.bundle, _config_file(config))
    except ReleaseError as exc:
        print(f"station upgrade: {exc}", file=sys.stderr)
        return 1
    print(f"station upgrade: release {switch.after} is now current (before: {switch.before or 'none'}); "
          f"{RESTART}")
    _say_checked(switch.checked)
    return 0


def _say_checked(checked: str) -> None:
    """What the migration check said: it names the database it looked at, which must be the station's."""
    if checked:
        print(f"  its migration check: {checked}")


def run_rollback(args: argparse.Namespace, config: Config) -> int:
    releases = Releases(args.home or home_of_running_release())
    try:
        switch = releases.rollback(_config_file(config))
    except ReleaseError as exc:
        print(f"station rollback: {exc}", file=sys.stderr)
        return 1
    print(f"station rollback: release {switch.after} is current again (was {switch.before}); {RESTART}")
    _say_checked(switch.checked)
    return 0
