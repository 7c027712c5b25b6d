"""The `station` console script: global options, then one subcommand per module in
`station.commands`."""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import pkgutil
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from station import commands
from station.commands._outputs import OutputError, os_error_words
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
        if module_info.name.startswith("_"):  # a part of others (`central image`, argument types)
            continue
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(sub)
    _name_commands(parser)
    return parser


def _name_commands(parser: argparse.ArgumentParser) -> None:
    """Give each (sub)command's arguments its full name ("station dataset export"), for one-line
    errors said on its behalf."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                command.set_defaults(command_prog=command.prog)
                _name_commands(command)


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
        config: Config = load_config(_config_path(args.config), from_option=args.config is not None)
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
    name: str = getattr(args, "command_prog", f"station {args.command}")
    try:
        code: int = args.handler(args, config)
    except KeyboardInterrupt:
        logger.info("stopped by Ctrl-C")
        return 130
    except BrokenPipeError:
        return _reader_gone()
    except OutputError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        full = exc.filename is None and exc.errno in (errno.ENOSPC, errno.EDQUOT) and _stdout_on_full_disk()
        return _write_failed(name, exc, on_stdout=full)
    try:
        sys.stdout.flush()  # what is still buffered meets a closed pipe or a full disk here, not at exit
    except BrokenPipeError:
        return _reader_gone()
    except OSError as exc:
        return _write_failed(name, exc, on_stdout=True)
    return code


# What a shell reports for a tool that SIGPIPE stopped (128 + 13), as `yes | head -1` does: a
# script with `set -o pipefail` treats `station scan --json ... | head -1` as it treats grep's.
EXIT_READER_GONE = 141


def _discard_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for it must not fail again (and print a
    Python error) when the interpreter flushes it at exit."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an object without a file (tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _reader_gone() -> int:
    """The program reading our output closed the pipe (`| head -1`): it has what it wanted, so stop
    without a word, as Unix tools do."""
    _discard_stdout()
    return EXIT_READER_GONE


def _stdout_on_full_disk() -> bool:
    """Whether stdout is what no longer takes bytes: a device (/dev/full) or a file on a full disk."""
    try:
        fd = sys.stdout.fileno()
        info = os.fstat(fd)
        if stat.S_ISCHR(info.st_mode):
            return not os.isatty(fd)
        if stat.S_ISREG(info.st_mode):
            disk = os.fstatvfs(fd)
            return disk.f_bavail == 0 or disk.f_bfree == 0
    except (AttributeError, OSError, ValueError):
        pass
    return False


def _write_failed(command: str, exc: OSError, on_stdout: bool) -> int:
    """One line for an OSError no command turned into its own message."""
    logger.debug("%s failed", command, exc_info=exc)
    if on_stdout:
        why, _fix = os_error_words(exc)
        _discard_stdout()
        print(f"{command}: cannot write the output: {why} — free space on the disk the output "
              "goes to, or send it elsewhere", file=sys.stderr)
        return 1
    why, fix = os_error_words(exc, writing=False)
    where = f"{exc.filename}: " if exc.filename else ""
    print(f"{command}: {where}{why} — {fix}", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
