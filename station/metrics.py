"""The station's Prometheus endpoint: its figures read from the parts' own counters at each scrape.

`StationCollector` keeps no count of its own: when Prometheus scrapes, it reads the pipeline's
counters and latency histogram, the conveyor bridge's counters and the link's health, the
outbox publisher's figures, each camera's health, the models in use and the disk's free space
— the same figures `stats`, the status bar and the MQTT `stats` message show. `StationMetrics`
is the part `Station` starts and stops: the HTTP endpoint of `[metrics] listen` serving it
(sync/metrics.py). Every metric, its labels and its meaning: docs/metrics.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from importlib import metadata

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric

from station.devices import ConveyorDevice
from station.diskguard import MB, DiskGuard
from station.inspector import Identity
from station.live_models import LiveModels
from station.pipeline import Pipeline
from station.uplink import Uplink
from station.verdict import Disposition
from sync.inbound import Inbound
from sync.metrics import MetricsEndpoint, MetricsSettings, histogram_family
from vision.camera import Camera, CameraState

__all__ = ["StationCollector", "StationMetrics", "inbound_families"]

logger = logging.getLogger(__name__)

# The pipeline's counters exposed as counters of items: (counter, metric name, help).
_PIPELINE_COUNTERS = (
    ("triggers", "station_triggers", "Items announced for inspection (conveyor trigger, scan, key, motion)."),
    ("inspected", "station_items_inspected", "Items inspected (their pictures judged)."),
    ("views", "station_views", "Camera pictures the inspected items were judged on."),
    ("overloaded", "station_items_overloaded",
     "Items not inspected because the station was busy: recorded as manual review, no divert."),
    ("disk_full", "station_items_disk_full",
     "Items not inspected because the disk was nearly full: recorded as manual review without images."),
    ("unrecorded", "station_items_unrecorded", "Items whose verdict could not be written at all."),
    ("record_errors", "station_record_errors",
     "Writes that failed or were dropped: a verdict or a conveyor outcome not recorded."),
)

# The conveyor bridge's counters: (field of ConveyorCounters, metric name, help).
_CONVEYOR_COUNTERS = (
    ("items", "station_conveyor_items", "Items the controller saw enter the belt."),
    ("diverts_sent", "station_conveyor_diverts", "DIVERT commands sent in time."),
    ("late", "station_items_late",
     "Items decided after their deadline: no divert, the manual lane took them."),
    ("confirmed", "station_items_confirmed", "Items whose lane the controller confirmed."),
    ("misrouted", "station_items_misrouted", "Items confirmed in a lane other than the one commanded."),
    ("lost", "station_items_lost", "Items the controller never confirmed in any lane."),
    ("flushed", "station_items_flushed",
     "Items on the belt closed unconfirmed because the controller restarted."),
    ("jams", "station_conveyor_jams", "Jams the controller reported."),
    ("estops", "station_conveyor_estops", "Emergency stops the controller reported."),
)


def inbound_families(inbound: Inbound) -> Iterator[Metric]:
    """What central (or anyone who can write to the broker) sent that the station refused, by kind of
    message: a climbing rate-limited count is a flood, or a central command looping."""
    refused = CounterMetricFamily("station_inbound_refused", "Inbound messages refused (malformed, out of "
                                  "range, unsigned, not for this station, or too many).", labels=["kind"])
    for kind, count in sorted(dict(inbound.refused).items()):
        refused.add_metric([kind], count)
    yield refused
    limited = CounterMetricFamily("station_inbound_rate_limited", "Inbound messages refused unread because "
                                  "their kind came faster than its rate limit.", labels=["kind"])
    for kind, count in sorted(dict(inbound.rate_limited).items()):
        limited.add_metric([kind], count)
    yield limited


class StationCollector:
    """Reads the station's parts when scraped; counts nothing itself."""

    def __init__(
        self,
        identity: Identity,
        pipeline: Pipeline,
        cameras: Mapping[str, Camera],
        models: LiveModels,
        disk: DiskGuard,
        uplink: Uplink,
        conveyor: ConveyorDevice | None = None,
    ) -> None:
        self.identity = identity
        self.pipeline = pipeline
        self.cameras = dict(cameras)
        self.models = models
        self.disk = disk
        self.uplink = uplink
        self.conveyor = conveyor
        self.version = metadata.version("returns-station")

    def collect(self) -> Iterator[Metric]:
        """Every family, read now (called on the endpoint's thread, once per scrape)."""
        identity = self.identity
        yield InfoMetricFamily("station", "This station: its id, site and software version.", value={
            "station_id": identity.station_id, "site_id": identity.site_id, "version": self.version})
        yield from self._pipeline()
        yield from self._conveyor()
        yield from self._outbox()
        if self.uplink.inbound is not None:
            yield from inbound_families(self.uplink.inbound)
        yield from self._cameras()
        yield from self._models()
        disk = self.disk.check()
        yield GaugeMetricFamily("station_disk_free_bytes", "Free space on the data folder's disk.",
                                value=disk.free_mb * MB)
        yield GaugeMetricFamily("station_disk_full",
                                "1 while the disk is below the reserve and the station takes no items.",
                                value=1.0 if disk.full else 0.0)

    def _pipeline(self) -> Iterator[Metric]:
        counters = self.pipeline.counters
        counts = counters.snapshot()
        recorded = CounterMetricFamily("station_items_recorded",
                                       "Verdicts recorded, by the first decision's disposition.",
                                       labels=["disposition"])
        # Every disposition from the start, at 0 until its first item: a rate over a series that
        # appears only later misses that first item.
        counted = {**{d.value: 0 for d in Disposition}, **counters.dispositions()}
        for disposition, count in counted.items():
            recorded.add_metric([disposition], count)
        yield recorded
        for name, metric, documentation in _PIPELINE_COUNTERS:
            yield CounterMetricFamily(metric, documentation, value=counts[name])
        yield histogram_family("station_item_latency_seconds",
                               "From the item's trigger to its verdict committed to the database.",
                               counters.latency_histogram(), scale=0.001)
        depth = GaugeMetricFamily("station_queue_depth", "Items waiting before each pipeline stage.",
                                  labels=["stage"])
        for stage, waiting in self.pipeline.queue_depths().items():
            depth.add_metric([stage], waiting)
        yield depth

    def _conveyor(self) -> Iterator[Metric]:
        if self.conveyor is None:  # bench mode: no belt, no link
            return
        bridge = self.conveyor.bridge
        counts = bridge.counters
        for name, metric, documentation in _CONVEYOR_COUNTERS:
            yield CounterMetricFamily(metric, documentation, value=getattr(counts, name))
        link = bridge.link
        if link is None:  # not started yet
            return
        health = link.health()
        yield GaugeMetricFamily("station_conveyor_link_up", "1 while the controller link is established.",
                                value=1.0 if health.connected else 0.0)
        for name, documentation in (
            ("crc_errors", "Frames from the controller with a bad CRC."),
            ("frame_errors", "Frames from the controller that could not be decoded."),
            ("retransmits", "Commands sent again for want of an acknowledgement."),
            ("reconnects", "Times the link was opened again after a loss."),
        ):
            yield CounterMetricFamily(f"station_conveyor_{name}", documentation, value=getattr(health, name))
        rtt = GaugeMetricFamily("station_conveyor_rtt_seconds",
                                "Command round trip to the controller over the recent commands, by quantile.",
                                labels=["quantile"])
        for quantile, value in (("0.5", health.rtt_ms_p50), ("0.99", health.rtt_ms_p99)):
            if value is not None:
                rtt.add_metric([quantile], value / 1000)
        yield rtt
        if health.last_frame_age_s is not None:
            yield GaugeMetricFamily("station_conveyor_silence_seconds",
                                    "Time since the last frame from the controller.",
                                    value=health.last_frame_age_s)

    def _outbox(self) -> Iterator[Metric]:
        stats = self.uplink.stats()
        if stats is None:  # no broker configured: verdicts wait in the outbox, nobody sends them
            return
        yield GaugeMetricFamily("station_mqtt_connected", "1 while the station is connected to its broker.",
                                value=1.0 if stats.connected else 0.0)
        yield GaugeMetricFamily("station_outbox_backlog", "Outbox messages central has not acknowledged yet.",
                                value=stats.backlog)
        yield GaugeMetricFamily("station_outbox_oldest_age_seconds",
                                "Age of the oldest message central has not acknowledged (0: none waits).",
                                value=stats.oldest_undelivered_age_s or 0.0)
        yield GaugeMetricFamily("station_outbox_in_flight", "Messages sent and waiting for central's ack.",
                                value=stats.in_flight)
        for name, metric, documentation in (
            ("published_total", "station_outbox_published", "Outbox messages published (first sends)."),
            ("resent_total", "station_outbox_resent", "Outbox messages published again (no ack in time)."),
            ("delivered_total", "station_outbox_delivered", "Outbox messages central acknowledged."),
            ("reconnects", "station_mqtt_reconnects", "Reconnections to the broker."),
        ):
            yield CounterMetricFamily(metric, documentation, value=getattr(stats, name))

    def _cameras(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("station_camera_up", "1 while the camera delivers frames.", labels=["camera"])
        fps = GaugeMetricFamily("station_camera_fps", "Frames per second the camera delivers.",
                                labels=["camera"])
        frames = CounterMetricFamily("station_camera_frames", "Frames the camera delivered.",
                                     labels=["camera"])
        reopens = CounterMetricFamily("station_camera_reopens", "Times the camera was opened again after a "
                                      "failure or a freeze.", labels=["camera"])
        for name, camera in self.cameras.items():
            health = camera.health()
            live = health.state is CameraState.LIVE
            up.add_metric([name], 1.0 if live else 0.0)
            fps.add_metric([name], health.fps if live else 0.0)
            frames.add_metric([name], health.frames)
            reopens.add_metric([name], health.reopens)
        yield from (up, fps, frames, reopens)

    def _models(self) -> Iterator[Metric]:
        current = self.models.current()
        info = InfoMetricFamily("station_model", "The models in use ('active') and one run beside them "
                                "for comparison ('shadow').", labels=["name", "version", "sha256", "role"])
        for ref in current.refs():
            info.add_metric([ref.name, ref.version, ref.sha256, "active"], {})
        if current.shadow is not None:
            shadow = current.shadow.model.info
            info.add_metric([shadow.name, shadow.version, shadow.sha256, "shadow"], {})
        yield info


class StationMetrics:
    """The endpoint of `[metrics] listen` serving a `StationCollector`; off when `listen` is ""."""

    def __init__(self, settings: MetricsSettings, collector: StationCollector) -> None:
        address = settings.address
        self.endpoint = MetricsEndpoint(address, collector, "station metrics") if address else None

    def start(self) -> None:
        """Listen. A port already in use is logged, not fatal: the dock goes on without its figures."""
        if self.endpoint is None:
            return
        try:
            self.endpoint.start()
        except OSError as exc:
            logger.warning("station metrics: cannot listen on %s (%s): set [metrics] listen to a free "
                         "HOST:PORT, or \"\" to turn the endpoint off", self.endpoint.address, exc)
            self.endpoint = None

    def stop(self) -> None:
        """Stop listening."""
        if self.endpoint is not None:
            self.endpoint.stop()
