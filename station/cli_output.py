"""What the commands print: one shape for a record and for a file a batch could not use."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def report_file_error(path: Path, problem: str, as_json: bool) -> None:
    """One line for a file the batch could not use; the batch goes on."""
    if as_json:
        print(json.dumps({"path": str(path), "error": problem}), flush=True)
    else:
        print(f"{path}: ERROR {problem}", file=sys.stderr, flush=True)


def print_run_summary(summary: Mapping[str, Any], as_json: bool) -> int:
    """A simulated run's summary (one JSON line, or one `key value` line each); exit status 1 when
    any item was misrouted."""
    if as_json:
        print(json.dumps(dict(summary)), flush=True)
    else:
        for key, value in summary.items():
            print(f"{key:24} {value}")
    return 0 if summary.get("misrouted") == 0 else 1


def print_record(info: Mapping[str, Any], as_json: bool) -> None:
    """One record: a JSON object, or one `key value` line per field."""
    if as_json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key:16} {value}")
