"""Central's Prometheus figures: what the receiver stored, from whom, how fast, and what failed.

`CentralMeter` is kept by the receiver (`CentralReceiver.meter`) whether or not anybody scrapes:
when each station was last heard of, how long each batch took to become durable, how many
database errors were met. `CentralCollector` reads it and the receiver's own `ReceiverStats` at
each scrape; `station central --metrics 127.0.0.1:9109` serves it (sync/metrics.py). Every
metric: docs/metrics.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from sync.metrics import Histogram, ListenAddress, MetricsEndpoint, histogram_family

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["STORE_BUCKETS_S", "CentralCollector", "CentralMeter", "central_endpoint"]

# One batch's transaction, in seconds: a local SQLite commit takes a few ms, PostgreSQL over a
# network tens; seconds mean a disk or a database in trouble.
STORE_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# ReceiverStats counters: (field, metric name, help). A counter the receiver does not keep (evidence
# images, purges: only a receiver that stores images has them) is left out of the scrape.
_RECEIVER_COUNTERS = (
    ("received", "central_messages_received", "Verdict messages received from the broker."),
    ("stored", "central_verdicts_stored", "Verdict revisions stored for the first time."),
    ("duplicates", "central_verdicts_duplicate",
     "Verdict revisions received again (a resend) and acknowledged again, not stored twice."),
    ("invalid", "central_verdicts_rejected",
     "Messages refused (not a valid verdict, or from another station's topic): kept, not acknowledged."),
    ("conflicts", "central_verdicts_conflicting",
     "Repeats of a stored revision with a different payload: kept apart, acknowledged."),
    ("acked", "central_acks_sent", "Verdicts acknowledged to their station."),
    ("images_stored", "central_images_stored", "Evidence images stored."),
    ("purges", "central_purges", "Purges of a customer's images and personal fields carried out."),
)


class CentralMeter:
    """What the receiver notices as it works that its counters do not say; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_seen: dict[tuple[str, str], float] = {}  # (site, station) -> Unix time
        self._db_errors = 0
        self.store_seconds = Histogram(STORE_BUCKETS_S)

    def seen(self, topics: Iterable[str], at: float) -> None:
        """Messages arrived on these verdict topics (`<prefix>/<site>/<station>/verdict`) at `at`."""
        with self._lock:
            for topic in topics:
                parts = topic.split("/")
                if len(parts) >= 4:
                    self._last_seen[(parts[-3], parts[-2])] = at

    def stored(self, seconds: float, database_error: bool) -> None:
        """One batch went to the database in `seconds`; `database_error`: the database refused part of it."""
        self.store_seconds.observe(seconds)
        if database_error:
            with self._lock:
                self._db_errors += 1

    def last_seen(self) -> dict[tuple[str, str], float]:
        """When each (site, station) was last heard of, Unix time."""
        with self._lock:
            return dict(self._last_seen)

    @property
    def db_errors(self) -> int:
        """Batches the database refused in whole or in part since start."""
        with self._lock:
            return self._db_errors


class CentralCollector:
    """Reads the receiver's counters and its meter when scraped."""

    def __init__(self, stats: Callable[[], DataclassInstance], meter: CentralMeter) -> None:
        self.stats = stats  # CentralReceiver.stats: a frozen dataclass of counters
        self.meter = meter

    def collect(self) -> Iterator[Metric]:
        """Every family, read now (on the endpoint's thread)."""
        stats = self.stats()
        values = {f.name: getattr(stats, f.name) for f in fields(stats)}
        yield GaugeMetricFamily("central_mqtt_connected", "1 while the receiver is connected to the broker.",
                                value=1.0 if values.get("connected") else 0.0)
        for name, metric, documentation in _RECEIVER_COUNTERS:
            if isinstance(values.get(name), int):
                yield CounterMetricFamily(metric, documentation, value=values[name])
        yield CounterMetricFamily("central_db_errors",
                                  "Batches the database refused in whole or in part (their verdicts are "
                                  "stored one by one; those refused are not acknowledged).",
                                  value=self.meter.db_errors)
        yield histogram_family("central_store_batch_seconds",
                               "Time to make one batch of verdicts durable (one database transaction).",
                               self.meter.store_seconds.snapshot())
        seen = GaugeMetricFamily("central_station_last_seen_timestamp_seconds",
                                 "When a verdict message last came from the station (Unix time).",
                                 labels=["site_id", "station_id"])
        for (site, station), at in sorted(self.meter.last_seen().items()):
            seen.add_metric([site, station], at)
        yield seen


def central_endpoint(listen: str, stats: Callable[[], DataclassInstance],
                     meter: CentralMeter) -> MetricsEndpoint | None:
    """The endpoint of `station central --metrics HOST:PORT`, listening ("" : None, no endpoint).

    ValueError for an address that is not HOST:PORT, OSError when it cannot be had.
    """
    if not listen:
        return None
    endpoint = MetricsEndpoint(ListenAddress.parse(listen), CentralCollector(stats, meter), "central metrics")
    endpoint.start()
    return endpoint
