"""One item's judgement: codes, item crop, defect and conformity models, the policy.

The `StationInspector` turns a trigger and its frames into a `Verdict` (routing is the
pipeline's business). Each stage stamps its time, so each verdict carries its own
latency breakdown. A stage that fails (no frame, a model error or timeout) does not stop
the item: its failure becomes evidence, and the policy sends the item to manual review.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from calibration.colour import ColourDriftMonitor
from calibration.dimensions import measure_footprint
from calibration.plane import PlaneCalibration
from calibration.quality import Exposure
from calibration.quality import assess as assess_quality
from station.config import PolicyConfig
from station.pipeline import Inspected, Trigger
from station.policy import DimensionsCheck, Evidence, RmaRecord, decide, gtins_read
from station.state import ItemView, Overlay
from station.store.images import FrameImage
from station.verdict import (
    CodeRead,
    ConformityFinding,
    Decision,
    DecisionSource,
    DefectFinding,
    Disposition,
    Grade,
    Inspection,
    ItemInfo,
    Quality,
    Verdict,
    new_verdict_id,
)
from vision.barcode import BarcodeReader, Code, parse_scanner_line
from vision.camera import Frame
from vision.inference import Gallery
from vision.locate import crop_box, locate_item

if TYPE_CHECKING:
    from station.live_models import ModelSet

logger = logging.getLogger(__name__)

Region = tuple[int, int, int, int, float]


class Catalog(Protocol):
    """Read-only lookups the inspector needs (the store's catalog and manifest)."""

    def sku_for_gtin(self, gtin14: str) -> str | None: ...

    def rma_record(self, rma: str) -> RmaRecord | None: ...

    def gtins_of(self, sku: str) -> tuple[str, ...]: ...

    def reference_image(self, sku: str) -> str | None: ...

    def dimensions_mm(self, sku: str) -> tuple[float, float, float] | None: ...


@dataclass(frozen=True)
class Identity:
    """Who is deciding: the station, its site, this run."""

    station_id: str
    site_id: str
    session: str = field(default_factory=lambda: str(uuid.uuid4()))


class ModelSource(Protocol):
    """Where the inspector takes the models of each item from (`LiveModels`, or a fixed `ModelSet`)."""

    def current(self) -> ModelSet: ...


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def _code_read(code: Code) -> CodeRead:
    """A code as the verdict records it (and the policy judges it): format, text, GS1 fields."""
    return CodeRead(format=code.format, text=code.text, gs1=dict(code.gs1) if code.gs1 else None)


class StationInspector:
    """Codes + models + policy for one item."""

    def __init__(
        self,
        identity: Identity,
        reader: BarcodeReader,
        models: ModelSource,
        catalog: Catalog,
        policy: PolicyConfig,
        rma_pattern: str = r"^R-\d{3,}$",
        roi: tuple[int, int, int, int] | None = None,
        model_timeout_ms: float = 500.0,
        jpeg_quality: int | None = None,
        plane: PlaneCalibration | None = None,
        colour_monitor: ColourDriftMonitor | None = None,
    ) -> None:
        self.identity = identity
        self.reader = reader
        self.models = models
        self.catalog = catalog
        self.policy = policy
        self.rma_pattern = re.compile(rma_pattern)
        self.roi = roi
        self.model_timeout_ms = model_timeout_ms
        # The store's JPEG quality: the frame is encoded beside the models, off the record
        # stage (None when labels must be blurred before encoding).
        self.jpeg_quality = jpeg_quality
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codes")
        # From the calibration file: the belt plane (sizes in mm) and the lamp's colour check.
        self.plane = plane
        self.colour_monitor = colour_monitor

    def use_policy(self, policy: PolicyConfig) -> None:
        """Judge the next items with these thresholds (changed by the operator or central)."""
        self.policy = policy

    def use_catalog(self, catalog: Catalog) -> None:
        """Look the next items up in this catalog (rebuilt whole after an import)."""
        self.catalog = catalog

    def warm_up(self, size: tuple[int, int] = (720, 1280)) -> None:
        """Run every stage once on a grey frame, so the first item pays no start-up cost."""
        frame = np.full((*size, 3), 96, np.uint8)
        self.inspect_image(frame, "warm-up", Trigger(source="warm-up"), seq=0)

    # -- the Inspector protocol ----------------------------------------------------------
    def inspect(self, trigger: Trigger, frames: Mapping[str, Frame | None], seq: int) -> Inspected:
        """Judge the item in `frames` (the first camera is the main view)."""
        created = datetime.now(UTC)
        timings: dict[str, float] = {}
        camera, frame = next(iter(frames.items())) if frames else ("camera", None)
        if frame is None:
            evidence = Evidence(camera_error=f"no picture from camera {camera!r}: check the camera status")
            decision = decide(evidence, self.policy)
            item = ItemInfo(controller_item_id=trigger.item_id)
            models = self.models.current()
            verdict = self._verdict(models, seq, item, Inspection(), decision, created, timings)
            return Inspected(verdict, (), ItemView(verdict, None))
        return self.inspect_image(frame.image, camera, trigger, seq, created, timings)

    def overloaded(self, trigger: Trigger, seq: int, reason: str | None = None) -> Inspected:
        """The verdict of an item the station did not inspect (no time for it, or no disk space)."""
        decision = Decision(
            grade=Grade.D,
            disposition=Disposition.MANUAL_REVIEW,
            reasons=(reason or "station overloaded: not inspected, sent to the manual lane",),
            confidence=1.0,
            source=DecisionSource.AUTO,
        )
        now = datetime.now(UTC)
        item = ItemInfo(controller_item_id=trigger.item_id)
        verdict = self._verdict(self.models.current(), seq, item, Inspection(), decision, now, {})
        return Inspected(verdict, (), ItemView(verdict, None))

    # -- the work -------------------------------------------------------------------------
    def inspect_image(
        self,
        image: np.ndarray,
        camera: str,
        trigger: Trigger,
        seq: int,
        created: datetime | None = None,
        timings: dict[str, float] | None = None,
    ) -> Inspected:
        """Judge the item in one BGR image."""
        created = created or datetime.now(UTC)
        timings = {} if timings is None else timings
        models = self.models.current()  # one set for the whole item, even across a swap

        t = time.perf_counter()
        located = locate_item(image)
        if located is not None:
            crop, box = crop_box(image, located.box)
        else:
            crop, box = image, (0, 0, image.shape[1], image.shape[0])
        timings["locate"] = _ms(t)

        # Codes and frame quality on the second core while the models run on this one
        # (zxing, zbar, OpenCV and onnxruntime all release the GIL).
        reading = self._pool.submit(self._read, image, box if located is not None else None, trigger)
        defect, defect_error, heatmap, regions = self._defect(models, crop, box, timings)
        embedding, embed_error = self._embed(models, crop, timings)
        codes, quality, jpeg, read_timings = reading.result()
        timings.update(read_timings)

        # One shape of the codes serves the policy and the verdict, so both see the same GTINs.
        reads = tuple(_code_read(c) for c in codes)
        rma_read = next((c.text for c in reads if self.rma_pattern.match(c.text)), None)
        rma = self.catalog.rma_record(rma_read) if rma_read else None
        observed = next((sku for g in gtins_read(reads) if (sku := self.catalog.sku_for_gtin(g))), None)
        expected = rma.expected_sku if rma else None

        conformity, conformity_error = self._match(models.gallery, embedding, embed_error, expected)

        t = time.perf_counter()
        dimensions = self._dimensions(image, expected or observed)
        camera_error = self._colour_drift(image)
        timings["calibration"] = _ms(t)

        t = time.perf_counter()
        evidence = Evidence(
            codes=reads,
            rma_read=rma_read,
            rma=rma,
            observed_sku=observed,
            expected_gtins=self.catalog.gtins_of(expected) if expected else (),
            defect=defect,
            defect_error=defect_error,
            conformity=conformity,
            conformity_error=conformity_error,
            quality=quality,
            item_box=tuple(float(v) for v in box) if located is not None else None,  # type: ignore[arg-type]
            frame_size=(image.shape[1], image.shape[0]),
            dimensions=dimensions,
            camera_error=camera_error,
            empty=located is None,
        )
        decision = decide(evidence, self.policy)
        timings["policy"] = _ms(t)

        item = ItemInfo(
            controller_item_id=trigger.item_id,
            rma=rma_read,
            codes=reads,
            expected_sku=expected,
            observed_sku=observed,
            declared_reason=rma.declared_reason if rma else None,
        )
        inspection = Inspection(
            defect=defect,
            conformity=conformity,
            # The store fills `images` with the digests of the files it writes.
            quality=quality,
        )
        verdict = self._verdict(models, seq, item, inspection, decision, created, timings)
        overlay = Overlay(
            codes=tuple((c.text, c.quad) for c in codes),
            regions=regions,
            heatmap=heatmap,
            item_box=box if located is not None else None,
            roi=self.roi,
        )
        shown_sku = expected or observed
        view = ItemView(
            verdict=verdict,
            frame=image,
            overlay=overlay,
            reference_image=self.catalog.reference_image(shown_sku) if shown_sku else None,
        )
        frame = FrameImage(camera, image, code_quads=tuple(c.quad for c in codes if c.located), jpeg=jpeg)
        return Inspected(verdict, (frame,), view)

    def _dimensions(self, image: np.ndarray, sku: str | None) -> DimensionsCheck | None:
        """The item's footprint on the calibrated belt against the catalog's size."""
        if self.plane is None or sku is None:
            return None
        expected = self.catalog.dimensions_mm(sku)
        if expected is None:
            return None
        footprint = measure_footprint(image, self.plane)
        if footprint is None:
            return None  # nothing item-sized on the plane: `empty` already says so
        return DimensionsCheck((footprint.length_mm, footprint.width_mm), expected[:2])

    def _colour_drift(self, image: np.ndarray) -> str | None:
        """Every N items the grey reference is read again; a lamp that drifted too far sends
        items to manual review until someone looks."""
        monitor = self.colour_monitor
        if monitor is None:
            return None
        check = monitor.item_done(image)
        if check is not None and check.status.value != "ok":
            logger.warning("colour reference: %s", check.message)
        return f"colour reference drifted: {check.message if check else 'recalibrate colour'}" \
            if monitor.manual_review else None

    def _defect(
        self, models: ModelSet, crop: np.ndarray, box: tuple[int, int, int, int], timings: dict[str, float]
    ) -> tuple[DefectFinding | None, str | None, np.ndarray | None, tuple[Region, ...]]:
        model = models.defect
        if model is None:
            return None, models.defect_error or "no defect model loaded", None, ()
        t = time.perf_counter()
        try:
            result = model.predict(crop)
        except Exception as exc:
            logger.exception("defect model failed")
            timings["defect"] = _ms(t)
            return None, f"defect model failed: {exc}", None, ()
        timings["defect"] = _ms(t)
        shadow = models.shadow
        if shadow is not None:
            try:
                shadow.comparison.record(result.label, shadow.model.predict(crop).label)
            except Exception:
                logger.exception("shadow defect model failed (the active model's result stands)")
        if timings["defect"] > self.model_timeout_ms:
            return None, f"defect model too slow ({timings['defect']:.0f} ms)", None, ()
        x0, y0 = box[0], box[1]
        regions = tuple(
            (int(x + x0), int(y + y0), int(w), int(h), float(s)) for x, y, w, h, s in result.regions
        )
        finding = DefectFinding(
            score=float(result.score),
            label=result.label,
            probs={k: float(v) for k, v in result.probs.items()},
            regions=regions,
        )
        return finding, None, result.heatmap, regions

    def _read(
        self, image: np.ndarray, box: tuple[int, int, int, int] | None, trigger: Trigger
    ) -> tuple[list[Code], Quality, bytes | None, dict[str, float]]:
        """Frame quality, the codes (camera and hand scanner) and the stored JPEG of one item."""
        timings: dict[str, float] = {}
        t = time.perf_counter()
        assessed = assess_quality(image)
        exposure_ok = assessed.exposure is Exposure.OK
        quality = Quality(sharpness=round(assessed.sharpness, 2), exposure_ok=exposure_ok)
        timings["quality"] = _ms(t)
        t = time.perf_counter()
        # Codes are on the item: reading its box first is three times cheaper than the
        # frame; the whole frame (or the configured ROI) is read only when the box has none.
        # With no item in view (an empty belt) there is nothing to try harder on: a quick
        # sweep of the frame (see BarcodeReader.read) still finds a label lying flat.
        read = self.reader.read(image, roi=box) if box is not None else None
        if read is None or not read.codes:
            read = self.reader.read(image, roi=self.roi, sweep=box is None)
        codes: list[Code] = list(read.codes)
        for line in trigger.scanned:
            scanned = parse_scanner_line(line)
            # An uncertain scan (bad check digit) is no read: the policy must not trust it.
            if scanned is None or scanned.problem:
                continue
            if all(scanned.identity != c.identity for c in codes):
                codes.append(scanned)
        timings["codes"] = _ms(t)
        jpeg = None
        if self.jpeg_quality is not None:
            t = time.perf_counter()
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            jpeg = encoded.tobytes() if ok else None
            timings["encode"] = _ms(t)
        return codes, quality, jpeg, timings

    def _embed(
        self, models: ModelSet, crop: np.ndarray, timings: dict[str, float]
    ) -> tuple[np.ndarray | None, str | None]:
        model, gallery = models.conformity, models.gallery
        if model is None:
            return None, models.conformity_error or "no conformity model loaded"
        if gallery is None or not gallery.skus:
            return None, "no reference images enrolled: run `station enroll`"
        t = time.perf_counter()
        try:
            embedding = model.embed(crop)
        except Exception as exc:
            logger.exception("conformity model failed")
            return None, f"conformity model failed: {exc}"
        finally:
            timings["conformity"] = _ms(t)
        if timings["conformity"] > self.model_timeout_ms:
            return None, f"conformity model too slow ({timings['conformity']:.0f} ms)"
        return embedding, None

    def _match(
        self, gallery: Gallery | None, embedding: np.ndarray | None, error: str | None, expected: str | None
    ) -> tuple[ConformityFinding | None, str | None]:
        if embedding is None or gallery is None:
            return None, error
        result = gallery.match(embedding, expected)
        similarity = result.similarity if result.similarity is not None else result.best_similarity
        return ConformityFinding(
            similarity=float(similarity),
            best_sku=result.best_sku,
            best_similarity=float(result.best_similarity),
        ), None

    def _verdict(
        self,
        models: ModelSet,
        seq: int,
        item: ItemInfo,
        inspection: Inspection,
        decision: Decision,
        created: datetime,
        timings: dict[str, float],
    ) -> Verdict:
        return Verdict(
            verdict_id=new_verdict_id(),
            revision=1,
            station_id=self.identity.station_id,
            site_id=self.identity.site_id,
            session=self.identity.session,
            seq=seq,
            item=item,
            inspection=inspection,
            decision=decision,
            created_at=created,
            decided_at=datetime.now(UTC),
            models=models.refs(),
            timings_ms=dict(timings),
        )


__all__ = ["Catalog", "Identity", "ModelSource", "StationInspector"]
