"""The Prometheus endpoint of the station and of central: settings, the HTTP server, a histogram.

An operations team scrapes `http://HOST:PORT/metrics` (the Prometheus text format) of every
station (`[metrics] listen`, default `127.0.0.1:9108`) and of central (`station central
--metrics 127.0.0.1:9109`). The figures are read from the parts' own counters when the scrape
comes (custom collectors: `station.metrics`, `sync.central_metrics`), so nothing is counted
twice; only durations are put in buckets as they happen (`Histogram`), since a histogram
cannot be rebuilt from a few recent values.

The address is the operator's choice, and the default is the loopback interface: the figures
name the site, the station and its models, which is nobody else's business on a warehouse
network. Listening on every interface takes an explicit `0.0.0.0:PORT` (or `[::]:PORT`); an
address without a host (`:9108`), which some programs read as "every interface", is refused.
docs/metrics.md lists every metric.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the endpoint imports prometheus_client when it starts: config loading stays light
    from wsgiref.simple_server import WSGIServer

    from prometheus_client.core import HistogramMetricFamily
    from prometheus_client.registry import Collector

__all__ = ["Histogram", "HistogramSnapshot", "ListenAddress", "MetricsEndpoint", "MetricsSettings",
           "MetricsSettingsError", "histogram_family"]

logger = logging.getLogger(__name__)

DEFAULT_STATION_LISTEN = "127.0.0.1:9108"
DEFAULT_CENTRAL_LISTEN = "127.0.0.1:9109"


class MetricsSettingsError(ValueError):
    """A `[metrics]` value the endpoint cannot listen on; `key` names the config key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class ListenAddress:
    """Where an endpoint listens: a host (an IP address or a name) and a TCP port."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        """`HOST:PORT` (`[IPV6]:PORT` for an IPv6 address); ValueError saying what to write."""
        host, sep, port_text = text.strip().rpartition(":")
        example = f"write HOST:PORT, e.g. {DEFAULT_STATION_LISTEN}"
        if not sep:
            raise ValueError(f"{text!r} has no port: {example}")
        bracketed = host.startswith("[") and host.endswith("]")
        host = host[1:-1] if bracketed else host
        if not host:
            raise ValueError(f"{text!r} has no host: write 127.0.0.1:{port_text} (this computer only), or "
                             f"0.0.0.0:{port_text} to let every computer of the network read the figures")
        if ":" in host:  # "::1:9108" could be an address without a port, or ::1 port 9108
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                bracketed = False
            if not bracketed:
                raise ValueError(f"{text!r}: write an IPv6 address in brackets, e.g. [::1]:9108")
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ValueError(f"{text!r}: the port must be a number from 0 to 65535 ({example})")
        return cls(host, int(port_text))

    @property
    def every_interface(self) -> bool:
        """True when the endpoint is open to the network (0.0.0.0 or ::), not one address."""
        try:
            return ipaddress.ip_address(self.host).is_unspecified
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class MetricsSettings:
    """The `[metrics]` section of the station's config.toml."""

    # Where the Prometheus endpoint listens; "" turns it off.
    listen: str = DEFAULT_STATION_LISTEN

    def __post_init__(self) -> None:
        if self.listen:
            try:
                ListenAddress.parse(self.listen)
            except ValueError as exc:
                raise MetricsSettingsError("listen", str(exc)) from None

    @property
    def address(self) -> ListenAddress | None:
        """Where to listen; None when the endpoint is off."""
        return ListenAddress.parse(self.listen) if self.listen else None


@dataclass(frozen=True)
class HistogramSnapshot:
    """A histogram at one moment: `counts[i]` observations fell in bucket i (at most `bounds[i]`,
    above `bounds[i - 1]`); the last count is above every bound."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float
    count: int

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at most it) per bucket, `inf` last: Prometheus' `le` buckets."""
        total = 0
        buckets: list[tuple[float, int]] = []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            buckets.append((bound, total))
        return buckets


class Histogram:
    """Observations counted into fixed buckets as they happen; thread-safe.

    Kept by the part that measures (the pipeline's counters, central's receiver) without any
    metrics library, so the pipeline runs the same with the endpoint off.
    """

    def __init__(self, bounds: Sequence[float]) -> None:
        if list(bounds) != sorted(set(bounds)) or not bounds:
            raise ValueError(f"histogram bounds must rise strictly, got {list(bounds)}")
        self.bounds = tuple(float(b) for b in bounds)
        self._lock = threading.Lock()
        self._counts = [0] * (len(self.bounds) + 1)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        """Count one observation in its bucket (a value equal to a bound belongs to that bound's bucket)."""
        index = bisect_left(self.bounds, value)
        with self._lock:
            self._counts[index] += 1
            self._sum += value

    def snapshot(self) -> HistogramSnapshot:
        """Every bucket, the sum and the count, all taken at the same moment."""
        with self._lock:
            counts = tuple(self._counts)
            total = self._sum
        return HistogramSnapshot(self.bounds, counts, total, sum(counts))


class MetricsEndpoint:
    """Serves one collector's figures at `http://ADDRESS/metrics` on a thread of its own."""

    def __init__(self, address: ListenAddress, collector: Collector, what: str = "metrics") -> None:
        self.address = address
        self.collector = collector
        self.what = what  # for the log: "station metrics", "central metrics"
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose when the address says 0)."""
        if self._server is None:
            return self.address.port
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """The address a scraper reads."""
        host = self.address.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/metrics"

    def start(self) -> None:
        """Listen; OSError when the address cannot be had (a port in use, an unknown host)."""
        from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server

        registry = CollectorRegistry(auto_describe=False)
        registry.register(self.collector)
        # process_resident_memory_bytes, process_cpu_seconds_total, process_start_time_seconds, ...
        ProcessCollector(registry=registry)
        # prometheus_client's own default address is 0.0.0.0: always pass ours.
        self._server, self._thread = start_http_server(self.address.port, addr=self.address.host,
                                                       registry=registry)
        if self.address.every_interface:
            logger.warning("%s open to the whole network at %s: every computer that reaches this one "
                           "may read them", self.what, self.url)
        else:
            logger.info("%s at %s", self.what, self.url)

    def stop(self) -> None:
        """Stop listening."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def histogram_family(name: str, documentation: str, snapshot: HistogramSnapshot,
                     scale: float = 1.0) -> HistogramMetricFamily:
    """A histogram snapshot as a Prometheus histogram; `scale` turns its unit into the metric's
    (0.001: milliseconds kept, seconds exposed)."""
    from prometheus_client.core import HistogramMetricFamily

    def le(bound: float) -> str:  # 15 ms is "0.015", not "0.015000000000000001"
        return "+Inf" if bound == float("inf") else repr(round(bound * scale, 9))

    buckets = [(le(bound), float(count)) for bound, count in snapshot.cumulative()]
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=snapshot.sum * scale)
