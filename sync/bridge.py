"""The Mosquitto bridge that joins a site broker to the central broker.

Stations publish to their site's broker; central's receivers subscribe at the central
broker. The bridge (`connection` sections in the site broker's configuration) carries a
site's prefix `returns/v1/<site>/` between the two: what stations publish goes out, what
central publishes to stations comes in, each topic in one direction only, QoS 1.

It is two connections, because no one MQTT version does both directions on Mosquitto 2.0:
- out (`returns-<site>:out`, MQTT v5): evidence pictures carry their key, verdict_id,
  camera and sha256 only as MQTT v5 user properties, which an MQTT 3.1.1 bridge drops
  (central then refuses every picture). Verdicts, purges and the rest go out on the same
  connection, so they keep the order the stations published them in (a purge never
  overtakes the pictures it erases).
- in (`returns-<site>`, MQTT 3.1.1): a Mosquitto 2.0 bridge speaking v5 sends no session
  expiry interval, so central would end its session whenever the link drops and lose what
  it published for the site meanwhile (acks, commands). Over 3.1.1, `cleansession false`
  keeps that session, as it always has.
  (Mosquitto 2.1's `bridge_session_expiry_interval` would let one v5 connection do both.)

Nothing is lost when the bridge, the site broker or the WAN link goes down:
- `cleansession false` on the in connection gives it a persistent session on the central
  broker, which queues what central publishes to the site (acks, commands) while the
  bridge is away;
- `local_cleansession false` on the out connection does the same on the site broker for
  what goes out (verdicts, pictures), and with the site broker's `persistence true` that
  queue survives its restart;
- QoS 1 may repeat a message after a reconnect; central stores each verdict revision and
  picture once and the stations ignore a second ack, so repeats change nothing.

A v5 bridge announces its broker's `max_inflight_messages` as its Receive Maximum, and 0
(no limit) is a protocol error in MQTT v5: central would refuse the connection. So the
section sets it to Mosquitto's default, 20.

`bridge_config()` writes the sections, `bridge_acl()` the bridge's entry in the central
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
        """The inbound connection's name on the site broker and its client id at central (one
        per site): the persistent session at central that queues acks and commands."""
        return f"returns-{self.site}"

    @property
    def out_connection_name(self) -> str:
        """The outbound (MQTT v5) connection's name and client id. A site id has no ':', so
        this never equals another site's `connection_name`."""
        return f"returns-{self.site}:out"


def bridge_config(settings: BridgeSettings) -> str:
    """The two `connection` sections of the site broker's mosquitto.conf (append them, or put
    them in /etc/mosquitto/conf.d/): the site broker must be Mosquitto 2.0 or later (MQTT v5
    bridges). The broker's own options must keep `persistence true` and
    `max_queued_messages 0`, as docs/mosquitto/mosquitto.conf has them: the bridge's queue of
    verdicts and pictures on the way out is a queue of the site broker."""
    s = settings
    site_prefix = f"{s.prefix}{s.site}/+/"

    def connection(name: str, protocol: str) -> list[str]:
        lines = [
            f"connection {name}",
            f"address {s.central_host}:{s.central_port}",
            f"bridge_protocol_version {protocol}",
            # The client ids must stay the same across restarts: they name the sessions.
            f"remote_clientid {name}",
            f"local_clientid {name}.local",
            "cleansession false",
            "local_cleansession false",
        ]
        if protocol == "mqttv311":  # v5 bridges mark themselves with subscription options instead
            lines.append("try_private true")
        lines += [
            "start_type automatic",
            f"restart_timeout {s.restart_timeout[0]} {s.restart_timeout[1]}",
            f"keepalive_interval {s.keepalive_s}",
        ]
        return lines

    def login() -> list[str]:
        lines = []
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
        return lines

    def topics(direction: str) -> list[str]:
        return [f"topic {site_prefix}{topic} {d} 1" for topic, d in BRIDGE_TOPICS if d == direction]

    lines = [
        f"# Bridge of site {s.site} to the central broker (station central bridge-config).",
        "# Each topic goes one way only, QoS 1; the sessions on both ends are persistent, so",
        "# a restart of this broker, of the bridge or of the link loses nothing.",
        "# Needs Mosquitto 2.0 or later here: what goes out is bridged over MQTT v5, which",
        "# carries the pictures' user properties (key, sha256, camera); what comes in over",
        "# MQTT 3.1.1, whose persistent session at central Mosquitto 2.0 keeps (docs/fleet.md).",
        "",
        "# In: acks and commands from central.",
        *connection(s.connection_name, "mqttv311"),
        # Retained "1"/"0" on both brokers: central sees which sites are connected.
        "notifications true",
        f"notification_topic {s.prefix}{s.site}/_bridge/state",
        *login(),
        *topics("in"),
        "",
        "# Out: verdicts, pictures, purges, status, stats, replies, in the stations' order.",
        *connection(s.out_connection_name, "mqttv50"),
        "notifications false",
        # Broker-wide, not of this connection alone: a v5 bridge announces it as its Receive
        # Maximum, and 0 (no limit) is an MQTT v5 protocol error that central refuses.
        "max_inflight_messages 20",
        *login(),
        *topics("out"),
    ]
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
