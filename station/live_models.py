"""The models the station judges with, swapped whole while it runs.

`ModelSet` is one consistent set — defect model, conformity model, the SKU gallery that
conformity model made, and an optional shadow — frozen, so the inspector takes one at the
start of an item and uses it to the end. `LiveModels` holds the current set and replaces
it when central installs, promotes or rolls back a version (`sync.modelstore`): a new set
is built and checked beside the running one, then swapped in by one assignment; the old
set finishes the item in hand.

Versions central sent live in the model store under the data folder; without one, the
folders of `[models]` are used (the models shipped with the station by default).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from station.config import Config
from station.datalock import file_lock
from station.i18n import DEFAULT_LANGUAGE, QT_TRANSLATE_NOOP
from station.state import Health, Level
from station.verdict import ModelRef
from sync.modelstore import InstalledModel, ModelStore, OfferMode, ShadowComparison, load_public_key
from vision.inference import ConformityModel, DefectModel, Gallery, GalleryError, ModelError

if TYPE_CHECKING:
    from station.demo_line import DemoLine

__all__ = ["LiveModels", "ModelSet", "Shadow", "active_folders", "load_gallery",
            "load_models", "model_dir", "open_model_store"]

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MODEL_NAMES = ("defect", "conformity")


@dataclass(frozen=True)
class Shadow:
    """A candidate defect model from central run beside the active one: compared, never acted on."""

    model: DefectModel
    comparison: ShadowComparison


@dataclass(frozen=True)
class ModelSet:
    """The models one item is judged with; a missing model carries the reason instead."""

    defect: DefectModel | None = None
    defect_error: str | None = None
    conformity: ConformityModel | None = None
    conformity_error: str | None = None
    gallery: Gallery | None = None
    # SKUs whose references could not be carried over to this conformity model (no picture kept).
    references_lost: tuple[str, ...] = ()
    shadow: Shadow | None = None
    language: str = DEFAULT_LANGUAGE  # of the status line ([ui] language)

    def current(self) -> ModelSet:
        """A fixed set is its own source (`inspect`, benchmarks and tests use one)."""
        return self

    def refs(self) -> tuple[ModelRef, ...]:
        """The `models` block of a verdict."""
        return tuple(ModelRef(name=m.info.name, version=m.info.version, sha256=m.info.sha256)
                     for m in (self.defect, self.conformity) if m is not None)

    def health(self) -> Health:
        """What the status bar says of the models."""
        lang = self.language
        problems = [e for e in (self.defect_error, self.conformity_error) if e]
        names = ", ".join(f"{m.name} {m.version}" for m in self.refs())
        summary = (QT_TRANSLATE_NOOP("Health", "models: {names}").render(lang, names=names) if names
                   else QT_TRANSLATE_NOOP("Health", "no models loaded").render(lang))
        if problems:
            return Health("models", Level.ERROR, summary,
                          QT_TRANSLATE_NOOP("Health", "{problems}. Items go to manual review.").render(
                              lang, problems="; ".join(problems)))
        if self.references_lost:
            lost = self.references_lost
            named = ", ".join(lost[:3]) + (", …" if len(lost) > 3 else "")
            return Health("models", Level.WARNING, summary,
                          QT_TRANSLATE_NOOP("Health", "The new conformity model has no reference for these "
                                            "SKUs ({count}): {skus} — enrol them again with `station enroll "
                                            "SKU PICTURE... --crop item`.").render(lang, count=len(lost),
                                                                                 skus=named))
        if self.gallery is None or not self.gallery.skus:
            return Health("models", Level.WARNING, summary,
                          QT_TRANSLATE_NOOP("Health", "No reference images enrolled: items go to manual "
                                            "review until they are. Enrol each SKU with `station enroll SKU "
                                            "PICTURE... --crop item`; items confirmed at the bench add "
                                            "their own.").render(lang))
        return Health("models", Level.OK, summary, "", {"skus_enrolled": len(self.gallery.skus)})


def model_dir(config: Config, path: Path) -> Path:
    """A model folder from the config; a relative one missing beside the config falls back to
    the folder shipped with the station (so the embedded defaults work from any directory)."""
    resolved = config.resolve(path)
    if resolved.exists() or path.is_absolute():
        return resolved
    shipped = PROJECT_ROOT / path
    return shipped if shipped.exists() else resolved


def load_models(config: Config, overrides: Mapping[str, Path] | None = None) -> ModelSet:
    """The defect and conformity models; a model that cannot load carries its reason instead.

    `overrides` names folders that replace the configured ones (versions central installed).
    """
    overrides = overrides or {}
    threads = (config.models.intra_op_threads, config.models.inter_op_threads)
    defect_dir = overrides.get("defect") or model_dir(config, config.models.defect_dir)
    conformity_dir = overrides.get("conformity") or model_dir(config, config.models.conformity_dir)
    defect = conformity = None
    defect_error = conformity_error = None
    try:
        defect = DefectModel.load(defect_dir, *threads)
    except ModelError as exc:
        defect_error = f"defect model not loaded: {exc}"
        logger.error("%s", defect_error)
    try:
        conformity = ConformityModel.load(conformity_dir, *threads)
    except ModelError as exc:
        conformity_error = f"conformity model not loaded: {exc}"
        logger.error("%s", conformity_error)
    return ModelSet(defect, defect_error, conformity, conformity_error, language=config.ui.language)


def load_gallery(
    config: Config, model: ConformityModel, imported: Mapping[str, np.ndarray], demo: DemoLine | None = None,
    save: bool = True,
) -> tuple[Gallery, tuple[str, ...]]:
    """The SKU references: the gallery file (`station enroll`) plus embeddings imported with the
    catalog; on the demo line, its SKUs are enrolled (and saved) when missing.

    A gallery enrolled with another conformity model (central installed a new one) is embedded
    again from its kept pictures, and saved (`save`) when every SKU came through: the file keeps
    the old embeddings of SKUs that had no picture until they are enrolled again. Returned with
    the gallery are those SKUs.
    """
    path = config.in_data_dir(config.models.gallery)
    lost: list[str] = []
    try:
        gallery = Gallery.load(path) if path.is_file() else Gallery(model_sha256=model.info.sha256)
    except GalleryError as exc:
        logger.error("%s; starting with an empty gallery", exc)
        gallery = Gallery(model_sha256=model.info.sha256)
    enrolled = gallery.model_sha256
    # Enrolled with another model: its references are embedded again (changed, to be saved).
    changed = bool(enrolled) and enrolled != model.info.sha256
    carried = (0, 0)
    if changed:
        gallery, lost = gallery.embedded_again(path, model)
        carried = (len(gallery), len(gallery.skus))
    dim = int(model.embed(np.zeros((64, 64, 3), np.uint8)).shape[0])
    for sku, embeddings in imported.items():
        if sku not in gallery.skus and embeddings.shape[1] == dim:
            gallery.add(sku, embeddings)
    if demo is not None and not set(demo.skus) <= set(gallery.skus):
        # No pictures kept: the demo line renders the same ones again for another model.
        for sku, embeddings in demo.enrol(model).items():
            gallery.remove(sku)
            gallery.add(sku, embeddings)
        changed = True
    # A catalog's or the demo line's references stand in for those of the same SKU not carried over.
    lost = [sku for sku in lost if sku not in gallery.skus]
    if carried != (0, 0) or lost:
        logger.warning("gallery %s was enrolled with conformity model %s…: %d references of %d SKUs embedded "
                       "again by %s %s from their pictures%s", path, enrolled[:12], *carried,
                       model.info.name, model.info.version,
                       f"; no picture kept for {', '.join(lost)}: enrol them again" if lost else "")
    # The file keeps what could not be carried over until it is enrolled again.
    if changed and (save or demo is not None) and not lost:
        try:
            gallery.save(path)
        except OSError as exc:
            logger.error("cannot save the gallery to %s (%s): its references are embedded again at each "
                         "start until it can be", path, exc)
    return gallery, tuple(lost)


def active_folders(config: Config) -> dict[str, Path]:
    """The model folders the station runs: per name, the version central installed, else
    `[models]` (`model_dir`). Reads the model store only when central installed something: opening
    it makes its folder, and a command that only reads makes no folder."""
    installed: dict[str, Path] = {}
    if config.in_data_dir(config.sync.model_store_dir).is_dir():
        try:
            store = open_model_store(config)
            installed = {name: m.folder for name in MODEL_NAMES if (m := store.active(name)) is not None}
        except Exception as exc:  # the model store is optional: the configured folders still count
            logger.warning("model store unreadable: %s", exc)
    configured = {"defect": config.models.defect_dir, "conformity": config.models.conformity_dir}
    return {name: installed.get(name) or model_dir(config, configured[name]) for name in MODEL_NAMES}


def _stamp(path: Path) -> tuple[int, int] | None:
    """What tells a changed gallery file: its modification time and size (None: no file)."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def open_model_store(config: Config) -> ModelStore:
    """Versions central sent (`model/offer`), verified against the trusted key."""
    key_file = config.sync.resolved(config.base_dir).trusted_key_file
    try:
        key = load_public_key(key_file) if key_file else None
    except Exception as exc:
        logger.error("trusted key %s unusable (%s): model offers will be refused", key_file, exc)
        key = None
    return ModelStore(config.in_data_dir(config.sync.model_store_dir), key)


class LiveModels:
    """The current `ModelSet`, replaced whole when central changes a version.

    `references` gives the SKU embeddings imported with the catalog (read again at each
    conformity swap: references are bound to the model that made them). `on_swap` is
    called with the new set after every swap (the publisher announces the versions).
    """

    def __init__(
        self,
        config: Config,
        model_store: ModelStore,
        references: Callable[[], Mapping[str, np.ndarray]],
        demo: DemoLine | None = None,
    ) -> None:
        self.config = config
        self.store = model_store
        self._references = references
        self._demo = demo
        self._lock = threading.Lock()  # one swap at a time; readers take `current()` unlocked
        self.on_swap: Callable[[ModelSet], None] | None = None
        self._gallery_stamp: tuple[int, int] | None = None  # the gallery file as last read or written
        self._set = self._with_gallery(load_models(config, self._installed()))

    def current(self) -> ModelSet:
        """The set to judge the next item with."""
        return self._set

    @property
    def defect(self) -> DefectModel | None:
        """The active defect model."""
        return self._set.defect

    @property
    def conformity(self) -> ConformityModel | None:
        """The active conformity model."""
        return self._set.conformity

    def check(self, installed: InstalledModel) -> None:
        """Open an offered version with the station's own loader before it may become active or
        shadow: sha256 and input shape against its manifest, the outputs its task needs, one
        inference on a blank image. Raises ModelError saying what is wrong."""
        threads = (self.config.models.intra_op_threads, self.config.models.inter_op_threads)
        if installed.name == "defect":
            defect = DefectModel.load(installed.folder, *threads)
            defect.predict(np.zeros((defect.spec.height, defect.spec.width, 3), np.uint8))
        else:
            conformity = ConformityModel.load(installed.folder, *threads)
            conformity.embed(np.zeros((conformity.spec.height, conformity.spec.width, 3), np.uint8))

    def installed(self, installed: InstalledModel, mode: OfferMode) -> None:
        """A verified model from central: swap it in whole, or run it in shadow beside the active one."""
        if mode is OfferMode.SHADOW:
            with self._lock:  # the active models stay: nothing to announce
                self._set = dataclasses.replace(self._set, shadow=self._shadow(installed.name, self._set))
        else:
            self.changed(installed.name)

    def changed(self, name: str) -> None:
        """The active version of `name` changed (install, promote, rollback): load it and swap it in.

        Raises RuntimeError when it cannot load; the running model stays (central's reply says so).
        """
        with self._lock:
            fresh = load_models(self.config, self._installed())
            error = fresh.defect_error if name == "defect" else fresh.conformity_error
            if error:
                raise RuntimeError(error)
            if name == "defect":
                new = dataclasses.replace(self._set, defect=fresh.defect, defect_error=None)
            else:
                new = self._with_gallery(dataclasses.replace(self._set, conformity=fresh.conformity,
                                                             conformity_error=None))
            self._swap(dataclasses.replace(new, shadow=self._shadow(name, new)))

    def add_reference(self, sku: str, image: np.ndarray) -> str | None:
        """Enrol one more reference picture of `sku` (BGR, cut to the item) as `station enroll`
        does — picture kept beside the gallery file, embedding added to the file — and judge the
        next items with it: the running set is replaced by one whose gallery has it (the item in
        hand keeps the gallery it started with). Returns the picture's name; None when there is
        no conformity model or the SKU already has this picture. Raises GalleryError when the
        gallery file cannot be read, OSError when it cannot be written and TimeoutError when
        another process holds it too long (nothing is changed)."""
        with self._lock:  # not while a new conformity model's gallery is being built
            models = self._set
            if models.conformity is None or models.gallery is None:
                return None
            path = self.config.in_data_dir(self.config.models.gallery)
            sha = models.conformity.info.sha256
            # `station enroll` may be writing the file, and pruning pictures no reference names.
            with file_lock(path):
                name = Gallery.keep_pictures(path, [image])[0]
                if name in models.gallery.pictures_of(sku):
                    return None
                embedding = models.conformity.embed(image)
                # The file holds only what was enrolled (the live gallery also has the catalog's
                # and the demo's references, which are not the file's to keep).
                on_file = (Gallery.load(path, model_sha256=sha) if path.is_file()
                           else Gallery(model_sha256=sha))
                on_file.add(sku, embedding, [name])
                on_file.save(path)
                self._gallery_stamp = _stamp(path)  # the station's own change: nothing to read again
            live = models.gallery.copy()
            live.add(sku, embedding, [name])
            self._set = dataclasses.replace(models, gallery=live)  # no new versions: nothing to announce
            return name

    def _swap(self, new: ModelSet) -> None:
        self._set = new
        if self.on_swap is not None:
            self.on_swap(new)

    def _installed(self) -> dict[str, Path]:
        found = {}
        for name in MODEL_NAMES:
            active = self.store.active(name)
            if active is not None:
                found[name] = active.folder
        return found

    def _with_gallery(self, models: ModelSet) -> ModelSet:
        if models.conformity is None:
            return dataclasses.replace(models, gallery=None)
        path = self.config.in_data_dir(self.config.models.gallery)
        with file_lock(path, reading=True):  # load_gallery writes only what it can (and logs the rest)
            gallery, lost = load_gallery(self.config, models.conformity, self._references(), self._demo)
            self._gallery_stamp = _stamp(path)
        return dataclasses.replace(models, gallery=gallery, references_lost=lost)

    def reload_gallery_if_changed(self) -> bool:
        """Read the gallery file again when another process changed it (`station enroll` while
        the station runs): the next item is judged with the new references. True when it did;
        a file it cannot read keeps the running gallery (the log and the doctor say why)."""
        path = self.config.in_data_dir(self.config.models.gallery)
        stamp = _stamp(path)
        if stamp == self._gallery_stamp or self._set.conformity is None:
            return False
        with self._lock:
            models = self._set
            try:
                if stamp is None:
                    raise GalleryError(f"{path}: gone")
                with file_lock(path, reading=True):
                    Gallery.load(path)  # readable at all: else keep judging with what runs
                new = self._with_gallery(models)
            except GalleryError as exc:
                self._gallery_stamp = stamp  # said once; a new file is read when it comes
                logger.error("gallery changed on disk but is not usable (%s): the station keeps the "
                             "references it runs with — restore the file or enrol again", exc)
                return False
            except (TimeoutError, OSError) as exc:
                logger.warning("gallery %s changed but could not be read again yet: %s", path, exc)
                return False
            self._set = new  # the same model versions: nothing to announce
        logger.info("gallery %s changed on disk: now %d SKUs, %d references", path,
                    len(new.gallery.skus) if new.gallery else 0, len(new.gallery or []))
        return True

    def _shadow(self, name: str, models: ModelSet) -> Shadow | None:
        """The defect shadow to run beside `models` (a conformity shadow would need its own
        gallery: it is compared offline only)."""
        if name != "defect":
            return models.shadow
        installed = self.store.shadow(name)
        if installed is None:
            return None
        model = DefectModel.load(installed.folder, self.config.models.intra_op_threads,
                                 self.config.models.inter_op_threads)
        active = models.defect.info.version if models.defect else "none"
        return Shadow(model, ShadowComparison(name, active, installed.version))
