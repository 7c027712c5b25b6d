"""The files and folders a command writes: checked before the work, and one line when they cannot be.

A command checks its output with `check_file` / `check_folder` before it reads, scores or trains
(a read-only folder is named before an hour of training, not after), writes a file whole with
`write_file` (a temporary sibling, renamed into place: never half a file under the name asked for)
and wraps other writes in `writing`. Each raises `OutputError`, which `station.cli.main` prints as
one line `station COMMAND: cannot write PATH: WHY — WHAT TO DO` with exit status 1.

Not a command: `station.cli` skips modules whose name starts with "_".
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from station.datadir import current_user, nearest_existing, read_only_mount, unwritable

__all__ = ["OutputError", "check_file", "check_folder", "os_error_words", "write_file", "writing"]


class OutputError(Exception):
    """An output the command cannot write: which, why, and what to do."""

    def __init__(self, path: Path | str, problem: str, fix: str) -> None:
        super().__init__(f"cannot write {path}: {problem} — {fix}")
        self.path = Path(path)
        self.problem = problem
        self.fix = fix


def os_error_words(exc: OSError, where: Path | None = None, *, writing: bool = True) -> tuple[str, str]:
    """Why an OSError happened, and what to do, in words an operator acts on (`writing`: the error
    came from writing an output; else from a file or folder the command used in any way)."""
    code = exc.errno
    if code == errno.EROFS:
        return "it is on a read-only file system", "remount it read-write, or choose a folder on another disk"
    if code in (errno.EACCES, errno.EPERM):
        folder = f" to {where}" if where is not None else ""
        access = "write access" if writing else "access"
        return (f"user {current_user()} has no {access}{folder}",
                f"give user {current_user()} {access}" + (", or choose another folder" if writing else ""))
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full", "free space on it, or choose a folder on another disk"
    if code == errno.EISDIR:
        return "it is a folder", "give a file name in it"
    if code in (errno.ENOTDIR, errno.EEXIST):
        return "a part of the path is a file, not a folder", "choose a path in an existing folder"
    if code == errno.ENAMETOOLONG:
        return "the name is too long", "choose a shorter path"
    return exc.strerror or str(exc), "check the path, its permissions and the free space"


def _refuse_unwritable(path: Path, target: Path, fix: str) -> None:
    problem = unwritable(target)
    if problem is None:
        return
    why, what = problem
    if read_only_mount(target):
        raise OutputError(path, f"{target} is on a read-only file system",
                          fix or f"{what}, or choose a folder on another disk")
    raise OutputError(path, why, fix or f"{what}, or choose another folder")


def check_folder(folder: Path, *, fix: str = "", writes: Path | None = None) -> None:
    """Raise OutputError unless `folder` is (or can be created as) a folder this user may write;
    the error names `writes` when given (the file to be written in it)."""
    subject = writes or folder
    existing = nearest_existing(folder)
    if not existing.is_dir():
        where = "it is a file" if existing == subject else f"{existing} is a file"
        raise OutputError(subject, f"{where}, not a folder", fix or "choose a path in a folder")
    _refuse_unwritable(subject, existing, fix)


def check_file(path: Path, *, suffixes: tuple[str, ...] = (), kind: str = "", fix: str = "",
               example: str = "") -> None:
    """Raise OutputError unless `path` can be written as a file: not a folder, named with one of
    `suffixes` (lower case; for a `kind` file, e.g. "PNG"), in a folder this user may write.
    `example` is a file name to suggest in a folder given instead of a file."""
    if path.is_dir():
        name = example or f"name{suffixes[0] if suffixes else ''}"
        raise OutputError(path, "it is a folder", f"give a file name, e.g. {path / name}")
    if suffixes and path.suffix.lower() not in suffixes:
        names = suffixes[0] if len(suffixes) == 1 else "one of " + ", ".join(suffixes)
        raise OutputError(path, f"the name of a {kind} file ends in {names}",
                          f"name it e.g. {path.with_name(path.stem + suffixes[0])}")
    if path.exists():
        _refuse_unwritable(path, path, fix)
    check_folder(path.parent, fix=fix, writes=path)


def _part_of(name: str, path: Path) -> bool:
    """Whether the file `name` an OSError names belongs to writing `path`: the path itself, a file
    in it, one of its folders, or a temporary sibling (`path.part`, `path.tmp`)."""
    failed, target = Path(os.path.abspath(name)), Path(os.path.abspath(path))
    return (failed == target or failed in target.parents or target in failed.parents
            or (failed.parent == target.parent and failed.name.startswith(target.name)))


@contextmanager
def writing(path: Path, fix: str = "") -> Iterator[None]:
    """Turn an OSError of writing `path` (a file or a folder) in the block into an OutputError naming
    it; an error about another file (an input the block reads) goes on as it is."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) or (exc.filename and not _part_of(str(exc.filename), path)):
            raise
        why, what = os_error_words(exc, Path(exc.filename).parent if exc.filename else None)
        raise OutputError(path, why, fix or what) from exc


def write_file(path: Path, data: bytes) -> None:
    """Write `data` as `path` whole: into a temporary sibling, then renamed over `path` (a failure
    leaves what was there before, and no temporary file)."""
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".part")
        try:
            temporary.write_bytes(data)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
