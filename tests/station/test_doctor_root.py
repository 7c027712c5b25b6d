"""`station doctor` run as root on the service's data folder (the technician's usual way, since
/etc/returns-station is root's): it must not leave a lock file the service's user cannot open, and it
says when files of that folder belong to someone else than its owner — root's doctor sees every file
as writable, the service does not. Messages name the file and the user, and say what to do.

The service's user is played by `nobody`, in a child process of the test's (root's)."""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from station.config import Config, load_config
from station.datalock import LOCK_NAME, DataLock
from station.doctor import LockResult, Status, check_disk, held_lock

NOBODY = 65534
T = TypeVar("T")

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="needs root: the service's user is played by another uid")


def as_user(uid: int, work: Callable[[], T]) -> T:
    """`work()` run as user `uid` (real, effective and saved ids) in a forked child; its result (or
    its error, as an AssertionError) comes back pickled. A child, not this process: switching ids
    here would switch every thread of the test run with it."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            answer: tuple[bool, object] = (True, work())
        except BaseException:  # everything goes back to the test
            answer = (False, traceback.format_exc())
        with os.fdopen(write_end, "wb") as out:
            out.write(pickle.dumps(answer))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer_in:
        raw = answer_in.read()
    os.waitpid(pid, 0)
    ok, value = pickle.loads(raw)
    if not ok:
        raise AssertionError(f"as user {uid}:\n{value}")
    return value  # type: ignore[no-any-return]


@contextmanager
def service_data_folder() -> Iterator[Path]:
    """A data folder owned by the service's user, in a folder that user may reach (pytest's own
    temporary folders are root's only)."""
    top = Path(tempfile.mkdtemp(prefix="station-root-test-"))
    try:
        top.chmod(0o755)
        data = top / "data"
        data.mkdir()
        os.chown(data, NOBODY, NOBODY)
        data.chmod(0o750)
        yield data
    finally:
        shutil.rmtree(top)


@pytest.fixture
def service_folder() -> Iterator[Path]:
    with service_data_folder() as data:
        yield data


def _config(data: Path) -> Config:
    path = data.parent / "config.toml"
    path.write_text(f'[station]\ndata_dir = "{data}"\n', encoding="utf-8")
    return load_config(path, env={})


def test_the_doctor_run_as_root_leaves_the_lock_to_the_service(service_folder: Path) -> None:
    config = _config(service_folder)
    with held_lock(config) as lock:
        assert lock.status is Status.OK
    assert (service_folder / LOCK_NAME).stat().st_uid == NOBODY

    def service_starts() -> None:  # after the technician's check
        station = DataLock(service_folder)
        station.acquire()
        station.release()

    as_user(NOBODY, service_starts)


def test_a_lock_file_the_service_cannot_open_is_named_with_what_to_do(service_folder: Path) -> None:
    lock_file = service_folder / LOCK_NAME
    lock_file.write_text("")  # left by a station run as root by hand
    lock_file.chmod(0o600)
    config = _config(service_folder)

    def doctor() -> LockResult:
        with held_lock(config) as lock:
            return lock

    lock = as_user(NOBODY, doctor)
    assert lock.status is Status.FAIL and lock.unknown
    assert str(lock_file) in lock.message and "nobody" in lock.message
    assert lock.fix.startswith("give user nobody write access to it")


def test_files_of_the_data_folder_that_its_owner_cannot_write_fail_the_disk_check(
        service_folder: Path) -> None:
    config = _config(service_folder)
    assert check_disk(config).status is Status.OK
    (service_folder / "station.db").write_bytes(b"")  # made by root: `station run` by hand, say
    result = check_disk(config)
    assert result.status is Status.FAIL
    assert "station.db" in result.message and "nobody" in result.message
    assert result.fix == f"give them back: chown -R nobody: {service_folder}"
    os.chown(service_folder / "station.db", NOBODY, NOBODY)
    assert check_disk(config).status is Status.OK


def test_a_data_folder_its_user_cannot_write_says_what_to_do_in_the_fix(service_folder: Path) -> None:
    """The `fix` field is what to do (JSON readers show it as such), not the consequence."""
    os.chown(service_folder, 0, 0)
    service_folder.chmod(0o755)
    config = _config(service_folder)
    result = as_user(NOBODY, lambda: check_disk(config))
    assert result.status is Status.FAIL
    assert "not writable" in result.message and "cannot record items" in result.message
    assert result.fix.startswith("give user nobody write access to")
