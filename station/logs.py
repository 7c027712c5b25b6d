"""Logging, set up once at start: stderr plus a rotating file in the data directory."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

logger = logging.getLogger(__name__)

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str, log_dir: Path | None, max_bytes: int = 5_000_000, backups: int = 5) -> None:
    """Send records to stderr and, when `log_dir` is given, to `log_dir/station.log`."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(level)
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(console)
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            file_handler = _LogFile(
                log_dir / "station.log", maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
        except OSError as exc:
            logger.warning("cannot write the log file in %s (%s); logging to stderr only", log_dir, exc)
        else:
            file_handler.setFormatter(logging.Formatter(_FORMAT))
            root.addHandler(file_handler)


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file; when it cannot be written (disk full, folder gone) it says so once and goes quiet.

    The standard handler prints a traceback for every record it fails to write: on a full
    disk that buries the one message that matters under hundreds.
    """

    failed = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (the logging API's name)
        if self.failed:
            return
        self.failed = True
        import sys

        error = sys.exc_info()[1]
        sys.stderr.write(f"log file {self.baseFilename} cannot be written ({error}): logging to stderr "
                         "only until the station restarts\n")

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)
