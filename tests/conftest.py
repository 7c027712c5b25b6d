"""Shared fixtures: where ../shared/data is, and skipping what needs what is absent."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Device threads (simulator, link, camera) may log a last line after pytest has closed the
# captured stream of the test that started them; that is not a failure of anything.
logging.raiseExceptions = False
SHARED_DATA = Path(os.environ.get("STATION_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


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
