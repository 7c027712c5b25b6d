"""The metrics endpoint's address: this computer only unless the config says otherwise, a clear
refusal of an address that would open it by accident, and histogram buckets that count each
observation once."""

from __future__ import annotations

import dataclasses
import logging
import socket
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.core import GaugeMetricFamily, Metric

from station.config import ConfigError, load_config
from sync.metrics import Histogram, ListenAddress, MetricsEndpoint, MetricsSettings
from tests.station.test_station_metrics import free_port

ROOT = Path(__file__).resolve().parents[2]


class OneGauge:
    """A collector with one figure."""

    def collect(self) -> list[Metric]:
        return [GaugeMetricFamily("probe_value", "A figure to find.", value=42.0)]


def network_address() -> str:
    """This computer's address on its network (not loopback); skips the test when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
        except OSError:
            pytest.skip("no network interface besides loopback")
        address = str(probe.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("no network interface besides loopback")
    return address


def reads(host: str, port: int) -> bool:
    """True when http://host:port/metrics answers with the probe's figure."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as answer:
            return "probe_value 42.0" in answer.read().decode()
    except OSError:
        return False


def test_the_default_and_the_shipped_file_listen_on_this_computer_only() -> None:
    for config in (load_config(None, env={}), load_config(ROOT / "config.toml", env={})):
        assert config.metrics.address == ListenAddress("127.0.0.1", 9108)
        assert config.metrics.address is not None and not config.metrics.address.every_interface


def test_the_default_address_is_not_reachable_from_the_network() -> None:
    default = load_config(None, env={}).metrics.address
    assert default is not None
    # The default's host on a free port: 9108 may be taken by a station running on this computer.
    endpoint = MetricsEndpoint(dataclasses.replace(default, port=free_port()), OneGauge())
    outside = network_address()
    endpoint.start()
    try:
        assert reads("127.0.0.1", endpoint.port)
        assert not reads(outside, endpoint.port)
    finally:
        endpoint.stop()
    assert not reads("127.0.0.1", endpoint.port)


def test_every_interface_only_when_the_config_says_so(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    path = tmp_path / "config.toml"
    path.write_text(f'[metrics]\nlisten = "0.0.0.0:{port}"\n', encoding="utf-8")
    address = load_config(path, env={}).metrics.address
    assert address is not None and address.every_interface
    outside = network_address()
    endpoint = MetricsEndpoint(address, OneGauge(), "station metrics")
    with caplog.at_level(logging.WARNING, logger="sync.metrics"):
        endpoint.start()
    try:
        assert reads(outside, port) and reads("127.0.0.1", port)
    finally:
        endpoint.stop()
    assert any("open to the whole network" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("listen", "problem"), [
    (":9108", "0.0.0.0:9108"),  # no host: some programs read it as every interface; say so instead
    ("127.0.0.1", "no port"),
    ("127.0.0.1:http", "port must be a number"),
    ("127.0.0.1:70000", "port must be a number"),
    ("::1:9108", "brackets"),
])
def test_an_unclear_address_is_refused_on_its_line(tmp_path: Path, listen: str, problem: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'# the dock PC\n[metrics]\nlisten = "{listen}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=problem) as info:
        load_config(path, env={})
    assert info.value.key == "metrics.listen" and info.value.line == 3


def test_addresses_read_as_written() -> None:
    assert ListenAddress.parse("[::1]:9108") == ListenAddress("::1", 9108)
    assert str(ListenAddress.parse("[::1]:9108")) == "[::1]:9108"
    assert ListenAddress.parse("[::]:9108").every_interface
    assert not ListenAddress.parse("localhost:9108").every_interface
    assert MetricsSettings(listen="").address is None  # off


def test_a_histogram_counts_each_observation_once_in_its_bucket() -> None:
    histogram = Histogram((10, 20, 50))
    for observed in (3, 10, 10.5, 20, 49, 51, 1000):
        histogram.observe(observed)
    snapshot = histogram.snapshot()
    assert snapshot.counts == (2, 2, 1, 2)  # a value on a bound is in that bound's bucket
    assert snapshot.count == 7 and snapshot.sum == pytest.approx(1143.5)
    assert snapshot.cumulative() == [(10, 2), (20, 4), (50, 5), (float("inf"), 7)]
    with pytest.raises(ValueError, match="rise strictly"):
        Histogram((10, 10, 20))


def test_a_station_whose_port_is_taken_runs_on_without_its_endpoint(caplog: pytest.LogCaptureFixture) -> None:
    from station.metrics import StationMetrics

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        metrics = StationMetrics(MetricsSettings(listen=f"127.0.0.1:{port}"), OneGauge())  # type: ignore[arg-type]
        with caplog.at_level(logging.WARNING, logger="station.metrics"):
            metrics.start()
        metrics.stop()
    assert metrics.endpoint is None
    assert any("[metrics] listen" in r.getMessage() for r in caplog.records)
    assert StationMetrics(MetricsSettings(listen=""), OneGauge()).endpoint is None  # type: ignore[arg-type]
