"""An exclusive lock on a data folder: one `station run` per folder.

Two stations on one folder would share one database, one outbox and one MQTT client id
and knock each other off the broker. The lock is the operating system's (flock on POSIX,
msvcrt.locking on Windows), so it dies with its process: a lock file left by a crashed
station does not block the next start. The file's content (pid, host, start time) only
says who holds it, for the message of the one that is refused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = ["LOCK_NAME", "DataLock", "DataLockError", "LockHolder", "file_lock"]

logger = logging.getLogger(__name__)

LOCK_NAME = "station.lock"
# Windows locks a byte range; lock one byte far past the content so the content stays
# readable by the process that is refused.
_WINDOWS_LOCK_OFFSET = 1 << 20


@dataclass(frozen=True)
class LockHolder:
    """Who holds a data folder, as its lock file says."""

    pid: int | None
    host: str
    started: str

    def describe(self) -> str:
        if self.pid is None:
            return "another process (its lock file says nothing more)"
        return f"pid {self.pid} on {self.host or 'an unknown host'}, running since {self.started or '?'}"


class DataLockError(RuntimeError):
    """The data folder is held by another process; the message says by whom and what to do."""

    def __init__(self, folder: Path, lock_file: Path, holder: LockHolder) -> None:
        super().__init__(
            f"the data folder {folder} is in use by another station ({holder.describe()}; lock file "
            f"{lock_file}) — stop that station first, or give this one its own [station].data_dir"
        )
        self.folder = folder
        self.holder = holder


def _read_holder(fd: int) -> LockHolder:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 4096).decode("utf-8", errors="replace")
        data = json.loads(raw)
        pid = data.get("pid")
        return LockHolder(pid if isinstance(pid, int) else None, str(data.get("host", "")),
                          str(data.get("started", "")))
    except (OSError, ValueError, AttributeError):
        return LockHolder(None, "", "")


class DataLock:
    """`acquire()` takes the folder or raises `DataLockError`; `release()` (or process death) frees it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not self._try_lock(fd):
                raise DataLockError(self.folder, self.path, _read_holder(fd))
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, (json.dumps(info) + "\n").encode("utf-8"))
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        logger.info("data folder %s locked (%s)", self.folder, self.path)

    def release(self) -> None:
        fd = self._fd
        if fd is None:
            return
        self._fd = None
        try:
            os.ftruncate(fd, 0)  # nobody holds it any more; the file itself stays (see module doc)
        except OSError as exc:
            logger.debug("could not empty %s: %s", self.path, exc)
        self._unlock(fd)
        os.close(fd)

    @staticmethod
    def _try_lock(fd: int) -> bool:
        if sys.platform == "win32":
            import msvcrt

            os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                return False
            return True
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    @staticmethod
    def _unlock(fd: int) -> None:
        if sys.platform == "win32":
            import msvcrt

            os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)

    def __enter__(self) -> DataLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


@contextlib.contextmanager
def file_lock(target: Path, timeout_s: float = 30.0, reading: bool = False) -> Iterator[None]:
    """Hold `<target>.lock` (the operating system's lock, as `DataLock`) while a file is read,
    changed and written again by two processes that may run at once (`station enroll` and the
    station's site references on one gallery). Waits up to `timeout_s`, then raises TimeoutError
    naming the file. `reading`: where no lock file can be made (a read-only folder, no folder
    yet) the file is read without one, since nothing can write it there either."""
    lock_file = target.with_name(target.name + ".lock")
    try:
        if not reading:
            lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        if not reading:
            raise
        yield
        return
    try:
        deadline = time.monotonic() + timeout_s
        while not DataLock._try_lock(fd):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{target} is being written by another process (lock {lock_file}) — "
                                   "try again when that enrolment has finished")
            time.sleep(0.05)
        try:
            yield
        finally:
            DataLock._unlock(fd)
    finally:
        os.close(fd)
