"""The conformity model (an image embedding) and the per-SKU gallery it is matched against."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vision.inference.runtime import OnnxModel, read_bgr

logger = logging.getLogger(__name__)

# Longest side of a kept reference picture: four times a 160 px model input, so a later model
# with a larger input still has detail to embed, at a few hundred kB of PNG per picture.
PICTURE_SIDE = 640


class GalleryError(Exception):
    """A gallery file that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class ConformityResult:
    """How well an item matches: similarity to the expected SKU (None without one) and the best match."""

    similarity: float | None
    best_sku: str | None
    best_similarity: float

    def to_json(self) -> dict[str, object]:
        """The verdict's `inspection.conformity` object."""
        return {
            "similarity": None if self.similarity is None else round(self.similarity, 6),
            "best_sku": self.best_sku,
            "best_similarity": round(self.best_similarity, 6),
        }


def l2_normalise(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.asarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


class ConformityModel(OnnxModel):
    """Runs an embedding model; output `embedding` (N, D), L2-normalised."""

    task = "conformity"

    def check_outputs(self) -> None:
        self._require_outputs("embedding")

    def embed(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The L2-normalised embedding of one BGR uint8 image."""
        first: npt.NDArray[np.float32] = self.embed_batch([image])[0]
        return first

    def embed_batch(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        """Embeddings (N, D) of several BGR uint8 images."""
        embeddings: npt.NDArray[np.float32] = self.run(self.preprocess(images))["embedding"]
        return l2_normalise(embeddings)


def _fit(image: npt.NDArray[np.uint8], side: int) -> npt.NDArray[np.uint8]:
    """The image shrunk (area-averaged) to at most `side` pixels on its longer side."""
    scale = side / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


class Gallery:
    """Reference embeddings per SKU; an item matches the SKU of its most similar reference."""

    def __init__(self, dim: int | None = None, model_sha256: str = "") -> None:
        self.dim = dim
        self.model_sha256 = model_sha256
        self._skus: list[str] = []
        # Per reference, the file name of its picture in the gallery's pictures folder ("" when the
        # picture was not kept): what lets another model embed the same references again.
        self._pictures: list[str] = []
        self._embeddings: npt.NDArray[np.float32] = np.zeros((0, dim or 0), dtype=np.float32)

    @property
    def skus(self) -> list[str]:
        """The enrolled SKUs, sorted."""
        return sorted(set(self._skus))

    def __len__(self) -> int:
        return len(self._skus)

    def add(self, sku: str, embeddings: npt.NDArray[np.float32], pictures: Sequence[str] = ()) -> None:
        """Enrol reference embeddings (D,) or (N, D) for `sku`; `pictures` names each one's picture
        in `pictures_folder` (see `keep_pictures`), or is empty when none was kept."""
        if not sku:
            raise ValueError("an SKU must be a non-empty string")
        rows = l2_normalise(np.atleast_2d(np.asarray(embeddings, dtype=np.float32)))
        if pictures and len(pictures) != len(rows):
            raise ValueError(f"{len(pictures)} picture names for {len(rows)} embeddings")
        if self.dim is None or len(self._skus) == 0:
            self.dim = int(rows.shape[1]) if self.dim is None else self.dim
            self._embeddings = np.zeros((0, self.dim), dtype=np.float32)
        if rows.shape[1] != self.dim:
            raise ValueError(f"embedding size {rows.shape[1]} differs from the gallery's {self.dim}")
        self._embeddings = np.concatenate([self._embeddings, rows])
        self._skus.extend([sku] * len(rows))
        self._pictures.extend(pictures or [""] * len(rows))

    def remove(self, sku: str, picture: str | None = None) -> int:
        """Forget an SKU's references (only the one(s) of `picture` when given); returns how many
        were removed."""
        keep = np.array([s != sku or (picture is not None and p != picture)
                         for s, p in zip(self._skus, self._pictures, strict=True)], dtype=bool)
        removed = int((~keep).sum())
        self._embeddings = self._embeddings[keep]
        self._pictures = [p for p, k in zip(self._pictures, keep.tolist(), strict=True) if k]
        self._skus = [s for s, k in zip(self._skus, keep.tolist(), strict=True) if k]
        return removed

    def copy(self) -> Gallery:
        """Another gallery with the same references: adding to it leaves this one as it is."""
        twin = Gallery(self.dim, self.model_sha256)
        twin._skus, twin._pictures = list(self._skus), list(self._pictures)
        twin._embeddings = self._embeddings  # never changed in place: `add` and `remove` make new arrays
        return twin

    def pictures_of(self, sku: str) -> set[str]:
        """The names of the kept pictures of an SKU's references (see `keep_pictures`)."""
        return self.pictures_by_sku().get(sku, set())

    def pictures_by_sku(self) -> dict[str, set[str]]:
        """`pictures_of` of every SKU that has kept pictures, in one pass over the references."""
        found: dict[str, set[str]] = {}
        for sku, name in zip(self._skus, self._pictures, strict=True):
            if name:
                found.setdefault(sku, set()).add(name)
        return found

    def similarities(self, embedding: npt.NDArray[np.float32]) -> dict[str, float]:
        """Per SKU, the cosine similarity of its closest reference."""
        if not self._skus:
            return {}
        sims = self._embeddings @ l2_normalise(np.asarray(embedding, dtype=np.float32).reshape(1, -1))[0]
        best: dict[str, float] = {}
        for sku, sim in zip(self._skus, sims.tolist(), strict=True):
            if sim > best.get(sku, -2.0):
                best[sku] = sim
        return best

    def match(self, embedding: npt.NDArray[np.float32], expected_sku: str | None) -> ConformityResult:
        """Similarity to the expected SKU (None if none or not enrolled) and the best-matching SKU."""
        sims = self.similarities(embedding)
        if not sims:
            return ConformityResult(similarity=None, best_sku=None, best_similarity=0.0)
        best_sku = max(sims, key=lambda s: sims[s])
        expected = sims.get(expected_sku) if expected_sku is not None else None
        return ConformityResult(similarity=expected, best_sku=best_sku, best_similarity=sims[best_sku])

    def save(self, path: Path) -> None:
        """Write the gallery to an .npz file (atomically: a crash or an OSError leaves the old file, and
        no temporary file beside it)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        try:
            np.savez(tmp, embeddings=self._embeddings, skus=np.array(self._skus, dtype=str),
                     pictures=np.array(self._pictures, dtype=str), model_sha256=np.array(self.model_sha256))
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, model_sha256: str | None = None) -> Gallery:
        """Read a gallery; refuses one enrolled with a different model than `model_sha256`."""
        path = Path(path)
        if not path.is_file():
            raise GalleryError(f"{path}: gallery not found — enrol products with "
                               "`station enroll SKU PICTURE... --crop item`")
        try:
            with np.load(path, allow_pickle=False) as data:
                embeddings = np.asarray(data["embeddings"], dtype=np.float32)
                skus = [str(s) for s in data["skus"].tolist()]
                sha = str(data["model_sha256"]) if "model_sha256" in data else ""
                # Galleries written before pictures were kept have none.
                pictures = ([str(p) for p in data["pictures"].tolist()] if "pictures" in data
                            else [""] * len(skus))
        except (OSError, KeyError, ValueError) as exc:
            raise GalleryError(f"{path}: not a readable gallery ({exc}) — delete it and enrol again") from exc
        if len(pictures) != len(skus) or (skus and (embeddings.ndim != 2 or len(embeddings) != len(skus))):
            raise GalleryError(f"{path}: not a readable gallery (its references, SKUs and pictures do not "
                               "line up) — delete it and enrol again")
        if model_sha256 is not None and sha and sha != model_sha256:
            raise GalleryError(f"{path}: enrolled with model {sha[:12]}…, the conformity model is now "
                               f"{model_sha256[:12]}… — embeddings are not comparable; enrol the SKUs again")
        gallery = cls(dim=int(embeddings.shape[1]) if embeddings.ndim == 2 else None, model_sha256=sha)
        if skus:
            gallery._embeddings = embeddings
            gallery._skus = skus
            gallery._pictures = pictures
        return gallery

    @staticmethod
    def pictures_folder(path: Path) -> Path:
        """Where the gallery file at `path` keeps its reference pictures: `gallery-pictures/` beside
        `gallery.npz`."""
        path = Path(path)
        return path.with_name(path.stem + "-pictures")

    @staticmethod
    def keep_pictures(path: Path, images: Sequence[npt.NDArray[np.uint8]]) -> list[str]:
        """Write BGR reference pictures into the pictures folder of the gallery at `path` (PNG, at
        most PICTURE_SIDE pixels on the longer side, named by their content's sha256, so the same
        picture is kept once); returns their names."""
        folder = Gallery.pictures_folder(path)
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for image in images:
            ok, encoded = cv2.imencode(".png", _fit(image, PICTURE_SIDE))
            if not ok:
                raise ValueError("a reference picture could not be encoded as PNG")
            data = encoded.tobytes()
            name = hashlib.sha256(data).hexdigest()[:32] + ".png"
            target = folder / name
            if not target.is_file():
                tmp = target.with_name(name + ".tmp")
                try:
                    tmp.write_bytes(data)
                    tmp.replace(target)
                except BaseException:
                    tmp.unlink(missing_ok=True)
                    raise
            names.append(name)
        return names

    def prune_pictures(self, path: Path) -> int:
        """Delete pictures in the gallery's folder that no reference names any more (after
        `remove`); returns how many. Only files named as `keep_pictures` names them are touched."""
        folder = Gallery.pictures_folder(path)
        if not folder.is_dir():
            return 0
        kept = set(self._pictures)
        pruned = 0
        for file in folder.glob("*.png"):
            if len(file.stem) == 32 and file.name not in kept:
                file.unlink(missing_ok=True)
                pruned += 1
        return pruned

    def skus_without_pictures(self, path: Path) -> list[str]:
        """The SKUs none of whose references has its picture in the gallery's folder (at `path`):
        those another conformity model cannot embed again."""
        pictured = {sku for sku, file in self._picture_files(path) if file is not None and file.is_file()}
        return sorted(set(self._skus) - pictured)

    def _picture_files(self, path: Path) -> list[tuple[str, Path | None]]:
        """(SKU, picture file or None) per reference. Only a bare file name counts: a gallery file
        naming a path elsewhere gets nothing read for it."""
        folder = Gallery.pictures_folder(path)
        return [(sku, folder / name if name and Path(name).name == name else None)
                for sku, name in zip(self._skus, self._pictures, strict=True)]

    def embedded_again(self, path: Path, model: ConformityModel) -> tuple[Gallery, list[str]]:
        """This gallery's references embedded by `model` from their kept pictures (the gallery at
        `path` was enrolled with another model); returns it and the SKUs left without any
        reference (enrolled before pictures were kept, or their pictures lost): enrol those again."""
        found: dict[str, tuple[list[str], list[npt.NDArray[np.uint8]]]] = {}
        for sku, file in self._picture_files(path):
            image = read_bgr(file) if file is not None else None
            if file is not None and image is not None:
                names, images = found.setdefault(sku, ([], []))
                names.append(file.name)
                images.append(image)
        again = Gallery(model_sha256=model.info.sha256)
        for sku, (names, images) in sorted(found.items()):
            again.add(sku, model.embed_batch(images), names)
        lost = sorted(set(self.skus) - set(again.skus))
        return again, lost
