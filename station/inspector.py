"""One item's judgement: codes, item crop, defect and conformity models, the policy.

The `StationInspector` turns a trigger and its frames into a `Verdict` (routing is the
pipeline's business). Each stage stamps its time, so each verdict carries its own
latency breakdown. A stage that fails (no frame, a model error or timeout) does not stop
the item: its failure becomes evidence, and the policy sends the item to manual review.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
from station.config import CameraConfig, PolicyConfig
from station.pipeline import Inspected, Trigger
from station.policy import DimensionsCheck, Evidence, RmaRecord, decide, gtins_read
from station.state import ItemView, Overlay, ViewShot
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
    ViewFinding,
    new_verdict_id,
)
from vision.barcode import BarcodeReader, Code, parse_scanner_line
from vision.camera import Frame
from vision.inference import Gallery
from vision.locate import item_view

if TYPE_CHECKING:
    from station.live_models import ModelSet

logger = logging.getLogger(__name__)

Region = tuple[int, int, int, int, float]

# What a camera not listed in the config judges: everything.
ALL_CHECKS = frozenset({"codes", "defect", "conformity"})


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


@dataclass(eq=False)
class _Look:
    """What one view of the item gave (filled as the view is judged)."""

    camera: str
    image: np.ndarray
    box: tuple[int, int, int, int]
    located: bool
    crop: np.ndarray  # the item cut out (the whole frame when not found)
    checks: frozenset[str] = ALL_CHECKS
    reading: Future[tuple[list[Code], Quality | None, bytes | None, dict[str, float]]] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    judged_defect: bool = False
    not_found: bool = False  # a camera other than the first did not find the item in its view
    defect: DefectFinding | None = None
    defect_error: str | None = None
    heatmap: np.ndarray | None = None
    regions: tuple[Region, ...] = ()
    embedding: np.ndarray | None = None
    embed_error: str | None = None
    codes: list[Code] = field(default_factory=list)
    quality: Quality | None = None
    jpeg: bytes | None = None

    def overlay(self, roi: tuple[int, int, int, int] | None) -> Overlay:
        """What to draw over this view."""
        return Overlay(
            codes=tuple((c.text, c.quad) for c in self.codes),
            regions=self.regions,
            heatmap=self.heatmap,
            item_box=self.box if self.located else None,
            roi=roi,
        )


def _merge_codes(reads: Iterable[list[Code]]) -> list[Code]:
    """The codes of every view, each once (a label two cameras see is one code)."""
    merged: dict[tuple[str, str], Code] = {}
    for codes in reads:
        for code in codes:
            merged.setdefault(code.identity, code)
    return list(merged.values())


class StationInspector:
    """Codes + models + policy for one item, seen by one camera or several."""

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
        cameras: Mapping[str, CameraConfig] | None = None,
        colour_monitors: Mapping[str, ColourDriftMonitor] | None = None,
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
        # Other cameras calibrated with their own file: their colour reference is checked on their view.
        self.colour_monitors: Mapping[str, ColourDriftMonitor] = dict(colour_monitors or {})
        # Each camera's checks and region of interest, by name (a camera not listed judges everything).
        self.cameras: Mapping[str, CameraConfig] = dict(cameras or {})

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
        """Judge the item in `frames`, one per camera (the first camera's is the main view)."""
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
        images = {name: (f.image if f is not None else None) for name, f in frames.items()}
        return self.inspect_views(images, trigger, seq, created, timings)

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
        return self.inspect_views({camera: image}, trigger, seq, created, timings)

    def inspect_views(
        self,
        images: Mapping[str, np.ndarray | None],
        trigger: Trigger,
        seq: int,
        created: datetime | None = None,
        timings: dict[str, float] | None = None,
    ) -> Inspected:
        """Judge the item in its views, one BGR image per camera (None: that camera gave no picture).

        Every view is located and judged with its camera's checks; codes read on any view count,
        the worst view's damage decides, the best match among the views that see the label says
        which product it is. Sizes and the colour check are the first view's (the calibrated one).
        """
        created = created or datetime.now(UTC)
        timings = {} if timings is None else timings
        models = self.models.current()  # one set for the whole item, even across a swap
        if next(iter(images.values())) is None:
            raise ValueError("the first camera's view is needed to judge an item")
        looks = [self._look(camera, image, trigger if index == 0 else None)
                 for index, (camera, image) in enumerate(images.items()) if image is not None]
        missing = [camera for camera, image in images.items() if image is None]
        # Every view's codes are being read on the second core while this one runs the models.
        for look in looks:
            self._judge(models, look, timings, several=len(images) > 1)
        item, evidence = self._evidence(models.gallery, looks, missing, trigger, timings)
        t = time.perf_counter()
        decision = decide(evidence, self.policy)
        timings["policy"] = _ms(t)
        verdict = self._verdict(models, seq, item, self._inspection(evidence, looks, missing), decision,
                                created, timings)
        return self._inspected(verdict, looks, several=len(images) > 1)

    def _evidence(
        self,
        gallery: Gallery | None,
        looks: Sequence[_Look],
        missing: Sequence[str],
        trigger: Trigger,
        timings: dict[str, float],
    ) -> tuple[ItemInfo, Evidence]:
        """The item as its views show it together: what the verdict records and the policy judges."""
        first = looks[0]
        # One shape of the codes serves the policy and the verdict, so both see the same GTINs.
        reads = tuple(_code_read(c) for c in _merge_codes(look.codes for look in looks))
        rma_read = next((c.text for c in reads if self.rma_pattern.match(c.text)), None)
        rma = self.catalog.rma_record(rma_read) if rma_read else None
        observed = next((sku for g in gtins_read(reads) if (sku := self.catalog.sku_for_gtin(g))), None)
        expected = rma.expected_sku if rma else None

        conformity, conformity_error = self._best_match(gallery, looks, expected)
        judged = [look for look in looks if look.judged_defect]
        defect_error = next((look.defect_error for look in judged if look.defect_error), None)
        worst = max((look for look in judged if look.defect is not None),
                    key=lambda look: look.defect.score if look.defect else 0.0, default=None)
        if not judged:
            defect_error = "no camera is set to look for damage: add \"defect\" to a camera's checks"

        t = time.perf_counter()
        dimensions = self._dimensions(first.image, expected or observed)
        drifted = [self._colour_drift(first.image, self.colour_monitor)]
        drifted += [self._colour_drift(look.image, self.colour_monitors.get(look.camera))
                    for look in looks[1:]]
        camera_error = "; ".join(filter(None, drifted)) or None
        timings["calibration"] = _ms(t)
        if missing:
            camera_error = "; ".join(f"no picture from camera {name!r}: check the camera status"
                                     for name in missing)

        placed = worst or first  # reasons say where the damage is in the view that saw it
        evidence = Evidence(
            codes=reads,
            rma_read=rma_read,
            rma=rma,
            observed_sku=observed,
            expected_gtins=self.catalog.gtins_of(expected) if expected else (),
            defect=worst.defect if worst else None,
            defect_error=defect_error,
            conformity=conformity,
            conformity_error=conformity_error,
            quality=first.quality,
            item_box=tuple(float(v) for v in placed.box) if placed.located else None,  # type: ignore[arg-type]
            frame_size=(placed.image.shape[1], placed.image.shape[0]),
            dimensions=dimensions,
            camera_error=camera_error,
            empty=not any(look.located for look in looks),
        )
        item = ItemInfo(
            controller_item_id=trigger.item_id,
            rma=rma_read,
            codes=reads,
            expected_sku=expected,
            observed_sku=observed,
            declared_reason=rma.declared_reason if rma else None,
        )
        return item, evidence

    @staticmethod
    def _inspection(evidence: Evidence, looks: Sequence[_Look], missing: Sequence[str]) -> Inspection:
        """The verdict's inspection: the deciding findings, and each camera's own when several."""
        views: tuple[ViewFinding, ...] = ()
        if len(looks) + len(missing) > 1:
            views = tuple(ViewFinding(look.camera, look.defect,
                                      "item not found in this view" if look.not_found else look.defect_error)
                          for look in looks)
            views += tuple(ViewFinding(name, None, "no picture from this camera") for name in missing)
        # The store fills `images` with the digests of the files it writes.
        return Inspection(defect=evidence.defect, conformity=evidence.conformity, quality=evidence.quality,
                          views=views)

    def _inspected(self, verdict: Verdict, looks: Sequence[_Look], several: bool) -> Inspected:
        """The verdict with the frames the store keeps and what the operator's screen shows."""
        first = looks[0]
        shots = tuple(ViewShot(look.camera, look.image, look.overlay(self._roi_of(look.camera)))
                      for look in looks)
        shown_sku = verdict.item.expected_sku or verdict.item.observed_sku
        view = ItemView(
            verdict=verdict,
            frame=first.image,
            overlay=shots[0].overlay,
            reference_image=self.catalog.reference_image(shown_sku) if shown_sku else None,
            views=shots if several else (),
        )
        frames = tuple(FrameImage(look.camera, look.image, jpeg=look.jpeg,
                                  code_quads=tuple(c.quad for c in look.codes if c.located))
                       for look in looks)
        return Inspected(verdict, frames, view)

    def _roi_of(self, camera: str) -> tuple[int, int, int, int] | None:
        setup = self.cameras.get(camera)
        return setup.roi_box if setup is not None else self.roi

    def _look(self, camera: str, image: np.ndarray, trigger: Trigger | None) -> _Look:
        """One view found: where the item is, and its codes, frame quality and JPEG started on the
        second core (zxing, zbar, OpenCV and onnxruntime all release the GIL).

        `trigger` is given for the first view only: the hand scanner's codes join that one, and
        the policy judges that frame's quality.
        """
        setup = self.cameras.get(camera)
        checks = frozenset(setup.checks) if setup is not None else ALL_CHECKS
        t = time.perf_counter()
        crop, box, found = item_view(image)
        look = _Look(camera, image, box, found, crop, checks)
        look.timings["locate"] = _ms(t)
        look.reading = self._pool.submit(self._read, image, box if found else None,
                                         trigger.scanned if trigger is not None else (), "codes" in checks,
                                         self._roi_of(camera), trigger is not None)
        # Another camera that does not find the item (a flat pouch seen edge-on from the side) has
        # nothing to judge: its whole frame is belt, and a score on it would be noise.
        look.not_found = trigger is None and not found
        return look

    def _judge(self, models: ModelSet, look: _Look, timings: dict[str, float], several: bool) -> None:
        """The models its camera runs on one view, then its codes (read meanwhile) collected."""
        own = look.timings
        if "defect" in look.checks and not look.not_found:
            look.judged_defect = True
            look.defect, look.defect_error, look.heatmap, look.regions = self._defect(
                models, look.crop, look.box, own)
            if look.defect is not None and several:
                look.defect = dataclasses.replace(look.defect, view=look.camera)
        if "conformity" in look.checks and not look.not_found:
            look.embedding, look.embed_error = self._embed(models, look.crop, own)
        assert look.reading is not None
        look.codes, look.quality, look.jpeg, read_timings = look.reading.result()
        own.update(read_timings)
        for stage, ms in own.items():
            # The verdict's timings: each stage summed over the views, and each view's own when several.
            timings[stage] = round(timings.get(stage, 0.0) + ms, 3)
            if several:
                timings[f"{stage}.{look.camera}"] = ms

    def _best_match(
        self, gallery: Gallery | None, looks: Sequence[_Look], expected: str | None
    ) -> tuple[ConformityFinding | None, str | None]:
        """The product check of the view that matches best (the views that see the label)."""
        found: list[ConformityFinding] = []
        error: str | None = None
        for look in looks:
            if look.embedding is None and look.embed_error is None:
                continue  # this camera does not check the product
            finding, problem = self._match(gallery, look.embedding, look.embed_error, expected)
            if finding is not None:
                found.append(finding)
            error = error or problem
        if found:
            return max(found, key=lambda f: f.similarity), None
        return None, error or "no camera is set to check the product: add \"conformity\" to a camera's checks"

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

    def _colour_drift(self, image: np.ndarray, monitor: ColourDriftMonitor | None) -> str | None:
        """Every N items the grey reference is read again; a lamp that drifted too far sends
        items to manual review until someone looks."""
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
        self,
        image: np.ndarray,
        box: tuple[int, int, int, int] | None,
        scanner_lines: Sequence[str],
        read_codes: bool,
        roi: tuple[int, int, int, int] | None,
        judge_quality: bool = True,
    ) -> tuple[list[Code], Quality | None, bytes | None, dict[str, float]]:
        """Frame quality (when asked), the codes (camera and hand scanner) and the stored JPEG of one view."""
        timings: dict[str, float] = {}
        quality = None
        if judge_quality:
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
        codes: list[Code] = []
        if read_codes:
            read = self.reader.read(image, roi=box) if box is not None else None
            if read is None or not read.codes:
                read = self.reader.read(image, roi=roi, sweep=box is None)
            codes = list(read.codes)
        for line in scanner_lines:
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
