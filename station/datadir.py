"""Whether the station may write in its data folder, said in one line an operator can act on.

Commands that write (run, purge, imports, inspect's gallery cache) check this first, so a
read-only mount or a folder owned by another user is named instead of failing deep inside
SQLite or the image store.
"""

from __future__ import annotations

import getpass
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def not_writable(data_dir: Path, db_path: Path | None = None) -> str | None:
    """None when the station can write `data_dir` (and `db_path` in it), else what to do about it."""
    folder = data_dir
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # created on first use: its nearest existing parent must be writable
    targets = [folder]
    if db_path is not None:
        targets += [p for p in (db_path, db_path.with_name(db_path.name + "-wal")) if p.exists()]
    for target in targets:
        if os.access(target, os.W_OK | (os.X_OK if target.is_dir() else 0)):
            continue
        if _read_only_mount(target):
            why = "it is on a read-only file system"
            fix = "remount it read-write"
        else:
            why = f"user {_user()} has no write access to {target}"
            fix = f"give user {_user()} write access to it"
        logger.debug("data folder check: %s is not writable", target)
        return (f"data folder {data_dir} is not writable ({why}): {fix}, "
                "or set [station] data_dir in the config file to a writable folder")
    return None
