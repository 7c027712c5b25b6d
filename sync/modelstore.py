"""Model offers from central: signature check, atomic swap, rollback and shadow mode (the file side).

An offer is a signed envelope: the canonical JSON (`signed_statement`) of everything that
decides what the station installs and how — format, name, version, mode (shadow or
activate), sha256 and size of the ONNX bytes, the model's manifest, when the bytes are
fetched their URL, and when it was signed and until when it may be used — with an Ed25519
signature by central's release key over exactly those bytes. The station trusts one public
key (`[sync].trusted_key_file`); no key, no installs. `open_offer()` verifies the signature
before it reads anything in the envelope; the model bytes (inline or fetched) must then have
the signed size and sha256. `sign_offer()` and `offer_message()` are central's side.
Model actions (promote, drop, rollback) are signed the same way (`sign_action()`,
`action_message()`, `open_action()`), each addressed to one station.

Anyone who can write to the broker could record a signed message and send it again later,
to put back a version central has since replaced. So every envelope carries `signed_at`
and `expires`: the station refuses one that has expired or was signed in its future (beyond
MAX_CLOCK_SKEW), and one not signed later than the last offer or action it accepted for
that model (`signed_at` in the model's state.json, so a restart does not forget it). Going
back to an old version on purpose is a new offer of it, signed now. Message format:
docs/sync.md.

Layout under `root`:

    <name>/<version>/model.onnx, manifest.json   one folder per installed version
    <name>/state.json                            {"active", "previous", "shadow"} versions and
                                                 "signed_at" of the last signed change accepted

A version folder is complete before it is renamed into place, and `state.json` is
replaced atomically (write, fsync, rename), so a power cut leaves either the old or the
new model active, never half of one. Before the switch, `install_offer(check=...)` opens the
written folder with the station's own loader; a version that fails it is deleted and the
state is left as it was. The previous active version is kept for
`rollback()`; versions that are neither active, previous nor shadow are pruned.
The station runs the inference (also the shadow model's) and asks `active_dir()` /
`shadow_dir()` where the files are.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.durable import fsync_dir

__all__ = [
    "ACTION_FORMAT",
    "DEFAULT_VALIDITY",
    "MAX_CLOCK_SKEW",
    "MAX_VALIDITY",
    "MODEL_ACTIONS",
    "OFFER_FORMAT",
    "InstalledModel",
    "ModelAction",
    "ModelOffer",
    "ModelStore",
    "OfferMode",
    "OfferRejectedError",
    "ShadowComparison",
    "action_message",
    "canonical_json",
    "check_signed_time",
    "format_time",
    "load_public_key",
    "offer_message",
    "open_signed",
    "parse_time",
    "sign_action",
    "sign_offer",
    "signed_statement",
]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
OFFER_FORMAT = "returns.model-offer/3"
ACTION_FORMAT = "returns.model-action/1"
MODEL_ACTIONS = ("promote", "drop", "rollback")
# Formats of earlier releases: refused with a word on what to do, not as unknown.
_OLD_OFFER_FORMATS = ("returns.model-offer/2",)
_ENVELOPE_KEYS = {"format", "name", "version", "mode", "sha256", "size", "manifest", "url", "signed_at",
                  "expires"}
_ACTION_KEYS = {"format", "action", "name", "station", "signed_at", "expires"}
# How far the clocks of central and a station may disagree: an envelope signed up to this much
# in the station's future is taken, and one is refused only this long after it expired.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# How long a signed offer or action may be used: a station that is off longer refuses it, and
# central signs it again. The longest a station takes: a replay is refused anyway once a newer
# change was accepted, but a station that never got one stays open to an old one until then.
DEFAULT_VALIDITY = timedelta(hours=24)
MAX_VALIDITY = timedelta(days=30)
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """`moment` as the envelopes write it: UTC, ISO 8601 with microseconds and Z (two changes
    signed one after the other never have the same time)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(value: Any, what: str, key: str) -> datetime:
    """A signed envelope's time `key` (UTC, format_time's form); OfferRejectedError says what it must be."""
    if not isinstance(value, str) or not _TIME.match(value):
        raise OfferRejectedError(f"the signed {what}'s {key!r} must be a UTC time like "
                                 "2026-12-05T06:00:00.000000Z")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise OfferRejectedError(f"the signed {what}'s {key!r} is not a date: {value!r}") from None


def canonical_json(doc: dict[str, Any]) -> bytes:
    """The bytes an envelope is signed as: keys sorted, no spaces, ASCII."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()




class OfferRejectedError(ValueError):
    """A model offer that was not installed; the message says why. The old model stays."""


class OfferMode(Enum):
    """What to do with a verified model."""

    SHADOW = "shadow"  # run beside the active one; its verdicts are recorded, not acted on
    ACTIVATE = "activate"  # swap in now (the old one is kept for rollback)


@dataclass(frozen=True)
class ModelOffer:
    """A verified offer: the fields of its signed envelope (the model bytes travel separately).

    Every field is read from `envelope`, the exact bytes central signed; `verify()` checks
    them against it again, so a ModelOffer whose fields were changed after signing is refused.
    """

    name: str
    version: str
    sha256: str
    signature: bytes
    manifest: dict[str, Any] = field(default_factory=dict)
    mode: OfferMode = OfferMode.SHADOW
    size: int = 0
    url: str | None = None
    envelope: bytes = b""
    signed_at: datetime | None = None
    expires: datetime | None = None


@dataclass(frozen=True)
class ModelAction:
    """A verified promote / drop / rollback of model `name` on the station `station` (site/station),
    read from `envelope`, the exact bytes central signed."""

    action: str
    name: str
    station: str
    signed_at: datetime
    expires: datetime
    envelope: bytes
    signature: bytes


@dataclass(frozen=True)
class InstalledModel:
    """One installed version and where its files are."""

    name: str
    version: str
    sha256: str
    folder: Path

    @property
    def onnx(self) -> Path:
        return self.folder / "model.onnx"

    @property
    def manifest(self) -> Path:
        return self.folder / "manifest.json"


def signed_statement(name: str, version: str, mode: OfferMode, sha256: str, size: int,
                     manifest: dict[str, Any], url: str | None = None, *, signed_at: datetime,
                     expires: datetime) -> bytes:
    """The envelope central signs: canonical JSON (keys sorted, no spaces, ASCII) of everything
    in an offer that changes what the station does, and the time window it may be used in. The
    station verifies the signature over the bytes it receives, then reads the offer from them;
    it never re-serialises."""
    doc: dict[str, Any] = {"format": OFFER_FORMAT, "name": name, "version": version, "mode": mode.value,
                           "sha256": sha256, "size": size, "manifest": manifest,
                           "signed_at": format_time(signed_at), "expires": format_time(expires)}
    if url is not None:
        doc["url"] = url
    return canonical_json(doc)


def sign_offer(private_key: Ed25519PrivateKey, name: str, version: str, model: bytes,
               manifest: dict[str, Any], mode: OfferMode = OfferMode.SHADOW,
               url: str | None = None, *, signed_at: datetime | None = None,
               valid_for: timedelta = DEFAULT_VALIDITY) -> ModelOffer:
    """Central's side: describe and sign `model` (served inline, or from `url`), valid for
    `valid_for` from `signed_at` (now)."""
    sha = hashlib.sha256(model).hexdigest()
    at = (signed_at or _utc_now()).astimezone(UTC)
    until = at + valid_for
    envelope = signed_statement(name, version, mode, sha, len(model), manifest, url, signed_at=at,
                                expires=until)
    return ModelOffer(name=name, version=version, sha256=sha, signature=private_key.sign(envelope),
                      manifest=manifest, mode=mode, size=len(model), url=url, envelope=envelope,
                      signed_at=at, expires=until)


def sign_action(private_key: Ed25519PrivateKey, action: str, name: str, station: str, *,
                signed_at: datetime | None = None, valid_for: timedelta = DEFAULT_VALIDITY) -> ModelAction:
    """Central's side: sign `action` on model `name` for the one station `station` (site/station)."""
    if action not in MODEL_ACTIONS:
        raise ValueError(f"action {action!r} is not one of {', '.join(MODEL_ACTIONS)}")
    at = (signed_at or _utc_now()).astimezone(UTC)
    until = at + valid_for
    envelope = canonical_json({"format": ACTION_FORMAT, "action": action, "name": name, "station": station,
                           "signed_at": format_time(at), "expires": format_time(until)})
    return ModelAction(action=action, name=name, station=station, signed_at=at, expires=until,
                       envelope=envelope, signature=private_key.sign(envelope))


def action_message(action: ModelAction, request_id: str | None = None) -> dict[str, Any]:
    """The `model/offer` message of a signed action. `action` and `name` beside the envelope say
    what it is to a reader of the topic; the station acts on the signed ones, and refuses a
    message whose outer words differ from them."""
    message: dict[str, Any] = {"action": action.action, "name": action.name,
                               "envelope": base64.b64encode(action.envelope).decode(),
                               "signature": base64.b64encode(action.signature).decode()}
    if request_id is not None:
        message["request_id"] = request_id
    return message


def offer_message(offer: ModelOffer, model: bytes | None = None,
                  request_id: str | None = None) -> dict[str, Any]:
    """The `model/offer` message of a signed offer; `model` goes inline unless the offer has a url."""
    message: dict[str, Any] = {"offer": base64.b64encode(offer.envelope).decode(),
                               "signature": base64.b64encode(offer.signature).decode()}
    if request_id is not None:
        message["request_id"] = request_id
    if offer.url is None:
        if model is None:
            raise ValueError("an offer without a url carries the model inline: pass `model`")
        message["payload_b64"] = base64.b64encode(model).decode()
    return message


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The trusted Ed25519 public key from a PEM file; refuses any other key type."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise OfferRejectedError(f"cannot read the trusted key {path}: {exc} — set [sync].trusted_key_file "
                                 "to central's Ed25519 public key (PEM)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise OfferRejectedError(f"the trusted key {path} is not an Ed25519 public key")
    return key


def decode_signature(text: str) -> bytes:
    """A base64 signature from a message; OfferRejectedError when it is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise OfferRejectedError("signature is not base64") from None


def open_signed(trusted_key: Ed25519PublicKey | None, envelope: bytes, signature: bytes, what: str,
                refused: str) -> dict[str, Any]:
    """The JSON object of a signed `envelope`, once `signature` over it verifies with `trusted_key`;
    nothing in it is read before. `refused` says what is refused without a key."""
    if trusted_key is None:
        raise OfferRejectedError(f"no trusted key configured ([sync].trusted_key_file); {refused}")
    try:
        trusted_key.verify(signature, envelope)
    except InvalidSignature:
        raise OfferRejectedError("signature does not verify with the trusted key") from None
    try:
        doc = json.loads(envelope)
    except (ValueError, UnicodeDecodeError):
        raise OfferRejectedError(f"the signed {what} is not JSON") from None
    if not isinstance(doc, dict):
        raise OfferRejectedError(f"the signed {what} is not a JSON object")
    return doc


def check_signed_time(now: datetime, signed_at: datetime, expires: datetime, what: str, again: str,
                      last_signed_at: Callable[[], datetime | None], of: str) -> None:
    """Refuse an envelope outside its time window at `now`, or not signed later than
    `last_signed_at()`, the last signed change of `of` accepted (a copy of an old message sent again)."""
    signed, until = format_time(signed_at), format_time(expires)
    clock = f"this station's clock says {format_time(now)}"
    if expires <= signed_at or expires - signed_at > MAX_VALIDITY + MAX_CLOCK_SKEW:
        raise OfferRejectedError(
            f"the signed {what} is valid from {signed} to {until}, which is not a period of up to "
            f"{MAX_VALIDITY.days} days: nothing was done; {again}")
    if signed_at > now + MAX_CLOCK_SKEW:
        raise OfferRejectedError(
            f"the {what} was signed at {signed}, in the future ({clock}): nothing was done; set the "
            f"clocks of central and of this station right (NTP), then {again}")
    if expires < now - MAX_CLOCK_SKEW:
        raise OfferRejectedError(
            f"the {what} expired at {until} ({clock}): nothing was done; {again} "
            "(--valid-for sets how long it may wait for a station that is off)")
    last = last_signed_at()
    if last is not None and signed_at <= last:
        raise OfferRejectedError(
            f"the {what} was signed at {signed}, not later than the last signed change of {of} this "
            f"station accepted ({format_time(last)}): it was already applied, or it is an old message "
            f"sent again; nothing was done — to do it now, {again}")


class ModelStore:
    """Installed model versions under `root`, with the active / previous / shadow state."""

    def __init__(self, root: Path, trusted_key: Ed25519PublicKey | None,
                 names: frozenset[str] = frozenset({"defect", "conformity"}),
                 max_bytes: int = 500 * 1024 * 1024,
                 now: Callable[[], datetime] = _utc_now) -> None:
        self.root = root
        self.trusted_key = trusted_key
        self.names = names
        self.max_bytes = max_bytes
        self.now = now  # the station's clock (UTC), for the time window of signed envelopes
        self.root.mkdir(parents=True, exist_ok=True)

    # ---- verification -----------------------------------------------------------------

    def open_offer(self, envelope: bytes, signature: bytes) -> ModelOffer:
        """Verify `signature` over the received envelope bytes, then read the offer from them.

        Nothing in the envelope is looked at before the signature verifies; OfferRejectedError
        says why an envelope is refused.
        """
        doc = self._signed_doc(envelope, signature, "offer")
        if doc.get("format") in _OLD_OFFER_FORMATS:
            raise OfferRejectedError(
                f"the offer is in the old format {doc['format']}, which says neither when it was signed nor "
                "until when it may be used, so a recorded copy could be sent again: nothing was installed; "
                "sign it again with the current `station central offer`")
        if doc.get("format") != OFFER_FORMAT:
            raise OfferRejectedError(f"the signed offer's 'format' must be {OFFER_FORMAT!r}")
        unknown = sorted(set(doc) - _ENVELOPE_KEYS)
        if unknown:
            raise OfferRejectedError(f"the signed offer has unknown keys {unknown}")
        for key in ("name", "version", "sha256"):
            if not isinstance(doc.get(key), str):
                raise OfferRejectedError(f"the signed offer's '{key}' must be a string")
        try:
            mode = OfferMode(doc.get("mode"))
        except ValueError:
            raise OfferRejectedError(f"the signed offer's 'mode' must be one of "
                                     f"{[m.value for m in OfferMode]}") from None
        size = doc.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise OfferRejectedError("the signed offer's 'size' must be the model's length in bytes")
        manifest = doc.get("manifest")
        if not isinstance(manifest, dict):
            raise OfferRejectedError("the signed offer's 'manifest' must be an object")
        url = doc.get("url")
        if url is not None and not isinstance(url, str):
            raise OfferRejectedError("the signed offer's 'url' must be a string")
        signed_at = parse_time(doc.get("signed_at"), "offer", "signed_at")
        expires = parse_time(doc.get("expires"), "offer", "expires")
        offer = ModelOffer(name=doc["name"], version=doc["version"], sha256=doc["sha256"],
                           signature=signature, manifest=manifest, mode=mode, size=size, url=url,
                           envelope=envelope, signed_at=signed_at, expires=expires)
        self._check_fields(offer)
        again = "sign a new offer with `station central offer`"
        self._check_time(offer.name, signed_at, expires, "offer", again)
        return offer

    def open_action(self, envelope: bytes, signature: bytes, station: str) -> ModelAction:
        """Verify a signed promote / drop / rollback addressed to `station` (site/station), then
        read it; OfferRejectedError says why it is refused. `apply_action()` carries it out."""
        doc = self._signed_doc(envelope, signature, "action")
        if doc.get("format") != ACTION_FORMAT:
            raise OfferRejectedError(f"the signed action's 'format' must be {ACTION_FORMAT!r}")
        unknown = sorted(set(doc) - _ACTION_KEYS)
        if unknown:
            raise OfferRejectedError(f"the signed action has unknown keys {unknown}")
        action, name, target = doc.get("action"), doc.get("name"), doc.get("station")
        if action not in MODEL_ACTIONS:
            raise OfferRejectedError(f"the signed action's 'action' must be one of {list(MODEL_ACTIONS)}")
        if not isinstance(name, str) or name not in self.names:
            raise OfferRejectedError(f"unknown model name {name!r}; this station runs {sorted(self.names)}")
        again = f"sign it again with `station central model {action} {name} --stations {station}`"
        if target != station:
            raise OfferRejectedError(f"the signed action is for the station {target!r}, this is {station}: "
                                     f"nothing was done; {again}")
        signed_at = parse_time(doc.get("signed_at"), "action", "signed_at")
        expires = parse_time(doc.get("expires"), "action", "expires")
        self._check_time(name, signed_at, expires, "action", again)
        return ModelAction(action=action, name=name, station=station, signed_at=signed_at, expires=expires,
                           envelope=envelope, signature=signature)

    def _signed_doc(self, envelope: bytes, signature: bytes, what: str) -> dict[str, Any]:
        """The JSON object of `envelope`, once `signature` over it verifies with the trusted key."""
        return open_signed(self.trusted_key, envelope, signature, what, f"model {what}s are refused")

    def _check_time(self, name: str, signed_at: datetime, expires: datetime, what: str, again: str) -> None:
        """Refuse an envelope outside its time window, or not newer than the last one accepted for
        `name` (a copy of an old message sent again)."""
        check_signed_time(self.now(), signed_at, expires, what, again, lambda: self.last_signed_at(name),
                          name)

    def last_signed_at(self, name: str) -> datetime | None:
        """When the last signed offer or action accepted for `name` was signed (None: never)."""
        value = self._state(name).get("signed_at")
        return datetime.fromisoformat(value) if value else None

    def _check_fields(self, offer: ModelOffer) -> None:
        if not _NAME.match(offer.name) or offer.name not in self.names:
            raise OfferRejectedError(
                f"unknown model name {offer.name!r}; this station runs {sorted(self.names)}")
        if not _VERSION.match(offer.version):
            raise OfferRejectedError(f"bad version {offer.version!r} (letters, digits, '.', '_', '-')")
        if not _SHA256.match(offer.sha256):
            raise OfferRejectedError("sha256 must be 64 lower-case hex digits")
        if offer.size > self.max_bytes:
            raise OfferRejectedError(f"model is {offer.size} bytes, more than the limit of {self.max_bytes}")

    def verify(self, offer: ModelOffer, model: bytes) -> None:
        """Raise OfferRejectedError unless central signed the offer's envelope, its fields are the
        envelope's, and `model` is the bytes it describes."""
        signed = self.open_offer(offer.envelope, offer.signature)
        if dataclasses.replace(signed, signature=offer.signature) != offer:
            raise OfferRejectedError("signature does not verify: the offer differs from its signed envelope")
        # Said to central's operator, who reads the reply: nothing changed here, and what to send.
        again = (f"nothing was installed and {offer.name} runs on as before; build and sign the offer again "
                 "from the model file you mean to send (a model changed or damaged after signing is refused)")
        if len(model) != offer.size:
            raise OfferRejectedError(f"model is {len(model)} bytes, the signed offer says {offer.size}: "
                                     f"{again}")
        actual = hashlib.sha256(model).hexdigest()
        if actual != offer.sha256:
            raise OfferRejectedError(f"sha256 mismatch: offer says {offer.sha256}, bytes are {actual}: "
                                     f"{again}")

    # ---- state ------------------------------------------------------------------------

    def _state_file(self, name: str) -> Path:
        return self.root / name / "state.json"

    def _state(self, name: str) -> dict[str, str | None]:
        path = self._state_file(name)
        if not path.exists():
            return {"active": None, "previous": None, "shadow": None, "signed_at": None}
        data = json.loads(path.read_text(encoding="utf-8"))
        return {k: data.get(k) for k in ("active", "previous", "shadow", "signed_at")}

    def _write_state(self, name: str, state: dict[str, str | None]) -> None:
        folder = self.root / name
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._state_file(name))
        fsync_dir(folder)
        self._prune(name, state)

    def _installed(self, name: str, version: str | None) -> InstalledModel | None:
        if version is None:
            return None
        folder = self.root / name / version
        info = json.loads((folder / "offer.json").read_text(encoding="utf-8"))
        return InstalledModel(name=name, version=version, sha256=str(info["sha256"]), folder=folder)

    def active(self, name: str) -> InstalledModel | None:
        """The version in use, or None when central never installed one (the station's shipped model)."""
        return self._installed(name, self._state(name)["active"])

    def previous(self, name: str) -> InstalledModel | None:
        """The version `rollback()` returns to."""
        return self._installed(name, self._state(name)["previous"])

    def shadow(self, name: str) -> InstalledModel | None:
        """The version running in shadow, if any."""
        return self._installed(name, self._state(name)["shadow"])

    # ---- changes ----------------------------------------------------------------------

    def install_offer(self, offer: ModelOffer, model: bytes,
                      check: Callable[[InstalledModel], None] | None = None) -> InstalledModel:
        """Verify, write the version folder, self-check it, then make it the shadow or the active
        model (atomically).

        `check` is the station's own loader: it opens the written folder as the station would
        run it and raises when it cannot. It runs before `state.json` changes, so a model that
        fails it is deleted again and the previous state (on disk and in memory) stays.
        """
        self.verify(offer, model)
        mode = offer.mode
        folder = self.root / offer.name
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / offer.version
        created = not final.exists()
        if not created:
            existing = self._installed(offer.name, offer.version)
            if existing is None or existing.sha256 != offer.sha256:
                raise OfferRejectedError(
                    f"{offer.name} {offer.version} is already installed with other content; "
                    "offer it under a new version")
        else:
            staging = Path(tempfile.mkdtemp(prefix=f".incoming-{offer.version}-", dir=folder))
            try:
                _write_synced(staging / "model.onnx", model)
                _write_synced(staging / "manifest.json", json.dumps(offer.manifest, indent=2).encode())
                _write_synced(staging / "offer.json", json.dumps({
                    "name": offer.name, "version": offer.version, "sha256": offer.sha256,
                    "signature": base64.b64encode(offer.signature).decode(),
                    "offer": base64.b64encode(offer.envelope).decode(),
                }).encode())
                os.replace(staging, final)
                fsync_dir(folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        installed = self._installed(offer.name, offer.version)
        assert installed is not None
        if check is not None:
            try:
                check(installed)
            except Exception as exc:  # the loader's errors are its own types; all mean "do not switch"
                if created:
                    shutil.rmtree(final, ignore_errors=True)
                active = self._state(offer.name)["active"]
                raise OfferRejectedError(
                    f"{offer.name} {offer.version} failed its self-check and was not installed "
                    f"({exc}); {offer.name} stays on {active or 'the shipped model'}") from None
        state = self._state(offer.name)
        if offer.signed_at is not None:  # verify() refused it unless it is newer than state's
            state["signed_at"] = format_time(offer.signed_at)
        if mode is OfferMode.ACTIVATE:
            if state["active"] != offer.version:
                state["previous"] = state["active"]
                state["active"] = offer.version
            if state["shadow"] == offer.version:
                state["shadow"] = None
        else:
            if state["active"] == offer.version:
                raise OfferRejectedError(f"{offer.name} {offer.version} is already the active model")
            state["shadow"] = offer.version
        self._write_state(offer.name, state)
        logger.info("model %s %s installed as %s", offer.name, offer.version, mode.value)
        return installed

    def snapshot(self, name: str) -> dict[str, str | None]:
        """The active / previous / shadow versions of `name` (and its last signed change), for
        `restore()`."""
        return dict(self._state(name))

    def restore(self, name: str, state: dict[str, str | None]) -> None:
        """Put back a `snapshot()` (when the station could not swap in what was just installed)."""
        self._write_state(name, dict(state))
        logger.warning("model %s state restored: active %s", name, state.get("active") or "the shipped model")

    def apply_action(self, action: ModelAction) -> InstalledModel | None:
        """Carry out a verified action (`open_action()`); the active version after it (None: the
        shipped model). Its signing time is recorded with the change, so it cannot be replayed."""
        self._check_time(action.name, action.signed_at, action.expires, "action",
                         f"sign it again with `station central model {action.action} {action.name}`")
        if action.action == "promote":
            return self.promote_shadow(action.name, signed_at=action.signed_at)
        if action.action == "drop":
            self.drop_shadow(action.name, signed_at=action.signed_at)
            return self.active(action.name)
        return self.rollback(action.name, signed_at=action.signed_at)

    def rollback(self, name: str, signed_at: datetime | None = None) -> InstalledModel | None:
        """Make the previous version active again (None = back to the station's shipped model)."""
        state = self._state(name)
        if state["active"] is None:
            raise OfferRejectedError(f"no installed {name} model to roll back from")
        state["active"], state["previous"] = state["previous"], state["active"]
        _stamp(state, signed_at)
        self._write_state(name, state)
        logger.warning("model %s rolled back to %s", name, state["active"] or "the shipped model")
        return self.active(name)

    def promote_shadow(self, name: str, signed_at: datetime | None = None) -> InstalledModel:
        """The shadow model becomes active; the old active one is kept for rollback."""
        state = self._state(name)
        if state["shadow"] is None:
            raise OfferRejectedError(f"no {name} model in shadow to promote")
        state["previous"], state["active"], state["shadow"] = state["active"], state["shadow"], None
        _stamp(state, signed_at)
        self._write_state(name, state)
        logger.info("model %s %s promoted from shadow", name, state["active"])
        active = self.active(name)
        assert active is not None
        return active

    def drop_shadow(self, name: str, signed_at: datetime | None = None) -> None:
        """Stop and delete the shadow model; the active one is untouched."""
        state = self._state(name)
        dropped, state["shadow"] = state["shadow"], None
        if dropped is None and signed_at is None:
            return
        # A signed drop is recorded even when there is no shadow: sent again later, it must
        # not remove a shadow version offered since.
        _stamp(state, signed_at)
        (self.root / name).mkdir(parents=True, exist_ok=True)
        self._write_state(name, state)
        if dropped is not None:
            logger.info("model %s %s dropped from shadow", name, dropped)

    def _prune(self, name: str, state: dict[str, str | None]) -> None:
        keep = {state.get(k) for k in ("active", "previous", "shadow")} - {None}
        for child in (self.root / name).iterdir():
            if child.is_dir() and not child.name.startswith(".") and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)


class ShadowComparison:
    """The disagreement report of a shadow model: how often it would have decided otherwise."""

    def __init__(self, name: str, active_version: str, shadow_version: str) -> None:
        self.name = name
        self.active_version = active_version
        self.shadow_version = shadow_version
        self.pairs: Counter[tuple[str, str]] = Counter()

    def record(self, active_label: str, shadow_label: str) -> None:
        """One item seen by both models."""
        self.pairs[(active_label, shadow_label)] += 1

    def report(self) -> dict[str, Any]:
        """Totals, agreement rate and the most frequent disagreements (for `stats` / central)."""
        total = sum(self.pairs.values())
        agree = sum(n for (a, s), n in self.pairs.items() if a == s)
        return {
            "model": self.name, "active": self.active_version, "shadow": self.shadow_version,
            "items": total, "agree": agree, "agreement": (agree / total) if total else None,
            "disagreements": [{"active": a, "shadow": s, "count": n}
                              for (a, s), n in self.pairs.most_common() if a != s][:20],
        }


def _stamp(state: dict[str, str | None], signed_at: datetime | None) -> None:
    """Record in `state` the signing time of the change being written (a local call has none)."""
    if signed_at is not None:
        state["signed_at"] = format_time(signed_at)


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


