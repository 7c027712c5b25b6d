"""The station assembled from its config: devices, models, pipeline, store and sync.

`Station` is the composition root. It owns one thread per device (camera capture, the
conveyor link, the MQTT client), the pipeline's two workers, and a monitor that turns
every component's health into plain words for the UI, the status line and `stats`.
It also implements `StationActions`: what the operator asks for goes through here and
is audited.

On the embedded defaults it is a complete demo line: the synthetic camera renders the
items the simulated controller reports at the camera, the simulator runs on a
pseudo-terminal reached through pyserial, and a local Mosquitto with the reference
central receiver takes the verdicts.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from station.config import Config
from station.conveyor import ConveyorBridge
from station.diskguard import DiskGuard
from station.inspector import Identity, LoadedModels, StationInspector
from station.lookup import CatalogueLookup
from station.pipeline import Pipeline, Trigger
from station.policy import POLICY_RANGES, update_policy
from station.state import Health, Level, StationState
from station.store import Store
from station.verdict import Disposition, Verdict
from vision.barcode import BarcodeReader
from vision.camera import Camera, CameraHealth, CameraState, SyntheticSource, open_source
from vision.inference import ConformityModel, DefectModel, Gallery, GalleryError, ModelError

if TYPE_CHECKING:
    from station.demo_line import DemoLine

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ActionError(Exception):
    """An operator action the station refused; the message says why."""


@dataclass(frozen=True)
class RunOptions:
    """How `station run` was asked to run."""

    items: int | None = None  # stop after this many recorded items
    # Simulated belt; None = [hardware].sim_* from the config.
    sim_speed_m_s: float | None = None
    sim_spacing_m: float | None = None
    sim_rate_items_s: float | None = None
    demo_seed: int = 7
    # No window: a keyboard-wedge scanner is read from stdin (the window reads its own keys).
    headless: bool = True


def model_dir(config: Config, path: Path) -> Path:
    """A model folder from the config; a relative one missing beside the config falls back to
    the folder shipped with the station (so the embedded defaults work from any directory)."""
    resolved = config.resolve(path)
    if resolved.exists() or path.is_absolute():
        return resolved
    shipped = PROJECT_ROOT / path
    return shipped if shipped.exists() else resolved


def load_models(config: Config, overrides: dict[str, Path] | None = None) -> LoadedModels:
    """The defect and conformity models; a model that cannot load carries its reason instead.

    `overrides` names folders that replace the configured ones (versions central installed).
    """
    overrides = overrides or {}
    loaded = LoadedModels()
    threads = (config.models.intra_op_threads, config.models.inter_op_threads)
    defect_dir = overrides.get("defect") or model_dir(config, config.models.defect_dir)
    conformity_dir = overrides.get("conformity") or model_dir(config, config.models.conformity_dir)
    try:
        loaded.defect = DefectModel.load(defect_dir, *threads)
    except ModelError as exc:
        loaded.defect_error = f"defect model not loaded: {exc}"
        logger.error("%s", loaded.defect_error)
    try:
        loaded.conformity = ConformityModel.load(conformity_dir, *threads)
    except ModelError as exc:
        loaded.conformity_error = f"conformity model not loaded: {exc}"
        logger.error("%s", loaded.conformity_error)
    return loaded


def load_gallery(
    config: Config, model: ConformityModel, imported: dict[str, np.ndarray], demo: DemoLine | None = None
) -> Gallery:
    """The SKU references: the gallery file (`station enroll`) plus embeddings imported with the
    catalogue; on the demo line, its SKUs are enrolled (and saved) when missing."""
    path = config.in_data_dir(config.models.gallery)
    try:
        gallery = Gallery.load(path, model.info.sha256) if path.is_file() else \
            Gallery(model_sha256=model.info.sha256)
    except GalleryError as exc:
        logger.error("%s; starting with an empty gallery", exc)
        gallery = Gallery(model_sha256=model.info.sha256)
    dim = int(model.embed(np.zeros((64, 64, 3), np.uint8)).shape[0])
    for sku, embeddings in imported.items():
        if sku not in gallery.skus and embeddings.shape[1] == dim:
            gallery.add(sku, embeddings)
    if demo is not None and not set(demo.skus) <= set(gallery.skus):
        for sku, embeddings in demo.enrol(model).items():
            gallery.remove(sku)
            gallery.add(sku, embeddings)
        path.parent.mkdir(parents=True, exist_ok=True)
        gallery.save(path)
    return gallery


class Station:
    """Everything `station run` runs."""

    def __init__(self, config: Config, options: RunOptions | None = None) -> None:
        self.config = config
        self.options = options or RunOptions()
        self.data_dir = config.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.identity = Identity(config.station.id, config.station.site, str(uuid.uuid4()))
        self.state = StationState(config.ui.recent_items)
        self.state.mode = config.station.mode
        self.store = Store.from_config(config)
        self.db_path = config.in_data_dir(config.storage.db_path)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._closers: list[Callable[[], None]] = []
        self.started_at = time.monotonic()
        self._bench_tag = 0

        self.demo: DemoLine | None = None
        if config.camera.source == "synthetic":
            from station.demo_line import DemoLine

            self.demo = DemoLine(seed=self.options.demo_seed)
            self.demo.seed_store(self.store)

        self.model_store = self._model_store()
        self.models = load_models(config, self._installed_models())
        self.models.gallery = self._gallery()
        self.lookup = self._lookup()
        self.reader = BarcodeReader(
            config.barcode.formats, config.barcode.engines, config.barcode.try_harder,
            config.barcode.slow_path_budget_ms,
        )
        roi = config.camera.roi if any(config.camera.roi[2:]) else None
        self.inspector = StationInspector(
            self.identity, self.reader, self.models, self.lookup, config.policy,
            roi=tuple(roi) if roi else None,  # type: ignore[arg-type]
            model_timeout_ms=config.models.timeout_ms,
            jpeg_quality=None if config.storage.blur_labels else config.storage.jpeg_quality,
        )
        self.camera = self._camera()
        self._load_calibration()
        self.bridge: ConveyorBridge | None = None
        self.link: Any = None
        self.simulator: Any = None
        self.disk = DiskGuard(self.data_dir, config.storage.stop_free_disk_mb)
        self.pipeline = Pipeline(self.inspector, self.store, self.state, {self.camera.name: self.camera},
                                 disk=self.disk)
        self.publisher: Any = None
        self.broker: Any = None
        self.central: Any = None

    # -- assembly -----------------------------------------------------------------------
    def _gallery(self) -> Gallery | None:
        """The SKU references (see `load_gallery`)."""
        if self.models.conformity is None:
            return None
        return load_gallery(self.config, self.models.conformity, self.store.reference_embeddings(), self.demo)

    def _model_store(self) -> Any:
        """Versions central sent (`model/offer`), verified against the trusted key."""
        from sync.modelstore import ModelStore, load_public_key

        key_file = self.config.sync.trusted_key_file
        try:
            key = load_public_key(self.config.resolve(Path(key_file))) if key_file else None
        except Exception as exc:
            logger.error("trusted key %s unusable (%s): model offers will be refused", key_file, exc)
            key = None
        return ModelStore(self.config.in_data_dir(self.config.sync.model_store_dir), key)

    def _installed_models(self) -> dict[str, Path]:
        found = {}
        for name in ("defect", "conformity"):
            active = self.model_store.active(name)
            if active is not None:
                found[name] = active.folder
        return found

    def _check_model(self, installed: Any) -> None:
        """Open an offered version with the station's own loader before it may become active or
        shadow: sha256 and input shape against its manifest, the outputs its task needs, one
        inference on a blank image. Raises ModelError saying what is wrong."""
        threads = (self.config.models.intra_op_threads, self.config.models.inter_op_threads)
        if installed.name == "defect":
            defect = DefectModel.load(installed.folder, *threads)
            blank = np.zeros((defect.spec.height, defect.spec.width, 3), np.uint8)
            defect.predict(blank)
        else:
            conformity = ConformityModel.load(installed.folder, *threads)
            blank = np.zeros((conformity.spec.height, conformity.spec.width, 3), np.uint8)
            conformity.embed(blank)

    def _on_model_installed(self, installed: Any, mode: Any) -> None:
        """A verified model from central: swap it in whole, or run it in shadow beside the active one."""
        from sync.modelstore import OfferMode

        if mode is OfferMode.SHADOW:
            self._load_shadow(installed.name)
        else:
            self._on_model_changed(installed.name)

    def _on_model_changed(self, name: str) -> None:
        """The active version of `name` changed (install, promote, rollback): load it and swap it in."""
        fresh = load_models(self.config, self._installed_models())
        error = fresh.defect_error if name == "defect" else fresh.conformity_error
        if error:
            raise RuntimeError(error)  # the inbound reply says so; the running model stays
        if name == "defect":
            self.models.defect = fresh.defect
        else:
            self.models.conformity = fresh.conformity
            self.models.gallery = self._gallery()  # references are bound to the model that made them
        self._load_shadow(name)
        self._report_models()
        if self.publisher is not None:
            self.publisher.set_models(tuple(m.to_json() for m in self.models.refs()))

    def _load_shadow(self, name: str) -> None:
        from sync.modelstore import ShadowComparison

        shadow = self.model_store.shadow(name)
        if name != "defect":
            return  # a conformity shadow would need its own gallery: compared offline only
        if shadow is None:
            self.inspector.shadow_defect = None
            return
        model = DefectModel.load(shadow.folder, self.config.models.intra_op_threads,
                                 self.config.models.inter_op_threads)
        active = self.models.defect.info.version if self.models.defect else "none"
        self.inspector.shadow_defect = (model, ShadowComparison(name, active, shadow.version))

    def _lookup(self) -> CatalogueLookup:
        return CatalogueLookup.from_rows(self.store.catalog_rows(), self.store.manifest_rows())

    def refresh_lookup(self) -> None:
        """Rebuild the catalogue/manifest lookup after an import (swapped in whole)."""
        self.lookup = self._lookup()
        self.inspector.catalogue = self.lookup

    def _camera(self) -> Camera:
        cam = self.config.camera
        render = self.demo.frame if self.demo is not None else None
        source = open_source(cam.source, cam.device, cam.width, cam.height, cam.fps,
                             cam.exposure, cam.focus, name="top", render=render)
        return Camera(source, cam.frozen_after_s, cam.reopen_backoff_s, cam.reopen_backoff_max_s,
                      on_health=self._camera_health)

    def _load_calibration(self) -> None:
        """The camera's calibration: the belt plane (item sizes in mm) and the colour reference."""
        from calibration.colour import ColourDriftMonitor
        from calibration.errors import CalibrationError
        from calibration.files import load_calibration

        cam = self.config.camera
        if cam.source == "synthetic":
            self.state.set_health(Health("calibration", Level.OK, "synthetic camera: no calibration needed",
                                         "", {}))
            return
        path = self.config.resolve(self.config.calibration.file)
        try:
            calibration = load_calibration(path, (cam.width, cam.height), cam.device)
        except CalibrationError as exc:
            self.state.set_health(Health(
                "calibration", Level.WARNING if not path.exists() else Level.ERROR,
                "not calibrated" if not path.exists() else "calibration refused",
                f"{exc}. Item sizes are not checked until `station calibrate` has been run for this camera.",
                {}))
            return
        self.inspector.plane = calibration.plane
        if calibration.colour is not None:
            self.inspector.colour_monitor = ColourDriftMonitor(
                calibration.colour, self.config.calibration.colour_check_every,
                self.config.calibration.colour_tolerance_de)
        parts = [name for name in ("intrinsics", "plane", "colour") if getattr(calibration, name) is not None]
        self.state.set_health(Health("calibration", Level.OK, f"calibrated ({', '.join(parts)})",
                                     "", {"created_at": calibration.created_at}))

    def _submit(self, trigger: Trigger) -> None:
        self.pipeline.submit(trigger)

    def _item_at_camera(self, item_id: int) -> None:
        """The demo camera shows the next demo item when the controller reports one."""
        if self.demo is not None and isinstance(self.camera.source, SyntheticSource):
            self.demo.assign(item_id)
            self.camera.source.present(item_id)

    def _camera_health(self, health: CameraHealth) -> None:
        if health.state is CameraState.LIVE:
            self.state.set_health(Health(f"camera:{health.camera}", Level.OK, f"camera {health.camera} live",
                                         "", {"fps": round(health.fps, 1), "frames": health.frames}))
        elif health.state is CameraState.STOPPED:
            return
        else:
            self.state.set_health(Health(
                f"camera:{health.camera}", Level.ERROR, f"camera {health.camera} {health.state.value}",
                f"{health.detail}. Items go to manual review until it is back; "
                "check the camera's cable and power.",
                {"reopens": health.reopens},
            ))

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Start every thread; returns at once."""
        self._report_models()
        self.inspector.warm_up((self.config.camera.height, self.config.camera.width))
        if self.demo is not None:
            self.demo.start()
            self._closers.append(self.demo.stop)
            self.demo.wait_ready(4, timeout=30.0)
        self.camera.start()
        self._closers.append(self.camera.stop)
        self.pipeline.start()
        self._closers.append(self.pipeline.stop)
        if self.config.station.mode == "conveyor":
            self._start_conveyor()
        else:
            self._start_bench()
        self._start_sync()
        monitor = threading.Thread(target=self._monitor, name="monitor", daemon=True)
        monitor.start()
        self._threads.append(monitor)
        self.store.audit("station", "start", {"session": self.identity.session,
                                              "mode": self.config.station.mode})

    def _start_conveyor(self) -> None:
        from hardware.conveyor import LaneMap
        from hardware.link import ConveyorLink, LinkSettings

        hw = self.config.hardware
        self.bridge = ConveyorBridge(
            LaneMap(hw.lanes), on_trigger=self._submit, on_routed=self.pipeline.routed,
            on_health=self.state.set_health, on_item_at_camera=self._item_at_camera,
            confirm_timeout_s=hw.confirm_timeout_s,
        )
        self.pipeline.router = self.bridge
        port = hw.port
        if port == "sim":
            from hardware.simulator import SimSettings, SimulatorRunner

            opts = self.options
            rate = opts.sim_rate_items_s if opts.sim_rate_items_s is not None else hw.sim_items_per_s
            settings = SimSettings(
                speed_m_s=opts.sim_speed_m_s if opts.sim_speed_m_s is not None else hw.sim_speed_m_s,
                spacing_m=opts.sim_spacing_m if opts.sim_spacing_m is not None else hw.sim_spacing_m,
                rate_items_s=rate or None, items=opts.items,
                camera_pos_m=hw.sim_camera_pos_m, divert_pos_m=hw.sim_divert_pos_m,
                lane_count=max(hw.lanes.values()) + 1, default_lane=hw.lanes.get("manual", 0),
            )
            self.simulator = SimulatorRunner(settings)
            port = self.simulator.start()
            self._closers.append(self.simulator.stop)
        link_settings = LinkSettings(
            port=port, usb_id=hw.usb_id, baudrate=hw.baudrate, heartbeat_ms=hw.heartbeat_ms,
            ack_timeout_ms=hw.ack_timeout_ms, retries=hw.retries,
            reconnect_backoff_s=hw.reconnect_backoff_s, reconnect_backoff_max_s=hw.reconnect_backoff_max_s,
            silence_ms=hw.silence_ms,
        )
        self.link = ConveyorLink(port, link_settings, self.bridge.on_event)
        self.bridge.attach(self.link)
        self.link.start()
        self._closers.append(self.link.stop)

    def _start_bench(self) -> None:
        """Bench mode: a hand scan, a key or an item put down in view triggers an inspection."""
        from station.triggers import MotionTrigger

        port = self.config.barcode.scanner_port
        if port == "keyboard" and self.options.headless and self.config.camera.source != "synthetic":
            # A keyboard-wedge scanner types each code and Enter; headless, that is stdin
            # (the desktop app reads the keys itself).
            reader = threading.Thread(target=self._read_wedge, name="keyboard-wedge", daemon=True)
            reader.start()
        if port and port != "keyboard":
            from hardware.scanner_port import ScannerPort

            scanner = ScannerPort(port, self.scanned, baudrate=self.config.barcode.scanner_baud,
                                  on_error=lambda exc: self.state.set_health(Health(
                                      "scanner", Level.ERROR, "hand scanner not answering",
                                      f"{exc}. Check its cable; scans meanwhile need the T key.", {})))
            scanner.start()
            self._closers.append(scanner.stop)
        if self.config.station.motion_trigger:
            roi = self.config.camera.roi if any(self.config.camera.roi[2:]) else None
            motion = MotionTrigger(self.camera, self.trigger, roi=tuple(roi) if roi else None)  # type: ignore[arg-type]
            motion.start()
            self._closers.append(motion.stop)

    def _read_wedge(self) -> None:
        import sys

        for line in sys.stdin:
            if self._stop.is_set():
                return
            if line.strip():
                self.scanned(line)

    def _start_sync(self) -> None:
        from sync.settings import SyncSettings

        cfg = self.config.sync

        def path_of(name: str) -> Path | None:
            return self.config.resolve(Path(name)) if name else None

        host, port = cfg.broker, cfg.port
        if host == "auto":
            try:
                host, port = self._start_local_broker()
            except Exception as exc:
                logger.warning("no local broker (%s): verdicts wait in the outbox", exc)
                self.state.set_health(Health("mqtt", Level.WARNING, "no broker: verdicts kept in the outbox",
                                             f"{exc}", {}))
                return
        if not host:
            self.state.set_health(Health("mqtt", Level.WARNING, "no broker configured",
                                         "Verdicts wait in the outbox; set [sync].broker to send them.", {}))
            return
        from sync.inbound import Inbound, InboundHandlers
        from sync.publisher import OutboxPublisher

        settings = SyncSettings(
            host=host, port=port, username=cfg.username, password=cfg.password, tls=cfg.tls,
            ca_file=path_of(cfg.ca_file), cert_file=path_of(cfg.cert_file), key_file=path_of(cfg.key_file),
            topic_prefix=cfg.topic_prefix, station_id=self.identity.station_id,
            site_id=self.identity.site_id, session=self.identity.session,
            versions=self._versions(), models=tuple(m.to_json() for m in self.models.refs()),
            ack_timeout_s=cfg.ack_timeout_s, inflight_window=cfg.inflight_window,
            stats_interval_s=cfg.stats_interval_s, reconnect_backoff_max_s=cfg.reconnect_backoff_max_s,
            trusted_key_file=path_of(cfg.trusted_key_file),
        )
        inbound = Inbound(InboundHandlers(
            on_manifest=self._on_manifest, on_config_set=self.set_thresholds,
            on_model_installed=self._on_model_installed, on_model_changed=self._on_model_changed,
            check_model=self._check_model,
            config_ranges=POLICY_RANGES,
        ), model_store=self.model_store, url_allow=cfg.model_url_allow)
        self.publisher = OutboxPublisher(self.db_path, settings, stats_source=self.stats, inbound=inbound)
        self.publisher.start()
        self._closers.append(self.publisher.stop)
        self.pipeline.on_recorded = lambda _v: self.publisher.wake()

    def _start_local_broker(self) -> tuple[str, int]:
        from sync.broker import LocalBroker
        from sync.central import CentralReceiver
        from sync.mqtt import BrokerAddress

        folder = self.data_dir / "mosquitto"
        self.broker = LocalBroker(folder=folder)
        self.broker.start()
        self._closers.append(self.broker.close)
        # The demo line has its own central: the reference receiver, acknowledging each verdict.
        self.central = CentralReceiver(BrokerAddress.parse(self.broker.url()), self.data_dir / "central.db")
        self.central.start()
        self._closers.append(self.central.stop)
        logger.info("local broker %s with the reference central receiver", self.broker.url())
        return self.broker.host, self.broker.port

    def stop(self) -> None:
        """Finish the items in hand, commit them, say goodbye on MQTT, close everything."""
        if self._stop.is_set():
            return
        self._stop.set()
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:
                logger.exception("stopping %s failed", closer)
        for thread in self._threads:
            thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self.store.audit("station", "stop", {"session": self.identity.session,
                                                 "recorded": self.pipeline.counters["recorded"]})
        self.store.close()

    def wait_items(self, count: int, timeout_s: float | None = None) -> bool:
        """Block until `count` items were recorded and their routing settled (or timeout / stop)."""
        end = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._stop.is_set():
            counters = self.pipeline.counters
            done = counters["recorded"] + counters["unrecorded"] >= count
            settled = self.bridge is None or self.bridge.model.open_items == 0
            if done and settled and self.pipeline.idle():
                return True
            if end is not None and time.monotonic() > end:
                return False
            time.sleep(0.05)
        return False

    # -- monitoring ---------------------------------------------------------------------
    def _monitor(self) -> None:
        last_retention = 0.0
        while not self._stop.wait(1.0):
            try:
                if self.bridge is not None:
                    self.bridge.expire()
                    self.state.set_health(self.bridge.health())
                self._report_sync()
                self._report_disk()
                self.state.set_counters(self.stats())
                if time.monotonic() - last_retention > 3600:
                    last_retention = time.monotonic()
                    self.store.apply_retention()
            except Exception:
                logger.exception("monitor failed")

    def _report_models(self) -> None:
        problems = [e for e in (self.models.defect_error, self.models.conformity_error) if e]
        names = ", ".join(f"{m.name} {m.version}" for m in self.models.refs()) or "none"
        if problems:
            self.state.set_health(Health("models", Level.ERROR, f"models: {names}",
                                         "; ".join(problems) + ". Items go to manual review.", {}))
        elif self.models.gallery is None or not self.models.gallery.skus:
            self.state.set_health(Health("models", Level.WARNING, f"models: {names}",
                                         "No reference images enrolled: run `station enroll SKU IMAGES`.",
                                         {}))
        else:
            self.state.set_health(Health("models", Level.OK, f"models: {names}", "",
                                         {"skus_enrolled": len(self.models.gallery.skus)}))

    def _report_sync(self) -> None:
        if self.publisher is None:
            return
        s = self.publisher.stats()
        age = s.oldest_undelivered_age_s
        values = {"backlog": s.backlog, "oldest_s": age, "in_flight": s.in_flight,
                  "delivered": s.delivered_total, "connected": s.connected}
        if not s.connected:
            self.state.set_health(Health(
                "mqtt", Level.ERROR, f"MQTT down, {s.backlog} verdicts waiting",
                f"Cannot reach the broker ({s.last_error or 'no answer'}). Nothing is lost: verdicts wait "
                "in the outbox and are sent when it is back. Check the network or the broker.", values))
        elif age is not None and age > 60:
            self.state.set_health(Health(
                "mqtt", Level.WARNING, f"MQTT connected, {s.backlog} waiting (oldest {age:.0f} s)",
                "Central has not acknowledged these verdicts yet; check the central receiver.", values))
        else:
            summary = f"MQTT connected, {s.backlog} waiting"
            self.state.set_health(Health("mqtt", Level.OK, summary, "", values))

    def _report_disk(self) -> None:
        disk = self.disk.check()
        if self.publisher is not None:
            self.publisher.set_alarm(f"disk full: {disk.message()}" if disk.full else None)
        if disk.full:
            self.state.set_health(Health("disk", Level.ERROR, "disk full: not taking items",
                                         disk.message(),
                                         {"free_mb": round(disk.free_mb, 1)}))
            return
        free_mb = disk.free_mb
        minimum = self.config.storage.min_free_disk_mb
        level = Level.OK if free_mb > 2 * minimum else Level.WARNING if free_mb > minimum else Level.ERROR
        detail = "" if level is Level.OK else (
            f"Only {free_mb:.0f} MB free in {self.data_dir}; the oldest images are deleted first below "
            f"{minimum} MB. Free some space or add a disk.")
        self.state.set_health(Health("disk", level, f"disk {free_mb / 1000:.1f} GB free", detail,
                                     {"free_mb": round(free_mb)}))

    def stats(self) -> dict[str, Any]:
        """Counters for the status line, the UI and the MQTT `stats` message."""
        counts = dict(self.pipeline.counters)
        latencies = sorted(self.pipeline.latencies_ms)
        elapsed_h = max((time.monotonic() - self.started_at) / 3600, 1e-9)
        stats: dict[str, Any] = {
            "items": counts["recorded"],
            "items_per_hour": round(counts["recorded"] / elapsed_h),
            "latency_ms_p50": round(latencies[len(latencies) // 2], 2) if latencies else None,
            "latency_ms_p95": round(latencies[int(len(latencies) * 0.95)], 2) if latencies else None,
            "queues": self.pipeline.queue_depths(),
            "overloaded": counts["overloaded"],
            "record_errors": counts["record_errors"],
            "disk_full": counts["disk_full"],
            "unrecorded": counts["unrecorded"],
            "dispositions": dict(self.pipeline.dispositions),
        }
        if self.bridge is not None:
            c = self.bridge.counters
            stats.update(late=c.late, misrouted=c.misrouted, lost=c.lost, confirmed=c.confirmed,
                         jams=c.jams, estops=c.estops)
        if self.publisher is not None:
            s = self.publisher.stats()
            stats.update(outbox_backlog=s.backlog, outbox_oldest_s=s.oldest_undelivered_age_s)
        if self.inspector.shadow_defect is not None:
            stats["shadow"] = self.inspector.shadow_defect[1].report()
        return stats

    def _versions(self) -> dict[str, Any]:
        from station.commands.version import versions

        return versions()

    # -- inbound ------------------------------------------------------------------------
    def _on_manifest(self, lines: list[Any]) -> None:
        from station.catalog import ManifestEntry
        from station.verdict import DeclaredReason

        entries = [ManifestEntry(line.rma, line.skus[0],
                                 DeclaredReason(line.declared_reason) if line.declared_reason else None)
                   for line in lines]
        self.store.upsert_manifest(entries, actor="central")
        self.refresh_lookup()

    # -- StationActions -----------------------------------------------------------------
    def _operator(self) -> str:
        if not self.state.operator_id:
            raise ActionError("nobody is signed in: sign in with your operator id first")
        return self.state.operator_id

    def sign_in(self, operator_id: str) -> None:
        """Start an operator's shift."""
        operator_id = operator_id.strip()
        if not operator_id:
            raise ActionError("an operator id is needed to sign in")
        self.state.operator_id = operator_id
        self.store.audit(operator_id, "sign_in", {"session": self.identity.session})
        self.state.message.emit(f"signed in as {operator_id}")

    def confirm(self, verdict_id: str) -> None:
        """The operator agrees with the verdict."""
        self.store.confirm(verdict_id, self._operator())
        self.state.message.emit("confirmed")

    def override(
        self, verdict_id: str, disposition: str, reason: str, supervisor_pin: str | None = None
    ) -> None:
        """The operator's own decision, as a new revision (never re-routes)."""
        operator = self._operator()
        try:
            target = Disposition(disposition)
        except ValueError:
            raise ActionError(f"unknown disposition {disposition!r}") from None
        if not reason.strip():
            raise ActionError("an override needs a reason")
        if target.value in self.config.ui.supervisor_required_for:
            pin = self.config.ui.supervisor_pin
            if not pin or supervisor_pin != pin:
                self.store.audit(operator, "override_refused", {"verdict_id": verdict_id, "to": target.value,
                                                                "why": "supervisor PIN missing or wrong"})
                raise ActionError(f"an override to {target.value} needs the supervisor's PIN")
        new = self.store.record_override(verdict_id, target, operator, reason.strip())
        self.state.update_item(new)
        if self.publisher is not None:
            self.publisher.wake()
        self.state.message.emit(f"override saved: {target.value}")

    def needs_supervisor(self, verdict_id: str, note: str) -> None:
        """Flag an item for the supervisor."""
        self.store.audit(self._operator(), "needs_supervisor", {"verdict_id": verdict_id, "note": note})
        self.state.message.emit("flagged for the supervisor")

    def reinspect(self) -> None:
        """Inspect what is under the camera again."""
        self.trigger()

    def trigger(self) -> None:
        """Inspect the item under the camera now (bench mode)."""
        if self.demo is not None and isinstance(self.camera.source, SyntheticSource) and self.bridge is None:
            # The demo bench: the next demo item is put under the camera first.
            self._bench_tag += 1
            self.demo.assign(-self._bench_tag)
            self.camera.source.present(-self._bench_tag)
        self.pipeline.submit(Trigger(source="key"), wait=True)

    def scanned(self, line: str) -> None:
        """A hand scanner read a code: in bench mode it triggers an inspection with it."""
        self.pipeline.submit(Trigger(source="scan", scanned=(line,)))

    def scan(self, text: str) -> None:
        """A code scanned in the window (keyboard-wedge scanner): the same as a scan on the scanner's port."""
        self.scanned(text)

    def set_mode(self, mode: str) -> None:
        """Switch bench/conveyor (takes effect at the next start for the conveyor link)."""
        if mode not in ("bench", "conveyor"):
            raise ActionError(f"unknown mode {mode!r}: bench or conveyor")
        self.state.mode = mode
        self.store.audit(self.state.operator_id or "station", "set_mode", {"mode": mode})

    def set_thresholds(self, values: dict[str, float]) -> None:
        """Change policy thresholds (range-checked); written back to config.toml with a backup."""
        new = update_policy(self.inspector.policy, values)
        self.inspector.policy = new
        self.store.audit(self.state.operator_id or "central", "set_thresholds", values)
        if self.config.source != "<defaults>":
            from station.config_writer import write_policy

            write_policy(Path(self.config.source), values)
        self.state.message.emit("thresholds updated")


def kpi_source(config: Config, window_h: float = 8.0) -> Callable[[], dict[str, Any]]:
    """A function giving the KPI panel's figures, read on its own connection (any thread)."""
    from datetime import UTC, datetime, timedelta

    from station.kpi import compute_kpis
    from station.store import StoreReader

    def read() -> dict[str, Any]:
        since = datetime.now(UTC) - timedelta(hours=window_h)
        with StoreReader(config.in_data_dir(config.storage.db_path)) as reader:
            k = compute_kpis(reader.latest_verdicts(since), since)
        return {
            "window_h": window_h,
            "items_total": k.items,
            "items_per_hour": [[f"{h.start:%H:%M}", sum(h.dispositions.values())] for h in k.hours],
            "dispositions": k.dispositions,
            "override_rate": k.override_rate,
            "latency_ms": {"p50": k.latency_p50_ms, "p95": k.latency_p95_ms},
            "latency_per_hour": [[f"{h.start:%H:%M}", h.latency_p50_ms or 0.0, h.latency_p95_ms or 0.0]
                                 for h in k.hours],
        }

    return read


def history_source(config: Config) -> Callable[[str], list[Verdict]]:
    """A function giving every revision of a verdict, oldest first (any thread)."""
    from station.store import StoreReader

    def read(verdict_id: str) -> list[Verdict]:
        with StoreReader(config.in_data_dir(config.storage.db_path)) as reader:
            return reader.history(verdict_id)

    return read


def search_source(config: Config, limit: int = 50) -> Callable[[str], list[Verdict]]:
    """A function finding past items by RMA, GTIN or code text (latest revision each; any thread)."""
    from station.store import StoreReader

    def read(text: str) -> list[Verdict]:
        with StoreReader(config.in_data_dir(config.storage.db_path)) as reader:
            return reader.recent(limit, search=text)

    return read
