"""Model offers probed as an attacker would: a signed but broken model must not become active
(not even after a restart), and nothing outside the signature may change what is installed."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.app import Station
from station.config import load_config
from sync.broker import LocalBroker
from sync.modelstore import ModelStore, OfferMode, offer_message, sign_offer
from tests.sync.conftest import Probe, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "returns/v1/site-01/dock-01/"
SHIPPED = ROOT / "models" / "defect"


def _write_config(tmp_path: Path, port: int, key: Ed25519PrivateKey, url_allow: tuple[str, ...] = ()) -> Path:
    public = tmp_path / "central.pem"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    path = tmp_path / "config.toml"
    path.write_text(
        f'[station]\ndata_dir = "{tmp_path / "var"}"\nmode = "bench"\nmotion_trigger = false\n'
        f'[sync]\nbroker = "127.0.0.1"\nport = {port}\ntrusted_key_file = "{public}"\n'
        f'model_url_allow = {json.dumps(list(url_allow))}\n',
        encoding="utf-8")
    return path


def _offer(key: Ed25519PrivateKey, request_id: str, version: str, model: bytes,
           manifest: dict[str, Any], mode: str, url: str | None = None) -> dict[str, Any]:
    offer = sign_offer(key, "defect", version, model, manifest, OfferMode(mode), url)
    return offer_message(offer, model, request_id=request_id)


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
        wait_for(lambda: station.uplink.publisher.stats().connected, 30, "station connected")
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
        assert restarted.models.current().defect_error is None
        assert restarted.models.defect is not None
        assert restarted.models.defect.info.version == "2099.01.01"
        assert restarted.models.defect.info.sha256 == hashlib.sha256(good).hexdigest()
    finally:
        restarted.stop()


def _old_format(key: Ed25519PrivateKey, request_id: str, version: str, model: bytes, manifest: dict[str, Any],
                mode: str) -> dict[str, Any]:
    """An offer as central made them before: signature over name, version, sha256 and manifest only."""
    sha = hashlib.sha256(model).hexdigest()
    statement = json.dumps({"name": "defect", "version": version, "sha256": sha, "manifest": manifest},
                           sort_keys=True, separators=(",", ":")).encode()
    return {"request_id": request_id, "name": "defect", "version": version, "sha256": sha,
            "manifest": manifest, "mode": mode, "signature": base64.b64encode(key.sign(statement)).decode(),
            "payload_b64": base64.b64encode(model).decode()}


class _Running:
    """A started station with a central-side probe on its reply topic."""

    def __init__(self, config_path: Path, port: int) -> None:
        self.station = Station(load_config(config_path, env={}))
        self.probe = Probe(port, [PREFIX + "reply"])
        self.station.start()
        wait_for(lambda: self.station.uplink.publisher.stats().connected, 30, "station connected")

    def send(self, message: dict[str, Any]) -> dict[str, Any]:
        self.probe.publish(PREFIX + "model/offer", json.dumps(message))
        return _reply(self.probe, str(message["request_id"]))

    def close(self) -> None:
        self.probe.close()
        self.station.stop()


def test_a_shadow_offer_replayed_as_activate_is_not_activated(tmp_path: Path, broker: LocalBroker) -> None:
    key = Ed25519PrivateKey.generate()
    model = (SHIPPED / "model.onnx").read_bytes()
    manifest = dict(json.loads((SHIPPED / "manifest.json").read_text(encoding="utf-8")), version="2099.02.01")
    running = _Running(_write_config(tmp_path, broker.port, key), broker.port)
    try:
        assert running.station.models.defect is not None
        shipped = running.station.models.defect.info.version
        # Central signed these for shadow; someone on the broker rewrites the mode.
        old = running.send(_old_format(key, "r1", "2099.02.01", model, manifest, "activate"))
        assert old["ok"] is False and "old-format" in old["reason"], old
        shadow = _offer(key, "r2", "2099.02.01", model, manifest, "shadow")
        replayed = running.send(dict(shadow, mode="activate"))
        assert replayed["ok"] is False and "beside the signed offer" in replayed["reason"], replayed
        assert running.station.models.defect.info.version == shipped
        store = ModelStore(tmp_path / "var" / "central-models", key.public_key())
        assert store.active("defect") is None and store.shadow("defect") is None

        accepted = running.send(dict(shadow, request_id="r3"))  # as signed: shadow, nothing else
        assert accepted["ok"] is True and accepted["detail"]["mode"] == "shadow", accepted
        assert running.station.models.defect.info.version == shipped
        assert store.active("defect") is None
        assert store.shadow("defect").version == "2099.02.01"  # type: ignore[union-attr]
    finally:
        running.close()


def test_an_unsigned_offer_naming_a_local_file_reads_nothing(tmp_path: Path, broker: LocalBroker) -> None:
    key = Ed25519PrivateKey.generate()
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"root:x:0:0:station secret\n")
    digests = {hashlib.sha256(secret.read_bytes()).hexdigest(),
               hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()}
    stranger = Ed25519PrivateKey.generate()  # not the key the station trusts
    running = _Running(_write_config(tmp_path, broker.port, key), broker.port)
    try:
        for n, target in enumerate((secret.as_uri(), "file:///etc/passwd")):
            bogus = {"request_id": f"u{n}a", "name": "defect", "version": "1", "sha256": "0" * 64,
                     "signature": base64.b64encode(b"\0" * 64).decode(), "manifest": {}, "url": target,
                     "mode": "activate"}
            forged = offer_message(sign_offer(stranger, "defect", "1", b"x" * 64, {}, OfferMode.ACTIVATE,
                                              url=target), request_id=f"u{n}b")
            for message in (bogus, forged):
                reply = running.send(message)
                assert reply["ok"] is False, reply
                assert not any(d in json.dumps(reply) for d in digests), reply  # the file was never read
        assert running.station.models.defect is not None
        assert not (tmp_path / "var" / "central-models" / "defect").exists()
    finally:
        running.close()


class _ModelServer:
    """A plain HTTP server on loopback that serves model files and records every request."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def model_server() -> Iterator[_ModelServer]:
    model = (SHIPPED / "model.onnx").read_bytes()
    server = _ModelServer({"/models/model.onnx": model, "/private/model.onnx": model,
                           "/models/big.onnx": model + b"\0" * 4096})
    yield server
    server.close()


def test_only_allowed_url_prefixes_are_fetched_and_no_more_than_the_signed_size(
        tmp_path: Path, broker: LocalBroker, model_server: _ModelServer) -> None:
    key = Ed25519PrivateKey.generate()
    model = (SHIPPED / "model.onnx").read_bytes()
    manifest = dict(json.loads((SHIPPED / "manifest.json").read_text(encoding="utf-8")), version="2099.03.01")
    base = f"http://127.0.0.1:{model_server.port}"
    running = _Running(_write_config(tmp_path, broker.port, key, (f"{base}/models/",)), broker.port)
    try:
        refused = {
            "path": f"{base}/private/model.onnx",
            "climb": f"{base}/models/../private/model.onnx",
            "encoded": f"{base}/models/%2e%2e/private/model.onnx",
            "host": f"http://localhost:{model_server.port}/models/model.onnx",
            "scheme": (SHIPPED / "model.onnx").as_uri(),
        }
        for why, url in refused.items():
            reply = running.send(_offer(key, why, "2099.03.01", model, manifest, "shadow", url=url))
            assert reply["ok"] is False and "model_url_allow" in reply["reason"], (why, reply)
        assert model_server.requests == []

        # signed for the model's size, the server sends more: refused after one byte too many
        big = running.send(_offer(key, "big", "2099.03.01", model, manifest, "shadow",
                                  url=f"{base}/models/big.onnx"))
        assert big["ok"] is False and "larger" in big["reason"], big

        ok = running.send(_offer(key, "ok", "2099.03.01", model, manifest, "shadow",
                                 url=f"{base}/models/model.onnx"))
        assert ok["ok"] is True, ok
        assert model_server.requests == ["/models/big.onnx", "/models/model.onnx"]
        store = ModelStore(tmp_path / "var" / "central-models", key.public_key())
        assert store.shadow("defect").onnx.read_bytes() == model  # type: ignore[union-attr]
    finally:
        running.close()
