"""The `[sync]` section of config.toml as sync's own settings, and the station's identity on the wire.

sync/ never imports station.config (docs/architecture.md): the station's config holds `SyncSettings`
itself as its `[sync]` section, so every field is a config key with its embedded default.
What a running station is (its ids, session, versions and models) is not configuration:
it travels separately as a `StationIdentity`. `Topics` derives every topic name from the prefix.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["AUTO_BROKER", "IMAGE_POLICIES", "StationIdentity", "SyncSettings", "SyncSettingsError", "Topics"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

AUTO_BROKER = "auto"
"""`[sync] broker` value: the station starts a local Mosquitto and publishes to it."""

IMAGE_POLICIES = ("all", "all_but_restock", "none")
"""`[sync] images` values: which items' stored pictures go to central as evidence."""


class SyncSettingsError(ValueError):
    """A `[sync]` value sync cannot work with; `key` names the config key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Topics:
    """Every topic of one station, from its prefix (docs/sync.md "Topics")."""

    prefix: str

    @property
    def status(self) -> str:
        return self.prefix + "status"

    @property
    def verdict(self) -> str:
        return self.prefix + "verdict"

    @property
    def stats(self) -> str:
        return self.prefix + "stats"

    @property
    def image(self) -> str:
        return self.prefix + "image"

    @property
    def purge(self) -> str:
        return self.prefix + "purge"

    @property
    def ack(self) -> str:
        return self.prefix + "ack"

    @property
    def reply(self) -> str:
        return self.prefix + "reply"

    @property
    def inbound(self) -> tuple[str, ...]:
        """Topics the station subscribes to besides `ack`."""
        return tuple(self.prefix + sub for sub in ("manifest", "config/set", "model/offer", "cmd/rebirth"))


@dataclass(frozen=True)
class StationIdentity:
    """Who is publishing, as every status, stats and reply message says: set when the station
    starts, not configured. `models` are the models in use when it started."""

    station_id: str = "dock-01"
    site_id: str = "site-01"
    session: str = ""
    versions: dict[str, Any] = field(default_factory=dict)
    models: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        for name in ("station_id", "site_id"):
            if not _NAME.match(getattr(self, name)):
                raise ValueError(f"sync: {name} {getattr(self, name)!r} is not usable in a topic — use "
                                 "letters, digits, '.', '_' or '-' (no '/', '+', '#')")

    @property
    def client_id(self) -> str:
        """A stable MQTT client id, so the broker keeps the station's session across restarts."""
        return f"station-{self.site_id}-{self.station_id}"


@dataclass(frozen=True)
class SyncSettings:
    """The `[sync]` section: how this station talks to the broker and to central.

    Relative file paths are relative to the config file's folder (see `resolved`),
    `model_store_dir` to the station's data folder.
    """

    # "" = no broker: the publisher keeps everything in the outbox. "auto" (AUTO_BROKER) =
    # the station starts a local Mosquitto on a free loopback port (demo and tests).
    broker: str = AUTO_BROKER
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    # "" = returns/v1/<site_id>/<station_id>/
    topic_prefix: str = ""
    ack_timeout_s: float = 10.0
    inflight_window: int = 1000
    stats_interval_s: float = 30.0
    reconnect_backoff_min_s: float = 0.5
    reconnect_backoff_max_s: float = 30.0
    keepalive_s: int = 30
    # How often the publisher looks at the outbox when nobody calls wake().
    poll_interval_s: float = 0.2
    # Ed25519 public key (PEM) that signs model offers; None = model offers are refused.
    trusted_key_file: Path | None = None
    # URL prefixes a signed model offer may be fetched from; empty = inline payloads only.
    model_url_allow: tuple[str, ...] = ()
    # Verified model offers from central are installed here (relative to the data folder).
    model_store_dir: Path = Path("central-models")
    # True = a config/set must be signed by central's release key (trusted_key_file), as
    # `station central config` sends it; False = unsigned ones are taken too (the broker's ACL
    # alone protects them). A signed one is always verified.
    config_signed: bool = False
    # Which items' stored pictures go to central (IMAGE_POLICIES): refund disputes need the
    # returned-to-customer and scrapped items' pictures; restocked goods rarely do.
    images: str = "all_but_restock"
    # A picture larger than this is not sent (logged and counted), so one odd frame cannot
    # hold the link for long.
    image_max_bytes: int = 2_000_000
    # Pictures published but not yet acknowledged, at most: kept small so that a new
    # verdict never waits behind more than a few pictures on the wire.
    image_window: int = 4

    def __post_init__(self) -> None:
        prefix = self.topic_prefix
        if prefix and (not prefix.endswith("/") or any(c in prefix for c in "+#")):
            raise SyncSettingsError("topic_prefix", f"topic_prefix {prefix!r} must end with '/' and "
                                    "contain no '+' or '#'")
        if self.inflight_window < 1:
            raise SyncSettingsError("inflight_window", "inflight_window must be at least 1")
        if self.ack_timeout_s <= 0:
            raise SyncSettingsError("ack_timeout_s", "ack_timeout_s must be positive")
        if self.images not in IMAGE_POLICIES:
            raise SyncSettingsError("images", f"images = {self.images!r} must be one of "
                                    + ", ".join(f'"{p}"' for p in IMAGE_POLICIES))
        if self.image_max_bytes < 1:
            raise SyncSettingsError("image_max_bytes", "image_max_bytes must be at least 1")
        if self.image_window < 1:
            raise SyncSettingsError("image_window", "image_window must be at least 1")
        given = [name for name in ("ca_file", "cert_file", "key_file") if getattr(self, name) is not None]
        if given and not self.tls and self.broker not in ("", AUTO_BROKER):
            # TLS asked for by its files but not switched on would be plain text, the password
            # included, with nothing said: refused, as a wrong certificate would be.
            raise SyncSettingsError(given[0], f"{' and '.join(given)} set but tls = false: the station "
                                    "would connect in plain text and send its password unencrypted; set "
                                    f"tls = true, or remove {' and '.join(given)} for a broker without TLS")

    def topics(self, identity: StationIdentity) -> Topics:
        """All topic names of the station `identity`: under `topic_prefix`, or by default
        under returns/v1/<site_id>/<station_id>/."""
        return Topics(self.topic_prefix or f"returns/v1/{identity.site_id}/{identity.station_id}/")

    def resolved(self, base_dir: Path) -> SyncSettings:
        """A copy with the key and certificate files made absolute against `base_dir` (the
        config file's folder); `~` is expanded."""

        def absolute(path: Path | None) -> Path | None:
            if path is None:
                return None
            path = path.expanduser()
            return path if path.is_absolute() else base_dir / path

        return replace(self, ca_file=absolute(self.ca_file), cert_file=absolute(self.cert_file),
                       key_file=absolute(self.key_file), trusted_key_file=absolute(self.trusted_key_file))
