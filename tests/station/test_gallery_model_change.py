"""A new conformity model (central installs one, or the config names another) keeps the dock's
references: `station enroll` keeps each reference's picture beside the gallery, the station embeds
them again with the new model at load, and a backup carries the pictures. References enrolled
without a picture are named, in both languages, for enrolment again — and stay in the file."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from station.cli import main
from station.config import load_config
from station.health import Level
from station.live_models import ModelSet, load_gallery
from station.store import Store
from tests.vision.test_inference_runtime import make_conformity_model
from vision.inference import ConformityModel, Gallery


def _pictures(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(3)
    paths = []
    for i, colour in enumerate([(0, 0, 220), (0, 0, 190), (220, 30, 0)]):
        path = tmp_path / f"ref{i}.png"
        image = np.clip(np.array(colour) + rng.integers(0, 30, (40, 40, 3)), 0, 255).astype(np.uint8)
        cv2.imwrite(str(path), image)
        paths.append(str(path))
    return paths


def test_references_enrolled_with_one_model_are_embedded_again_by_the_next(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text('[station]\ndata_dir = "data"\n\n[sync]\nbroker = ""\n', encoding="utf-8")
    config = load_config(config_file)
    old = make_conformity_model(tmp_path / "old", size=8)
    new = make_conformity_model(tmp_path / "new", size=12)
    pictures = _pictures(tmp_path)
    gallery_path = config.in_data_dir(config.models.gallery)
    cfg = ["--config", str(config_file)]
    assert main([*cfg, "enroll", "SKU-RED", *pictures[:2], "--model", str(old)]) == 0
    assert main([*cfg, "enroll", "SKU-BLUE", pictures[2], "--model", str(old)]) == 0
    # Enrolling the same picture again with --replace keeps one file per picture.
    assert main([*cfg, "enroll", "SKU-BLUE", pictures[2], "--model", str(old), "--replace"]) == 0
    capsys.readouterr()
    kept = sorted(Gallery.pictures_folder(gallery_path).glob("*.png"))
    assert len(kept) == 3

    model = ConformityModel.load(new)
    gallery, lost = load_gallery(config, model, {})
    assert lost == () and gallery.model_sha256 == model.info.sha256
    assert gallery.skus == ["SKU-BLUE", "SKU-RED"] and len(gallery) == 3
    # Each reference is now the new model's embedding of the picture enrolled (the same picture
    # the station would have embedded: enroll keeps it as it embedded it).
    for path, sku in zip(pictures, ["SKU-RED", "SKU-RED", "SKU-BLUE"], strict=True):
        match = gallery.match(model.embed(cv2.imread(path)), sku)
        assert match.similarity == pytest.approx(1.0, abs=1e-5) and match.best_sku == sku
    saved = Gallery.load(gallery_path)
    assert saved.model_sha256 == model.info.sha256 and len(saved) == 3
    assert ModelSet(conformity=model, gallery=gallery).health().level is Level.OK
    # No references at all: the status says what that means for the items and the two ways out.
    empty = ModelSet(conformity=model, gallery=None).health()
    assert empty.level is Level.WARNING and "items go to manual review until they are" in empty.detail
    assert "`station enroll SKU PICTURE... --crop item`" in empty.detail
    assert "confirmed at the bench" in empty.detail

    # The backup carries the pictures, and a restore puts them back beside the gallery.
    Store(config.in_data_dir(config.storage.db_path), config.data_dir / "images").close()
    archive = tmp_path / "backup.tar.gz"
    assert main([*cfg, "backup", "--out", str(archive)]) == 0
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {f"data/gallery-pictures/{p.name}" for p in kept} <= names
    restored = tmp_path / "restored"
    assert main([*cfg, "restore", str(archive), "--data-dir", str(restored)]) == 0
    assert sorted(p.name for p in (restored / "gallery-pictures").glob("*.png")) == [p.name for p in kept]
    capsys.readouterr()


def test_references_without_pictures_are_named_and_kept_in_the_file(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text('[station]\ndata_dir = "data"\n\n[sync]\nbroker = ""\n', encoding="utf-8")
    config = load_config(config_file)
    old = ConformityModel.load(make_conformity_model(tmp_path / "old", size=8))
    new = ConformityModel.load(make_conformity_model(tmp_path / "new", size=12))
    pictures = [cv2.imread(p) for p in _pictures(tmp_path)]
    gallery_path = config.in_data_dir(config.models.gallery)
    # A gallery of an earlier version: SKU-OLD's embeddings only, SKU-RED with its pictures.
    gallery = Gallery(model_sha256=old.info.sha256)
    gallery.add("SKU-OLD", old.embed_batch(pictures[2:]))
    gallery.add("SKU-RED", old.embed_batch(pictures[:2]), Gallery.keep_pictures(gallery_path, pictures[:2]))
    gallery.save(gallery_path)
    before = gallery_path.read_bytes()

    again, lost = load_gallery(config, new, {})
    assert lost == ("SKU-OLD",) and again.skus == ["SKU-RED"]
    assert gallery_path.read_bytes() == before  # SKU-OLD's references are not thrown away
    health = ModelSet(conformity=new, gallery=again, references_lost=lost).health()
    assert health.level is Level.WARNING
    assert "no reference for these SKUs (1): SKU-OLD — enrol them again" in health.detail
    french = ModelSet(conformity=new, gallery=again, references_lost=lost, language="fr").health()
    assert "SKU-OLD" in french.detail and "station enroll" in french.detail
    assert french.detail != health.detail
    # Back on the model it was enrolled with, the file is as it was.
    same, none_lost = load_gallery(config, old, {})
    assert none_lost == () and same.skus == ["SKU-OLD", "SKU-RED"] and len(same) == 3


def test_a_gallery_naming_pictures_outside_its_folder_reads_none_of_them(tmp_path: Path) -> None:
    model = ConformityModel.load(make_conformity_model(tmp_path / "m", size=8))
    other = ConformityModel.load(make_conformity_model(tmp_path / "n", size=12))
    outside = tmp_path / "secret.png"
    cv2.imwrite(str(outside), np.zeros((20, 20, 3), np.uint8))
    gallery = Gallery(model_sha256=model.info.sha256)
    gallery.add("SKU-X", model.embed_batch([np.zeros((20, 20, 3), np.uint8)]), [str(outside)])
    path = tmp_path / "g" / "gallery.npz"
    gallery.save(path)
    again, lost = Gallery.load(path).embedded_again(path, other)
    assert lost == ["SKU-X"] and len(again) == 0
    assert json.dumps(lost)  # plain strings, for the log and the status line


def test_doctor_says_whether_the_references_serve_the_conformity_model(tmp_path: Path) -> None:
    from station.doctor import Status, check_gallery

    config_file = tmp_path / "config.toml"
    config_file.write_text('[station]\ndata_dir = "data"\n[camera]\nsource = "device"\n[sync]\nbroker = ""\n',
                           encoding="utf-8")
    config = load_config(config_file)
    old = ConformityModel.load(make_conformity_model(tmp_path / "old", size=8))
    new = ConformityModel.load(make_conformity_model(tmp_path / "new", size=12))
    path = config.in_data_dir(config.models.gallery)

    empty = check_gallery(config, old)
    assert empty.status is Status.WARN and "no SKU references enrolled" in empty.message
    assert "manual review" in empty.message and "station enroll" in empty.fix
    demo = load_config(_write(tmp_path / "demo.toml", '[station]\ndata_dir = "data"\n[sync]\nbroker = ""\n'))
    assert check_gallery(demo, old).status is Status.OK  # the demo line enrols its own at start

    pictures = [cv2.imread(p) for p in _pictures(tmp_path)]
    gallery = Gallery(model_sha256=old.info.sha256)
    gallery.add("SKU-RED", old.embed_batch(pictures[:2]), Gallery.keep_pictures(path, pictures[:2]))
    gallery.save(path)
    same = check_gallery(config, old)
    assert same.status is Status.OK and "1 SKUs, 2 references" in same.message
    carried = check_gallery(config, new)
    assert carried.status is Status.OK and "embeds them again from their pictures" in carried.message

    gallery.add("SKU-OLD", old.embed_batch(pictures[2:]))
    gallery.save(path)
    lost = check_gallery(config, new)
    assert lost.status is Status.WARN
    assert "these SKUs (1) have no picture to embed them again with this one: SKU-OLD" in lost.message
    assert "--replace" in lost.fix

    path.write_bytes(b"not a gallery")
    broken = check_gallery(config, new)
    assert broken.status is Status.WARN and "not a readable gallery" in broken.message
    assert "station enroll" in broken.fix


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_conformity_version_from_central_carries_the_sites_references(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from station.live_models import LiveModels
    from sync.modelstore import ModelStore, OfferMode, sign_offer

    old = make_conformity_model(tmp_path / "old", size=8)
    new = make_conformity_model(tmp_path / "new", size=12)
    config_file = _write(tmp_path / "config.toml",
                         '[station]\ndata_dir = "data"\n[camera]\nsource = "device"\n'
                         f'[models]\nconformity_dir = "{old}"\n[sync]\nbroker = ""\n')
    config = load_config(config_file)
    pictures = _pictures(tmp_path)
    assert main(["--config", str(config_file), "enroll", "SKU-RED", *pictures[:2]]) == 0
    assert main(["--config", str(config_file), "enroll", "SKU-BLUE", pictures[2]]) == 0
    capsys.readouterr()
    key = Ed25519PrivateKey.generate()
    store = ModelStore(tmp_path / "store", key.public_key())
    live = LiveModels(config, store, lambda: {})
    before = live.current()
    assert before.gallery is not None and before.gallery.skus == ["SKU-BLUE", "SKU-RED"]

    onnx = (new / "model.onnx").read_bytes()
    manifest = json.loads((new / "manifest.json").read_text())
    store.install_offer(sign_offer(key, "conformity", "2", onnx, manifest, OfferMode.ACTIVATE), onnx)
    live.changed("conformity")
    after = live.current()
    assert after.conformity is not None and before.conformity is not None
    assert after.conformity.info.sha256 != before.conformity.info.sha256
    assert after.gallery is not None and after.gallery.model_sha256 == after.conformity.info.sha256
    assert after.gallery.skus == ["SKU-BLUE", "SKU-RED"] and after.references_lost == ()
    red = after.gallery.match(after.conformity.embed(cv2.imread(pictures[0])), "SKU-RED")
    assert red.similarity == pytest.approx(1.0, abs=1e-5)
    assert after.health().level is Level.OK


def test_enrolling_after_a_model_change_carries_the_gallery_over_and_keeps_what_cannot_be(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = make_conformity_model(tmp_path / "old", size=8)
    new = make_conformity_model(tmp_path / "new", size=12)
    text = '[station]\ndata_dir = "data"\n[models]\nconformity_dir = "{}"\n[sync]\nbroker = ""\n'
    before = _write(tmp_path / "before.toml", text.format(old))
    after = _write(tmp_path / "after.toml", text.format(new))
    pictures = _pictures(tmp_path)
    assert main(["--config", str(before), "enroll", "SKU-RED", *pictures[:2]]) == 0
    path = load_config(before).in_data_dir(load_config(before).models.gallery)
    gallery = Gallery.load(path)
    old_model = ConformityModel.load(old)
    gallery.add("SKU-OLD", old_model.embed_batch([cv2.imread(pictures[2])]))  # as enrolled before pictures
    gallery.save(path)
    earlier = path.read_bytes()
    capsys.readouterr()

    # The config now names another model: enrolling with it converts the gallery instead of refusing.
    assert main(["--config", str(after), "enroll", "SKU-BLUE", pictures[2], "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["not_carried_over"] == ["SKU-OLD"]
    kept = path.with_name(f"gallery-{old_model.info.sha256[:12]}.npz")
    assert "SKU-OLD" in captured.err and str(kept) in captured.err
    assert kept.read_bytes() == earlier  # nothing thrown away
    model = ConformityModel.load(new)
    now = Gallery.load(path, model.info.sha256)
    assert now.skus == ["SKU-BLUE", "SKU-RED"]
    red = now.match(model.embed(cv2.imread(pictures[0])), "SKU-RED")
    assert red.similarity == pytest.approx(1.0, abs=1e-5)
