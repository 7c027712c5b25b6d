"""The demo line: synthetic returns under the synthetic camera, in step with the simulator.

When the simulated controller reports an item at the camera, the camera must show that
item at once, as a real one would. Rendering a returned item can take longer than the
belt leaves, so a render thread works ahead: the demo's items come in a fixed order
(item i of the seed) and are rendered before they are needed. When the belt runs faster
than the renderer, an item already rendered comes round again (counted in `reused`),
so the camera never stalls the line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from models.synthetic import Case, ReturnsGenerator
from station.catalog import CatalogEntry, ManifestEntry
from station.store import Store
from station.verdict import DeclaredReason
from vision.barcode.gs1 import parse_gtin
from vision.camera import Camera, SourceError, SyntheticSource
from vision.inference import ConformityModel
from vision.locate import crop_box, locate_item

logger = logging.getLogger(__name__)


class DemoLine:
    """Which demo item each controller item is, and its frame, rendered ahead of time."""

    def __init__(self, seed: int = 7, lookahead: int = 8, pool: int = 16,
                 views: tuple[str, ...] = ("top",)) -> None:
        self.generator = ReturnsGenerator(seed=seed)
        self.seed = seed
        # The faces the demo's cameras see, named after them ("top", "left", ...): damage is placed
        # on any of them, so a side camera has something to find.
        self.views = views
        self.lookahead = lookahead
        self.pool = pool
        self.reused = 0
        self._next = 0  # the next fresh demo item to show (= fresh items handed out)
        self._cond = threading.Condition()
        self._frames: dict[int, dict[str, np.ndarray]] = {}
        self._by_item: dict[int, int] = {}
        self._rendered = 0  # demo items rendered so far
        self._bench_tag = 0  # the last tag `show_next` gave
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._render_ahead, name="demo-render", daemon=True)
        self._background = self.generator.scene.background(np.random.default_rng(seed))

    def start(self) -> None:
        """Start rendering ahead."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the render thread."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def wait_ready(self, count: int, timeout: float) -> bool:
        """Wait until `count` items are rendered (call before the belt starts)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._rendered >= count, timeout)

    def assign(self, item_id: int) -> int:
        """Controller item `item_id` is the next demo item (or a rendered one again); returns its index."""
        with self._cond:
            if self._next < self._rendered or not self._frames:
                index = self._next
                self._next += 1
            else:
                # The renderer is behind: show an item it has already rendered.
                rendered = sorted(self._frames)
                index = rendered[self.reused % len(rendered)]
                self.reused += 1
            self._by_item[item_id] = index
            if len(self._by_item) > 1000:
                self._by_item.pop(next(iter(self._by_item)))
            self._cond.notify_all()
        return index

    def show(self, camera: Camera, item_id: int) -> None:
        """Put demo item `item_id` under `camera` (when it is the synthetic camera this line renders for)."""
        self.show_all({camera.name: camera}, item_id)

    def show_all(
        self, cameras: Mapping[str, Camera], item_id: int, delays: Mapping[str, float] | None = None
    ) -> None:
        """Put demo item `item_id` under every synthetic camera, each when the item reaches it (`delays`)."""
        self.assign(item_id)
        for name, camera in cameras.items():
            source = camera.source
            if not isinstance(source, SyntheticSource):
                continue
            delay = (delays or {}).get(name, 0.0)
            if delay > 0:
                timer = threading.Timer(delay, source.present, (item_id,))
                timer.daemon = True
                timer.start()
            else:
                source.present(item_id)

    def show_next(self, cameras: Mapping[str, Camera]) -> None:
        """The demo bench: put the next demo item under the cameras (tags below zero: no controller id)."""
        self._bench_tag -= 1
        self.show_all(cameras, self._bench_tag)

    def renderer(self, view: str) -> Callable[[int | None], np.ndarray]:
        """What the synthetic camera seeing face `view` renders for a tag."""
        if view not in self.views:
            raise SourceError(f"the demo line renders the views {', '.join(self.views)}, not {view!r}: "
                              "name synthetic cameras after the face they see")
        return lambda item_id: self.frame(item_id, view)

    def frame(self, item_id: int | None, view: str = "top", timeout: float = 5.0) -> np.ndarray:
        """What the camera on face `view` sees: the empty belt, or the frame of controller item `item_id`."""
        if item_id is None:
            return self._background
        with self._cond:
            index = self._by_item.get(item_id)
            if index is None:
                return self._background
            ready = self._cond.wait_for(lambda: index in self._frames or self._stop.is_set(), timeout)
            if not ready or index not in self._frames:
                logger.warning("demo frame of item %s not ready in %.1f s", item_id, timeout)
                return self._background
            return self._frames[index][view]

    def _render_ahead(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait_for(lambda: self._rendered < self._next + self.lookahead
                                    or self._stop.is_set())
                if self._stop.is_set():
                    return
                index = self._rendered
            if self.views == ("top",):
                frames = {"top": self.generator.generate(index).frame_bgr}
            else:
                rendered = self.generator.generate_views(index, self.views, faces=self.views)
                frames = {view: item.frame_bgr for view, item in rendered.items()}
            with self._cond:
                self._frames[index] = frames
                self._rendered += 1
                while len(self._frames) > self.pool:
                    del self._frames[min(self._frames)]
                self._cond.notify_all()

    # -- seeding the station's database -------------------------------------------------
    def seed_store(self, store: Store, rmas: int = 5000) -> None:
        """Load the demo catalog and the RMAs of the first `rmas` items into an empty database."""
        if store.catalog_rows():
            return
        catalog = self.generator.catalog
        entries = []
        for sku in catalog:
            ref = catalog.reference_path(sku)
            a, b, c = sorted((sku.length_mm, sku.width_mm, sku.height_mm), reverse=True)
            entries.append(CatalogEntry(sku=sku.sku, name=sku.name, gtins=(parse_gtin(sku.gtin),),
                                        dimensions_mm=(a, b, c), reference_image=str(ref) if ref else None))
        store.upsert_catalog(entries, actor="demo")
        manifest = [
            ManifestEntry(m.rma, m.sku, DeclaredReason(m.declared_reason), m.customer_name,
                          m.customer_address)
            for m in self.generator.manifest_for(rmas)
        ]
        store.upsert_manifest(manifest, actor="demo")
        logger.info("demo catalog: %s SKUs, %s RMAs", len(entries), len(manifest))

    def enrolment_crops(self, per_sku: int = 4) -> Iterator[tuple[str, list[np.ndarray]]]:
        """A few pictures of each SKU on the belt (another seed than the run), cropped as at run time."""
        enrol = ReturnsGenerator(self.generator.catalog, seed=self.seed + 1000)
        crops: dict[str, list[np.ndarray]] = {}
        skus = [s.sku for s in enrol.catalog]
        index = 0
        while any(len(crops.get(s, [])) < per_sku for s in skus) and index < 50 * len(skus) * per_sku:
            plan = enrol.plan(index)
            index += 1
            if plan.case is not Case.GOOD or len(crops.get(plan.expected_sku, [])) >= per_sku:
                continue
            item = enrol.render(plan)
            located = locate_item(item.frame_bgr)
            box = located.box if located is not None else item.bbox
            if box is not None:
                crops.setdefault(plan.expected_sku, []).append(crop_box(item.frame_bgr, box)[0])
        yield from crops.items()

    @property
    def skus(self) -> list[str]:
        """The demo catalog's SKUs."""
        return [s.sku for s in self.generator.catalog]

    def enrol(self, model: ConformityModel, per_sku: int = 4) -> dict[str, np.ndarray]:
        """Reference embeddings of every demo SKU, from pictures of it on the belt."""
        result = {}
        for sku, images in self.enrolment_crops(per_sku):
            result[sku] = np.asarray(model.embed_batch(images))
        logger.info("demo enrolment: %s SKUs, %s pictures each", len(result), per_sku)
        return result
