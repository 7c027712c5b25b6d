"""Model offers probed as an attacker would: a signed but broken model must not become active
(not even after a restart), and nothing outside the signature may change what is installed."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.app import Station
from station.config import load_config
from sync.broker import LocalBroker
from sync.modelstore import ModelStore, sign_offer
from tests.sync.conftest import Probe, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "returns/v1/site-01/dock-01/"
SHIPPED = ROOT / "models" / "defect"


def _write_config(tmp_path: Path, port: int, key: Ed25519PrivateKey) -> Path:
    public = tmp_path / "central.pem"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    path = tmp_path / "config.toml"
    path.write_text(
        f'[station]\ndata_dir = "{tmp_path / "var"}"\nmode = "bench"\nmotion_trigger = false\n'
        f'[sync]\nbroker = "127.0.0.1"\nport = {port}\ntrusted_key_file = "{public}"\n',
        encoding="utf-8")
    return path


def _offer(key: Ed25519PrivateKey, request_id: str, version: str, model: bytes,
           manifest: dict[str, Any], mode: str) -> dict[str, Any]:
    offer = sign_offer(key, "defect", version, model, manifest)
    return {"request_id": request_id, "name": "defect", "version": version, "sha256": offer.sha256,
            "signature": base64.b64encode(offer.signature).decode(), "manifest": manifest,
            "payload_b64": base64.b64encode(model).decode(), "mode": mode}


def _reply(probe: Probe, request_id: str) -> dict[str, Any]:
    wait_for(lambda: any(r.get("request_id") == request_id for r in probe.json_on(PREFIX + "reply")),
             30, f"reply to {request_id}")
    return next(r for r in probe.json_on(PREFIX + "reply") if r.get("request_id") == request_id)


def test_signed_but_broken_model_never_becomes_active_not_even_after_a_restart(
        tmp_path: Path, broker: LocalBroker) -> None:
    key = Ed25519PrivateKey.generate()
    config_path = _write_config(tmp_path, broker.port, key)
    good = (SHIPPED / "model.onnx").read_bytes()
    manifest = json.loads((SHIPPED / "manifest.json").read_text(encoding="utf-8"))
    good_manifest = dict(manifest, version="2099.01.01")
    # Correctly signed, sha256 right, but the graph takes 256x256 and the manifest says 128x128:
    # the station's loader refuses it.
    broken_manifest = dict(manifest, version="2099.01.02",
                           input=dict(manifest["input"], height=128, width=128))

    station = Station(load_config(config_path, env={}))
    probe = Probe(broker.port, [PREFIX + "reply"])
    station.start()
    try:
        wait_for(lambda: station.publisher.stats().connected, 30, "station connected")
        probe.publish(PREFIX + "model/offer", json.dumps(_offer(key, "g1", "2099.01.01", good, good_manifest,
                                                                "activate")))
        assert _reply(probe, "g1")["ok"] is True
        assert station.models.defect is not None and station.models.defect.info.version == "2099.01.01"

        probe.publish(PREFIX + "model/offer", json.dumps(_offer(key, "b1", "2099.01.02", good,
                                                                broken_manifest, "activate")))
        reply = _reply(probe, "b1")
        assert reply["ok"] is False
        assert "2099.01.02" in reply["reason"] and "128" in reply["reason"], reply["reason"]
        assert station.models.defect.info.version == "2099.01.01"  # in memory
    finally:
        probe.close()
        station.stop()

    root = tmp_path / "var" / "central-models"
    state = json.loads((root / "defect" / "state.json").read_text(encoding="utf-8"))
    assert state["active"] == "2099.01.01", state  # on disk
    assert not (root / "defect" / "2099.01.02").exists()
    assert ModelStore(root, key.public_key()).active("defect").version == "2099.01.01"  # type: ignore[union-attr]

    restarted = Station(load_config(config_path, env={}))  # what `station run` does at start
    try:
        assert restarted.models.defect_error is None
        assert restarted.models.defect is not None
        assert restarted.models.defect.info.version == "2099.01.01"
        assert restarted.models.defect.info.sha256 == hashlib.sha256(good).hexdigest()
    finally:
        restarted.stop()
