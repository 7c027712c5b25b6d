"""Central's side of model offers and thresholds: the release key, one signed offer for many stations,
signed thresholds for each, their replies.

`station central keygen|offer|model|config` are thin wrappers around this module. A model reaches a
station as the `model/offer` message `sync.modelstore` describes (docs/sync.md "Model offers"),
published on that station's `<root><site>/<station>/model/offer` at QoS 1; the station answers
on `<root><site>/<station>/reply` with the offer's `request_id`. `exchange()` subscribes to
the replies before it publishes anything, so no answer is missed, and waits for every
station's; a station that is off gets the offer from its persistent session when it connects
again, after `exchange()` has given up waiting for it. Thresholds go the same way, as a signed
`config/set` (`sync.inbound.sign_config_set`) addressed to each station.

The connection is clean and its session ends with it: nothing is queued for this client
between two runs (each run has its own request ids; an old reply is of no use to the next).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from sync.inbound import config_set_message, sign_config_set
from sync.modelstore import (
    DEFAULT_VALIDITY,
    MAX_VALIDITY,
    MODEL_ACTIONS,
    ModelOffer,
    OfferMode,
    action_message,
    offer_message,
    sign_action,
    sign_offer,
)
from sync.mqtt import BrokerAddress, set_tls
from sync.settings import StationIdentity

__all__ = ["MODEL_ACTIONS", "TOPIC_ROOT", "Answer", "ModelFolder", "OfferBrokerError", "OfferInputError",
           "Request", "StationRef", "action_requests", "build_offer", "config_requests", "exchange",
           "load_release_key", "offer_requests", "parse_duration", "parse_stations", "public_key_path",
           "read_model_folder", "write_key_pair"]

logger = logging.getLogger(__name__)

TOPIC_ROOT = "returns/v1/"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class OfferInputError(ValueError):
    """A model folder, key file or station list that cannot be used; the message says what to do."""


class OfferBrokerError(RuntimeError):
    """The broker could not be reached, refused the login, or refused what was sent; nothing of it
    reached the stations (the message says which step failed)."""


# ---- stations -------------------------------------------------------------------------


@dataclass(frozen=True)
class StationRef:
    """One station as its MQTT user name says it: `<site>/<station>`."""

    site: str
    station: str

    def __str__(self) -> str:
        return f"{self.site}/{self.station}"

    def topic(self, subtopic: str, root: str = TOPIC_ROOT) -> str:
        """The station's `<root><site>/<station>/<subtopic>`."""
        return f"{root}{self.site}/{self.station}/{subtopic}"


def parse_stations(text: str) -> tuple[StationRef, ...]:
    """`site-01/dock-01,site-01/dock-02` as stations, in the order given, each once."""
    found: list[StationRef] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        site, slash, station = entry.partition("/")
        try:
            if not slash:
                raise ValueError
            StationIdentity(station_id=station, site_id=site)  # the station's own rule for its ids
        except ValueError:
            raise OfferInputError(
                f"{entry!r} is not a station: write each as SITE/STATION, its [station].site and id "
                "(letters, digits, '.', '_', '-'), separated by commas, e.g. site-01/dock-01,site-01/dock-02"
            ) from None
        ref = StationRef(site, station)
        if ref not in found:
            found.append(ref)
    if not found:
        raise OfferInputError("no station given: write them as SITE/STATION separated by commas, "
                              "e.g. site-01/dock-01,site-01/dock-02")
    return tuple(found)


def parse_duration(text: str) -> timedelta:
    """`30m`, `24h`, `7d` (also `90s`) as a validity period of a signed offer or action: more than
    nothing and at most MAX_VALIDITY, the longest a station takes."""
    example = f"e.g. 30m, 24h or 7d (default {_hours(DEFAULT_VALIDITY)})"
    found = _DURATION.match(text)
    if found is None:
        raise OfferInputError(f"{text!r} is not a duration: write a number and s, m, h or d, {example}")
    seconds = float(found.group(1)) * _UNIT_S[found.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise OfferInputError(f"{text!r} is no time at all: the stations would refuse the message as "
                              f"expired; give a period, {example}")
    if seconds > MAX_VALIDITY.total_seconds():
        raise OfferInputError(f"{text!r} is longer than the {MAX_VALIDITY.days} days a station takes: "
                              "an old message must not stay usable for long; give at most "
                              f"{MAX_VALIDITY.days}d, {example}")
    return timedelta(seconds=seconds)


def _hours(period: timedelta) -> str:
    return f"{period.total_seconds() / 3600:g}h"


# ---- the release key ----------------------------------------------------------------------


def public_key_path(private: Path) -> Path:
    """Where the public half of the private key file `private` is written: release-key.pem ->
    release-key.pub.pem (beside it)."""
    if private.suffix == ".pem":
        return private.with_name(f"{private.stem}.pub.pem")
    return private.with_name(f"{private.name}.pub.pem")


def write_key_pair(out: Path) -> Path:
    """A new Ed25519 release key: the private half in `out` (PEM, readable by its owner only),
    the public half beside it (`public_key_path`), which the stations trust. Returns that path.

    Refuses to replace either file: the stations trust the public half of the key that exists,
    and a new one would make them refuse every offer signed with it until they are given it.
    """
    public = public_key_path(out)
    for path in (out, public):
        if path.exists():
            raise OfferInputError(
                f"{path} already exists: keygen never replaces a key (the stations trust the one they have) "
                "— keep using it, or give --out a new file name")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise OfferInputError(f"{out} already exists: keygen never replaces a key — give --out a new "
                              "file name") from None
    except OSError as exc:
        raise OfferInputError(f"cannot write {out}: {exc.strerror or exc} — give --out a file in a folder "
                              "that exists and this user may write") from None
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem)
        f.flush()
        os.fsync(f.fileno())
    try:
        fd = os.open(public, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(public_pem)
    except OSError as exc:  # the pair goes together: no private half without its public one
        out.unlink()
        raise OfferInputError(f"cannot write {public}: {exc.strerror or exc}; nothing was kept") from None
    return public


def load_release_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key that signs offers, from a PEM file; says what to give instead."""
    made = "the private key `station central keygen --out FILE` wrote (FILE, not FILE's .pub.pem)"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OfferInputError(f"cannot read the release key {path}: {exc.strerror or exc} — give --key "
                              f"{made}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # encrypted with a passphrase
        raise OfferInputError(f"the release key {path} is protected by a passphrase, which this command "
                              f"does not ask for — give --key {made}") from None
    except ValueError:
        try:
            serialization.load_pem_public_key(data)
        except ValueError:
            raise OfferInputError(f"{path} is not a PEM private key — give --key {made}") from None
        raise OfferInputError(f"{path} is a public key: the stations verify with it, central signs with its "
                              f"private half — give --key {made}") from None
    if not isinstance(key, Ed25519PrivateKey):
        kind = type(key).__name__.lstrip("_").removesuffix("PrivateKey")
        raise OfferInputError(f"{path} is a private key of type {kind}, not Ed25519: "
                              "the stations verify offers with Ed25519 only — make a release key with "
                              "`station central keygen --out release-key.pem`")
    return key


# ---- the model folder -----------------------------------------------------------------


@dataclass(frozen=True)
class ModelFolder:
    """What an offer carries from a model folder: the ONNX bytes and the manifest."""

    folder: Path
    name: str
    version: str
    model: bytes
    manifest: dict[str, Any]


def read_model_folder(folder: Path) -> ModelFolder:
    """model.onnx and manifest.json of `folder` (as `station train` writes them), checked to belong
    together: the manifest's sha256 must be the model's."""
    which = "give the folder `station train` wrote (model.onnx and manifest.json)"
    if not folder.is_dir():
        raise OfferInputError(f"{folder} is not a folder — {which}")
    onnx, manifest_file = folder / "model.onnx", folder / "manifest.json"
    for path in (onnx, manifest_file):
        if not path.is_file():
            raise OfferInputError(f"{folder} has no {path.name} — {which}")
    try:
        model = onnx.read_bytes()
        text = manifest_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OfferInputError(f"cannot read {folder}: {exc} — {which}") from None
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise OfferInputError(f"{manifest_file} is not JSON ({exc}) — copy it again from the folder "
                              "`station train` wrote") from None
    if not isinstance(manifest, dict):
        raise OfferInputError(f"{manifest_file} is not a model manifest (a JSON object) — {which}")
    for key in ("name", "version", "sha256"):
        if not isinstance(manifest.get(key), str) or not manifest[key]:
            raise OfferInputError(f"{manifest_file} has no {key!r} — it is not a manifest `station train` "
                                  f"wrote; {which}")
    if not model:
        raise OfferInputError(f"{onnx} is empty — copy it again from the folder `station train` wrote")
    actual = hashlib.sha256(model).hexdigest()
    if manifest["sha256"] != actual:
        raise OfferInputError(
            f"{manifest_file} says sha256 {manifest['sha256']} but model.onnx is {actual}: the two files "
            "are not from the same training (or the model was damaged in the copy) — copy model.onnx "
            "and manifest.json together from the folder `station train` wrote")
    return ModelFolder(folder=folder, name=manifest["name"], version=manifest["version"], model=model,
                       manifest=manifest)


# ---- requests and replies -------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One message to one station: published on its `<subtopic>`, answered with `request_id`."""

    station: StationRef
    subtopic: str
    request_id: str
    message: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """A station's reply to a request; `ok` None: no reply while we waited."""

    request: Request
    ok: bool | None
    reason: str
    detail: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """One station's result for `--json`."""
        state = "no_reply" if self.ok is None else ("ok" if self.ok else "refused")
        return {"station": str(self.request.station), "request_id": self.request.request_id, "result": state,
                "reason": self.reason, "detail": self.detail}


def _request_id(kind: str, station: StationRef, run: str) -> str:
    return f"{kind}-{run}-{station.site}-{station.station}"


def offer_requests(offer: ModelOffer, model: bytes, stations: Sequence[StationRef]) -> list[Request]:
    """The signed `offer` as one `model/offer` message per station, each with its own request id."""
    run = uuid.uuid4().hex[:12]
    requests = []
    for station in stations:
        rid = _request_id("offer", station, run)
        requests.append(Request(station, "model/offer", rid,
                                offer_message(offer, None if offer.url else model, request_id=rid)))
    return requests


def action_requests(key: Ed25519PrivateKey, action: str, name: str, stations: Sequence[StationRef],
                    valid_for: timedelta = DEFAULT_VALIDITY) -> list[Request]:
    """promote|drop|rollback of `name`, signed for each station (its envelope names it, so it
    cannot be sent to another), each with its own request id."""
    if action not in MODEL_ACTIONS:
        raise OfferInputError(f"action {action!r} is not one of {', '.join(MODEL_ACTIONS)}")
    run = uuid.uuid4().hex[:12]
    requests = []
    for station in stations:
        rid = _request_id(action, station, run)
        signed = sign_action(key, action, name, str(station), valid_for=valid_for)
        requests.append(Request(station, "model/offer", rid, action_message(signed, request_id=rid)))
    return requests


def config_requests(key: Ed25519PrivateKey, values: Mapping[str, float], stations: Sequence[StationRef],
                    valid_for: timedelta = DEFAULT_VALIDITY) -> list[Request]:
    """New thresholds as one `config/set` per station, each signed for that station (its envelope
    names it, so it cannot be sent to another), each with its own request id. The values are
    checked by the caller against the thresholds the stations take."""
    run = uuid.uuid4().hex[:12]
    requests = []
    for station in stations:
        rid = _request_id("config", station, run)
        signed = sign_config_set(key, values, str(station), valid_for=valid_for)
        requests.append(Request(station, "config/set", rid, config_set_message(signed, request_id=rid)))
    return requests


def build_offer(key: Ed25519PrivateKey, folder: ModelFolder, mode: OfferMode, url: str | None,
                valid_for: timedelta = DEFAULT_VALIDITY) -> ModelOffer:
    """Sign the folder's model once, for every station (the envelope names no station), usable
    for `valid_for` from now."""
    return sign_offer(key, folder.name, folder.version, folder.model, folder.manifest, mode, url,
                      valid_for=valid_for)


class _Session:
    """A clean MQTT v5 connection that subscribes to the replies, publishes, and collects answers."""

    def __init__(self, address: BrokerAddress, client_id: str, requests: Sequence[Request],
                 root: str) -> None:
        self.address = address
        self.root = root
        self.expected = {(r.station.topic("reply", root), r.request_id): r for r in requests}
        self.replies: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.refused: list[str] = []
        self.failed_subscriptions: list[str] = []
        # PUBLISH packet id -> the PUBACK's reason code. Filled without asking which ids were sent:
        # paho calls on_publish holding its own lock, so publish() is never called under ours.
        self.acks: dict[int, ReasonCode] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if address.username:
            self.client.username_pw_set(address.username, address.password or None)
        if address.tls:
            set_tls(self.client, address)  # the station's own rules and messages for its TLS files
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.reply_topics = sorted({topic for topic, _ in self.expected})

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode,
                    properties: Any) -> None:
        if reason.is_failure:
            self.refused.append(str(reason))
        else:
            client.subscribe([(topic, 1) for topic in self.reply_topics])
        self.connected.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode],
                      properties: Any) -> None:
        self.failed_subscriptions = [topic for topic, code in zip(self.reply_topics, reasons, strict=False)
                                     if code.is_failure]
        self.subscribed.set()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode,
                    properties: Any) -> None:
        with self.changed:
            self.acks[mid] = reason
            self.changed.notify_all()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            body = json.loads(message.payload)
        except (ValueError, UnicodeDecodeError):
            logger.warning("offer: a reply on %s that is not JSON, ignored", message.topic)
            return
        if not isinstance(body, dict) or not isinstance(body.get("request_id"), str):
            return  # an answer to someone else's message (no request id): not ours
        if (message.topic, body["request_id"]) in self.expected:
            with self.changed:
                self.replies[body["request_id"]] = body
                self.changed.notify_all()


def exchange(address: BrokerAddress, requests: Sequence[Request], wait_s: float, *,
             client_id: str | None = None, root: str = TOPIC_ROOT, connect_timeout_s: float = 10.0,
             on_sent: Callable[[], None] | None = None) -> list[Answer]:
    """Subscribe to each station's replies, publish every request at QoS 1 (each confirmed by the
    broker), call `on_sent`, then wait up to `wait_s` seconds for all answers. One Answer per
    request, in order.

    OfferBrokerError when the broker cannot be reached, refuses the login or the subscription (then
    nothing was sent), or does not confirm a publish. A publish the broker refuses (its ACL) is
    that station's answer, refused.
    """
    session = _Session(address, client_id or f"central-offer-{uuid.uuid4().hex[:12]}", requests, root)
    client = session.client
    where = f"{address.host}:{address.port}"
    try:
        client.connect(address.host, address.port, keepalive=30, clean_start=True)
    except (OSError, ssl.SSLError) as exc:
        tls = " and that its port takes TLS (mqtts://) or not (mqtt://)" if address.tls else ""
        raise OfferBrokerError(f"cannot connect to the broker at {where}: {exc} — check --broker{tls}, and "
                               "that the broker is running; nothing was sent") from None
    client.loop_start()
    try:
        if not session.connected.wait(connect_timeout_s):
            raise OfferBrokerError(f"{where} took the connection but did not answer the MQTT login in "
                                   f"{connect_timeout_s:.0f} s — is it an MQTT broker (mqtts:// for TLS)? "
                                   "Nothing was sent")
        if session.refused:
            raise OfferBrokerError(f"the broker at {where} refused the login: {session.refused[0]} — check "
                                   "the user name in --broker and the password (--password-file or "
                                   "CENTRAL_MQTT_PASSWORD); nothing was sent")
        if not session.subscribed.wait(connect_timeout_s):
            raise OfferBrokerError(f"the broker at {where} did not confirm the subscription to the stations' "
                                   "replies; nothing was sent")
        if session.failed_subscriptions:
            raise OfferBrokerError(
                f"the broker refused the subscription to {', '.join(session.failed_subscriptions)} — its ACL "
                "must let this user read returns/v1/+/+/reply (docs/mosquitto/acl, user central); "
                "nothing was sent")
        sent: dict[int, Request] = {}
        for request in requests:
            info = client.publish(request.station.topic(request.subtopic, root), json.dumps(request.message),
                                  qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise OfferBrokerError(f"cannot publish to {request.station}: {mqtt.error_string(info.rc)} "
                                       "— run the command again")
            sent[info.mid] = request
        deadline = time.monotonic() + connect_timeout_s + wait_s
        with session.changed:
            while not sent.keys() <= session.acks.keys():
                left = deadline - time.monotonic()
                if left <= 0:
                    unconfirmed = sorted(str(r.station) for mid, r in sent.items() if mid not in session.acks)
                    raise OfferBrokerError(
                        f"the broker at {where} did not confirm the messages to {', '.join(unconfirmed)}: "
                        "they may or may not reach those stations; run the command again")
                session.changed.wait(left)
            # A message the broker refused (its ACL) reached nobody: that station's answer is said here.
            refused = {sent[mid].request_id: str(code) for mid, code in session.acks.items()
                       if mid in sent and code.is_failure}
        if on_sent is not None:
            on_sent()
        with session.changed:
            deadline = time.monotonic() + wait_s
            while len(session.replies.keys() - refused.keys()) < len(requests) - len(refused):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                session.changed.wait(left)
            replies = dict(session.replies)
    finally:
        client.disconnect()
        client.loop_stop()
    return [_answer(request, replies.get(request.request_id), refused.get(request.request_id))
            for request in requests]


def _answer(request: Request, reply: dict[str, Any] | None, refused: str | None) -> Answer:
    if refused is not None:
        return Answer(request, False, f"the broker refused the message ({refused}), so the station was sent "
                                      "nothing — the broker's ACL must let this user write "
                                      f"returns/v1/+/+/{request.subtopic} (docs/mosquitto/acl, user central)")
    if reply is None:
        return Answer(request, None, "")
    detail = reply.get("detail")
    return Answer(request, reply.get("ok") is True, str(reply.get("reason", "")),
                  detail if isinstance(detail, dict) else None)
