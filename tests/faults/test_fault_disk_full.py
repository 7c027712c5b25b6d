"""A data folder on a nearly full disk: the station stops taking items before it is full, every
item the conveyor saw keeps a record, the status says why, and a run with --items ends.

On a real 5 MB file system (tmpfs, mounted by the test; skipped where mounting is not allowed).
Before the disk guard, 14 of 30 items had neither verdict nor outbox row and the run never ended.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from station.diskguard import DiskGuard
from sync.broker import LocalBroker
from tests.sync.conftest import Probe

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PREFIX = "returns/v1/site-01/dock-01/"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 5 MB file system, unmounted at the end."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_disk_full_stops_taking_items_keeps_every_record_and_ends_the_run(
    tmp_path: Path, small_disk: Path, broker: LocalBroker, probe: Callable[[list[str]], Probe]
) -> None:
    data = small_disk / "var"
    config = tmp_path / "config.toml"
    config.write_text(f'[station]\nid = "dock-01"\nsite = "site-01"\ndata_dir = "{data}"\n'
                      "[storage]\nstop_free_disk_mb = 2\n"
                      f'[sync]\nbroker = "127.0.0.1"\nport = {broker.port}\n', encoding="utf-8")
    watcher = probe([PREFIX + "status"])
    items = 30
    run = subprocess.run(
        [sys.executable, "-m", "station", "--config", str(config), "run", "--headless", "--items", str(items),
         "--drain-timeout", "0"],
        capture_output=True, text=True, timeout=240, check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    # The run ends, non-zero, with one plain message and no traceback.
    assert run.returncode == 4, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert "Logging error" not in run.stderr
    messages = [line for line in run.stderr.splitlines() if line.startswith("station run: ")]
    assert len(messages) == 1, run.stderr[-3000:]
    assert "disk full" in messages[0] and str(data) in messages[0]

    # Every item the conveyor handled has a verdict and its outbox row, or is named in that message.
    conn = sqlite3.connect(data / "station.db")
    recorded = {row[0] for row in conn.execute("SELECT controller_item_id FROM items")}
    without_outbox = conn.execute(
        "SELECT COUNT(*) FROM items i WHERE NOT EXISTS "
        "(SELECT 1 FROM outbox o WHERE o.key = i.verdict_id || ':1')").fetchone()[0]
    uninspected = conn.execute(
        "SELECT COUNT(*) FROM verdicts WHERE revision = 1 AND payload LIKE '%disk full: not inspected%'"
    ).fetchone()[0]
    conn.close()
    named = {int(part) for part in messages[0].split("conveyor item ids ")[1].split(" (")[0].split(", ")} \
        if "NO record" in messages[0] else set()
    assert recorded | named == set(range(1, items + 1))
    assert without_outbox == 0
    assert uninspected > 0, "the disk never ran short: the test no longer tests anything"

    # Central was told why on the retained status.
    statuses = watcher.json_on(PREFIX + "status")
    assert any("disk full" in s.get("alarm", "") for s in statuses if s["state"] == "online"), statuses


def test_guard_trips_below_the_reserve_and_takes_items_again_at_twice_it(tmp_path: Path) -> None:
    free = [500 * 1_000_000]
    guard = DiskGuard(tmp_path, 200, free_bytes=lambda _p: free[0])
    assert not guard.check().full
    free[0] = 150 * 1_000_000
    state = guard.check()
    assert state.full and guard.tripped and "150.0 MB free" in state.message()
    free[0] = 300 * 1_000_000
    assert guard.check().full  # not back before twice the reserve: no flapping at the edge
    free[0] = 401 * 1_000_000
    assert not guard.check().full and guard.tripped
