"""The `station` console script: global options, then one subcommand per module in
`station.commands`."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from station import commands
from station.config import Config, ConfigError, load_config
from station.logs import setup_logging
from station.memory import bound_heap

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every subcommand module registered."""
    parser = argparse.ArgumentParser(
        prog="station",
        description="Returns inspection station: reads codes, inspects, decides and routes returned items.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="settings file (default: $STATION_CONFIG, else ./config.toml, else embedded defaults)",
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default=None,
        help="overrides [station].log_level",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):  # a part of another command (e.g. `central image`)
            continue
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(sub)
    return parser


def _config_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    if os.environ.get("STATION_CONFIG"):
        return Path(os.environ["STATION_CONFIG"])
    default = Path("config.toml")
    return default if default.is_file() else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `station` console script; returns the process exit code."""
    bound_heap()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        config: Config = load_config(_config_path(args.config))
    except ConfigError as exc:
        on_error = getattr(args, "config_error_handler", None)
        if on_error is not None:  # `station doctor` lists every error of the file instead
            result: int = on_error(args, _config_path(args.config))
            return result
        print(f"station: refusing to start: {exc}", file=sys.stderr)
        return 2
    log_dir = config.data_dir / "logs" if getattr(args, "log_to_file", False) else None
    setup_logging(
        args.log_level or config.station.log_level,
        log_dir,
        config.station.log_max_bytes,
        config.station.log_backups,
    )
    try:
        code: int = args.handler(args, config)
    except KeyboardInterrupt:
        logger.info("stopped by Ctrl-C")
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
