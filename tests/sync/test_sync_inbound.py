"""Inbound messages: every malformed, out-of-range or unsigned message is refused with a
reason and leaves the station's state as it was; good ones reach the station's handlers."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.config import PolicyConfig
from station.policy import update_policy
from sync.inbound import RATE_LIMITS, Inbound, InboundHandlers, RateLimit, RmaLine
from sync.modelstore import (
    InstalledModel,
    ModelStore,
    OfferMode,
    action_message,
    offer_message,
    sign_action,
    sign_offer,
)

RANGES = {"defect_repair": (0.2, 0.8), "defect_recycle": (0.5, 0.99), "min_confidence": (0.3, 0.9)}


class Station:
    """What the station keeps; the handlers replace it only when a message is accepted."""

    def __init__(self) -> None:
        self.manifest: list[RmaLine] = []
        self.policy = PolicyConfig(defect_repair=0.5, defect_recycle=0.85, min_confidence=0.6)
        self.models: list[tuple[InstalledModel, OfferMode]] = []

    def on_config_set(self, values: dict[str, float]) -> None:
        # The station's own rule (station.policy, as App applies it): refuses crossed thresholds.
        self.policy = update_policy(self.policy, values)


@pytest.fixture
def station() -> Station:
    return Station()


@pytest.fixture
def inbound(tmp_path: Path, station: Station, key: Ed25519PrivateKey) -> Inbound:
    store = ModelStore(tmp_path / "models", key.public_key())
    handlers = InboundHandlers(
        on_manifest=lambda lines: setattr(station, "manifest", lines),
        on_config_set=station.on_config_set,
        on_model_installed=lambda model, mode: station.models.append((model, mode)),
        config_ranges=RANGES,
    )
    # These tests send many messages at once; the rate limit has its own (test_inbound_rate.py).
    roomy = {kind: RateLimit(burst=1000, per_minute=60) for kind in RATE_LIMITS}
    return Inbound(handlers, store, rate_limits=roomy)


def _send(inbound: Inbound, topic: str, body: Any) -> tuple[bool, str]:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = inbound.handle(topic, payload)
    return reply.ok, reply.reason


def test_manifest_is_loaded(inbound: Inbound, station: Station) -> None:
    ok, reason = _send(inbound, "manifest", {"request_id": "m1", "rmas": [
        {"rma": "R-1042", "skus": ["SKU-1", "SKU-2"], "declared_reason": "damaged"},
        {"rma": "R-1043", "skus": ["SKU-3"]},
    ]})
    assert ok, reason
    assert station.manifest == [RmaLine("R-1042", ("SKU-1", "SKU-2"), "damaged"),
                                RmaLine("R-1043", ("SKU-3",))]


BAD_MANIFESTS = [
    (b"{oops", "not JSON"),
    (b"[1, 2]", "JSON object"),
    ({"rmas": []}, "non-empty list"),
    ({"rmas": [{"rma": "", "skus": ["A"]}]}, "rmas[0].rma"),
    ({"rmas": [{"rma": "R-1", "skus": []}]}, "rmas[0].skus"),
    ({"rmas": [{"rma": "R-1", "skus": ["A"]}, {"rma": "R-2", "skus": [7]}]}, "rmas[1].skus"),
    ({"rmas": [{"rma": "R-1", "skus": ["A"], "declared_reason": "bored"}]}, "declared_reason"),
]


@pytest.mark.parametrize(("body", "why"), BAD_MANIFESTS, ids=[w for _, w in BAD_MANIFESTS])
def test_bad_manifest_is_refused_and_the_old_one_kept(inbound: Inbound, station: Station, body: Any,
                                                      why: str) -> None:
    station.manifest = [RmaLine("R-1", ("KEEP",))]
    ok, reason = _send(inbound, "manifest", body)
    assert not ok and why in reason
    assert station.manifest == [RmaLine("R-1", ("KEEP",))]


def test_config_set_within_ranges_is_applied(inbound: Inbound, station: Station) -> None:
    ok, reason = _send(inbound, "config/set", {"values": {"defect_repair": 0.4, "min_confidence": 0.7}})
    assert ok, reason
    assert station.policy == PolicyConfig(defect_repair=0.4, defect_recycle=0.85, min_confidence=0.7)


BAD_CONFIGS = [
    ({"values": {"defect_repair": 0.95}}, "out of range"),
    ({"values": {"defect_repair": 0.1}}, "out of range"),
    ({"values": {"require_rma": 0}}, "cannot be set remotely"),
    ({"values": {"defect_repair": "0.4"}}, "must be a number"),
    ({"values": {"defect_repair": True}}, "must be a number"),
    (b'{"values": {"defect_repair": NaN}}', "must be a number"),
    ({"values": {}}, "non-empty"),
    ({"defect_repair": 0.4}, "'values'"),
    # each value in range, but the station's own rule refuses the combination
    ({"values": {"defect_repair": 0.8, "defect_recycle": 0.6}}, "must be below defect_recycle"),
    # one good value does not sneak in beside a bad one
    ({"values": {"min_confidence": 0.8, "defect_repair": 2.0}}, "out of range"),
]


@pytest.mark.parametrize(("body", "why"), BAD_CONFIGS, ids=[w for _, w in BAD_CONFIGS])
def test_bad_config_set_is_refused_and_nothing_changes(inbound: Inbound, station: Station, body: Any,
                                                       why: str) -> None:
    before = station.policy
    ok, reason = _send(inbound, "config/set", body)
    assert not ok and why in reason
    assert station.policy == before


def _offer_message(key: Ed25519PrivateKey, model: bytes, mode: str = "shadow", name: str = "defect",
                   version: str = "2026.11.25", url: str | None = None, **changes: Any) -> dict[str, Any]:
    offer = sign_offer(key, name, version, model, {"task": "defect", "labels": ["ok", "tear"]},
                       OfferMode(mode), url)
    message = offer_message(offer, model, request_id="o1")
    message.update(changes)
    return {k: v for k, v in message.items() if v is not None}


def test_signed_model_offer_is_installed_in_shadow(inbound: Inbound, station: Station,
                                                   key: Ed25519PrivateKey) -> None:
    ok, reason = _send(inbound, "model/offer", _offer_message(key, b"onnx-bytes"))
    assert ok, reason
    (model, mode), = station.models
    assert mode is OfferMode.SHADOW and model.onnx.read_bytes() == b"onnx-bytes"
    assert json.loads(model.manifest.read_text())["labels"] == ["ok", "tear"]


def test_model_offer_by_an_allowed_file_url(tmp_path: Path, inbound: Inbound, station: Station,
                                            key: Ed25519PrivateKey) -> None:
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    source = shelf / "offered.onnx"
    source.write_bytes(b"onnx-from-url")
    inbound.url_allow = (shelf.as_uri() + "/",)
    message = _offer_message(key, b"onnx-from-url", url=source.as_uri(), mode="activate")
    ok, reason = _send(inbound, "model/offer", message)
    assert ok, reason
    assert station.models[0][0].onnx.read_bytes() == b"onnx-from-url"


def _old_format(key: Ed25519PrivateKey) -> dict[str, Any]:
    offer = sign_offer(key, "defect", "2026.11.25", b"onnx-bytes", {})
    return {"name": offer.name, "version": offer.version, "sha256": offer.sha256, "mode": "activate",
            "signature": base64.b64encode(offer.signature).decode(), "manifest": {},
            "payload_b64": base64.b64encode(b"onnx-bytes").decode()}


def _bad_offers(key: Ed25519PrivateKey) -> list[tuple[dict[str, Any], str]]:
    other = Ed25519PrivateKey.generate()
    good = _offer_message(key, b"onnx-bytes")
    wrong_key = _offer_message(other, b"onnx-bytes")
    unsigned = json.dumps({"format": "returns.model-offer/3", "name": "defect", "version": "9",
                           "mode": "activate", "sha256": "0" * 64, "size": 1, "manifest": {}}).encode()
    return [
        ({**good, "signature": None}, "'signature' must be a string"),
        ({**good, "signature": base64.b64encode(b"\0" * 64).decode()}, "signature does not verify"),
        (wrong_key, "signature does not verify"),
        ({**good, "signature": "###"}, "not base64"),
        ({**good, "offer": "%%%"}, "'offer' is not base64"),
        ({**good, "offer": base64.b64encode(unsigned).decode()}, "signature does not verify"),
        ({**good, "payload_b64": base64.b64encode(b"tampered!!").decode()}, "sha256 mismatch"),
        ({**good, "payload_b64": base64.b64encode(b"short").decode()}, "the signed offer says 10"),
        ({**good, "mode": "activate"}, "not allowed beside the signed offer"),
        (_old_format(key), "old-format offer refused"),
        (_offer_message(key, b"onnx-bytes", version="../../etc"), "bad version"),
        (_offer_message(key, b"onnx-bytes", name="secret"), "unknown model name"),
        (_offer_message(key, b"onnx-bytes", url="ftp://x/y"), "is not allowed"),
        (_offer_message(key, b"onnx-bytes", url="https://x/y", payload_b64="AA=="),
         "only for an offer without"),
        ({k: v for k, v in good.items() if k != "payload_b64"}, "'payload_b64' must be"),
        ({**good, "payload_b64": "%%%"}, "not base64"),
    ]


def test_bad_model_offers_are_refused_and_nothing_is_installed(
    tmp_path: Path, inbound: Inbound, station: Station, key: Ed25519PrivateKey
) -> None:
    for body, why in _bad_offers(key):
        ok, reason = _send(inbound, "model/offer", body)
        assert not ok, body
        assert why in reason, (why, reason)
    assert station.models == []
    assert not any((tmp_path / "models").rglob("model.onnx"))


def test_offer_refused_without_a_trusted_key(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    inbound = Inbound(InboundHandlers(), ModelStore(tmp_path / "models", None))
    ok, reason = _send(inbound, "model/offer", _offer_message(key, b"onnx-bytes"))
    assert not ok and "no trusted key" in reason


def test_unregistered_handlers_and_unknown_topics_are_refused(tmp_path: Path) -> None:
    bare = Inbound(InboundHandlers())
    assert "no manifests" in bare.handle("manifest", b'{"rmas": []}').reason
    assert "no remote configuration" in bare.handle("config/set", b'{"values": {}}').reason
    assert "no model offers" in bare.handle("model/offer", b"{}").reason
    assert "unknown inbound topic" in bare.handle("cmd/selfdestruct", b"{}").reason


def test_request_id_is_echoed(inbound: Inbound) -> None:
    reply = inbound.handle("config/set", b'{"request_id": "abc", "values": {"nope": 1}}')
    assert reply.request_id == "abc" and not reply.ok


def _action(key: Ed25519PrivateKey, action: str, name: str = "defect") -> dict[str, Any]:
    return action_message(sign_action(key, action, name, "site-01/dock-01"), request_id="a1")


def test_central_promotes_drops_and_rolls_back_models(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    store = ModelStore(tmp_path / "models", key.public_key())
    changed: list[str] = []
    inbound = Inbound(InboundHandlers(on_model_changed=changed.append), store, station="site-01/dock-01")
    assert _send(inbound, "model/offer", _offer_message(key, b"v1", mode="activate"))[0]
    offer_v2 = sign_offer(key, "defect", "2026.11.26", b"v2", {"task": "defect"}, OfferMode.SHADOW)
    store.install_offer(offer_v2, b"v2")
    ok, reason = _send(inbound, "model/offer", _action(key, "promote"))
    assert ok and "active 2026.11.26" in reason
    ok, reason = _send(inbound, "model/offer", _action(key, "rollback"))
    assert ok and "active 2026.11.25" in reason
    ok, reason = _send(inbound, "model/offer", _action(key, "promote"))
    assert not ok and "no defect model in shadow" in reason
    ok, reason = _send(inbound, "model/offer", {"action": "explode", "name": "defect"})
    assert not ok and "'action'" in reason
    ok, reason = _send(inbound, "model/offer", {"action": "drop", "name": "../x"})
    assert not ok and "'name'" in reason
    assert changed == ["defect", "defect"]
    active = store.active("defect")
    assert active is not None and active.version == "2026.11.25"
