"""kill -9 while verdicts are being recorded: the database reopens consistent — every item
has its verdict, its frame rows (with files on disk) and its outbox row, nothing half
written — and recording goes on."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from station.store import Store

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    import numpy as np
    sys.path.insert(0, {root!r})
    from station.store import FrameImage, Store
    from tests.station.conftest import build_verdict

    store = Store(Path({db!r}), Path({images!r}))
    start = store.count_items()
    image = np.random.default_rng(1).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    for seq in range(start, start + 100000):
        store.record_verdict(build_verdict(seq), [FrameImage("top", image), FrameImage("side", image)])
        print(seq, flush=True)
""")


def run_and_kill(db: Path, images: Path, after: int) -> int:
    """Start a writer, let it commit `after` verdicts, SIGKILL it; returns the last seq it reported."""
    script = WRITER.format(root=str(ROOT), db=str(db), images=str(images))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    last = -1
    try:
        for _ in range(after):
            line = proc.stdout.readline()
            assert line, "writer died before recording anything"
            last = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return last


def check_consistent(store: Store) -> int:
    conn = store.conn
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    items = [r[0] for r in conn.execute("SELECT verdict_id FROM items")]
    for verdict_id in items:
        assert conn.execute("SELECT COUNT(*) FROM verdicts WHERE verdict_id = ? AND revision = 1",
                            (verdict_id,)).fetchone()[0] == 1
        key = (f"{verdict_id}:1",)
        assert conn.execute("SELECT COUNT(*) FROM outbox WHERE key = ?", key).fetchone()[0] == 1
        frames = conn.execute("SELECT sha256, path FROM frames WHERE verdict_id = ?",
                              (verdict_id,)).fetchall()
        assert len(frames) == 2
        for sha, path in frames:
            assert hashlib.sha256((store.images_dir / path).read_bytes()).hexdigest() == sha
    orphans = conn.execute(
        "SELECT (SELECT COUNT(*) FROM verdicts WHERE verdict_id NOT IN (SELECT verdict_id FROM items)) + "
        "(SELECT COUNT(*) FROM frames WHERE verdict_id NOT IN (SELECT verdict_id FROM items)) + "
        "(SELECT COUNT(*) FROM outbox) - (SELECT COUNT(*) FROM verdicts)").fetchone()[0]
    assert orphans == 0
    return len(items)


@pytest.mark.slow
def test_kill_9_mid_run_leaves_a_consistent_database_and_recording_goes_on(tmp_path: Path) -> None:
    db, images = tmp_path / "station.db", tmp_path / "images"
    total = 0
    for round_ in range(2):
        last = run_and_kill(db, images, after=15 + 10 * round_)
        store = Store(db, images)
        count = check_consistent(store)
        # Everything the writer reported committed is there (it may have committed one more).
        assert count >= last + 1 > total
        total = count
        store.close()
    assert total >= 15 + 25
