"""The station assembled from its config: the composition root.

`Station` builds every part with what it needs, passed in through constructors, and
starts and stops them in order. The parts, and where each concern lives:

- `LiveModels` (live_models.py): the defect and conformity models and the SKU gallery,
  swapped whole when central installs, promotes or rolls back a version;
- `StationInspector` (inspector.py): codes, models and policy for one item;
- `Pipeline` (pipeline.py): trigger → capture → inspect → route → record, three threads;
- devices.py: the camera and its calibration, the conveyor (controller link or simulator),
  the bench triggers;
- `Uplink` (uplink.py): the MQTT publisher of the outbox, central's requests, the demo
  line's local broker and central receiver;
- `HealthMonitor` (health.py): every part's health in plain words, and `stats()`;
- `OperatorActions` (actions.py): what the operator and central ask, audited.

docs/architecture.md draws the threads and queues an item passes through.

On the embedded defaults it is a complete demo line: the synthetic camera renders the
items the simulated controller reports at the camera, the simulator runs on a
pseudo-terminal reached through pyserial, and a local Mosquitto with the reference
central receiver takes the verdicts.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from station.actions import ActionError, OperatorActions
from station.catalog import ManifestEntry
from station.commands.version import versions
from station.config import Config
from station.demo_line import DemoLine
from station.devices import (
    BenchTriggers,
    ConveyorDevice,
    camera_delays,
    load_camera_calibrations,
    open_cameras,
    unused_scanner,
)
from station.diskguard import DiskGuard
from station.health import HealthMonitor
from station.inspector import Identity, StationInspector
from station.live_models import LiveModels, ModelSet, open_model_store
from station.lookup import CatalogLookup
from station.metrics import StationCollector, StationMetrics
from station.options import RunOptions
from station.pipeline import Pipeline
from station.policy import POLICY_RANGES
from station.record_watch import RecordWatch
from station.site_references import SiteReferences
from station.state import ItemView, StationState
from station.store import Store
from station.store.queries import RecordQueries
from station.uplink import Uplink
from station.verdict import DeclaredReason, Verdict
from sync.inbound import InboundHandlers, RmaLine
from vision.barcode import BarcodeReader

__all__ = ["ActionError", "RunOptions", "Station"]

logger = logging.getLogger(__name__)


class Station:
    """Everything `station run` runs, built in `__init__`, started by `start()`."""

    def __init__(self, config: Config, options: RunOptions | None = None) -> None:
        self.config = config
        self.options = options or RunOptions()
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.identity = Identity(config.station.id, config.station.site, str(uuid.uuid4()))
        self.state = StationState(config.ui.recent_items)
        self.state.mode = config.station.mode
        self.store = Store.from_config(config)
        self.db_path = config.in_data_dir(config.storage.db_path)
        self.queries = RecordQueries(self.db_path)  # the window's reads, each on its own connection
        synthetic = tuple(name for name, cam in config.all_cameras.items() if cam.source == "synthetic")
        self.demo = DemoLine(seed=self.options.demo_seed, views=synthetic) if synthetic else None
        if self.demo is not None:
            self.demo.seed_store(self.store)

        model_store = open_model_store(config)
        self.models = LiveModels(config, model_store, self.store.reference_embeddings, self.demo)
        self.inspector = self._inspector()
        self.cameras = open_cameras(config, self.demo, self.state.set_health)
        self.camera = next(iter(self.cameras.values()))  # the first: bench motion, calibration
        delays = camera_delays(config, self.options)
        self.disk = DiskGuard(config.data_dir, config.storage.stop_free_disk_mb)
        self.pipeline = Pipeline(self.inspector, self.store, self.state, self.cameras, delays=delays,
                                 disk=self.disk)
        self.conveyor: ConveyorDevice | None = None
        if config.station.mode == "conveyor":
            demo = self.demo
            show = (lambda item: demo.show_all(self.cameras, item, delays)) if demo is not None else None
            self.conveyor = ConveyorDevice(config.hardware, self.options, self.pipeline,
                                           self.state.set_health, on_item_at_camera=show,
                                           language=config.ui.language)
            self.pipeline.router = self.conveyor.bridge
        self.uplink = Uplink(config, self.identity, InboundHandlers(
            on_manifest=self._on_manifest, on_config_set=self._set_thresholds,
            on_model_installed=self.models.installed, on_model_changed=self.models.changed,
            check_model=self.models.check, config_ranges=POLICY_RANGES,
        ), model_store, stats_source=self.stats, on_health=self.state.set_health, versions=versions())
        bench_demo = self.demo if self.conveyor is None else None
        self.site_references = SiteReferences(
            self.models, self.store, config.in_data_dir(config.models.gallery),
            config.in_data_dir(config.storage.images_dir), config.models.site_references)
        self.actions = OperatorActions(
            self.state, self.store, self.pipeline, self.inspector, config.ui, self.identity.session,
            config_file=Path(config.source) if config.source != "<defaults>" else None,
            on_revision=self.uplink.wake,
            before_bench_trigger=(lambda: bench_demo.show_next(self.cameras)) if bench_demo else None,
            lanes=config.hardware.lanes, on_settled=self.site_references.offer,
        )
        self.bench = None if self.conveyor is not None else BenchTriggers(
            config, self.camera, self.options.headless, on_scan=self.actions.scan,
            on_motion=self.actions.trigger, on_health=self.state.set_health)
        watch = RecordWatch(self.store, self.state, on_revision=self.uplink.wake,
                            on_settled=self.site_references.offer)
        self.monitor = HealthMonitor(self.state, self.pipeline, self.store, self.disk,
                                     config.storage.min_free_disk_mb, self.models, self.uplink, self.conveyor,
                                     record_watch=watch)
        self.metrics = StationMetrics(config.metrics, StationCollector(
            self.identity, self.pipeline, self.cameras, self.models, self.disk, self.uplink, self.conveyor))
        self.models.on_swap = self._models_swapped
        self.pipeline.on_recorded = lambda _verdict: self.uplink.wake()
        # The items decided before this start, as the window showed them: after a restart (a switch of
        # mode, a reboot, the service restarted) the operator finds the ones still to confirm.
        for view in reversed(self._record_views(self.queries.latest(config.ui.recent_items))):
            self.state.add_item(view)
        self._started: list[Callable[[], None]] = []  # the stop of each part started, in order
        self._stopped = False

    def _inspector(self) -> StationInspector:
        config = self.config
        calibrations, lines = load_camera_calibrations(config)
        for line in lines:
            self.state.set_health(line)
        calibration = calibrations[config.camera.name]
        others = {name: c.colour for name, c in calibrations.items()
                  if c.colour is not None and name != config.camera.name}
        reader = BarcodeReader(config.barcode.formats, config.barcode.engines, config.barcode.try_harder,
                               config.barcode.slow_path_budget_ms)
        return StationInspector(
            self.identity, reader, self.models, self._catalog(), config.policy,
            roi=config.camera.roi_box, model_timeout_ms=config.models.timeout_ms,
            jpeg_quality=None if config.storage.blur_labels else config.storage.jpeg_quality,
            plane=calibration.plane, colour_monitor=calibration.colour, cameras=config.all_cameras,
            colour_monitors=others,
        )

    def _catalog(self) -> CatalogLookup:
        return CatalogLookup.from_rows(self.store.catalog_rows(), self.store.manifest_rows())

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Start every part, inputs last; returns at once.

        A part that fails to start (a broker setting the config check could not see, a device
        gone) stops the parts already started before the error goes up: no thread of a station
        that never ran is left going when the process ends.
        """
        try:
            self._start_parts()
        except BaseException:
            self.stop()
            raise

    def _start_parts(self) -> None:
        scanner = unused_scanner(self.config)
        if scanner is not None:
            logger.warning(scanner)
        self.state.set_health(self.models.current().health())
        self.inspector.warm_up((self.config.camera.height, self.config.camera.width))
        if self.demo is not None:
            self.demo.start()
            self._started.append(self.demo.stop)
            self.demo.wait_ready(4, timeout=30.0)
        for part in (*self.cameras.values(), self.pipeline, self.conveyor or self.bench):
            if part is not None:
                part.start()
                self._started.append(part.stop)
        self._started.append(self.site_references.stop)  # its last references written before the store closes
        self._started.append(self.uplink.stop)  # first: it also stops what a failed start began
        self.uplink.start(self.models.current().refs())
        self.monitor.start()
        self._started.append(self.monitor.stop)
        self.metrics.start()  # last: a scrape sees every part running
        self._started.append(self.metrics.stop)
        self.store.audit("station", "start",
                         {"session": self.identity.session, "mode": self.config.station.mode})

    def stop(self) -> None:
        """Stop the parts in the reverse order, commit the items in hand, say goodbye on MQTT."""
        if self._stopped:
            return
        self._stopped = True
        for stop in reversed(self._started):
            try:
                stop()
            except Exception:
                logger.exception("stopping %s failed", stop)
        with contextlib.suppress(Exception):
            self.store.audit("station", "stop", {"session": self.identity.session,
                                                 "recorded": self.pipeline.counters.snapshot()["recorded"]})
        self.store.close()

    def wait_items(self, count: int, timeout_s: float | None = None) -> bool:
        """Block until `count` items were recorded and their routing settled (or timeout / stop).

        On a belt that keeps feeding (a real one: `--items` does not stop it) the belt is never
        empty: there it is enough that `count` items have their routing, and the next ones take
        the controller's default lane as the station stops.
        """
        end = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._stopped:
            counters = self.pipeline.counters.snapshot()
            done = counters["recorded"] + counters["unrecorded"] >= count
            settled = self.conveyor is None or self.conveyor.bridge.tracker.open_items == 0
            if done and settled and self.pipeline.idle():
                return True
            if done and self._belt_keeps_feeding() and counters["routed"] >= count:
                return True
            if end is not None and time.monotonic() > end:
                return False
            time.sleep(0.05)
        return False

    def _belt_keeps_feeding(self) -> bool:
        """A real controller's belt, or the simulator told to feed without end: never empty."""
        conveyor = self.conveyor
        return conveyor is not None and (conveyor.simulator is None or self.options.items is None)

    def search_record(self, text: str) -> list[ItemView]:
        """Past items by RMA, GTIN or code text (latest revision each, newest first), each with the
        catalogue picture of its product as the window shows it for a new item."""
        return self._record_views(self.queries.search(text))

    def _record_views(self, verdicts: list[Verdict]) -> list[ItemView]:
        """Recorded items as the window shows them: the stored picture, the product's catalogue one."""
        catalog = self.inspector.catalog
        views = []
        for verdict in verdicts:
            sku = verdict.item.expected_sku or verdict.item.observed_sku
            picture = catalog.reference_image(sku) if sku else None
            views.append(ItemView(verdict, None, reference_image=picture))
        return views

    def stats(self) -> dict[str, Any]:
        """Counters for the status line, the UI and the MQTT `stats` message."""
        return self.monitor.stats()

    # -- wiring between parts -------------------------------------------------------------
    def _models_swapped(self, models: ModelSet) -> None:
        self.state.set_health(models.health())
        self.uplink.set_models(models.refs())

    def _set_thresholds(self, values: dict[str, float]) -> None:
        self.actions.set_thresholds(values)

    def _on_manifest(self, lines: list[RmaLine]) -> None:
        """Central's manifest lines: stored, then looked up from the next item on."""
        entries = [ManifestEntry(line.rma, line.skus[0],
                                 DeclaredReason(line.declared_reason) if line.declared_reason else None)
                   for line in lines]
        self.store.upsert_manifest(entries, actor="central")
        self.inspector.use_catalog(self._catalog())
