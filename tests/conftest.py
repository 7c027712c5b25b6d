"""Shared fixtures: where ../shared/data is, and skipping what needs what is absent."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Device threads (simulator, link, camera) may log a last line after pytest has closed the
# captured stream of the test that started them; that is not a failure of anything.
logging.raiseExceptions = False
SHARED_DATA = Path(os.environ.get("STATION_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def _installed_by_the_test_command() -> dict[str, bool]:
    """What `scripts/setup.sh test` installs for tests that skip without it, and whether it is here."""

    def typelib(name: str, version: str) -> bool:
        try:
            import gi

            gi.require_version(name, version)
        except (ImportError, ValueError):
            return False
        return True

    from tests.sync.postgres import pg_bin

    return {
        "mosquitto (apt)": shutil.which("mosquitto") is not None or Path("/usr/sbin/mosquitto").exists(),
        "ffmpeg (apt)": shutil.which("ffmpeg") is not None,
        "postgresql's initdb and pg_ctl (apt)": bool(pg_bin("initdb") and pg_bin("pg_ctl")),
        "arv-fake-gv-camera-0.8 (apt aravis-tools)": shutil.which("arv-fake-gv-camera-0.8") is not None,
        "Aravis 0.8 through PyGObject (apt gir1.2-aravis-0.8, the dev extra)": typelib("Aravis", "0.8"),
        **{f"{module} (the {extra} extra)": importlib.util.find_spec(module) is not None
           for module, extra in (("torch", "train"), ("onnx", "train"), ("psycopg", "dev"))},
    }


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under the test command (STATION_TEST_COMPLETE=1, set by scripts/setup.sh test, which installs
    everything below), a missing tool stops the run: its tests would otherwise skip, and a broken
    setup would pass as a smaller suite."""
    if os.environ.get("STATION_TEST_COMPLETE") != "1":
        return
    missing = [what for what, here in _installed_by_the_test_command().items() if not here]
    if missing:
        raise pytest.UsageError("scripts/setup.sh test installs these, but they are missing: "
                                + "; ".join(missing) + ". Run the setup again and read its output.")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason, tests whose data set, broker binary or torch is missing."""
    have_shared = SHARED_DATA.is_dir()
    have_broker = shutil.which("mosquitto") is not None or Path("/usr/sbin/mosquitto").exists()
    # find_spec, not import: importing torch costs seconds on every test run.
    have_torch = importlib.util.find_spec("torch") is not None
    for item in items:
        if "shared_data" in item.keywords and not have_shared:
            item.add_marker(pytest.mark.skip(reason=f"needs the data sets at {SHARED_DATA}"))
        if "broker" in item.keywords and not have_broker:
            item.add_marker(pytest.mark.skip(reason="needs mosquitto (apt install mosquitto)"))
        if "train" in item.keywords and not have_torch:
            item.add_marker(pytest.mark.skip(reason="needs the train extra (torch)"))
        if "device" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="needs a real device; run by hand with --run-device"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only data sets beside the project."""
    return SHARED_DATA


@pytest.fixture
def dock_zone() -> Iterator[Callable[[str], None]]:
    """Set this process's local time zone (a POSIX TZ string such as "IST-5:30", no tzdata needed)
    for one test: the dock's wall clock is not UTC in most warehouses."""
    before = os.environ.get("TZ")

    def use(zone: str) -> None:
        os.environ["TZ"] = zone
        time.tzset()

    yield use
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket where systemd's would be; its path short enough for AF_UNIX."""
    folder = tempfile.mkdtemp(prefix="sdn", dir="/tmp")
    path = os.path.join(folder, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(60)
    try:
        yield sock, path
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(folder)
