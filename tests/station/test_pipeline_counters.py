"""The pipeline's counters: added to from several threads, read as one consistent snapshot."""

from __future__ import annotations

import threading

from station.pipeline import PipelineCounters


def test_increments_from_many_threads_are_all_counted() -> None:
    counters = PipelineCounters()
    start = threading.Barrier(4)

    def count(name: str) -> None:
        start.wait()
        for _ in range(20_000):
            counters.increment(name)  # type: ignore[arg-type]

    threads = [threading.Thread(target=count, args=(name,))
               for name in ("recorded", "recorded", "routed", "triggers")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    snapshot = counters.snapshot()
    assert (snapshot["recorded"], snapshot["routed"], snapshot["triggers"]) == (40_000, 20_000, 20_000)
    assert snapshot["unrecorded"] == 0


def test_a_snapshot_is_a_copy_that_later_increments_leave_alone() -> None:
    counters = PipelineCounters()
    counters.increment("inspected")
    before = counters.snapshot()
    counters.increment("inspected")
    assert before["inspected"] == 1 and counters.snapshot()["inspected"] == 2
    assert set(before) == {"triggers", "inspected", "views", "recorded", "overloaded", "routed",
                           "record_errors", "disk_full", "unrecorded"}


def test_recorded_verdicts_are_counted_with_their_disposition_and_latency_while_read() -> None:
    counters = PipelineCounters(latencies_kept=100)
    done = threading.Event()
    reads: list[int] = []

    def read() -> None:  # what the monitor does once a second, here as fast as it can
        while not done.is_set():
            reads.append(len(sorted(counters.latencies_ms())) + sum(counters.dispositions().values()))

    reader = threading.Thread(target=read)
    reader.start()
    for index in range(10_000):
        counters.recorded("restock" if index % 4 else "repair", float(index))
    done.set()
    reader.join()

    assert counters.snapshot()["recorded"] == 10_000
    assert counters.dispositions() == {"restock": 7_500, "repair": 2_500}
    assert counters.latencies_ms() == [float(i) for i in range(9_900, 10_000)]  # the newest, oldest first
    assert reads  # the reader ran beside the writer without an error
