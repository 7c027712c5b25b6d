"""The station's health in plain words, once a second, and the figures of `stats`.

`HealthMonitor` runs one thread: every second it closes conveyor items never confirmed,
reads the SKU gallery again when `station enroll` changed it,
turns the conveyor's, MQTT's and the disk's state into `Health` lines for the status bar,
publishes the counters (`stats()`, also the MQTT `stats` message and `station run`'s
status line), and once an hour applies the image retention. Cameras, models and
calibration report their own health when it changes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from datetime import datetime
from typing import Any

from station.devices import ConveyorDevice
from station.diskguard import DiskGuard, DiskState
from station.i18n import DEFAULT_LANGUAGE, QT_TRANSLATE_NOOP
from station.kpi import local_midnight
from station.live_models import LiveModels
from station.pipeline import Pipeline
from station.record_watch import RecordWatch
from station.state import Health, Level, StationState
from station.store import Store
from station.uplink import Uplink, sync_health

__all__ = ["HealthMonitor", "disk_health"]

logger = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0


class HealthMonitor:
    """The once-a-second look at every part; `stats()` gives the run's figures."""

    def __init__(
        self,
        state: StationState,
        pipeline: Pipeline,
        store: Store,
        disk: DiskGuard,
        min_free_disk_mb: int,
        models: LiveModels,
        uplink: Uplink,
        conveyor: ConveyorDevice | None = None,
        language: str | None = None,
        record_watch: RecordWatch | None = None,
    ) -> None:
        self.state = state
        self.record_watch = record_watch
        # The status lines are written in the operator's language ([ui] language).
        self.language = language if language is not None else uplink.config.ui.language
        self.pipeline = pipeline
        self.store = store
        self.disk = disk
        self.min_free_disk_mb = min_free_disk_mb
        self.models = models
        self.uplink = uplink
        self.conveyor = conveyor
        self.started_at = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="monitor", daemon=True)

    def start(self) -> None:
        """Start looking, once a second."""
        self._thread.start()

    def stop(self) -> None:
        """Stop looking."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        last_retention = float("-inf")  # the first round applies it: a restart may follow a long stop
        while not self._stop.wait(1.0):
            try:
                self.look()
                if time.monotonic() - last_retention > RETENTION_EVERY_S:
                    last_retention = time.monotonic()
                    self.store.apply_retention()
            except Exception:
                logger.exception("monitor failed")

    def look(self) -> None:
        """One round: conveyor, MQTT, disk, counters."""
        if self.conveyor is not None:
            self.conveyor.bridge.expire()
            self.state.set_health(self.conveyor.bridge.health())
        sync = self.uplink.stats()
        if sync is not None:
            self.state.set_health(sync_health(sync, self.language))
        disk = self.disk.check()
        self.uplink.set_alarm(f"disk full: {disk.message()}" if disk.full else None)
        self.state.set_health(disk_health(disk, self.min_free_disk_mb, self.language))
        if self.models.reload_gallery_if_changed():  # `station enroll` while the station runs
            self.state.set_health(self.models.current().health())
        if self.record_watch is not None:  # `station item` while the station runs
            self.record_watch.look()
        self.state.set_counters(self.stats())

    def _recorded_today(self) -> dict[str, int]:
        """Items in the record since local midnight and since the hour began: a restart keeps them."""
        now = datetime.now().astimezone()
        midnight = local_midnight(now).timestamp()
        hour = now.replace(minute=0, second=0, microsecond=0).timestamp()
        try:
            return {"items_today": self.store.count_items_since(midnight),
                    "items_this_hour": self.store.count_items_since(hour)}
        except sqlite3.ProgrammingError:  # the record is closed: the station is stopping
            return {}
        except sqlite3.Error as exc:  # the counters since the start stand in; the record says the rest
            logger.warning("could not count today's items in the record: %s", exc)
            return {}

    def stats(self) -> dict[str, Any]:
        """Counters for the status line, the UI and the MQTT `stats` message."""
        counts = self.pipeline.counters.snapshot()
        latencies = sorted(self.pipeline.counters.latencies_ms())
        elapsed_h = max((time.monotonic() - self.started_at) / 3600, 1e-9)
        stats: dict[str, Any] = {
            "items": counts["recorded"],
            "items_per_hour": round(counts["recorded"] / elapsed_h),
            "views_per_item": round(counts["views"] / counts["inspected"], 2) if counts["inspected"]
            else None,
            "latency_ms_p50": round(latencies[len(latencies) // 2], 2) if latencies else None,
            "latency_ms_p95": round(latencies[int(len(latencies) * 0.95)], 2) if latencies else None,
            "queues": self.pipeline.queue_depths(),
            "overloaded": counts["overloaded"],
            "record_errors": counts["record_errors"],
            "disk_full": counts["disk_full"],
            "unrecorded": counts["unrecorded"],
            "dispositions": self.pipeline.counters.dispositions(),
            # Evidence pictures over [sync] image_max_bytes: kept on the station, not sent to central.
            "images_too_big": self.store.images_too_big,
        }
        stats.update(self._recorded_today())
        if self.conveyor is not None:
            c = self.conveyor.bridge.counters
            stats.update(late=c.late, misrouted=c.misrouted, lost=c.lost, confirmed=c.confirmed,
                         jams=c.jams, estops=c.estops)
        sync = self.uplink.stats()
        if sync is not None:
            stats.update(outbox_backlog=sync.backlog, outbox_oldest_s=sync.oldest_undelivered_age_s)
        shadow = self.models.current().shadow
        if shadow is not None:
            stats["shadow"] = shadow.comparison.report()
        return stats


def disk_health(disk: DiskState, min_free_mb: int, language: str = DEFAULT_LANGUAGE) -> Health:
    """The data folder's free space in the status bar's words, in `language`."""
    if disk.full:
        return Health("disk", Level.ERROR,
                      QT_TRANSLATE_NOOP("Health", "disk full: not taking items").render(language),
                      disk.message(language),
                      {"free_mb": round(disk.free_mb, 1)})
    free_mb = disk.free_mb
    level = Level.OK if free_mb > 2 * min_free_mb else Level.WARNING if free_mb > min_free_mb else Level.ERROR
    detail = "" if level is Level.OK else QT_TRANSLATE_NOOP(
        "Health", "Only {free_mb:.0f} MB free in {folder}; the oldest images are deleted first below "
        "{min_free_mb} MB. Free some space or add a disk.").render(
            language, free_mb=free_mb, folder=str(disk.folder), min_free_mb=min_free_mb)
    summary = QT_TRANSLATE_NOOP("Health", "disk {free_gb:.1f} GB free").render(
        language, free_gb=free_mb / 1000)
    return Health("disk", level, summary, detail, {"free_mb": round(free_mb)})
