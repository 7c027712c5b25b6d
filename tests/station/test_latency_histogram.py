"""The pipeline's latency histogram counts every recorded item once, beyond the recent latencies it keeps."""

from __future__ import annotations

from station.pipeline import LATENCY_BUCKETS_MS, PipelineCounters


def test_every_latency_is_counted_once_though_only_the_latest_are_kept() -> None:
    counters = PipelineCounters(latencies_kept=3)
    latencies = [12.0, 48.0, 75.0, 110.0, 180.0, 230.0, 9000.0]
    for latency in latencies:
        counters.recorded("restock", latency)
    counters.recorded("manual_review", None)  # no trigger time: recorded, not timed
    assert counters.latencies_ms() == latencies[-3:]
    histogram = counters.latency_histogram()
    assert histogram.bounds == tuple(float(b) for b in LATENCY_BUCKETS_MS)
    assert histogram.count == len(latencies) == counters.snapshot()["recorded"] - 1
    assert histogram.sum == sum(latencies)
    cumulative = dict(histogram.cumulative())
    assert cumulative[15.0] == 1 and cumulative[50.0] == 2 and cumulative[200.0] == 5
    assert cumulative[5000.0] == 6 and cumulative[float("inf")] == 7
