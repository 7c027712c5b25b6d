"""One message through a broker, for `station doctor`: connect, publish at QoS 1, wait for the
PUBACK and, when asked, for a reply on another topic (central's ack of a probe verdict).

It logs in as the station does (credentials, TLS) under its own client id, so a station
running on the same broker keeps its session.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from sync.mqtt import BrokerAddress, set_tls

__all__ = ["BrokerProbeError", "ProbeResult", "probe_broker"]

logger = logging.getLogger(__name__)


class BrokerProbeError(RuntimeError):
    """The broker could not be reached, refused us, or did not confirm in time; says which."""


@dataclass(frozen=True)
class ProbeResult:
    """How long each step took, in milliseconds; `reply_ms` is None when no reply was awaited."""

    connect_ms: float
    puback_ms: float
    reply_ms: float | None


def _client(client_id: str, address: BrokerAddress) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if address.username:
        client.username_pw_set(address.username, address.password or None)
    if address.tls:
        set_tls(client, address)  # the station's own rules and messages for its TLS files
    return client


def probe_broker(address: BrokerAddress, client_id: str, topic: str, payload: bytes, *,
                 reply_topic: str | None = None, timeout_s: float = 10.0) -> ProbeResult:
    """Publish `payload` on `topic` at QoS 1 and wait for its PUBACK (and a message on
    `reply_topic` when given). Raises BrokerProbeError saying which step failed."""
    connected = threading.Event()
    published = threading.Event()
    replied = threading.Event()
    subscribed = threading.Event()
    refused: list[str] = []

    def on_connect(client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode,
                   properties: Any) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        elif reply_topic is not None:
            client.subscribe(reply_topic, qos=1)
        connected.set()

    def on_subscribe(client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        subscribed.set()

    def on_publish(client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, properties: Any) -> None:
        published.set()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        replied.set()

    try:
        client = _client(client_id, address)
    except (OSError, ValueError, ssl.SSLError) as exc:
        raise BrokerProbeError(f"cannot set up TLS: {exc}") from None
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_publish = on_publish
    client.on_message = on_message
    started = time.monotonic()
    try:
        client.connect(address.host, address.port, keepalive=30)
    except (OSError, ssl.SSLError) as exc:
        raise BrokerProbeError(f"cannot connect to {address.host}:{address.port}: {exc}") from None
    client.loop_start()
    try:
        if not connected.wait(timeout_s):
            raise BrokerProbeError(f"{address.host}:{address.port} accepted the connection but did not "
                                   f"answer the MQTT CONNECT in {timeout_s:.0f} s")
        if refused:
            raise BrokerProbeError(f"the broker refused the login: {refused[0]}")
        connect_ms = (time.monotonic() - started) * 1000
        if reply_topic is not None and not subscribed.wait(timeout_s):
            raise BrokerProbeError(f"the broker did not confirm the subscription to {reply_topic}")
        sent = time.monotonic()
        client.publish(topic, payload, qos=1)
        if not published.wait(timeout_s):
            raise BrokerProbeError(f"no PUBACK for a message on {topic} in {timeout_s:.0f} s")
        puback_ms = (time.monotonic() - sent) * 1000
        reply_ms = None
        if reply_topic is not None:
            if not replied.wait(timeout_s):
                raise BrokerProbeError(f"no answer on {reply_topic} in {timeout_s:.0f} s")
            reply_ms = (time.monotonic() - sent) * 1000
        return ProbeResult(round(connect_ms, 1), round(puback_ms, 1),
                           None if reply_ms is None else round(reply_ms, 1))
    finally:
        client.disconnect()
        client.loop_stop()
