"""The Mosquitto bridge that joins a site broker to the central broker.

Stations publish to their site's broker; central's receivers subscribe at the central
broker. The bridge (a `connection` section in the site broker's configuration) carries a
site's prefix `returns/v1/<site>/` between the two: what stations publish goes out, what
central publishes to stations comes in, each topic in one direction only, QoS 1.

Nothing is lost when the bridge, the site broker or the WAN link goes down:
- `cleansession false` gives the bridge a persistent session on the central broker, which
  queues what central publishes to the site (acks, commands) while the bridge is away;
- `local_cleansession false` does the same on the site broker for what goes out (verdicts),
  and with the site broker's `persistence true` that queue survives its restart;
- QoS 1 may repeat a message after a reconnect; central stores each verdict revision once
  and the stations ignore a second ack, so repeats change nothing.

`bridge_config()` writes the section, `bridge_acl()` the bridge's entry in the central
broker's ACL; `station central bridge-config [--acl]` prints them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BRIDGE_TOPICS", "BridgeSettings", "bridge_acl", "bridge_config"]

logger = logging.getLogger(__name__)

# (topic under a station's prefix, direction seen from the site broker). Filters ending in
# `/#` also match the bare topic (MQTT: `a/#` matches `a`), so `image/#` carries `image` too.
BRIDGE_TOPICS: tuple[tuple[str, str], ...] = (
    # station -> central
    ("verdict", "out"),
    ("image/#", "out"),
    ("purge/#", "out"),
    ("status", "out"),
    ("stats", "out"),
    ("reply", "out"),
    # central -> station
    ("ack", "in"),
    ("manifest", "in"),
    ("config/#", "in"),
    ("model/#", "in"),
    ("cmd/#", "in"),
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class BridgeSettings:
    """One site's bridge to the central broker.

    `username` / `password` log the bridge in at central (give it an ACL entry for its site's
    prefix); `ca_file` turns TLS on (`cert_file` / `key_file`: a client certificate when central
    requires one). `restart_timeout` is the reconnect back-off: first wait and cap, in seconds.
    """

    site: str
    central_host: str
    central_port: int = 1883
    prefix: str = "returns/v1/"
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = 30
    restart_timeout: tuple[int, int] = (2, 30)

    def __post_init__(self) -> None:
        if not _NAME.match(self.site):
            raise ValueError(f"site {self.site!r}: letters, digits, '.', '_' and '-' only (it is a "
                             "topic level and part of the bridge's client id)")
        if not self.central_host or any(c.isspace() for c in self.central_host):
            raise ValueError(f"central host {self.central_host!r} is empty or has spaces")
        if not 0 < self.central_port < 65536:
            raise ValueError(f"central port {self.central_port} is not a TCP port")
        if not self.prefix.endswith("/") or any(c in self.prefix for c in "+# "):
            raise ValueError(f"prefix {self.prefix!r} must end with '/' and hold no wildcard or space")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("a client certificate needs both its certificate and its key file")
        if self.cert_file is not None and self.ca_file is None:
            raise ValueError("a client certificate needs TLS: give the CA file too")
        if self.password is not None and self.username is None:
            raise ValueError("a bridge password needs a user name")
        base, cap = self.restart_timeout
        if not 0 < base <= cap:
            raise ValueError(f"restart timeout {base}..{cap} s: the first wait must be > 0 and <= the cap")

    @property
    def connection_name(self) -> str:
        """The bridge's name on the site broker and its client id at central (one per site)."""
        return f"returns-{self.site}"


def bridge_config(settings: BridgeSettings) -> str:
    """The `connection` section of the site broker's mosquitto.conf (append it, or put it in
    /etc/mosquitto/conf.d/). The broker's own options must keep `persistence true` and
    `max_queued_messages 0`, as docs/mosquitto/mosquitto.conf has them: the bridge's queue of
    verdicts on the way out is a queue of the site broker."""
    s = settings
    site_prefix = f"{s.prefix}{s.site}/+/"
    lines = [
        f"# Bridge of site {s.site} to the central broker (station central bridge-config).",
        "# Each topic goes one way only, QoS 1; the sessions on both ends are persistent, so",
        "# a restart of this broker, of the bridge or of the link loses nothing.",
        f"connection {s.connection_name}",
        f"address {s.central_host}:{s.central_port}",
        "bridge_protocol_version mqttv311",
        # The client id at central must stay the same across restarts: it names the session
        # that queues acks for this site while the bridge is down.
        f"remote_clientid {s.connection_name}",
        f"local_clientid {s.connection_name}.local",
        "cleansession false",
        "local_cleansession false",
        "try_private true",
        "start_type automatic",
        f"restart_timeout {s.restart_timeout[0]} {s.restart_timeout[1]}",
        f"keepalive_interval {s.keepalive_s}",
        # Retained "1"/"0" on both brokers: central sees which sites are connected.
        "notifications true",
        f"notification_topic {s.prefix}{s.site}/_bridge/state",
    ]
    if s.username is not None:
        lines.append(f"remote_username {s.username}")
    if s.password is not None:
        lines.append(f"remote_password {s.password}")
    if s.ca_file is not None:
        lines += [
            f"bridge_cafile {s.ca_file}",
            "bridge_tls_version tlsv1.2",
            # The central broker's certificate must name central_host.
            "bridge_insecure false",
        ]
        if s.cert_file is not None and s.key_file is not None:
            lines += [f"bridge_certfile {s.cert_file}", f"bridge_keyfile {s.key_file}"]
    for topic, direction in BRIDGE_TOPICS:
        lines.append(f"topic {site_prefix}{topic} {direction} 1")
    return "\n".join(lines) + "\n"


def bridge_acl(settings: BridgeSettings) -> str:
    """The bridge's entry in the central broker's ACL file: its user may write what goes out and
    read what comes in, for its own site only. Needs `username`."""
    s = settings
    if s.username is None:
        raise ValueError("an ACL entry needs the bridge's user name (--username)")
    site_prefix = f"{s.prefix}{s.site}/+/"
    lines = [f"# Bridge of site {s.site}: its own site's topics only (station central bridge-config --acl).",
             f"user {s.username}"]
    lines += [f"topic {'write' if direction == 'out' else 'read'} {site_prefix}{topic}"
              for topic, direction in BRIDGE_TOPICS]
    lines.append(f"topic write {s.prefix}{s.site}/_bridge/state")
    return "\n".join(lines) + "\n"
