"""What sync needs to know, as plain values: the station maps its [sync] config into this.

sync/ never imports station.config (DESIGN §2); `SyncSettings` is its own small frozen
dataclass, and `Topics` derives every topic name from the prefix.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SyncSettings", "Topics"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Topics:
    """Every topic of one station, from its prefix (DESIGN §4 "MQTT topics")."""

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
class SyncSettings:
    """How this station talks to the broker and to central.

    `host` "" means no broker: the publisher keeps everything in the outbox.
    """

    host: str = ""
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    # "" = returns/v1/<site_id>/<station_id>/
    topic_prefix: str = ""
    station_id: str = "dock-01"
    site_id: str = "site-01"
    session: str = ""
    versions: dict[str, Any] = field(default_factory=dict)
    models: tuple[dict[str, Any], ...] = ()
    ack_timeout_s: float = 10.0
    inflight_window: int = 1000
    stats_interval_s: float = 30.0
    reconnect_backoff_min_s: float = 0.5
    reconnect_backoff_max_s: float = 30.0
    keepalive_s: int = 30
    # How often the publisher looks at the outbox when nobody calls wake().
    poll_interval_s: float = 0.2
    trusted_key_file: Path | None = None

    def __post_init__(self) -> None:
        for name in ("station_id", "site_id"):
            if not _NAME.match(getattr(self, name)):
                raise ValueError(f"sync: {name} {getattr(self, name)!r} is not usable in a topic — use "
                                 "letters, digits, '.', '_' or '-' (no '/', '+', '#')")
        prefix = self.topic_prefix
        if prefix and (not prefix.endswith("/") or any(c in prefix for c in "+#")):
            raise ValueError(f"sync: topic_prefix {prefix!r} must end with '/' and contain no '+' or '#'")
        if self.inflight_window < 1:
            raise ValueError("sync: inflight_window must be at least 1")
        if self.ack_timeout_s <= 0:
            raise ValueError("sync: ack_timeout_s must be positive")

    @property
    def prefix(self) -> str:
        """The topic prefix in force."""
        return self.topic_prefix or f"returns/v1/{self.site_id}/{self.station_id}/"

    @property
    def topics(self) -> Topics:
        """All topic names of this station."""
        return Topics(self.prefix)

    @property
    def client_id(self) -> str:
        """A stable MQTT client id, so the broker keeps the station's session across restarts."""
        return f"station-{self.site_id}-{self.station_id}"
