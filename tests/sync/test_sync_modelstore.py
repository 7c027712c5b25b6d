"""Model files: signature check, atomic swap with the old model kept, rollback, shadow mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.modelstore import (
    MODEL_ACTIONS,
    ModelStore,
    OfferMode,
    OfferRejectedError,
    ShadowComparison,
    load_public_key,
    sign_action,
    sign_offer,
)


@pytest.fixture
def store(tmp_path: Path, key: Ed25519PrivateKey) -> ModelStore:
    return ModelStore(tmp_path / "models", key.public_key())


def _install(store: ModelStore, key: Ed25519PrivateKey, version: str, mode: OfferMode) -> None:
    model = f"onnx {version}".encode()
    store.install_offer(sign_offer(key, "defect", version, model, {"version": version}, mode), model)


def test_signature_good_bad_and_wrong_key(store: ModelStore, key: Ed25519PrivateKey) -> None:
    offer = sign_offer(key, "defect", "1", b"model", {"task": "defect"})
    store.verify(offer, b"model")  # good
    flipped = bytes([offer.signature[0] ^ 1]) + offer.signature[1:]
    with pytest.raises(OfferRejectedError, match="does not verify"):
        store.verify(type(offer)(**{**offer.__dict__, "signature": flipped}), b"model")
    stranger = sign_offer(Ed25519PrivateKey.generate(), "defect", "1", b"model", {"task": "defect"})
    with pytest.raises(OfferRejectedError, match="does not verify"):
        store.verify(stranger, b"model")
    # a signature is bound to the name and version it was made for
    renamed = type(offer)(**{**offer.__dict__, "version": "2"})
    with pytest.raises(OfferRejectedError, match="does not verify"):
        store.verify(renamed, b"model")


def test_activate_swaps_and_rollback_restores(store: ModelStore, key: Ed25519PrivateKey) -> None:
    _install(store, key, "1", OfferMode.ACTIVATE)
    _install(store, key, "2", OfferMode.ACTIVATE)
    active, previous = store.active("defect"), store.previous("defect")
    assert active is not None and previous is not None
    assert active.onnx.read_bytes() == b"onnx 2" and previous.onnx.read_bytes() == b"onnx 1"
    rolled = store.rollback("defect")
    assert rolled is not None and rolled.onnx.read_bytes() == b"onnx 1"
    # rolling back again returns to 2: the one rolled away from is kept
    again = store.rollback("defect")
    assert again is not None and again.version == "2"


def test_a_third_version_prunes_the_oldest(store: ModelStore, key: Ed25519PrivateKey) -> None:
    for version in ("1", "2", "3"):
        _install(store, key, version, OfferMode.ACTIVATE)
    folders = sorted(p.name for p in (store.root / "defect").iterdir() if p.is_dir())
    assert folders == ["2", "3"]


def test_a_refused_offer_leaves_the_active_model(store: ModelStore, key: Ed25519PrivateKey) -> None:
    _install(store, key, "1", OfferMode.ACTIVATE)
    offer = sign_offer(key, "defect", "2", b"good", {}, OfferMode.ACTIVATE)
    with pytest.raises(OfferRejectedError, match="sha256 mismatch"):
        store.install_offer(offer, b"evil")
    active = store.active("defect")
    assert active is not None and active.version == "1"
    assert not (store.root / "defect" / "2").exists()
    assert not [p for p in (store.root / "defect").iterdir() if p.name.startswith(".incoming")]


def test_same_version_with_other_content_is_refused(store: ModelStore, key: Ed25519PrivateKey) -> None:
    _install(store, key, "1", OfferMode.ACTIVATE)
    with pytest.raises(OfferRejectedError, match="other content"):
        store.install_offer(sign_offer(key, "defect", "1", b"different", {}, OfferMode.ACTIVATE),
                            b"different")


def test_shadow_then_promote_or_drop(store: ModelStore, key: Ed25519PrivateKey) -> None:
    _install(store, key, "1", OfferMode.ACTIVATE)
    _install(store, key, "2", OfferMode.SHADOW)
    shadow, active = store.shadow("defect"), store.active("defect")
    assert shadow is not None and shadow.version == "2"
    assert active is not None and active.version == "1"  # shadow does not act
    promoted = store.promote_shadow("defect")
    assert promoted.version == "2" and store.shadow("defect") is None
    previous = store.previous("defect")
    assert previous is not None and previous.version == "1"
    _install(store, key, "3", OfferMode.SHADOW)
    store.drop_shadow("defect")
    assert store.shadow("defect") is None and not (store.root / "defect" / "3").exists()
    active = store.active("defect")
    assert active is not None and active.version == "2"
    with pytest.raises(OfferRejectedError, match="no defect model in shadow"):
        store.promote_shadow("defect")


def test_state_survives_a_new_store_object(tmp_path: Path, store: ModelStore, key: Ed25519PrivateKey) -> None:
    _install(store, key, "1", OfferMode.ACTIVATE)
    _install(store, key, "2", OfferMode.SHADOW)
    reopened = ModelStore(store.root, key.public_key())
    active, shadow = reopened.active("defect"), reopened.shadow("defect")
    assert active is not None and active.version == "1"
    assert shadow is not None and shadow.version == "2"


def test_trusted_key_file_must_be_ed25519(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    good = tmp_path / "trusted.pem"
    good.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    assert load_public_key(good).public_bytes_raw() == key.public_key().public_bytes_raw()
    ec = tmp_path / "ec.pem"
    ec.write_bytes(generate_private_key(SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(OfferRejectedError, match="not an Ed25519"):
        load_public_key(ec)
    with pytest.raises(OfferRejectedError, match="cannot read"):
        load_public_key(tmp_path / "missing.pem")


def test_shadow_comparison_reports_disagreements() -> None:
    comparison = ShadowComparison("defect", "1", "2")
    for active, shadow in [("ok", "ok"), ("ok", "tear"), ("ok", "tear"), ("tear", "tear")]:
        comparison.record(active, shadow)
    report = comparison.report()
    assert report["items"] == 4 and report["agreement"] == 0.5
    assert report["disagreements"] == [{"active": "ok", "shadow": "tear", "count": 2}]


def _schema(name: str) -> Any:
    import json

    import jsonschema_rs

    return jsonschema_rs.validator_for(json.loads((Path(__file__).resolve().parents[2] / "sync" / "schemas" /
                                                   name).read_text(encoding="utf-8")))


def test_signed_envelopes_follow_the_published_schema(key: Ed25519PrivateKey) -> None:
    import json

    validator = _schema("model-offer-3.schema.json")
    inline = sign_offer(key, "defect", "1", b"model", {"task": "defect"}, OfferMode.ACTIVATE)
    by_url = sign_offer(key, "conformity", "2", b"model", {}, OfferMode.SHADOW, "https://c.example/m/2.onnx")
    for offer in (inline, by_url):
        validator.validate(json.loads(offer.envelope))
    assert not validator.is_valid({**json.loads(inline.envelope), "mode": "yolo"})
    assert not validator.is_valid({k: v for k, v in json.loads(inline.envelope).items() if k != "expires"})
    actions = _schema("model-action-1.schema.json")
    for action in MODEL_ACTIONS:
        actions.validate(json.loads(sign_action(key, action, "defect", "site-01/dock-01").envelope))
    assert not actions.is_valid({**json.loads(sign_action(key, "drop", "defect", "s/d").envelope),
                                 "station": None})
