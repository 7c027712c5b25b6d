"""Inbound messages from central: manifest, config/set, model/offer (cmd/rebirth is the publisher's).

Each message is checked completely before anything changes; a message that is
malformed, out of range or unsigned is refused as a whole with a logged reason, the
station's state stays as it was, and the reply (on `<prefix>reply`) says why. The
station registers callbacks in `InboundHandlers`; a callback may itself refuse a message
by raising ValueError (e.g. a cross-field policy rule), with the same effect.

Each kind of message has a token bucket (RATE_LIMITS): a burst of them is taken, then one
every so often; a message over that is refused unread ("too many messages, try again in N
s"), counted in `refused`, and logged once per burst, so a flood costs the station neither
its work nor its log. Message formats: docs/sync.md.

A config/set may be signed like a model action: a `returns.config-set/1` envelope with the
values, the one station it is for and its time window, signed with central's release key
(`sign_config_set()` and `config_set_message()` are central's side). A signed one is always
verified; `config_signed` (`[sync].config_signed`) refuses unsigned ones. When the last signed
config/set accepted was signed is kept in a small JSON file (`config_state`, by default
`config-set.json` in the model store's folder), so a copy of it sent again is refused, also
after a restart.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.client import HTTPMessage
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.durable import fsync_dir
from sync.modelstore import (
    ACTION_FORMAT,
    DEFAULT_VALIDITY,
    MODEL_ACTIONS,
    OFFER_FORMAT,
    InstalledModel,
    ModelOffer,
    ModelStore,
    OfferMode,
    OfferRejectedError,
    canonical_json,
    check_signed_time,
    decode_signature,
    format_time,
    open_signed,
    parse_time,
)

__all__ = ["CONFIG_SET_FORMAT", "CONFIG_STATE_FILE", "RATE_LIMITS", "Inbound", "InboundHandlers", "RateLimit",
           "Reply", "RmaLine", "SignedConfigSet", "config_set_message", "sign_config_set", "url_allowed"]

logger = logging.getLogger(__name__)

MAX_MANIFEST_LINES = 100_000
# SKUs one manifest line may list: the station keeps the first, the others are accepted unused.
MAX_LINE_SKUS = 100
# The most bytes an inbound message may have, by topic: a manifest of MAX_MANIFEST_LINES full lines
# fits; a model offer has its own limit (the model store's, in base64). Checked before the message
# is queued or parsed, so a flood of oversized messages cannot take the station's memory.
MAX_MESSAGE_BYTES = {"manifest": 32 * 1024 * 1024, "config/set": 64 * 1024, "cmd/rebirth": 64 * 1024}
_OTHER_MESSAGE_BYTES = 64 * 1024
_OFFER_ENVELOPE_BYTES = 1024 * 1024  # the signed envelope (with the model's manifest) and the JSON around
_DECLARED = {"unopened", "defective", "damaged", "wrong_item", "no_longer_needed"}
# A message over its rate is not parsed; its reply echoes the request_id found in its first
# bytes, where `station central` puts it (at the latest right after the signed envelope).
_REQUEST_ID = re.compile(rb'"request_id"\s*:\s*"([^"\\]{1,128})"')
_REQUEST_ID_SCAN = _OFFER_ENVELOPE_BYTES + 4096

CONFIG_SET_FORMAT = "returns.config-set/1"
_CONFIG_SET_KEYS = {"format", "values", "station", "signed_at", "expires"}
# Beside the model store's model folders: when the last signed config/set accepted was signed.
CONFIG_STATE_FILE = "config-set.json"
_SEND_SIGNED = ("send it with `station central config NAME=VALUE ... --key RELEASE_KEY`, which signs it "
                f"({CONFIG_SET_FORMAT})")


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: `burst` messages at once, then `per_minute` (spread evenly)."""

    burst: int
    per_minute: float


# Per kind of inbound message. Central sends a model offer or action now and then (one per
# model and operator command), thresholds and manifests more often (a manifest per shift or
# per truck); a kind not named here has OTHER_RATE_LIMIT.
RATE_LIMITS: Mapping[str, RateLimit] = {
    "model/offer": RateLimit(burst=10, per_minute=10),
    "config/set": RateLimit(burst=30, per_minute=60),
    "manifest": RateLimit(burst=30, per_minute=60),
}
OTHER_RATE_LIMIT = RateLimit(burst=10, per_minute=10)


class _Bucket:
    """One kind's tokens; `take()` says how long until one is free when none is."""

    def __init__(self, limit: RateLimit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.at = now
        self.refused = 0  # refused in the current burst (logged once when it starts)

    def take(self, now: float) -> float | None:
        rate = self.limit.per_minute / 60.0
        self.tokens = min(float(self.limit.burst), self.tokens + max(0.0, now - self.at) * rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / rate if rate > 0 else math.inf


class _RejectedError(ValueError):
    pass


@dataclass(frozen=True)
class RmaLine:
    """One expected return: its RMA, the SKUs it may contain and the customer's declared reason."""

    rma: str
    skus: tuple[str, ...]
    declared_reason: str | None = None


@dataclass(frozen=True)
class Reply:
    """The answer published on `<prefix>reply` to one inbound message."""

    topic: str
    ok: bool
    request_id: str | None
    reason: str
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class SignedConfigSet:
    """A config/set signed by central's release key for the one station `station` (site/station),
    read from `envelope`, the exact bytes signed. `values` are not range-checked here: the station
    checks them as it checks an unsigned config/set's."""

    values: dict[str, Any]
    station: str
    signed_at: datetime
    expires: datetime
    envelope: bytes
    signature: bytes


def sign_config_set(private_key: Ed25519PrivateKey, values: Mapping[str, float], station: str, *,
                    signed_at: datetime | None = None,
                    valid_for: timedelta = DEFAULT_VALIDITY) -> SignedConfigSet:
    """Central's side: sign new thresholds for the one station `station` (site/station), usable for
    `valid_for` from `signed_at` (now)."""
    at = (signed_at or datetime.now(UTC)).astimezone(UTC)
    until = at + valid_for
    envelope = canonical_json({"format": CONFIG_SET_FORMAT, "values": dict(values), "station": station,
                               "signed_at": format_time(at), "expires": format_time(until)})
    return SignedConfigSet(values=dict(values), station=station, signed_at=at, expires=until,
                           envelope=envelope, signature=private_key.sign(envelope))


def config_set_message(signed: SignedConfigSet, request_id: str | None = None) -> dict[str, Any]:
    """The `config/set` message of signed thresholds: the envelope and its signature, nothing else
    that the station would act on."""
    message: dict[str, Any] = {"envelope": base64.b64encode(signed.envelope).decode(),
                               "signature": base64.b64encode(signed.signature).decode()}
    if request_id is not None:
        message["request_id"] = request_id
    return message


class _ConfigSetState:
    """When the last signed config/set accepted was signed, in a small JSON file replaced atomically
    (a restart must not forget it, or an old message could be sent again)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def last_signed_at(self) -> datetime | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            value = json.loads(self.path.read_text(encoding="utf-8")).get("signed_at")
            return datetime.fromisoformat(value) if value else None
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise _RejectedError(
                f"cannot read {self.path} ({exc}), where this station keeps when the last signed config/set "
                "it accepted was signed: nothing was changed; restore it from the backup, or remove it "
                "(then a signed config/set still valid could be sent again once)") from None

    def record(self, signed_at: datetime) -> None:
        assert self.path is not None
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config-set-", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"signed_at": format_time(signed_at)}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fsync_dir(folder)


@dataclass(frozen=True)
class InboundHandlers:
    """What the station does with accepted messages; a missing handler refuses that message."""

    on_manifest: Callable[[list[RmaLine]], None] | None = None
    on_config_set: Callable[[dict[str, float]], None] | None = None
    on_model_installed: Callable[[InstalledModel, OfferMode], None] | None = None
    # opens a written version folder as the station would run it; raises when it cannot.
    # Runs before the version becomes active or shadow, so a broken model never does.
    check_model: Callable[[InstalledModel], None] | None = None
    # after promote / drop / rollback of model `name`: reload ModelStore.active(name) / .shadow(name)
    on_model_changed: Callable[[str], None] | None = None
    # name -> (min, max) of each policy threshold central may set
    config_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)


class Inbound:
    """Checks and dispatches inbound messages; `handle()` never raises."""

    def __init__(self, handlers: InboundHandlers, model_store: ModelStore | None = None,
                 fetch_timeout_s: float = 60.0, url_allow: tuple[str, ...] = (),
                 station: str | None = None, rate_limits: Mapping[str, RateLimit] = RATE_LIMITS,
                 clock: Callable[[], float] = time.monotonic, config_signed: bool = False,
                 config_state: Path | None = None) -> None:
        self.handlers = handlers
        self.model_store = model_store
        self.fetch_timeout_s = fetch_timeout_s
        # "<site>/<station>": a signed model action or config/set is carried out only when addressed to it
        self.station = station
        # [sync].config_signed: refuse a config/set not signed by central's release key
        self.config_signed = config_signed
        if config_state is None and model_store is not None:
            config_state = model_store.root / CONFIG_STATE_FILE
        self._config_state = _ConfigSetState(config_state)
        self.rate_limits = rate_limits
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        # refused messages by topic (all reasons), and of those refused for their rate
        self.refused: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        # URL prefixes (scheme://host[:port]/path/) a signed offer may name; empty = inline only
        self.url_allow = url_allow
        for entry in url_allow:
            parts = urllib.parse.urlsplit(entry)
            if parts.scheme not in _FETCH_SCHEMES or (parts.scheme != "file" and not parts.netloc):
                logger.warning("[sync].model_url_allow entry %r never matches: write it as "
                               "https://host[:port]/path/ (or http://, file:///path/)", entry)

    def max_bytes(self, subtopic: str) -> int:
        """The largest message this station takes on `<prefix><subtopic>`."""
        if subtopic == "model/offer" and self.model_store is not None:
            return (self.model_store.max_bytes + 2) // 3 * 4 + _OFFER_ENVELOPE_BYTES
        return MAX_MESSAGE_BYTES.get(subtopic, _OTHER_MESSAGE_BYTES)

    def too_large(self, subtopic: str, size: int) -> Reply | None:
        """The refusal of a `size`-byte message on `subtopic` when it is over `max_bytes`, else None."""
        limit = self.max_bytes(subtopic)
        if size <= limit:
            return None
        reason = (f"{size} bytes, more than the {limit} a {subtopic} message may have: refused unread; "
                  "send it in smaller messages")
        logger.warning("inbound %s rejected: %s; previous state kept", subtopic, reason)
        self.refused[subtopic] += 1  # also when the publisher refuses it before queueing it
        return Reply(topic=subtopic, ok=False, request_id=None, reason=reason)

    def over_rate(self, subtopic: str, payload: bytes) -> Reply | None:
        """The refusal of a message beyond its kind's RATE_LIMITS, else None (and a token is taken).

        Only the first refusal of a burst is logged; when the kind is taken again, how many
        were refused is logged once.
        """
        now = self.clock()
        bucket = self._buckets.get(subtopic)
        if bucket is None:
            bucket = self._buckets[subtopic] = _Bucket(self.rate_limits.get(subtopic, OTHER_RATE_LIMIT), now)
        wait = bucket.take(now)
        if wait is None:
            if bucket.refused:
                logger.warning("inbound %s: taken again; %d messages were refused as too many",
                               subtopic, bucket.refused)
                bucket.refused = 0
            return None
        limit = bucket.limit
        if not bucket.refused:
            logger.warning("inbound %s: more than %d at once or %g a minute; refusing until a slot is free "
                           "(the refusals of this burst are counted, not logged one by one)",
                           subtopic, limit.burst, limit.per_minute)
        bucket.refused += 1
        self.rate_limited[subtopic] += 1
        self.refused[subtopic] += 1
        found = _REQUEST_ID.search(payload, 0, _REQUEST_ID_SCAN)
        request_id = found.group(1).decode("utf-8", "replace") if found else None
        seconds = max(1, math.ceil(wait)) if math.isfinite(wait) else None
        again = f"try again in {seconds} s" if seconds is not None else "this station takes none of them"
        return Reply(topic=subtopic, ok=False, request_id=request_id,
                     reason=f"too many messages, {again} (this station takes {limit.burst} {subtopic} "
                            f"messages at once, then {limit.per_minute:g} a minute); nothing was done")

    def handle(self, subtopic: str, payload: bytes) -> Reply:
        """Check and apply one message received on `<prefix><subtopic>`."""
        request_id: str | None = None
        if (refused := self.too_large(subtopic, len(payload))) is not None:
            return refused
        if (refused := self.over_rate(subtopic, payload)) is not None:
            return refused
        try:
            try:
                message = json.loads(payload)
            except (ValueError, UnicodeDecodeError) as exc:
                raise _RejectedError(f"not JSON ({exc})") from None
            if not isinstance(message, dict):
                raise _RejectedError("must be a JSON object")
            rid = message.get("request_id")
            request_id = rid if isinstance(rid, str) else None
            if subtopic == "manifest":
                reason, detail = self._manifest(message)
            elif subtopic == "config/set":
                reason, detail = self._config_set(message)
            elif subtopic == "model/offer":
                reason, detail = self._model_offer(message)
            else:
                raise _RejectedError(f"unknown inbound topic {subtopic!r}")
        except (_RejectedError, OfferRejectedError, ValueError) as exc:
            logger.warning("inbound %s rejected (request %s): %s; previous state kept",
                           subtopic, request_id, exc)
            self.refused[subtopic] += 1
            return Reply(topic=subtopic, ok=False, request_id=request_id, reason=str(exc))
        except Exception as exc:  # a failing station callback must not kill the inbound thread
            logger.exception("inbound %s failed while applying it (request %s)", subtopic, request_id)
            self.refused[subtopic] += 1
            return Reply(topic=subtopic, ok=False, request_id=request_id,
                         reason=f"station failed to apply it: {exc}")
        logger.info("inbound %s accepted (request %s): %s", subtopic, request_id, reason)
        return Reply(topic=subtopic, ok=True, request_id=request_id, reason=reason, detail=detail)

    # ---- manifest ---------------------------------------------------------------------

    def _manifest(self, message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.handlers.on_manifest is None:
            raise _RejectedError("this station takes no manifests")
        rmas = message.get("rmas")
        if not isinstance(rmas, list) or not rmas:
            raise _RejectedError("'rmas' must be a non-empty list of "
                                 "{rma, skus or expected_sku, declared_reason}")
        if len(rmas) > MAX_MANIFEST_LINES:
            raise _RejectedError(f"{len(rmas)} lines, more than the limit of {MAX_MANIFEST_LINES}")
        lines: list[RmaLine] = []
        for i, entry in enumerate(rmas):
            where = f"rmas[{i}]"
            if not isinstance(entry, dict):
                raise _RejectedError(f"{where} must be an object")
            rma, skus, reason = entry.get("rma"), entry.get("skus"), entry.get("declared_reason")
            # `expected_sku` is the CSV manifest's column name: a line may say it that way
            # instead of `skus`, so an export of the CSV sent as JSON works as it is.
            if "expected_sku" in entry:
                if "skus" in entry:
                    raise _RejectedError(f"{where} has both skus and expected_sku: give one of them")
                sku = entry["expected_sku"]
                skus = [sku] if isinstance(sku, str) else None
            if not isinstance(rma, str) or not rma.strip() or len(rma) > 64:
                raise _RejectedError(f"{where}.rma must be a non-empty string of at most 64 characters")
            if (not isinstance(skus, list) or not skus or len(skus) > MAX_LINE_SKUS
                    or not all(isinstance(s, str) and s.strip() and len(s) <= 64 for s in skus)):
                raise _RejectedError(f"{where}.skus must be a list of 1 to {MAX_LINE_SKUS} SKU strings "
                                     "(or expected_sku one SKU string)")
            if reason is not None and reason not in _DECLARED:
                raise _RejectedError(f"{where}.declared_reason {reason!r} is not one of {sorted(_DECLARED)}")
            lines.append(RmaLine(rma=rma.strip(), skus=tuple(s.strip() for s in skus),
                                 declared_reason=reason))
        self.handlers.on_manifest(lines)
        return f"{len(lines)} RMA lines loaded", {"lines": len(lines)}

    # ---- config/set -------------------------------------------------------------------

    def _config_set(self, message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.handlers.on_config_set is None:
            raise _RejectedError("this station takes no remote configuration")
        signed: SignedConfigSet | None = None
        if "envelope" in message or "signature" in message:
            signed = self._open_config_set(message)  # a signed one is always verified
            values: Any = signed.values
        elif self.config_signed:
            # Said to central's operator, who reads the reply: what to send instead.
            raise _RejectedError("unsigned config/set refused: this station takes only thresholds signed "
                                 "with central's release key ([sync].config_signed = true); nothing was "
                                 f"changed; {_SEND_SIGNED}")
        else:
            values = message.get("values")
        checked = self._checked_values(values)
        self.handlers.on_config_set(checked)
        if signed is not None:  # accepted: the same message sent again is refused from now on
            try:
                self._config_state.record(signed.signed_at)
            except OSError as exc:  # the values are in force: say so, and what is not protected
                logger.error("config/set applied, but cannot write %s (%s): until a later signed config/set "
                             "is recorded, a copy of this one could be applied again while it is valid",
                             self._config_state.path, exc)
        return f"set {', '.join(f'{k}={v}' for k, v in checked.items())}", {"values": checked}

    def _checked_values(self, values: Any) -> dict[str, float]:
        if not isinstance(values, dict) or not values:
            raise _RejectedError("'values' must be a non-empty object {threshold: number}")
        ranges = self.handlers.config_ranges
        checked: dict[str, float] = {}
        for name, value in values.items():
            if name not in ranges:
                raise _RejectedError(f"{name!r} cannot be set remotely; allowed: {sorted(ranges)}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise _RejectedError(f"{name} must be a number, got {value!r}")
            low, high = ranges[name]
            if not low <= value <= high:
                raise _RejectedError(f"{name} = {value} is out of range [{low}, {high}]")
            checked[name] = float(value)
        return checked

    def _open_config_set(self, message: dict[str, Any]) -> SignedConfigSet:
        """Verify a signed config/set: central's key, this station, its time window, newer than the
        last one accepted. Nothing in the envelope is read before its signature verifies."""
        if not isinstance(message.get("envelope"), str) or not isinstance(message.get("signature"), str):
            raise _RejectedError("a signed config/set needs 'envelope' and 'signature', both base64 strings: "
                                 f"nothing was changed; {_SEND_SIGNED}")
        envelope, signature, station = self._signed_parts(
            message, set(), "a signed config/set", "nothing was changed",
            beside="the values go inside the signed envelope; ")
        store = self.model_store
        doc = open_signed(store.trusted_key if store else None, envelope, signature, "config/set",
                          "signed config/set messages are refused")
        if doc.get("format") != CONFIG_SET_FORMAT:
            raise OfferRejectedError(f"the signed config/set's 'format' must be {CONFIG_SET_FORMAT!r}")
        unknown = sorted(set(doc) - _CONFIG_SET_KEYS)
        if unknown:
            raise OfferRejectedError(f"the signed config/set has unknown keys {unknown}")
        again = f"sign it again with `station central config NAME=VALUE ... --stations {station}`"
        target = doc.get("station")
        if target != station:
            raise OfferRejectedError(f"the signed config/set is for the station {target!r}, this is "
                                     f"{station}: nothing was changed; {again}")
        values = doc.get("values")
        if not isinstance(values, dict):
            raise OfferRejectedError("the signed config/set's 'values' must be an object {threshold: number}")
        signed_at = parse_time(doc.get("signed_at"), "config/set", "signed_at")
        expires = parse_time(doc.get("expires"), "config/set", "expires")
        now = store.now() if store else datetime.now(UTC)
        check_signed_time(now, signed_at, expires, "config/set", again, self._config_state.last_signed_at,
                          "the thresholds")
        return SignedConfigSet(values=values, station=station, signed_at=signed_at, expires=expires,
                               envelope=envelope, signature=signature)

    # ---- model/offer ------------------------------------------------------------------

    def _model_offer(self, message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.model_store is None:
            raise _RejectedError("this station takes no model offers")
        action = message.get("action", "install")
        if action != "install":
            return self._model_action(self.model_store, message)
        if not isinstance(message.get("offer"), str):
            if any(k in message for k in ("name", "version", "sha256", "mode", "manifest", "url")):
                raise _RejectedError(
                    "old-format offer refused: its name/version/mode/url travel outside the signature; "
                    f"send {{'offer': <base64 of the signed {OFFER_FORMAT} envelope>, 'signature', "
                    "'payload_b64'}} as docs/sync.md describes")
            raise _RejectedError("'offer' must be a string (base64 of the signed envelope)")
        stray = sorted(set(message) - {"request_id", "action", "offer", "signature", "payload_b64"})
        if stray:
            raise _RejectedError(f"{stray} not allowed beside the signed offer: everything that changes "
                                 "what is installed goes inside the signed envelope")
        if not isinstance(message.get("signature"), str):
            raise _RejectedError("'signature' must be a string")
        try:
            envelope = base64.b64decode(message["offer"], validate=True)
        except (binascii.Error, ValueError):
            raise _RejectedError("'offer' is not base64") from None
        # Verified before anything in it is used: no URL is fetched for an unsigned offer.
        offer = self.model_store.open_offer(envelope, decode_signature(message["signature"]))
        mode = offer.mode
        model = self._model_bytes(offer, message.get("payload_b64"))
        store = self.model_store
        before = store.snapshot(offer.name)
        installed = store.install_offer(offer, model, check=self.handlers.check_model)
        if self.handlers.on_model_installed is not None:
            try:
                self.handlers.on_model_installed(installed, mode)
            except Exception as exc:
                # The station kept its running model: make the disk say the same, so a
                # restart does not come up on a version that never ran.
                store.restore(offer.name, before)
                raise OfferRejectedError(
                    f"{offer.name} {offer.version} could not be swapped in ({exc}); "
                    f"{offer.name} stays on {before['active'] or 'the shipped model'}") from exc
        return (f"{installed.name} {installed.version} installed as {mode.value}",
                {"name": installed.name, "version": installed.version, "mode": mode.value})

    def _signed_parts(self, message: dict[str, Any], named: set[str], what: str, unchanged: str, *,
                      beside: str = "") -> tuple[bytes, bytes, str]:
        """The envelope and signature of a signed message (both checked to be strings) and this station's
        id (site/station), once nothing but `named` keys and the request id stand beside them."""
        stray = sorted(set(message) - {"request_id", "envelope", "signature", *named})
        if stray:
            raise _RejectedError(f"{stray} not allowed beside {what}: {beside}{unchanged}")
        station = self.station
        if station is None:
            raise _RejectedError("this station does not know its own site/station id, so it cannot tell "
                                 f"whether {what} is addressed to it; {unchanged}")
        try:
            envelope = base64.b64decode(message["envelope"], validate=True)
        except (binascii.Error, ValueError):
            raise _RejectedError("'envelope' is not base64") from None
        return envelope, decode_signature(message["signature"]), station

    def _model_action(self, store: ModelStore, message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        # Only switches between versions that were verified when installed, and only when
        # central signed it for this station (the broker's ACL alone would let anyone who
        # got write access, or recorded an old action, switch the model).
        action, name = message.get("action"), message.get("name")
        if action not in MODEL_ACTIONS:
            raise _RejectedError(f"'action' must be install, promote, drop or rollback, not {action!r}")
        if not isinstance(name, str) or name not in store.names:
            raise _RejectedError(f"'name' must be one of {sorted(store.names)}")
        send = (f"send it with `station central model {action} {name} --key RELEASE_KEY`, which signs it "
                f"({ACTION_FORMAT})")
        if not isinstance(message.get("envelope"), str) or not isinstance(message.get("signature"), str):
            raise _RejectedError(f"unsigned model action refused: nothing was done; {send}")
        envelope, signature, station = self._signed_parts(
            message, {"action", "name"}, "a signed model action", "nothing was done")
        signed = store.open_action(envelope, signature, station)
        if (signed.action, signed.name) != (action, name):
            raise _RejectedError(f"the message says {action} {name} but its signed envelope says "
                                 f"{signed.action} {signed.name}: nothing was done; {send}")
        active = store.apply_action(signed)
        version = active.version if active else None
        if self.handlers.on_model_changed is not None:
            self.handlers.on_model_changed(name)
        return (f"{name}: {action} done; active {version or 'the shipped model'}",
                {"name": name, "action": action, "active": version})

    def _model_bytes(self, offer: ModelOffer, inline: Any) -> bytes:
        if offer.url is None:
            if not isinstance(inline, str):
                raise _RejectedError("'payload_b64' must be a base64 string (the offer names no url)")
            try:
                return base64.b64decode(inline, validate=True)
            except (binascii.Error, ValueError):
                raise _RejectedError("'payload_b64' is not base64") from None
        if inline is not None:
            raise _RejectedError("give 'payload_b64' only for an offer without a url")
        url = offer.url
        if not url_allowed(url, self.url_allow):
            raise _RejectedError(
                f"{url} is not allowed: the station fetches models only from [sync].model_url_allow "
                f"({list(self.url_allow) or 'empty: inline payloads only'}); add its prefix there "
                "or send the model inline")
        opener = urllib.request.build_opener(_AllowedRedirects(self.url_allow))
        try:
            with opener.open(url, timeout=self.fetch_timeout_s) as response:
                data: bytes = response.read(offer.size + 1)  # the signed size caps what is read
        except OSError as exc:
            raise _RejectedError(f"cannot download {url}: {exc}") from None
        if len(data) != offer.size:
            raise _RejectedError(f"{url} is not the {offer.size} bytes the signed offer says"
                                 f"{' (it is larger)' if len(data) > offer.size else ''}")
        return data


def url_allowed(url: str, allow: tuple[str, ...]) -> bool:
    """True when `url` has the scheme and host of an entry of `allow` and lies under its path.

    A path with '.' or '..' segments (also percent-encoded) never matches: it could climb out
    of the allowed prefix once the server or the file system resolves it.
    """
    target = urllib.parse.urlsplit(url)
    if target.scheme not in _FETCH_SCHEMES or target.username or target.password:
        return False
    segments = urllib.parse.unquote(target.path).split("/")
    if any(s in (".", "..") for s in segments) or "\\" in target.path:
        return False
    for entry in allow:
        prefix = urllib.parse.urlsplit(entry)
        if (prefix.scheme, prefix.netloc.lower()) != (target.scheme, target.netloc.lower()):
            continue
        base = prefix.path if prefix.path.endswith("/") else prefix.path + "/"
        if target.path.startswith(base) or target.path == prefix.path:
            return True
    return False


_FETCH_SCHEMES = ("https", "http", "file")


class _AllowedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a URL the allow list also allows."""

    def __init__(self, allow: tuple[str, ...]) -> None:
        super().__init__()
        self.allow = allow

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: HTTPMessage, newurl: str) -> urllib.request.Request | None:
        if not url_allowed(newurl, self.allow):
            raise urllib.error.URLError(f"redirect to {newurl}, which [sync].model_url_allow does not allow")
        return super().redirect_request(req, fp, code, msg, headers, newurl)
