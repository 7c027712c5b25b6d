"""The outbox publisher: every verdict in the SQLite outbox reaches central, acknowledged end to end.

One thread owns the outbox connection, the in-flight window and the MQTT socket
(`sync.mqtt.NetworkLoop`: connect, reconnect with back-off, QoS 1 handshakes); other
threads hand it what to publish through a queue. A second thread handles inbound
commands so a slow model download never stalls delivery.

Delivery rules (DESIGN §4):
- rows go out in `id` order, QoS 1, at most `inflight_window` unacknowledged at a time;
- a row is marked delivered only when central's `ack` for its key arrives — a broker
  PUBACK only means the broker has it;
- a row unacknowledged after `ack_timeout_s` is published again; after every (re)connect
  and every restart all undelivered rows are published again from the oldest, so nothing
  that was in flight when the link or the process died is forgotten. Central dedupes by
  `verdict_id` + `revision`, so a repeat costs bandwidth, never a double count.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from sync import outbox
from sync.inbound import Inbound, Reply
from sync.mqtt import BrokerAddress, NetworkLoop, make_client
from sync.settings import SyncSettings

__all__ = ["OutboxPublisher", "PublisherStats"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublisherStats:
    """What the UI and the `stats` topic show about delivery."""

    connected: bool = False
    backlog: int = 0
    oldest_undelivered_age_s: float | None = None
    in_flight: int = 0
    published_total: int = 0
    resent_total: int = 0
    delivered_total: int = 0
    reconnects: int = 0
    last_error: str | None = None
    last_delivered_at: float | None = None


@dataclass
class _Flight:
    row_id: int
    payload: bytes
    sent_at: float
    unrecorded: int = 1  # sends not yet counted in the row's `attempts`


# A row's `published_at` / `attempts` are written with its delivery, or after this long
# in flight without an ack. A crash loses only these counters: every undelivered row is
# sent again after a restart whatever they say.
_RECORD_SENDS_AFTER_S = 1.0
# After a failed write of the outbox (a full disk), the worker starts again after this long.
_OUTBOX_RETRY_S = 2.0


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class OutboxPublisher:
    """Drains the outbox of the station database at `db_path` to the broker in `settings`.

    `stats_source` returns the station's own counters for the periodic `stats` message;
    `inbound` handles manifest / config / model messages (None = they are refused).
    Call `wake()` after enqueuing so the row goes out without waiting for the next poll.
    """

    def __init__(
        self,
        db_path: Path,
        settings: SyncSettings,
        *,
        stats_source: Callable[[], Mapping[str, Any]] | None = None,
        inbound: Inbound | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.settings = settings
        self.topics = settings.topics
        self._stats_source = stats_source
        self._inbound = inbound
        self._models: tuple[dict[str, Any], ...] = settings.models
        self._alarm: str | None = None  # why the station is not taking items, in the status
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._acks: list[str] = []  # filled by on_message, in the worker thread
        self._outgoing: queue.SimpleQueue[tuple[str, str, int, bool]] = queue.SimpleQueue()
        self._inbound_queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=100)
        self._lock = threading.Lock()
        self._stats = PublisherStats()
        self._generation = 0  # +1 per successful connect; the worker resends everything on a change
        self._connected = False
        self._client: mqtt.Client | None = None
        self._net: NetworkLoop | None = None
        self._worker: threading.Thread | None = None
        self._inbound_thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._worker_error: BaseException | None = None
        self._oldest_created: float | None = None

    # ---- public API -------------------------------------------------------------------

    def start(self) -> None:
        """Open the outbox, start the threads; connecting (with back-off) happens in the worker."""
        if self._worker is not None:
            raise RuntimeError("OutboxPublisher already started")
        if self.settings.host:
            address = BrokerAddress(
                host=self.settings.host, port=self.settings.port, tls=self.settings.tls,
                username=self.settings.username, password=self.settings.password,
                ca_file=self.settings.ca_file, cert_file=self.settings.cert_file,
                key_file=self.settings.key_file,
            )
            client = make_client(self.settings.client_id, address)
            client.will_set(self.topics.status, self._status_payload("offline"), qos=1, retain=True)
            client.on_connect = self._on_connect
            client.on_disconnect = self._on_disconnect
            client.on_message = self._on_message
            self._client = client
            self._net = NetworkLoop(client, self.settings.host, self.settings.port,
                                    keepalive=self.settings.keepalive_s,
                                    backoff_min_s=self.settings.reconnect_backoff_min_s,
                                    backoff_max_s=self.settings.reconnect_backoff_max_s,
                                    on_error=self._set_error)
            logger.info("sync: publishing %s to %s:%s", self.db_path, self.settings.host, self.settings.port)
        else:
            logger.info("sync: no broker configured; verdicts wait in the outbox of %s", self.db_path)
        self._worker = threading.Thread(target=self._run_worker, name="sync-outbox", daemon=True)
        self._worker.start()
        self._ready.wait(30.0)
        if self._worker_error is not None:
            raise RuntimeError(f"sync: cannot open the outbox in {self.db_path}: {self._worker_error}")
        self._inbound_thread = threading.Thread(target=self._run_inbound, name="sync-inbound", daemon=True)
        self._inbound_thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Publish `stopped`, disconnect cleanly (so no Last Will) and end the threads."""
        with contextlib.suppress(queue.Full):
            self._inbound_queue.put_nowait(None)
        if self._inbound_thread is not None:
            self._inbound_thread.join(timeout)
        self._stopping.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout)
        logger.info("sync: publisher stopped")

    def wake(self) -> None:
        """Look at the outbox now (call after enqueuing)."""
        self._wake.set()

    def stats(self) -> PublisherStats:
        """A snapshot of delivery state; safe from any thread."""
        with self._lock:
            stats = self._stats
            oldest = self._oldest_created
        if oldest is not None:
            stats = replace(stats, oldest_undelivered_age_s=max(0.0, time.time() - oldest))
        return stats

    def wait_drained(self, timeout: float) -> bool:
        """Block until the outbox has no undelivered row (True) or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        conn = sqlite3.connect(self.db_path, timeout=30.0)
        try:
            while True:
                if outbox.backlog(conn)[0] == 0:
                    return True
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)
        finally:
            conn.close()

    def set_models(self, models: tuple[dict[str, Any], ...]) -> None:
        """The models now in use (after a swap); re-announces the status."""
        self._models = models
        self.publish_status()

    def set_alarm(self, alarm: str | None) -> None:
        """Why the station is not taking items (None: it is); re-announces the status on a change."""
        if alarm != self._alarm:
            self._alarm = alarm
            self.publish_status()

    def publish_status(self) -> None:
        """(Re)publish the retained `online` status (also the answer to `cmd/rebirth`)."""
        self._outgoing.put((self.topics.status, self._status_payload("online"), 1, True))
        self._wake.set()

    # ---- paho callbacks (all in the worker thread) ------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason_code: ReasonCode, properties: Any) -> None:
        if reason_code.is_failure:
            self._set_error(f"broker refused the connection: {reason_code} — check [sync] username, "
                            "password and the broker's ACL")
            return
        client.subscribe([(self.topics.ack, 1)] + [(t, 1) for t in self.topics.inbound])
        client.publish(self.topics.status, self._status_payload("online"), qos=1, retain=True)
        if self._net is not None:
            self._net.connected()
        self._connected = True
        self._generation += 1
        with self._lock:
            self._stats = replace(self._stats, connected=True,
                                  reconnects=self._stats.reconnects + (1 if self._generation > 1 else 0))
        logger.info("sync: connected to %s:%s (session present: %s)", self.settings.host, self.settings.port,
                    flags.session_present)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags,
                       reason_code: ReasonCode, properties: Any) -> None:
        self._connected = False
        with self._lock:
            self._stats = replace(self._stats, connected=False)
        if not self._stopping.is_set():
            self._set_error(f"disconnected from the broker: {reason_code}")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._net is not None:
            self._net.count_event()
        if message.topic == self.topics.ack:
            # One ack object, or a JSON array of them (central batches its acks).
            try:
                body = json.loads(message.payload)
                for ack in body if isinstance(body, list) else [body]:
                    key = ack["key"] if "key" in ack else f"{ack['verdict_id']}:{ack['revision']}"
                    self._acks.append(str(key))
            except (ValueError, KeyError, TypeError) as exc:
                logger.warning("sync: ignoring malformed ack %r: %s", message.payload[:200], exc)
            return
        subtopic = message.topic[len(self.topics.prefix):]
        try:
            self._inbound_queue.put_nowait((subtopic, bytes(message.payload)))
        except queue.Full:
            logger.warning("sync: inbound queue full; dropping %s (central may resend)", message.topic)

    def _set_error(self, text: str) -> None:
        logger.warning("sync: %s", text)
        with self._lock:
            self._stats = replace(self._stats, last_error=text)

    # ---- the outbox worker ------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=30.0)
        conn.execute("PRAGMA busy_timeout=30000")
        # Losing a `delivered` mark in a power cut only costs a resend that central dedupes.
        conn.execute("PRAGMA synchronous=NORMAL")
        outbox.ensure_schema(conn)
        conn.commit()
        return conn

    def _run_worker(self) -> None:
        try:
            conn = self._open()
        except (sqlite3.Error, OSError) as exc:
            self._worker_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                try:
                    self._deliver(conn)
                    break
                except sqlite3.OperationalError as exc:
                    # A full disk (or a locked file) stops the writing of acks, not delivery for
                    # good: start again from the oldest undelivered row; central dedupes resends.
                    with contextlib.suppress(sqlite3.Error):
                        conn.rollback()
                    logger.error("sync: the outbox cannot be written (%s): retrying in %.0f s",
                                 exc, _OUTBOX_RETRY_S)
                    self._set_error(f"outbox cannot be written: {exc}")
                    if self._stopping.wait(_OUTBOX_RETRY_S):
                        break
        except Exception as exc:  # the worker must say why it died, not vanish
            logger.exception("sync: outbox worker failed")
            self._set_error(f"outbox worker failed: {exc}")
            raise
        finally:
            self._shutdown()
            conn.close()

    def _deliver(self, conn: sqlite3.Connection) -> None:
        inflight: dict[str, _Flight] = {}
        cursor = 0
        seen_generation = 0
        # The last read was cut short by the window, not by the end of the outbox: once acks
        # make room there are more rows to send at once, without waiting for the next poll.
        more = True
        last_fetch = last_backlog = 0.0
        last_stats = last_record = time.monotonic()
        published = resent = delivered = 0
        last_delivered_at: float | None = None
        net, client = self._net, self._client
        while not self._stopping.is_set():
            window_full = len(inflight) >= self.settings.inflight_window
            busy = (more and not window_full) or bool(self._acks) or self._wake.is_set()
            if net is not None:
                net.step(0.0 if busy else self.settings.poll_interval_s)
            else:
                self._wake.wait(self.settings.poll_interval_s)
            woken = self._wake.is_set()
            self._wake.clear()
            now = time.time()
            mono = time.monotonic()
            if self._acks:
                keys, self._acks = self._acks, []
                acked: list[tuple[int, float, int]] = []
                others: list[str] = []  # acks of rows no longer in flight (sent before a reconnect)
                for key in keys:
                    flight = inflight.pop(key, None)
                    if flight is None:
                        others.append(key)
                    else:
                        acked.append((flight.row_id, flight.sent_at, flight.unrecorded))
                changed = outbox.mark_flights_delivered(conn, acked, now)
                if others:
                    changed += outbox.mark_delivered(conn, others, now)
                conn.commit()
                delivered += changed
                if changed:
                    last_delivered_at = now
            if self._connected and client is not None:
                while True:
                    try:
                        topic, text, qos, retain = self._outgoing.get_nowait()
                    except queue.Empty:
                        break
                    client.publish(topic, text, qos=qos, retain=retain)
                if self._generation != seen_generation:
                    # A new connection (or the first): whatever was in flight may have been
                    # lost with the old one; start again from the oldest undelivered row.
                    seen_generation = self._generation
                    resent += len(inflight)
                    self._record_sends(conn, inflight, now)
                    inflight.clear()
                    cursor = 0
                    more = True
                for flight in inflight.values():
                    if now - flight.sent_at >= self.settings.ack_timeout_s:
                        client.publish(self.topics.verdict, flight.payload, qos=1)
                        flight.sent_at = now
                        flight.unrecorded += 1
                        resent += 1
                room = self.settings.inflight_window - len(inflight)
                if room > 0 and (more or woken or mono - last_fetch >= self.settings.poll_interval_s):
                    last_fetch = mono
                    rows = outbox.pending(conn, cursor, room)
                    more = len(rows) == room
                    for row in rows:
                        cursor = row.id
                        if row.key in inflight:
                            continue
                        client.publish(self.topics.verdict, row.payload, qos=1)
                        inflight[row.key] = _Flight(row.id, row.payload, now)
                        published += 1
                if mono - last_record >= _RECORD_SENDS_AFTER_S:
                    # Sends are written with the delivery (one write per row); only rows
                    # still waiting for their ack after a while get their sends written now.
                    last_record = mono
                    self._record_sends(conn, inflight, now - _RECORD_SENDS_AFTER_S)
            else:
                more = False
            if mono - last_backlog >= 0.5:
                last_backlog = mono
                count, oldest = outbox.backlog(conn)
                with self._lock:
                    self._oldest_created = oldest
                    self._stats = replace(self._stats, backlog=count)
            with self._lock:
                self._stats = replace(self._stats, in_flight=len(inflight), published_total=published,
                                      resent_total=resent, delivered_total=delivered,
                                      last_delivered_at=last_delivered_at,
                                      oldest_undelivered_age_s=None if self._oldest_created is None
                                      else max(0.0, now - self._oldest_created))
            if mono - last_stats >= self.settings.stats_interval_s:
                last_stats = mono
                self._publish_stats()
        self._record_sends(conn, inflight, time.time())

    @staticmethod
    def _record_sends(conn: sqlite3.Connection, inflight: Mapping[str, _Flight], sent_before: float) -> None:
        stale = [f for f in inflight.values() if f.unrecorded and f.sent_at <= sent_before]
        if stale:
            outbox.record_sends(conn, [(f.row_id, f.sent_at, f.unrecorded) for f in stale])
            conn.commit()
            for flight in stale:
                flight.unrecorded = 0

    def _shutdown(self) -> None:
        client, net = self._client, self._net
        if client is None or net is None:
            return
        if self._connected:
            info = client.publish(self.topics.status, self._status_payload("stopped"), qos=1, retain=True)
            deadline = time.monotonic() + 5.0
            while not info.is_published() and self._connected and time.monotonic() < deadline:
                net.step(0.05)
        net.close()
        with self._lock:
            self._stats = replace(self._stats, connected=False)

    def _publish_stats(self) -> None:
        client = self._client
        if client is None or not self._connected:
            return
        station: Mapping[str, Any] = {}
        if self._stats_source is not None:
            try:
                station = self._stats_source()
            except Exception as exc:
                logger.warning("sync: the station's stats callable failed: %s", exc)
        payload = {
            "station_id": self.settings.station_id, "site_id": self.settings.site_id,
            "session": self.settings.session, "at": _now_iso(),
            "outbox": asdict(self.stats()), "station": dict(station),
        }
        client.publish(self.topics.stats, json.dumps(payload, default=str), qos=0)

    # ---- inbound ----------------------------------------------------------------------

    def _run_inbound(self) -> None:
        while True:
            item = self._inbound_queue.get()
            if item is None:
                return
            subtopic, payload = item
            if subtopic == "cmd/rebirth":
                logger.info("sync: rebirth requested; re-publishing status")
                self.publish_status()
                self._publish_reply(Reply(topic=subtopic, ok=True, request_id=None,
                                          reason="status re-published"))
                continue
            if self._inbound is None:
                reply = Reply(topic=subtopic, ok=False, request_id=None,
                              reason="this station does not accept inbound commands")
            else:
                reply = self._inbound.handle(subtopic, payload)
            self._publish_reply(reply)

    def _publish_reply(self, reply: Reply) -> None:
        body = {**asdict(reply), "station_id": self.settings.station_id, "at": _now_iso()}
        self._outgoing.put((self.topics.reply, json.dumps(body), 1, False))
        self._wake.set()

    # ---- payloads ---------------------------------------------------------------------

    def _status_payload(self, state: str) -> str:
        body: dict[str, Any] = {
            "state": state, "station_id": self.settings.station_id, "site_id": self.settings.site_id,
            "session": self.settings.session, "at": _now_iso(),
        }
        if state == "online":
            body["versions"] = self.settings.versions
            body["models"] = list(self._models)
            if self._alarm is not None:
                body["alarm"] = self._alarm
        return json.dumps(body)
