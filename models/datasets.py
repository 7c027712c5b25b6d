"""Adapters from the data sets on disk to labelled sample lists for training and evaluation.

Layouts understood (docs/models.md "Data layouts", plus the two public sets we measure on):

- defect, project layout: `DIR/good/*` and `DIR/<defect_class>/*`, optional pixel mask
  `<stem>_mask.png` beside an image.
- defect, magnetic-tile layout: `DIR/MT_<Class>/Imgs/<stem>.jpg` with mask `<stem>.png`;
  `MT_Free` is good, the other folders are defect classes (lower-cased, `MT_` dropped).
- conformity, project layout: `DIR/<sku>/*`, one folder per product.
- conformity, GroceryStoreDataset layout: `DIR/train.txt` / `DIR/val.txt` list
  `path, fine_id, coarse_id`; `DIR/classes.csv` names the fine classes.

The held-back evaluation split of a defect folder is a pure function of each file's
relative path (a hash), so training and `station eval` agree on it without sharing a
file list, and adding images never moves an old image across the split.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
GOOD = "good"
# What `station dataset export` writes beside its defect/ and conformity/ folders.
EXPORT_FILE = "export.json"
LAYOUTS = {"defect": "DIR/good/* plus one folder per defect class (or the magnetic tile's MT_* folders)",
           "conformity": "DIR/<sku>/* (one folder per product) or the grocery root with train.txt"}


class Split(Enum):
    """Which part of a data set to use."""

    ALL = "all"
    TRAIN = "train"  # everything but the held-back part (training + its own validation)
    HOLDOUT = "holdout"  # never seen by training; metrics are reported on it


@dataclass(frozen=True)
class Sample:
    """One labelled image; `mask` is a pixel mask (white = defect) when the data set has one."""

    path: Path
    label: str
    mask: Path | None = None
    key: str = ""  # path relative to the data set root, stable across machines


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def is_holdout(key: str, fraction: float) -> bool:
    """Whether the file with relative path `key` belongs to the held-back evaluation split."""
    h = int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big")
    return (h % 10_000) < round(fraction * 10_000)


def _select(samples: Iterable[Sample], split: Split, fraction: float) -> list[Sample]:
    if split is Split.ALL:
        return list(samples)
    want = split is Split.HOLDOUT
    return [s for s in samples if is_holdout(s.key, fraction) == want]


def defect_samples(root: Path, split: Split = Split.ALL, holdout: float = 0.3) -> list[Sample]:
    """Labelled defect images of `root` (either layout); `good` is the ok class."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: data folder not found — give a folder laid out as DIR/good/* and "
                                "DIR/<defect class>/* (or the magnetic-tile MT_* folders)")
    samples: list[Sample] = []
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if any(f.name.startswith("MT_") and (f / "Imgs").is_dir() for f in folders):
        for folder in folders:
            if not folder.name.startswith("MT_"):
                continue
            label = GOOD if folder.name == "MT_Free" else folder.name[3:].lower()
            for image in (folder / "Imgs").glob("*.jpg"):
                mask = image.with_suffix(".png")
                samples.append(Sample(image, label, mask if mask.is_file() else None,
                                      image.relative_to(root).as_posix()))
    else:
        for folder in folders:
            for image in _images(folder):
                if image.stem.endswith("_mask"):
                    continue
                mask = image.with_name(image.stem + "_mask.png")
                samples.append(Sample(image, folder.name, mask if mask.is_file() else None,
                                      image.relative_to(root).as_posix()))
    samples.sort(key=lambda s: s.key)
    if not any(s.label == GOOD for s in samples):
        raise ValueError(f"{root}: no images in a '{GOOD}/' folder (or MT_Free/) — the defect layout is "
                         "DIR/good/* plus one folder per defect class")
    return _select(samples, split, holdout)


def layout_problem(data: Path, task: str) -> str | None:
    """Why `data` is not a data folder of `task` ("defect" or "conformity"), with what to pass instead;
    None when its layout may be one (the sample readers then say what is missing in it).

    Checked before a run so that an export's own folder or the other task's data is refused at once,
    not after a training of the wrong model or with a message naming the wrong layout."""
    data = Path(data)
    if not data.is_dir():
        return None
    if (data / EXPORT_FILE).is_file():
        return (f"{data} is a `station dataset export` folder, which holds one folder per task: pass "
                f"{data / task} as --data")
    folders = {p.name for p in data.iterdir() if p.is_dir()}
    if task == "conformity" and (GOOD in folders or "MT_Free" in folders):
        found = "defect data (a good/ folder beside defect classes)" if GOOD in folders else \
            "the magnetic-tile defect set (MT_* folders)"
        return (f"{data} holds {found}, not products: a conformity model needs a folder laid out as "
                f"{LAYOUTS['conformity']}")
    if task == "defect" and (data / "train.txt").is_file() and (data / "classes.csv").is_file():
        return (f"{data} holds the grocery lists (products, not defects): a defect model needs a folder laid "
                f"out as {LAYOUTS['defect']}")
    return None


def defect_labels(samples: Iterable[Sample]) -> list[str]:
    """The label list of a defect model: "ok" first, then the defect classes sorted."""
    return ["ok", *sorted({s.label for s in samples} - {GOOD})]


def _grocery_list(root: Path, list_name: str) -> list[Sample]:
    names: dict[int, str] = {}
    with (root / "classes.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            names[int(row["Class ID (int)"])] = row["Class Name (str)"].strip()
    samples = []
    for line in (root / list_name).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rel, fine, _coarse = (part.strip() for part in line.split(","))
        samples.append(Sample(root / rel, names[int(fine)], None, rel))
    return samples


def conformity_samples(root: Path, split: Split = Split.ALL) -> list[Sample]:
    """Images labelled by product (SKU). For the grocery layout TRAIN = train.txt, HOLDOUT = val.txt;
    for the folder layout the hash split (20 %) applies."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: data folder not found — give a folder laid out as DIR/<sku>/* "
                                "(one folder per product) or the grocery layout with train.txt")
    if (root / "train.txt").is_file() and (root / "classes.csv").is_file():
        if split is Split.HOLDOUT:
            return _grocery_list(root, "val.txt")
        train = _grocery_list(root, "train.txt")
        return train if split is Split.TRAIN else train + _grocery_list(root, "val.txt")
    samples = [Sample(image, folder.name, None, image.relative_to(root).as_posix())
               for folder in sorted(p for p in root.iterdir() if p.is_dir()) for image in _images(folder)]
    if not samples:
        raise ValueError(f"{root}: no images — the conformity layout is DIR/<sku>/*, one folder per product")
    return _select(samples, split, 0.2)


def grocery_iconic(root: Path) -> list[Sample]:
    """The one catalog ("iconic") image per product of the grocery set."""
    samples = []
    with (Path(root) / "classes.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rel = row["Iconic Image Path (str)"].strip().lstrip("/")
            samples.append(Sample(Path(root) / rel, row["Class Name (str)"].strip(), None, rel))
    return samples
