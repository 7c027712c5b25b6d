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


def read_only_mount(path: Path) -> bool:
    """Whether `path` is on a file system mounted read-only."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def current_user() -> str:
    """This process's user name (its uid where the name cannot be found)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def nearest_existing(path: Path) -> Path:
    """`path`, or its nearest parent that exists (what a folder created on first use is made in)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def unwritable_data(data_dir: Path, db_path: Path | None = None) -> tuple[str, str] | None:
    """None when this user may write `data_dir` (and `db_path` in it), else why not and what to do."""
    # Created on first use: its nearest existing parent must be writable.
    targets = [nearest_existing(data_dir)]
    if db_path is not None:
        targets += [p for p in (db_path, db_path.with_name(db_path.name + "-wal")) if p.exists()]
    for target in targets:
        problem = unwritable(target)
        if problem is not None:
            logger.debug("data folder check: %s is not writable", target)
            return problem
    return None


def not_writable(data_dir: Path, db_path: Path | None = None) -> str | None:
    """None when the station can write `data_dir` (and `db_path` in it), else what to do about it."""
    problem = unwritable_data(data_dir, db_path)
    if problem is None:
        return None
    why, fix = problem
    return (f"data folder {data_dir} is not writable ({why}): {fix}, "
            "or set [station] data_dir in the config file to a writable folder")


def unwritable(target: Path) -> tuple[str, str] | None:
    """None when this user may write the existing file or folder `target`, else why not and what to
    do: (`it is on a read-only file system`, `remount it read-write`) or the user's missing access."""
    if os.access(target, os.W_OK | (os.X_OK if target.is_dir() else 0)):
        return None
    if read_only_mount(target):
        return "it is on a read-only file system", "remount it read-write"
    return (f"user {current_user()} has no write access to {target}",
            f"give user {current_user()} write access to it")
