"""The documented threading: one writer Store, readers and the outbox publisher on their own
connections at the same time — nobody sees "database is locked", nothing is lost."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

from station.store import Store, StoreReader
from station.verdict import Verdict
from sync import outbox

ITEMS = 40


def test_writer_reader_and_publisher_run_together(store: Store, make_verdict: Callable[..., Verdict]) -> None:
    errors: list[BaseException] = []
    done = threading.Event()
    seen: list[int] = []
    published: set[str] = set()

    def guard(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)
        return run

    def write() -> None:
        for i in range(ITEMS):
            store.record_verdict(make_verdict(i))
        done.set()

    def read() -> None:
        with StoreReader(store.path) as reader:
            while not done.is_set():
                seen.append(len(reader.recent(limit=1000)))
                time.sleep(0.002)  # poll like the UI does, without starving the 2 cores

    def publish() -> None:
        conn = sqlite3.connect(store.path, timeout=10.0)
        try:
            while True:
                finished = done.is_set()
                rows = outbox.pending(conn, 0, 1000)
                fresh = [r for r in rows if r.key not in published]
                outbox.mark_published(conn, [r.id for r in fresh], time.time())
                outbox.mark_delivered(conn, [r.key for r in fresh], time.time())
                conn.commit()
                published.update(r.key for r in fresh)
                if finished and not fresh:
                    return
                time.sleep(0.002)
        finally:
            conn.close()

    threads = [threading.Thread(target=guard(f)) for f in (write, read, publish)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(published) == ITEMS
    assert seen == sorted(seen) and seen[-1] <= ITEMS  # readers only ever see whole, committed items
    assert outbox.backlog(store.conn) == (0, None)
