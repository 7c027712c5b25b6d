"""`station enroll SKU IMAGES...`: add reference images of a product to the conformity gallery."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from station.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("enroll", help="enrol reference images of an SKU for the conformity check")
    parser.add_argument("sku", metavar="SKU", type=_sku, help="the product's SKU")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="reference image files")
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


def _sku(text: str) -> str:
    """The SKU argument: a product's SKU, never empty (it names the product in the gallery)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the SKU is empty: give the product's SKU, e.g. SKU-1234")
    return text


def run(args: argparse.Namespace, config: Config) -> int:
    import numpy as np

    from station.commands._outputs import check_file, writing
    from station.live_models import active_folders
    from vision.inference import ConformityModel, Gallery, GalleryError, ModelError
    from vision.inference.runtime import read_bgr
    from vision.locate import item_view

    gallery_path: Path = args.gallery or config.in_data_dir(config.models.gallery)
    # Before the model and the images are read: the gallery is a file this user may write.
    check_file(gallery_path, example="gallery.npz", fix="choose a --gallery file in a folder you may write")
    # The model the station runs: the version central installed, else [models].
    model_dir: Path = args.model or active_folders(config)["conformity"]
    try:
        model = ConformityModel.load(model_dir, config.models.intra_op_threads,
                                     config.models.inter_op_threads)
        gallery = (Gallery.load(gallery_path) if gallery_path.is_file()
                   else Gallery(model_sha256=model.info.sha256))
    except (ModelError, GalleryError) as exc:
        print(f"station enroll: {exc}", file=sys.stderr)
        return 2
    earlier = gallery.model_sha256
    lost: list[str] = []
    if earlier and earlier != model.info.sha256:
        # Enrolled with another model: its references are embedded again from their pictures, as
        # the station does; a copy of the file keeps those of SKUs that have none.
        gallery, lost = gallery.embedded_again(gallery_path, model)
        lost = [sku for sku in lost if sku != args.sku]
    kept = gallery_path.with_name(f"{gallery_path.stem}-{earlier[:12]}{gallery_path.suffix}")
    images = []
    for path in args.images:
        image = read_bgr(path)
        if image is None:
            print(f"station enroll: {path}: not a readable image — nothing was enrolled", file=sys.stderr)
            return 2
        images.append(image)
    if args.crop == "item":
        empty = []
        for i, (path, image) in enumerate(zip(args.images, images, strict=True)):
            images[i], _, located = item_view(image)
            if not located:
                empty.append(str(path))
        if empty:
            print(f"station enroll: no item found in {', '.join(empty)} — with --crop item each picture must "
                  "show the item on the belt or bench as the station's camera sees it (product photos "
                  "without the belt: --crop whole). Nothing was enrolled", file=sys.stderr)
            return 2
    removed = gallery.remove(args.sku) if args.replace else 0
    # The pictures are kept beside the gallery, so a new conformity model embeds the same
    # references again instead of losing them (station.live_models.load_gallery).
    with writing(Gallery.pictures_folder(gallery_path)):
        pictures = Gallery.keep_pictures(gallery_path, images)
    gallery.add(args.sku, np.asarray(model.embed_batch(images)), pictures)
    if lost:
        with writing(kept):
            shutil.copyfile(gallery_path, kept)
    with writing(gallery_path):
        gallery.save(gallery_path)
    gallery.prune_pictures(gallery_path)
    info = {"sku": args.sku, "added": len(images), "removed": removed, "gallery": str(gallery_path),
            "skus": len(gallery.skus), "references": len(gallery), "crop": args.crop}
    if lost:
        info["not_carried_over"] = lost
        print(f"warning: these SKUs were enrolled with another conformity model and have no picture to embed "
              f"them again with this one ({', '.join(lost)}): enrol them again; their earlier references are "
              f"kept in {kept}", file=sys.stderr)
    if args.json:
        print(json.dumps(info))
    else:
        print(f"enrolled {len(images)} image(s) of {args.sku} in {gallery_path} "
              f"({len(gallery.skus)} SKUs, {len(gallery)} references)"
              + (", each cut to the item as the station sees it" if args.crop == "item" else ""))
    return 0
