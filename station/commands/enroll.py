"""`station enroll`: the conformity gallery's references.

- `station enroll SKU IMAGE...`: add reference pictures of one product;
- `station enroll --folder DIR`: every product of a `station dataset export` (or of DIR/<SKU>/*);
- `station enroll --forget-item ITEM`: take back the reference the running station enrolled from an
  item (`[models] site_references`) after a wrong confirm.

Each holds the gallery's lock while it reads and writes the file: the station may be adding a
reference from a confirmed item at the same moment, and reads the file again within a second.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from station.config import Config

if TYPE_CHECKING:
    import numpy as np

    from vision.inference import ConformityModel, Gallery


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("enroll", help="enrol reference images of SKUs for the conformity check (one "
                                           "SKU, a dataset export's folder) or take an item's reference back")
    parser.add_argument("sku", metavar="SKU", type=_sku, nargs="?", help="the product's SKU")
    parser.add_argument("images", nargs="*", type=Path, metavar="IMAGE", help="reference image files")
    parser.add_argument("--folder", type=Path, default=None, metavar="DIR",
                        help="enrol every product of DIR/<SKU>/* at once instead of one SKU: the folder "
                             "`station dataset export --out DIR` wrote (the frames of items whose product "
                             "an operator confirmed, SKUs as recorded) or any folder per SKU")
    parser.add_argument("--per-sku", type=_count, default=None, metavar="K",
                        help="with --folder: at most K pictures of each SKU, in file-name order (an "
                             "export's most uncertain items first)")
    parser.add_argument("--forget-item", metavar="ITEM", default=None,
                        help="take back the reference the station enrolled from item ITEM (its verdict "
                             "id; [models] site_references), e.g. after a wrong confirm; it is not enrolled "
                             "again")
    parser.add_argument("--gallery", type=Path, default=None,
                        help="gallery file (default: [models].gallery in the data directory)")
    parser.add_argument("--model", type=Path, default=None,
                        help="conformity model folder (default: [models].conformity_dir)")
    parser.add_argument("--replace", action="store_true", help="forget the SKU's earlier references first")
    parser.add_argument("--crop", choices=["whole", "item"], default="whole",
                        help="'item': cut the item out of each picture as the station does with a camera's "
                             "frame (for frames of this station's cameras: `station cameras test NAME "
                             "--save`, or its stored item images); 'whole' (default): the picture as it is")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=run)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of pictures: give 1 or more, e.g. 3")
    return value


def _sku(text: str) -> str:
    """The SKU argument: a product's SKU, never empty (it names the product in the gallery)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the SKU is empty: give the product's SKU, e.g. SKU-1234")
    return text


def _products(folder: Path, per_sku: int | None) -> list[tuple[str, list[Path]]]:
    """(SKU, pictures) of each product folder under `folder`; raises ValueError saying what to do.
    An export's folder (export.json beside conformity/) gives each folder its SKU as recorded."""
    from vision.camera.sources import IMAGE_SUFFIXES

    root, listing = folder, None
    if (folder / "export.json").is_file():
        root, listing = folder / "conformity", folder / "export.json"
    elif folder.name == "conformity" and (folder.parent / "export.json").is_file():
        listing = folder.parent / "export.json"
    names: dict[str, str] = {}
    if listing is not None:
        try:
            names = json.loads(listing.read_text(encoding="utf-8")).get("sku_folders", {})
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
                raise ValueError
        except (OSError, ValueError, AttributeError):
            raise ValueError(f"{listing}: not the export.json `station dataset export` writes — export "
                             "again, or give the product folders without it") from None
    if not root.is_dir():
        if root != folder:
            raise ValueError(f"{folder}: the export holds no product (no conformity/ folder): no item of it "
                             "had its product confirmed by an operator")
        raise ValueError(f"{folder}: not a folder — give the folder `station dataset export --out DIR` "
                         "wrote, or a folder with one sub-folder of pictures per SKU")
    products = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        pictures = sorted(p for p in sub.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if pictures:
            products.append((names.get(sub.name, sub.name), pictures[:per_sku]))
    if not products:
        raise ValueError(f"{root}: no product folder with pictures — the layout is DIR/<SKU>/*.png, one "
                         "folder per SKU (`station dataset export --out DIR` writes it)")
    return products


def run(args: argparse.Namespace, config: Config) -> int:
    from station.commands._outputs import check_file

    gallery_path: Path = args.gallery or config.in_data_dir(config.models.gallery)
    if args.forget_item is not None:
        if args.sku is not None or args.images or args.folder is not None:
            return _refuse("--forget-item ITEM takes back one item's reference: give it alone")
        check_file(gallery_path, example="gallery.npz", fix="choose the --gallery file the station uses")
        return _locked(gallery_path, lambda: _forget(args.forget_item.strip(), gallery_path, args.json))
    if args.folder is not None and (args.sku is not None or args.images):
        return _refuse("give either SKU IMAGE... or --folder DIR, not both")
    if args.folder is None and args.sku is None:
        return _refuse("give the SKU and its pictures (station enroll SKU IMAGE...) or a folder of products "
                       "(station enroll --folder DIR)")
    if args.folder is None and not args.images:
        return _refuse(f"give at least one picture of {args.sku}: station enroll {args.sku} IMAGE...")
    if args.per_sku is not None and args.folder is None:
        return _refuse("--per-sku goes with --folder DIR; for one SKU, name the pictures to enrol")
    try:
        products = (_products(args.folder, args.per_sku) if args.folder is not None
                    else [(args.sku, list(args.images))])
    except ValueError as exc:
        return _refuse(str(exc))

    # Before the model and the images are read: the gallery is a file this user may write.
    check_file(gallery_path, example="gallery.npz", fix="choose a --gallery file in a folder you may write")
    return _locked(gallery_path, lambda: _enrol(args, config, products, gallery_path))


def _locked(gallery_path: Path, change: Callable[[], int]) -> int:
    """`change()` holding the gallery's lock: the station may be adding a reference from an item
    at the same time."""
    from station.datalock import file_lock

    try:
        with file_lock(gallery_path, timeout_s=60.0):
            return change()
    except TimeoutError as exc:
        return _refuse(str(exc))


class _RefusedError(Exception):
    """Nothing is enrolled; the message says why and what to do."""


@dataclass
class _Pictures:
    """A run's pictures, read (and cut to the item with --crop item), and those left out."""

    chosen: list[tuple[str, list[np.ndarray]]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # --crop item: no item found in them


@dataclass
class _Added:
    """What a run changed in the gallery."""

    per_sku: dict[str, int] = field(default_factory=dict)  # new references of each SKU
    already: int = 0  # pictures the SKU already had (the same export enrolled again)
    removed: int = 0  # references taken out by --replace


def _enrol(args: argparse.Namespace, config: Config, products: list[tuple[str, list[Path]]],
           gallery_path: Path) -> int:
    from station.commands._outputs import writing

    try:
        model, gallery, lost, kept = _model_and_gallery(args, config, gallery_path)
        pictures = _read_pictures(args, products)
    except _RefusedError as exc:
        return _refuse(str(exc))
    # SKUs enrolled with another model, with no picture to embed them again and none given now.
    lost = [sku for sku in lost if sku not in {sku for sku, _ in products}]
    added = _add(model, gallery, gallery_path, pictures.chosen, replace=args.replace)
    if lost:
        with writing(kept):
            shutil.copyfile(gallery_path, kept)
    with writing(gallery_path):
        gallery.save(gallery_path)
    gallery.prune_pictures(gallery_path)
    _report(args, gallery, gallery_path, pictures, added, lost, kept)
    return 0


def _model_and_gallery(args: argparse.Namespace, config: Config,
                       gallery_path: Path) -> tuple[ConformityModel, Gallery, list[str], Path]:
    """The conformity model the station runs (the version central installed, else [models]) and the
    gallery, embedded again with it when it was enrolled with another model; also the SKUs that could
    not be (no picture kept), and the copy of the file that keeps their references."""
    from station.live_models import active_folders
    from vision.inference import ConformityModel, Gallery, GalleryError, ModelError

    model_dir: Path = args.model or active_folders(config)["conformity"]
    try:
        model = ConformityModel.load(model_dir, config.models.intra_op_threads,
                                     config.models.inter_op_threads)
        gallery = (Gallery.load(gallery_path) if gallery_path.is_file()
                   else Gallery(model_sha256=model.info.sha256))
    except (ModelError, GalleryError) as exc:
        raise _RefusedError(str(exc)) from exc
    earlier = gallery.model_sha256
    kept = gallery_path.with_name(f"{gallery_path.stem}-{earlier[:12]}{gallery_path.suffix}")
    lost: list[str] = []
    if earlier and earlier != model.info.sha256:
        # Its references are embedded again from their pictures, as the station does.
        gallery, lost = gallery.embedded_again(gallery_path, model)
    return model, gallery, lost, kept


def _read_pictures(args: argparse.Namespace, products: list[tuple[str, list[Path]]]) -> _Pictures:
    """Every product's pictures, read and cut to the item as the station's camera sees it (--crop item).

    One SKU named on the command line: any picture that cannot be used refuses the whole run.
    A folder (often hundreds of stored frames): such pictures are left out and named.
    """
    from vision.inference.runtime import read_bgr
    from vision.locate import item_view

    strict = args.folder is None
    found = _Pictures()
    for sku, paths in products:
        images = []
        for path in paths:
            image = read_bgr(path)
            if image is None:
                if strict:
                    raise _RefusedError(f"{path}: not a readable image — nothing was enrolled")
                found.unreadable.append(str(path))
                continue
            if args.crop == "item":
                image, _, located = item_view(image)
                if not located:
                    found.empty.append(str(path))
                    continue
            images.append(image)
        if images:
            found.chosen.append((sku, images))
    if found.empty and (strict or not found.chosen):
        more = " …" if len(found.empty) > 5 else ""
        raise _RefusedError(f"no item found in {', '.join(found.empty[:5])}{more} — with --crop item each "
                            "picture must show the item on the belt or bench as the station's camera sees it "
                            "(product photos without the belt: --crop whole). Nothing was enrolled")
    if not found.chosen:
        raise _RefusedError(f"no readable picture in {args.folder} ({', '.join(found.unreadable[:5])}) — "
                            "nothing was enrolled")
    return found


def _add(model: ConformityModel, gallery: Gallery, gallery_path: Path,
         chosen: list[tuple[str, list[np.ndarray]]], replace: bool) -> _Added:
    """Each SKU's new pictures kept beside the gallery, embedded and added (in memory)."""
    import numpy as np

    from station.commands._outputs import writing
    from vision.inference import Gallery

    added = _Added()
    for sku, images in chosen:
        added.removed += gallery.remove(sku) if replace else 0
        # The pictures are kept beside the gallery, so a new conformity model embeds the same
        # references again instead of losing them (station.live_models.load_gallery).
        with writing(Gallery.pictures_folder(gallery_path)):
            pictures = Gallery.keep_pictures(gallery_path, images)
        # A picture the SKU already has (the same export enrolled again) adds nothing.
        known = gallery.pictures_of(sku)
        new = [i for i, name in enumerate(pictures) if name not in known and name not in pictures[:i]]
        added.already += len(pictures) - len(new)
        if new:
            embeddings = np.asarray(model.embed_batch([images[i] for i in new]))
            gallery.add(sku, embeddings, [pictures[i] for i in new])
        added.per_sku[sku] = len(new)
    return added


def _report(args: argparse.Namespace, gallery: Gallery, gallery_path: Path, pictures: _Pictures,
            added: _Added, lost: list[str], kept: Path) -> None:
    """What was enrolled, on stdout (one JSON object with --json); what was left out, on stderr."""
    skipped = pictures.unreadable + pictures.empty
    enrolled = sum(added.per_sku.values())
    info: dict[str, object] = {"added": enrolled, "already_enrolled": added.already, "removed": added.removed,
                               "gallery": str(gallery_path), "skus": len(gallery.skus),
                               "references": len(gallery), "crop": args.crop}
    if args.folder is None:
        info = {"sku": args.sku, **info}
    else:
        info |= {"folder": str(args.folder), "enrolled": added.per_sku, "skipped": skipped}
    if skipped:
        print(f"warning: {len(skipped)} picture(s) left out and left where they are — "
              f"{len(pictures.unreadable)} unreadable, {len(pictures.empty)} with no item found: "
              f"{', '.join(skipped[:5])}" + (" …" if len(skipped) > 5 else ""), file=sys.stderr)
    if lost:
        info["not_carried_over"] = lost
        print(f"warning: these SKUs were enrolled with another conformity model and have no picture to embed "
              f"them again with this one ({', '.join(lost)}): enrol them again; their earlier references are "
              f"kept in {kept}", file=sys.stderr)
    cut = ", each cut to the item as the station sees it" if args.crop == "item" else ""
    cut += f"; {added.already} already enrolled" if added.already else ""
    totals = f"({len(gallery.skus)} SKUs, {len(gallery)} references){cut}"
    if args.json:
        print(json.dumps(info))
    elif args.folder is None:
        print(f"enrolled {added.per_sku[args.sku]} image(s) of {args.sku} in {gallery_path} {totals}")
    else:
        skus = sum(1 for n in added.per_sku.values() if n)
        print(f"enrolled {enrolled} image(s) of {skus} SKU(s) from {args.folder} in {gallery_path} {totals}")


def _forget(item: str, gallery_path: Path, as_json: bool) -> int:
    """Take the site reference(s) enrolled from `item` out of the gallery; the listing keeps the
    entry, marked, so the item is not enrolled again."""
    import time

    from station.site_references import LISTING, read_listing, write_listing
    from vision.inference import Gallery, GalleryError

    listing = gallery_path.with_name(LISTING)
    try:
        entries = read_listing(listing)
        gallery = Gallery.load(gallery_path) if gallery_path.is_file() else None
    except GalleryError as exc:
        return _refuse(str(exc))
    mine = [e for e in entries if e.get("verdict_id") == item and "forgotten_at" not in e]
    if not mine or gallery is None:
        return _refuse(f"no reference from item {item!r} in {gallery_path} — the items the station enrolled "
                       f"are listed in {listing} (\"verdict_id\"); give one of those")
    removed = sum(gallery.remove(str(e.get("sku")), str(e.get("picture"))) for e in mine)
    gallery.save(gallery_path)
    gallery.prune_pictures(gallery_path)
    for entry in mine:
        entry["forgotten_at"] = time.time()
    write_listing(listing, entries)
    skus = sorted({str(e.get("sku")) for e in mine})
    if as_json:
        print(json.dumps({"item": item, "skus": skus, "removed": removed, "gallery": str(gallery_path)}))
    else:
        print(f"took back {removed} reference(s) of {', '.join(skus)} enrolled from item {item}; the running "
              "station reads the gallery again within a second")
    return 0


def _refuse(message: str) -> int:
    print(f"station enroll: {message}", file=sys.stderr)
    return 2
