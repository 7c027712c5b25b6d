"""Writing settings back to config.toml: comments and layout kept, a backup first."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import tomlkit

logger = logging.getLogger(__name__)

# Backups of the config kept beside it (`<name>.<time>.bak`), newest first; older ones are deleted.
BACKUPS_KEPT = 20


def write_policy(path: Path, values: Mapping[str, float]) -> Path:
    """Set `[policy]` keys in the file at `path`; returns the backup's path."""
    return write_settings(path, "policy", {key: float(value) for key, value in values.items()})


def write_settings(path: Path, section: str, values: Mapping[str, float | str]) -> Path:
    """Set keys of `[section]` in the file at `path` (replaced whole, a backup beside it first);
    returns the backup's path."""
    text = path.read_text(encoding="utf-8")
    document = tomlkit.parse(text)
    if section not in document:
        document[section] = tomlkit.table()
    table = document[section]
    for key, value in values.items():
        table[key] = value  # type: ignore[index]
    backup = path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
    shutil.copy2(path, backup)  # with the file's mode: a config with secrets stays 0600
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(tomlkit.dumps(document), encoding="utf-8")
    shutil.copymode(path, temp)
    os.replace(temp, path)
    _prune_backups(path)
    logger.info("wrote [%s] %s to %s (backup %s)", section, dict(values), path, backup)
    return backup


def _prune_backups(path: Path, keep: int = BACKUPS_KEPT) -> None:
    """Delete all but the newest `keep` backups of `path` (one a second would fill the disk)."""
    backups = sorted(path.parent.glob(f"{path.name}.*.bak"), key=lambda b: b.stat().st_mtime_ns)
    for old in backups[:-keep]:
        old.unlink(missing_ok=True)
