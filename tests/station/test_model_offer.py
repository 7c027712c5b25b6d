"""A model offer from central reaches the running station over a real broker: a signed
version is swapped in and reported, a tampered one is refused with the old model kept,
and a rollback signed for this station brings the previous version back; an unsigned one, or a
copy of the offer sent again, is refused."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.app import Station
from station.config import load_config
from sync.broker import LocalBroker
from sync.modelstore import OfferMode, action_message, offer_message, sign_action, sign_offer

pytestmark = [pytest.mark.broker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "returns/v1/site-01/dock-01/"


def wait_until(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_signed_offer_swaps_the_model_tampered_one_is_refused_rollback_restores(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    public = tmp_path / "central.pem"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    broker = LocalBroker(tmp_path / "broker")
    broker.start()
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        f'[station]\ndata_dir = "{tmp_path / "var"}"\nmode = "bench"\nmotion_trigger = false\n'
        f'[sync]\nbroker = "127.0.0.1"\nport = {broker.port}\ntrusted_key_file = "{public}"\n',
        encoding="utf-8")
    station = Station(load_config(config_path, env={}))
    replies: list[dict] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="central-test")
    client.on_message = lambda _c, _u, msg: replies.append(json.loads(msg.payload))
    client.connect("127.0.0.1", broker.port)
    client.subscribe(PREFIX + "reply", qos=1)
    client.loop_start()
    station.start()
    try:
        assert station.models.defect is not None
        shipped = station.models.defect.info.version
        assert wait_until(lambda: station.uplink.publisher.stats().connected)
        model = (ROOT / "models" / "defect" / "model.onnx").read_bytes()
        manifest = json.loads((ROOT / "models" / "defect" / "manifest.json").read_text())
        manifest["version"] = "2099.01.01"
        offer = sign_offer(key, "defect", "2099.01.01", model, manifest, OfferMode.ACTIVATE)
        message = offer_message(offer, model, request_id="m1")

        tampered = dict(message, request_id="m0", payload_b64=base64.b64encode(model[:-1] + b"\0").decode())
        client.publish(PREFIX + "model/offer", json.dumps(tampered), qos=1)
        assert wait_until(lambda: any(r.get("request_id") == "m0" for r in replies))
        refused = next(r for r in replies if r.get("request_id") == "m0")
        assert refused["ok"] is False and "sha256" in refused["reason"]
        assert station.models.defect.info.version == shipped  # the old model stays

        client.publish(PREFIX + "model/offer", json.dumps(message), qos=1)
        assert wait_until(lambda: any(r.get("request_id") == "m1" for r in replies))
        accepted = next(r for r in replies if r.get("request_id") == "m1")
        assert accepted["ok"] is True, accepted
        assert wait_until(lambda: station.models.defect.info.version == "2099.01.01")

        unsigned = {"request_id": "m2", "action": "rollback", "name": "defect"}
        client.publish(PREFIX + "model/offer", json.dumps(unsigned), qos=1)
        assert wait_until(lambda: any(r.get("request_id") == "m2" for r in replies))
        refused = next(r for r in replies if r.get("request_id") == "m2")
        assert refused["ok"] is False and "unsigned model action refused" in refused["reason"]
        assert station.models.defect.info.version == "2099.01.01"

        rollback = action_message(sign_action(key, "rollback", "defect", "site-01/dock-01"), request_id="m3")
        client.publish(PREFIX + "model/offer", json.dumps(rollback), qos=1)
        assert wait_until(lambda: any(r.get("request_id") == "m3" for r in replies))
        assert wait_until(lambda: station.models.defect.info.version == shipped)

        client.publish(PREFIX + "model/offer", json.dumps(dict(message, request_id="m4")), qos=1)
        assert wait_until(lambda: any(r.get("request_id") == "m4" for r in replies))
        replayed = next(r for r in replies if r.get("request_id") == "m4")
        assert replayed["ok"] is False and "not later than the last signed change" in replayed["reason"]
        assert station.models.defect.info.version == shipped
    finally:
        client.loop_stop()
        client.disconnect()
        station.stop()
        broker.close()
