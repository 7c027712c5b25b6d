"""Making paho clients the same way on both ends: MQTT v5, TLS, credentials, back-off.

The only module besides the publisher and receiver that touches paho; it keeps the
security options (CA, client certificate, username/password) in one place.
"""

from __future__ import annotations

import contextlib
import logging
import re
import select
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

__all__ = ["BrokerAddress", "BufferedClient", "NetworkLoop", "TlsFilesError", "connect_properties",
           "make_client"]

logger = logging.getLogger(__name__)

# A persistent session outlives a restart of either side by this long (seconds), so QoS 1
# messages (acks, verdicts) queued by the broker meanwhile are delivered after it.
SESSION_EXPIRY_S = 7 * 24 * 3600


# A host name (letters, digits, '-', '_' and dots) or an IPv4 / IPv6 address (urlsplit drops the
# brackets of [::1]; a zone follows '%').
_HOST = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9_.-]+)?")

_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@/]*@")


@dataclass(frozen=True)
class BrokerAddress:
    """Where a broker is and how to log in to it."""

    host: str
    port: int = 1883
    tls: bool = False
    username: str = ""
    password: str = ""
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @classmethod
    def parse(cls, url: str, **extra: Path | None) -> BrokerAddress:
        """`mqtt://[user:pass@]host[:port]` or `mqtts://...` (TLS, default port 8883).

        `ValueError` says what is wrong with `url` and how to write it.
        """
        example = "write it like mqtt://127.0.0.1:1883 or mqtts://central@broker.example:8883"
        shown = _PASSWORD_IN_URL.sub(r"\1***@", url)  # the messages never repeat a password
        try:
            parts = urlsplit(url if "://" in url else f"mqtt://{url}")
            port = parts.port
        except ValueError as exc:  # a port that is not a number, or out of range; a bad IPv6 address
            hint = ": the port is a number from 1 to 65535" if "port" in str(exc).lower() else ""
            raise ValueError(f"broker URL {shown!r} is not a broker address ({exc}){hint} — "
                             f"{example}") from None
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL {shown!r}: scheme must be mqtt:// or mqtts:// — {example}")
        if not parts.hostname:
            raise ValueError(f"broker URL {shown!r} has no host — {example}")
        if not _HOST.fullmatch(parts.hostname):
            raise ValueError(f"broker URL {shown!r}: {parts.hostname!r} is not a host name or IP address — "
                             f"{example}")
        if port == 0:
            raise ValueError(f"broker URL {shown!r}: port 0 is not a broker's port (1 to 65535) — {example}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"broker URL {shown!r}: a broker address has no path, '?' or '#' part — "
                             f"{example}")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            host=parts.hostname,
            port=port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            ca_file=extra.get("ca_file"),
            cert_file=extra.get("cert_file"),
            key_file=extra.get("key_file"),
        )


class TlsFilesError(OSError):
    """The CA, certificate or key files of a TLS connection cannot be used; the message names them."""


class BufferedClient(mqtt.Client):
    """A paho client that reads and writes the socket in large chunks.

    paho reads every packet with three or four recv() calls (type byte, each length byte,
    body) and writes every packet with its own send(); at thousands of packets a second
    those system calls are a good part of a station's and a receiver's time. This client
    takes whatever the socket holds (up to 64 KiB) in one call and hands paho slices of it,
    and joins the packets queued since the last write (a window of publishes, a batch of
    PUBACKs) into one send. Drive it with `NetworkLoop`, which knows about the read buffer:
    paho's own loop_forever/loop_start would wait in select() for bytes already read.
    """

    _CHUNK = 65536
    _JOIN_MAX = 1 << 20  # bytes joined into one send

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0
        self._rsock: object | None = None

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._sock is not self._rsock:  # a new connection: nothing read from the old one is valid
            self._rbuf, self._rpos, self._rsock = b"", 0, self._sock
        if self._rpos >= len(self._rbuf):
            data = super()._sock_recv(self._CHUNK)  # BlockingIOError etc. reach paho as before
            if not data:
                return data  # the peer closed the connection
            self._rbuf, self._rpos = data, 0
        start = self._rpos
        self._rpos = min(start + bufsize, len(self._rbuf))
        return self._rbuf[start:self._rpos]

    def _packet_write(self) -> MQTTErrorCode:
        out = self._out_packet
        if len(out) > 1:
            joined: list[bytes | bytearray] = []
            size = 0
            # Only packets paho does nothing with once written: not a QoS 0 PUBLISH (paho
            # reports it published) nor a DISCONNECT (paho closes the socket after it).
            while out and size < self._JOIN_MAX and _needs_no_follow_up(out[0]):
                packet = out.popleft()
                joined.append(packet["packet"][packet["pos"]:])
                size += len(joined[-1])
            if len(joined) > 1:
                data = b"".join(joined)
                out.appendleft({"command": _JOINED, "mid": 0, "qos": 1, "pos": 0, "to_process": len(data),
                                "packet": data, "info": None})
            elif joined:
                out.appendleft(packet)
        return super()._packet_write()

    def _handle_pubackcomp(self, cmd: Any) -> MQTTErrorCode:
        # A PUBACK of two bytes (a packet id: success, no reason, no properties) is what a broker
        # sends for nearly every publish; paho decodes each into a new reason code and properties
        # object, a fifth of a publisher's time. Those are the same for all: made once.
        packet = self._in_packet["packet"]
        if cmd != "PUBACK" or len(packet) != 2:
            return super()._handle_pubackcomp(cmd)
        mid = (packet[0] << 8) | packet[1]
        with self._out_message_mutex:
            if mid in self._out_messages:
                return self._do_on_publish(mid, _PUBACK_SUCCESS, _NO_PROPERTIES)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_publish(self) -> MQTTErrorCode:
        # paho decodes every PUBLISH through struct formats built per packet and a new v5
        # Properties object (whose constructor alone builds two tables): measured 34 us a
        # message against 3 us here. A QoS 1 PUBLISH without properties (every verdict, ack and
        # status) is decoded here and shares one read-only empty Properties; anything else, and
        # any packet too short to hold what it announces, goes through paho as before.
        header = self._in_packet["command"]
        packet = self._in_packet["packet"]
        if (header & 0x06) != 0x02 or self._protocol != mqtt.MQTTv5 or self._manual_ack:
            return super()._handle_publish()
        end = 2 + ((packet[0] << 8) | packet[1]) if len(packet) >= 2 else len(packet)
        if len(packet) < end + 3 or packet[end + 2] != 0:  # packet id + properties length 0
            return super()._handle_publish()
        message = mqtt.MQTTMessage(mid=(packet[end] << 8) | packet[end + 1], topic=bytes(packet[2:end]))
        message.dup = bool(header & 0x08)
        message.qos = 1
        message.retain = bool(header & 0x01)
        message.properties = _NO_PUBLISH_PROPERTIES
        message.payload = bytes(packet[end + 3:])
        message.timestamp = mqtt.time_func()
        self._handle_on_message(message)
        return self._send_puback(message.mid)

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        # paho walks its topic-filter tree (message_callback_add) for every message, even with
        # no filter registered: a few per cent of a receiver's time. Without filters, straight
        # to on_message (exceptions propagate, as paho's default suppress_exceptions=False does).
        if self._on_message_filtered._root._children:
            super()._handle_on_message(message)
            return
        on_message = self.on_message
        if on_message is not None:
            with self._in_callback_mutex:
                on_message(self, self._userdata, message)

    def has_buffered(self) -> bool:
        """True when bytes already read from the current socket wait to be parsed."""
        return self._rsock is self._sock and self._rpos < len(self._rbuf)


# The command byte a joined write is queued under: a PUBACK's, which paho does nothing with
# once written (the joined packets carry their own command bytes in their data).
_JOINED = PacketTypes.PUBACK << 4


_PUBACK_SUCCESS = ReasonCode(PacketTypes.PUBACK)  # "Success"
_NO_PROPERTIES = Properties(PacketTypes.PUBACK)  # type: ignore[no-untyped-call]


class _SharedProperties(Properties):  # type: ignore[misc]
    """Properties shared by every message that has none: read-only, so a callback that sets
    one cannot leak it into other messages."""

    def __init__(self, packet_type: int) -> None:
        super().__init__(packet_type)  # type: ignore[no-untyped-call]
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(f"cannot set {name}: the properties of a message that carries none are "
                                 "shared by every such message; copy them into a new Properties first")
        super().__setattr__(name, value)  # type: ignore[no-untyped-call]


_NO_PUBLISH_PROPERTIES = _SharedProperties(PacketTypes.PUBLISH)


def _needs_no_follow_up(packet: Any) -> bool:
    command = packet["command"] & 0xF0
    if command == mqtt.DISCONNECT:
        return False
    return not (command == mqtt.PUBLISH and packet["qos"] == 0)


def make_client(client_id: str, address: BrokerAddress, *, backoff_min_s: float = 0.5,
                backoff_max_s: float = 30.0) -> BufferedClient:
    """A paho MQTT v5 client with TLS / credentials from `address` and reconnect back-off,
    to be driven by `NetworkLoop`."""
    client = BufferedClient(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
    if address.username:
        client.username_pw_set(address.username, address.password or None)
    if address.tls:
        set_tls(client, address)
    client.reconnect_delay_set(min_delay=max(1, round(backoff_min_s)), max_delay=max(1, round(backoff_max_s)))
    # Our own window bounds what is in flight. 0 = no paho limit: its default of 20
    # throttles, and any limit makes paho walk all queued messages on every PUBACK
    # (measured: 160 us per PUBACK with 200 in flight).
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    # Queue outgoing packets instead of writing each at once; NetworkLoop.step() writes
    # them in one burst after reading (fewer wake-ups of the broker per batch).
    client.on_socket_register_write = _no_op
    return client


def set_tls(client: mqtt.Client, address: BrokerAddress) -> None:
    """TLS on `client` with `address`'s CA, certificate and key; an error names the files and keys."""
    for name in ("ca_file", "cert_file", "key_file"):
        path = getattr(address, name)
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"sync TLS: {name} {path} does not exist — fix [sync].{name}")
    try:
        client.tls_set(
            ca_certs=str(address.ca_file) if address.ca_file else None,
            certfile=str(address.cert_file) if address.cert_file else None,
            keyfile=str(address.key_file) if address.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: unreadable or not PEM
        names = ("ca_file", "cert_file", "key_file")
        files = ", ".join(f"{name} {getattr(address, name)}" for name in names
                          if getattr(address, name) is not None) or "the system's CA certificates"
        raise TlsFilesError(f"sync TLS: cannot use {files} ({exc}) — check that each is a readable PEM "
                            "file and that the key belongs to the certificate; fix [sync].ca_file / "
                            "cert_file / key_file") from exc


def _no_op(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    return None


def connect_properties() -> Properties:
    """CONNECT properties of a persistent session (see SESSION_EXPIRY_S)."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    return props


class NetworkLoop:
    """Drives a paho client from the caller's thread: select, read, write, keepalive, reconnect.

    paho's own network thread (`loop_start`) makes every publish from another thread a
    cross-thread wake-up; measured here it publishes 5x slower than one thread doing both
    the work and the I/O. So the thread that owns the outbox (or checks central's
    messages) also owns the socket, and calls `step()` between batches; another thread can
    cut a step's wait short through the `wake` socket. Reconnects back off from
    `backoff_min_s` doubling up to `backoff_max_s`. A connection that lasted STABLE_S resets the
    back-off (the next loss retries at once); one lost sooner does not, so a connection the broker
    keeps taking away (another client with the same id) is retried ever more slowly, not in a loop.
    """

    STABLE_S = 5.0

    def __init__(self, client: mqtt.Client, host: str, port: int, *, keepalive: int = 30,
                 backoff_min_s: float = 0.5, backoff_max_s: float = 30.0,
                 on_error: Callable[[str], None] | None = None, wake: socket.socket | None = None) -> None:
        self.client = client
        self.wake = wake  # another thread sends a byte here to end a step's wait early
        self.host = host
        self.port = port
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self._delay = backoff_min_s
        self._next_try = 0.0
        self._connected_at: float | None = None  # monotonic time of the connection now up
        self._on_error = on_error
        self._events = 0
        self._closed = False
        client.connect_async(host, port, keepalive=keepalive, clean_start=False,
                             properties=connect_properties())

    def connected(self) -> None:
        """Call from on_connect on success; the back-off is reset once the connection has lasted."""
        self._connected_at = time.monotonic()

    def _lost(self, now: float) -> None:
        """The connection that was up is gone: retry at once after a lasting one, else back off."""
        lasted = now - self._connected_at if self._connected_at is not None else 0.0
        self._connected_at = None
        if lasted >= self.STABLE_S:
            self._delay = self.backoff_min_s
            return
        self._next_try = now + self._delay
        self._delay = min(self._delay * 2, self.backoff_max_s)

    def close(self) -> None:
        """Disconnect cleanly (no Last Will) and never reconnect again."""
        self._closed = True
        if self.client.socket() is not None:
            self.client.disconnect()  # written at once: paho writes directly outside its own thread
            with contextlib.suppress(OSError):
                self.client.loop_write()

    def count_event(self) -> None:
        """Call from on_message / on_publish: lets step() read on while packets keep coming."""
        self._events += 1

    def step(self, timeout: float, max_packets: int = 1000) -> None:
        """One round of network I/O, waiting at most `timeout` seconds for something to read
        and reading at most about `max_packets` packets."""
        client = self.client
        if self._closed:
            time.sleep(timeout)
            return
        sock = client.socket()
        if sock is None:
            now = time.monotonic()
            if self._connected_at is not None:
                self._lost(now)
            if now < self._next_try:
                time.sleep(min(timeout, self._next_try - now))
                return
            try:
                client.reconnect()
            except (OSError, ssl.SSLError, ValueError) as exc:
                self._next_try = now + self._delay
                self._delay = min(self._delay * 2, self.backoff_max_s)
                if self._on_error is not None:
                    self._on_error(f"cannot reach the broker at {self.host}:{self.port}: {exc} "
                                   f"(retrying in {self._next_try - now:.2f} s)")
                return
            sock = client.socket()
            if sock is None:
                return
            # paho leaves Nagle on: small PUBACKs and acks then wait for delayed TCP ACKs
            # (~40 ms each round), which caps an ack-paced pipeline at a few hundred/s.
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]
        buffered = isinstance(client, BufferedClient) and client.has_buffered()
        watched = [sock] if self.wake is None else [sock, self.wake]
        try:
            readable, _, _ = select.select(watched, [sock] if client.want_write() else [],
                                           [], 0.0 if buffered else timeout)
        except (OSError, ValueError):  # the socket was closed under us; next step reconnects
            return
        if self.wake is not None and self.wake in readable:
            with contextlib.suppress(OSError):
                self.wake.recv(4096)
        if sock in readable or buffered:
            # paho reads one packet per loop_read() when nothing of ours is in flight (e.g.
            # at central); keep reading while packets produce events, up to a batch.
            for _ in range(max_packets):
                before = self._events
                if client.loop_read() != mqtt.MQTT_ERR_SUCCESS or client.socket() is None:
                    break
                if self._events == before and not _has_buffered(client, sock):
                    break
        if client.socket() is not None and client.want_write():
            client.loop_write()
        if client.socket() is not None:
            client.loop_misc()


def _has_buffered(client: mqtt.Client, sock: Any) -> bool:
    if isinstance(client, BufferedClient) and client.has_buffered():
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return bool(readable)
