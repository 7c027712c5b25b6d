"""Evidence pictures and purges on the wire: keys, outbox rows, user properties, checks.

A station sends each stored JPEG of an item on `<prefix>image` (the bytes exactly as stored,
described by MQTT v5 user properties) and, when `station purge --rma R` erases a customer's
data, a `<prefix>purge` message naming the verdicts. Both travel through the outbox: a
picture's row holds an `ImageRow` (where the file is, its sha256), not the bytes, so a
backlog of pictures costs the station's database nothing and a picture erased before it
went out is simply not sent. Central checks what arrives with `parse_image` / `parse_purge`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTENT_TYPE",
    "ERASED",
    "EvidenceInvalidError",
    "ImageMessage",
    "ImageRow",
    "PurgeMessage",
    "erase_personal_codes",
    "image_key",
    "parse_image",
    "parse_purge",
    "purge_key",
    "purge_payload",
    "topic_of_key",
]

logger = logging.getLogger(__name__)

CONTENT_TYPE = "image/jpeg"
# What an erased code text reads as (the station writes the same: station.privacy.ERASED).
ERASED = "[erased]"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class EvidenceInvalidError(ValueError):
    """A picture or purge message central must not store; the message says why."""


def image_key(verdict_id: str, camera: str) -> str:
    """The outbox and ack key of one picture."""
    return f"image:{verdict_id}:{camera}"


def purge_key(purge_id: str) -> str:
    """The outbox and ack key of one purge."""
    return f"purge:{purge_id}"


def topic_of_key(key: str) -> str:
    """The topic (after the station's prefix) an outbox row with this key goes to."""
    if key.startswith("image:"):
        return "image"
    if key.startswith("purge:"):
        return "purge"
    return "verdict"


@dataclass(frozen=True)
class ImageRow:
    """What a picture's outbox row holds: which picture, where its file is, what it must hash to."""

    verdict_id: str
    camera: str
    sha256: str
    path: str  # absolute: the publisher knows nothing of the station's folders
    size: int

    @property
    def key(self) -> str:
        return image_key(self.verdict_id, self.camera)

    def to_payload(self) -> bytes:
        return json.dumps({"verdict_id": self.verdict_id, "camera": self.camera, "sha256": self.sha256,
                           "path": self.path, "bytes": self.size}, separators=(",", ":")).encode()

    @classmethod
    def from_payload(cls, payload: bytes) -> ImageRow:
        data = json.loads(payload)
        return cls(str(data["verdict_id"]), str(data["camera"]), str(data["sha256"]), str(data["path"]),
                   int(data["bytes"]))

    def properties(self) -> list[tuple[str, str]]:
        """The MQTT v5 user properties that describe this picture on the `image` topic."""
        return [("key", self.key), ("verdict_id", self.verdict_id), ("camera", self.camera),
                ("sha256", self.sha256), ("content_type", CONTENT_TYPE)]


@dataclass(frozen=True)
class ImageMessage:
    """A picture as central received it, checked: its bytes hash to `sha256`."""

    verdict_id: str
    camera: str
    sha256: str
    data: bytes

    @property
    def key(self) -> str:
        return image_key(self.verdict_id, self.camera)

    def ack(self) -> dict[str, Any]:
        return {"key": self.key, "verdict_id": self.verdict_id, "camera": self.camera}


def parse_image(properties: Iterable[tuple[str, str]], payload: bytes) -> ImageMessage:
    """Check a picture message: its user properties complete and consistent, its bytes matching
    the sha256 they announce (which is the verdict's `inspection.images[].sha256`)."""
    props = dict(properties)
    missing = [k for k in ("key", "verdict_id", "camera", "sha256") if not props.get(k)]
    if missing:
        raise EvidenceInvalidError(f"picture without the user properties {', '.join(missing)}")
    verdict_id, camera, sha256 = props["verdict_id"], props["camera"], props["sha256"].lower()
    if not _ID.match(verdict_id) or not _ID.match(camera):
        raise EvidenceInvalidError(f"picture with an unusable verdict_id {verdict_id!r} or camera {camera!r}")
    if props["key"] != image_key(verdict_id, camera):
        raise EvidenceInvalidError(f"picture key {props['key']!r} does not name verdict {verdict_id} "
                                   f"camera {camera}")
    if props.get("content_type", CONTENT_TYPE) != CONTENT_TYPE:
        raise EvidenceInvalidError(f"picture of content type {props['content_type']!r}, not {CONTENT_TYPE}")
    if not _SHA256.match(sha256):
        raise EvidenceInvalidError(f"picture sha256 {sha256!r} is not 64 hex digits")
    actual = hashlib.sha256(payload).hexdigest()
    if actual != sha256:
        raise EvidenceInvalidError(f"picture {props['key']}: its bytes hash to {actual}, not to the "
                                   f"announced {sha256}")
    return ImageMessage(verdict_id, camera, sha256, payload)


@dataclass(frozen=True)
class PurgeMessage:
    """A station's purge of one customer's data, checked."""

    purge_id: str
    rma: str
    verdict_ids: tuple[str, ...]
    station_id: str
    site_id: str
    at: str

    @property
    def key(self) -> str:
        return purge_key(self.purge_id)

    def ack(self) -> dict[str, Any]:
        return {"key": self.key, "purge_id": self.purge_id}


def purge_payload(purge_id: str, rma: str, verdict_ids: Iterable[str], station_id: str, site_id: str,
                  at: str) -> bytes:
    """The `purge` message a station sends."""
    return json.dumps({"key": purge_key(purge_id), "purge_id": purge_id, "rma": rma,
                       "verdict_ids": list(verdict_ids), "station_id": station_id, "site_id": site_id,
                       "at": at}, separators=(",", ":"), ensure_ascii=False).encode()


def parse_purge(payload: bytes) -> PurgeMessage:
    """Check a purge message's shape."""
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise EvidenceInvalidError(f"purge is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise EvidenceInvalidError("purge is not a JSON object")
    for name in ("purge_id", "rma", "station_id", "site_id", "at"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise EvidenceInvalidError(f"purge without a {name} string")
    ids = data.get("verdict_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) and _ID.match(i) for i in ids):
        raise EvidenceInvalidError("purge verdict_ids must be a list of verdict ids")
    if data.get("key", purge_key(data["purge_id"])) != purge_key(data["purge_id"]):
        raise EvidenceInvalidError(f"purge key {data.get('key')!r} is not purge:{data['purge_id']}")
    return PurgeMessage(data["purge_id"], data["rma"], tuple(ids), data["station_id"], data["site_id"],
                        data["at"])


def _is_personal_code(code: Mapping[str, Any], rma: str | None) -> bool:
    # The station's rule (station.privacy.is_personal_code), which sync cannot import: a code
    # that is not a product GTIN, not GS1 and not the RMA may carry a name or an address.
    text = str(code.get("text", ""))
    fmt = str(code.get("format", ""))
    if code.get("gs1") or text == ERASED or (rma is not None and text == rma):
        return False
    return not (fmt in ("EAN13", "EAN8", "UPCA", "UPCE") and text.isdigit())


def erase_personal_codes(verdict: dict[str, Any]) -> bool:
    """Erase, in place, the texts of a verdict's codes that may carry a customer's data; True if any."""
    item = verdict.get("item") or {}
    changed = False
    for code in item.get("codes") or []:
        if isinstance(code, dict) and _is_personal_code(code, item.get("rma")):
            code["text"] = ERASED
            changed = True
    return changed
