"""`[models] site_references`: an item whose product an operator settled (confirm or override)
gives its stored frame, cut to the item, as a reference of its SKU — on file and in the running
gallery at once — up to the configured number per SKU, audited and listed; nothing else changes."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from station.actions import OperatorActions
from station.config import Config, UiConfig, load_config
from station.live_models import LiveModels, open_model_store
from station.pipeline import Pipeline
from station.site_references import SiteReferences
from station.state import StationState
from station.store import FrameImage, Store
from station.verdict import Disposition, Verdict
from tests.vision.test_inference_runtime import make_conformity_model
from vision.inference import ConformityModel, Gallery
from vision.locate import item_view

RED, BLUE = (20, 20, 210), (210, 60, 20)


def _frame(colour: tuple[int, int, int] | None, x: int = 60) -> np.ndarray:
    """A frame of the station's camera: grey belt and, unless `colour` is None, a box on it."""
    frame = np.full((240, 320, 3), 90, dtype=np.uint8)
    if colour is not None:
        frame[60:180, x:x + 120] = colour
        frame[90:120, x + 20:x + 80] = (240, 240, 240)
    return frame


@dataclasses.dataclass
class Dock:
    config: Config
    store: Store
    models: LiveModels
    refs: SiteReferences
    item: Callable[..., Verdict]

    @property
    def gallery_path(self) -> Path:
        return self.config.in_data_dir(self.config.models.gallery)


@pytest.fixture
def dock(tmp_path: Path, make_verdict: Callable[..., Verdict]) -> Iterator[Dock]:
    """A data directory, the station's LiveModels on a tiny conformity model, site_references = 2."""
    make_conformity_model(tmp_path / "model")
    path = tmp_path / "config.toml"
    path.write_text(f'[station]\ndata_dir = "data"\n[models]\nconformity_dir = "{tmp_path / "model"}"\n'
                    'site_references = 2\n', encoding="utf-8")
    config = load_config(path, env={})
    store = Store.from_config(config)
    models = LiveModels(config, open_model_store(config), lambda: {})
    refs = SiteReferences(models, store, config.in_data_dir(config.models.gallery),
                          config.in_data_dir(config.storage.images_dir), config.models.site_references)
    seq = iter(range(1, 1000))

    def item(sku: str, frame: np.ndarray, **spec: object) -> Verdict:
        verdict = make_verdict(next(seq), **spec)
        verdict = dataclasses.replace(verdict, item=dataclasses.replace(verdict.item, expected_sku=sku,
                                                                        observed_sku=sku))
        return store.record_verdict(verdict, [FrameImage("top", frame)])

    yield Dock(config, store, models, refs, item)
    refs.stop()
    store.close()


def _similarity(dock: Dock, frame: np.ndarray, sku: str) -> float:
    crop, _, found = item_view(frame)
    assert found
    model = dock.models.conformity
    assert isinstance(model, ConformityModel)
    gallery = dock.models.current().gallery
    assert gallery is not None
    similarity = gallery.match(model.embed(crop), sku).similarity
    assert similarity is not None
    return similarity


def test_a_confirmed_item_becomes_a_reference_of_its_sku_on_file_and_live(dock: Dock) -> None:
    first = dock.item("SKU-A", _frame(RED, 60))
    settled = dock.store.confirm(first.verdict_id, "op-1")
    assert dock.models.current().gallery is not None and len(dock.models.current().gallery or []) == 0
    name = dock.refs.enrol(settled)
    assert name is not None
    # Live: the next item is judged with it (the same box matches it up to the stored JPEG's
    # loss; another product does not).
    assert _similarity(dock, _frame(RED, 60), "SKU-A") == pytest.approx(1.0, abs=1e-3)
    assert _similarity(dock, _frame(BLUE, 60), "SKU-A") < 0.99
    # On file, with its picture, as `station enroll` would have written it.
    on_file = Gallery.load(dock.gallery_path)
    assert on_file.skus == ["SKU-A"] and on_file.pictures_of("SKU-A") == {name}
    assert (Gallery.pictures_folder(dock.gallery_path) / name).is_file()
    listing = json.loads(dock.gallery_path.with_name("site-references.json").read_text())["references"]
    assert [(e["sku"], e["picture"], e["verdict_id"]) for e in listing] == [("SKU-A", name, first.verdict_id)]
    audit = dock.store.audit_log(action="site_reference")
    assert len(audit) == 1 and first.verdict_id in str(audit[0].detail)
    # The same item again (an override after the confirm) adds nothing.
    again = dock.store.record_override(first.verdict_id, Disposition.REPAIR, "op-1", "scuffed")
    assert dock.refs.enrol(again) is None


def test_at_most_the_configured_number_per_sku_and_only_what_a_person_settled(dock: Dock) -> None:
    names = [dock.refs.enrol(dock.store.confirm(dock.item("SKU-A", _frame(RED, x)).verdict_id, "op-1"))
             for x in (40, 80, 120)]
    assert names[0] is not None and names[1] is not None and names[2] is None  # 2 per SKU
    assert len(Gallery.load(dock.gallery_path)) == 2
    # Another SKU has its own count.
    assert dock.refs.enrol(dock.store.confirm(dock.item("SKU-B", _frame(BLUE)).verdict_id, "op-1"))
    # Left in manual review: nothing certain about the product.
    review = dock.item("SKU-C", _frame(RED), disposition=Disposition.MANUAL_REVIEW)
    assert dock.refs.enrol(dock.store.confirm(review.verdict_id, "op-1")) is None
    # A frame without an item on the belt is not a reference.
    empty = dock.item("SKU-D", _frame(None))
    assert dock.refs.enrol(dock.store.confirm(empty.verdict_id, "op-1")) is None
    assert Gallery.load(dock.gallery_path).skus == ["SKU-A", "SKU-B"]


def test_an_sku_enrolled_afresh_takes_site_references_again(dock: Dock) -> None:
    for x in (40, 80):
        dock.refs.enrol(dock.store.confirm(dock.item("SKU-A", _frame(RED, x)).verdict_id, "op-1"))
    # `station enroll SKU-A ... --replace`, then the station started again: the listed site
    # references are gone from the gallery, so they no longer count.
    gallery = Gallery.load(dock.gallery_path)
    gallery.remove("SKU-A")
    gallery.save(dock.gallery_path)
    models = LiveModels(dock.config, open_model_store(dock.config), lambda: {})
    refs = SiteReferences(models, dock.store, dock.gallery_path,
                          dock.config.in_data_dir(dock.config.storage.images_dir), 2)
    assert refs.enrol(dock.store.confirm(dock.item("SKU-A", _frame(RED, 100)).verdict_id, "op-1"))


def test_operator_confirms_and_overrides_reach_it_off_the_operators_thread(dock: Dock) -> None:
    state = StationState()
    pipeline = Pipeline(None, dock.store, state, {})  # type: ignore[arg-type]  # nothing inspected here
    pipeline.start()
    actions = OperatorActions(state, dock.store, pipeline, None,  # type: ignore[arg-type]
                              UiConfig(), session="s", config_file=None, on_revision=lambda: None,
                              on_settled=dock.refs.offer)
    try:
        actions.sign_in("op-7")
        red, blue = dock.item("SKU-A", _frame(RED)), dock.item("SKU-B", _frame(BLUE, 150))
        actions.confirm(red.verdict_id)
        actions.override(blue.verdict_id, "repair", "dented corner")
        actions.confirm(red.verdict_id)  # the same item twice: enrolled once (the listing says so)
        dock.refs.stop()
    finally:
        pipeline.stop()
    assert dock.refs.enrolled == 2
    assert Gallery.load(dock.gallery_path).skus == ["SKU-A", "SKU-B"]
    # Once stopped (the station closing), a late confirm is left out, not half done.
    late = dock.store.confirm(dock.item("SKU-C", _frame(RED)).verdict_id, "op-7")
    dock.refs.offer(late)
    assert dock.refs._thread is None and dock.refs.enrolled == 2
    assert _similarity(dock, _frame(BLUE, 150), "SKU-B") == pytest.approx(1.0, abs=1e-3)


def test_off_at_zero_and_a_gallery_it_cannot_write_changes_nothing(
        dock: Dock, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    off = SiteReferences(dock.models, dock.store, dock.gallery_path, tmp_path, 0)
    off.offer(dock.store.confirm(dock.item("SKU-A", _frame(RED)).verdict_id, "op-1"))
    assert off._thread is None and not dock.gallery_path.exists()
    assert Config().models.site_references == 2  # on by default: two per SKU

    # A gallery file enrolled with another conformity model (and not carried over): the thread
    # says why in the log; the file and the running gallery stay as they were.
    other = Gallery(model_sha256="f" * 64)
    other.add("SKU-Z", np.ones(16, dtype=np.float32))
    other.save(dock.gallery_path)
    before = dock.gallery_path.read_bytes()
    with caplog.at_level(logging.ERROR, logger="station.site_references"):
        dock.refs.offer(dock.store.confirm(dock.item("SKU-A", _frame(RED)).verdict_id, "op-1"))
        dock.refs.stop()
    assert "was not enrolled as a site reference" in caplog.text and "enrol the SKUs again" in caplog.text
    assert dock.gallery_path.read_bytes() == before
    assert len(dock.models.current().gallery or []) == 0


def test_a_backup_carries_which_references_came_from_which_item(dock: Dock, tmp_path: Path) -> None:
    import tarfile

    from station.cli import main

    first = dock.item("SKU-A", _frame(RED))
    name = dock.refs.enrol(dock.store.confirm(first.verdict_id, "op-1"))
    archive = tmp_path / "backup.tar.gz"
    assert main(["--config", str(dock.config.source), "backup", "--out", str(archive)]) == 0
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        listing = tar.extractfile("data/site-references.json")
        assert listing is not None
        entries = json.loads(listing.read())["references"]
    assert {"data/gallery.npz", f"data/gallery-pictures/{name}"} <= names
    assert [(e["sku"], e["verdict_id"]) for e in entries] == [("SKU-A", first.verdict_id)]


def test_the_doctor_counts_the_references_from_this_docks_items(dock: Dock) -> None:
    from station.doctor import check_gallery

    model = dock.models.conformity
    assert isinstance(model, ConformityModel)
    for sku, colour in (("SKU-A", RED), ("SKU-B", BLUE)):
        dock.refs.enrol(dock.store.confirm(dock.item(sku, _frame(colour)).verdict_id, "op-1"))
    line = check_gallery(dock.config, model)
    assert line.status.value == "ok"
    assert "2 SKUs, 2 references" in line.message
    assert "2 of them from items confirmed at this dock, for 2 SKU(s) ([models] site_references = 2)" \
        in line.message


def test_station_enroll_while_the_station_runs_is_read_by_the_next_item(dock: Dock, tmp_path: Path) -> None:
    import cv2

    from station.cli import main

    # The station's own reference does not make it read the file again.
    dock.refs.enrol(dock.store.confirm(dock.item("SKU-A", _frame(RED)).verdict_id, "op-1"))
    assert dock.models.reload_gallery_if_changed() is False
    picture = tmp_path / "blue.png"
    cv2.imwrite(str(picture), _frame(BLUE, 100))
    assert main(["--config", str(dock.config.source), "enroll", "SKU-B", str(picture), "--crop", "item"]) == 0
    assert dock.models.reload_gallery_if_changed() is True
    live = dock.models.current().gallery
    assert live is not None and live.skus == ["SKU-A", "SKU-B"]
    assert _similarity(dock, _frame(BLUE, 100), "SKU-B") == pytest.approx(1.0, abs=1e-5)
    assert dock.models.reload_gallery_if_changed() is False  # once


def test_one_writer_of_the_gallery_at_a_time(tmp_path: Path) -> None:
    from station.datalock import file_lock

    target = tmp_path / "data" / "gallery.npz"
    with (file_lock(target), pytest.raises(TimeoutError, match="being written by another process"),
          file_lock(target, timeout_s=0.2)):
        pass
    with file_lock(target, timeout_s=0.2):  # free again
        pass
    # Reading where no lock file can be made (no folder yet) goes on without one; writing does not.
    nowhere = tmp_path / "missing" / "gallery.npz"
    with file_lock(nowhere, reading=True):
        assert not nowhere.parent.exists()
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    with pytest.raises(OSError), file_lock(blocked / "gallery.npz"):
        pass


def test_a_gallery_file_broken_or_gone_while_running_keeps_the_running_references(
        dock: Dock, caplog: pytest.LogCaptureFixture) -> None:
    dock.refs.enrol(dock.store.confirm(dock.item("SKU-A", _frame(RED)).verdict_id, "op-1"))
    with caplog.at_level(logging.ERROR, logger="station.live_models"):
        dock.gallery_path.write_bytes(b"not a gallery")
        assert dock.models.reload_gallery_if_changed() is False
        assert "not usable" in caplog.text and "keeps the references it runs with" in caplog.text
        assert dock.models.reload_gallery_if_changed() is False  # said once
        dock.gallery_path.unlink()
        assert dock.models.reload_gallery_if_changed() is False
    live = dock.models.current().gallery
    assert live is not None and live.skus == ["SKU-A"]
    assert caplog.text.count("not usable") == 2  # once for the broken file, once for the gone one


def test_a_reference_from_a_wrong_confirm_is_taken_back_and_not_enrolled_again(
        dock: Dock, capsys: pytest.CaptureFixture[str]) -> None:
    from station.cli import main

    cfg = ["--config", str(dock.config.source)]
    wrong = dock.item("SKU-A", _frame(BLUE))  # a blue product confirmed as SKU-A by mistake
    right = dock.item("SKU-A", _frame(RED))
    for item in (wrong, right):
        dock.refs.enrol(dock.store.confirm(item.verdict_id, "op-1"))
    assert len(Gallery.load(dock.gallery_path).pictures_of("SKU-A")) == 2
    capsys.readouterr()
    assert main([*cfg, "enroll", "--forget-item", wrong.verdict_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"item": wrong.verdict_id, "skus": ["SKU-A"], "removed": 1,
                                                   "gallery": str(dock.gallery_path)}
    kept = Gallery.load(dock.gallery_path)
    assert len(kept) == 1 and len(list(Gallery.pictures_folder(dock.gallery_path).glob("*.png"))) == 1
    # The running station reads it again: blue no longer matches SKU-A.
    assert dock.models.reload_gallery_if_changed() is True
    assert _similarity(dock, _frame(RED), "SKU-A") == pytest.approx(1.0, abs=1e-3)
    assert _similarity(dock, _frame(BLUE), "SKU-A") < 0.99
    # The item is not enrolled again (a later override of it), and SKU-A has room for another.
    later = dock.store.record_override(wrong.verdict_id, Disposition.REPAIR, "op-1", "scuffed")
    assert dock.refs.enrol(later) is None
    assert dock.refs.enrol(dock.store.confirm(dock.item("SKU-A", _frame(RED, 100)).verdict_id, "op-1"))
    # Asked twice, or for an item that gave none: says where the enrolled items are listed.
    assert main([*cfg, "enroll", "--forget-item", wrong.verdict_id]) == 2
    assert "site-references.json" in capsys.readouterr().err
    assert main([*cfg, "enroll", "--forget-item", wrong.verdict_id, "SKU-A"]) == 2
    assert "give it alone" in capsys.readouterr().err


def test_a_forget_while_the_station_enrols_another_item_is_kept(
        dock: Dock, monkeypatch: pytest.MonkeyPatch) -> None:
    from station.cli import main

    first = dock.item("SKU-A", _frame(RED))
    dock.refs.enrol(dock.store.confirm(first.verdict_id, "op-1"))
    add = dock.models.add_reference

    def forget_meanwhile(sku: str, image: np.ndarray) -> str | None:
        # `station enroll --forget-item` runs between the station's reading of the listing and
        # its writing of the new entry.
        assert main(["--config", str(dock.config.source), "enroll", "--forget-item", first.verdict_id]) == 0
        return add(sku, image)

    monkeypatch.setattr(dock.models, "add_reference", forget_meanwhile)
    second = dock.item("SKU-B", _frame(BLUE))
    assert dock.refs.enrol(dock.store.confirm(second.verdict_id, "op-1"))
    listing = json.loads(dock.gallery_path.with_name("site-references.json").read_text())["references"]
    assert [(e["verdict_id"], "forgotten_at" in e) for e in listing] == [
        (first.verdict_id, True), (second.verdict_id, False)]
    assert Gallery.load(dock.gallery_path).skus == ["SKU-B"]
