"""The outbox publisher: every verdict in the SQLite outbox reaches central, acknowledged end to end.

One thread owns the outbox connection, the in-flight window and the MQTT socket
(`sync.mqtt.NetworkLoop`: connect, reconnect with back-off, QoS 1 handshakes); other
threads hand it what to publish through a queue. A second thread handles inbound
commands so a slow model download never stalls delivery. What to send and when, and what
was delivered, is decided by `sync.delivery.Delivery`, which does no I/O: this module is
its shell, reading the outbox and the clock, publishing and writing what it says.

Delivery rules (docs/sync.md):
- rows go out in `id` order, QoS 1, at most `inflight_window` unacknowledged at a time;
  evidence pictures behind them, in a window of `image_window` of their own, read from
  their files when sent (a picture erased meanwhile is skipped, once, with a log line);
- a row is marked delivered only when central's `ack` for its key arrives — a broker
  PUBACK only means the broker has it;
- a row unacknowledged after `ack_timeout_s` is published again; after every (re)connect
  and every restart all undelivered rows are published again from the oldest, so nothing
  that was in flight when the link or the process died is forgotten. Central dedupes by
  `verdict_id` + `revision`, so a repeat costs bandwidth, never a double count.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from sync import outbox
from sync.delivery import ACK_FORM, Delivery, Instant, Message, PublisherStats, Sent, read_ack
from sync.evidence import ImageRow, topic_of_key
from sync.inbound import Inbound, Reply
from sync.mqtt import BrokerAddress, NetworkLoop, make_client
from sync.settings import AUTO_BROKER, StationIdentity, SyncSettings

__all__ = ["OutboxPublisher", "PublisherStats"]

logger = logging.getLogger(__name__)


# After a failed write of the outbox (a full disk), the worker starts again after this long.
_OUTBOX_RETRY_S = 2.0
# A central acking keys no outbox row has is said at most this often (it may do so for every row).
_UNKNOWN_ACK_LOG_EVERY_S = 60.0


def _instant() -> Instant:
    return Instant(wall=time.time(), mono=time.monotonic())


def _sends(sends: tuple[Sent, ...]) -> list[tuple[int, float, int]]:
    """Sends as the outbox functions take them."""
    return [(s.row_id, s.sent_at, s.sends) for s in sends]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class OutboxPublisher:
    """Drains the outbox of the station database at `db_path` to the broker in `settings`,
    as the station `identity`.

    `stats_source` returns the station's own counters for the periodic `stats` message;
    `inbound` handles manifest / config / model messages (None = they are refused).
    Call `wake()` after enqueuing so the row goes out without waiting for the next poll.
    """

    def __init__(
        self,
        db_path: Path,
        settings: SyncSettings,
        identity: StationIdentity,
        *,
        stats_source: Callable[[], Mapping[str, Any]] | None = None,
        inbound: Inbound | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.settings = settings
        self.identity = identity
        self.topics = settings.topics(identity)
        self._stats_source = stats_source
        self._inbound = inbound
        self._models: tuple[dict[str, Any], ...] = identity.models
        self._alarm: str | None = None  # why the station is not taking items, in the status
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._acks: list[str] = []  # filled by on_message, in the worker thread
        self._unknown_acks = 0  # keys acked since the last warning about them that no row has
        self._unknown_acks_logged = float("-inf")  # time.monotonic() of that warning
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
        if self.settings.broker == AUTO_BROKER:
            raise ValueError(f"sync: [sync] broker {AUTO_BROKER!r} is for the station to start a local "
                             "broker; give the publisher the host it started")
        if self.settings.broker:
            self._client, self._net = self._connection()
            logger.info("sync: publishing %s to %s:%s", self.db_path, self.settings.broker,
                        self.settings.port)
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

    # ---- the broker connection; its paho callbacks run in the worker thread ------------

    def _connection(self) -> tuple[mqtt.Client, NetworkLoop]:
        """The paho client with its Last Will and callbacks, and the loop that will connect it."""
        settings = self.settings
        address = BrokerAddress(
            host=settings.broker, port=settings.port, tls=settings.tls,
            username=settings.username, password=settings.password,
            ca_file=settings.ca_file, cert_file=settings.cert_file, key_file=settings.key_file,
        )
        client = make_client(self.identity.client_id, address)
        client.will_set(self.topics.status, self._status_payload("offline"), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        net = NetworkLoop(client, settings.broker, settings.port, keepalive=settings.keepalive_s,
                          backoff_min_s=settings.reconnect_backoff_min_s,
                          backoff_max_s=settings.reconnect_backoff_max_s, on_error=self._set_error)
        return client, net

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
        logger.info("sync: connected to %s:%s (session present: %s)", self.settings.broker,
                    self.settings.port, flags.session_present)

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
            ack = read_ack(message.payload)
            self._acks.extend(ack.keys)
            if ack.problems:
                what = f"(keys taken: {len(ack.keys)}, the rest ignored)" if ack.keys else "ignored"
                logger.warning("sync: malformed ack from central %s: %s; %s. The ack was %r",
                               what, "; ".join(ack.problems), ACK_FORM, message.payload[:200])
            return
        subtopic = message.topic[len(self.topics.prefix):]
        if self._inbound is not None and (refused := self._inbound.too_large(subtopic, len(message.payload))):
            self._publish_reply(refused)  # not queued: a flood of them must not fill the memory
            return
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
        """Rounds of waiting, acks, sending and stats until stopped. Each run starts a fresh
        `Delivery`: after a failed write everything undelivered is sent again (central dedupes)."""
        settings = self.settings
        delivery = Delivery(window=settings.inflight_window, ack_timeout_s=settings.ack_timeout_s,
                            poll_interval_s=settings.poll_interval_s,
                            stats_interval_s=settings.stats_interval_s, start=_instant(),
                            image_window=settings.image_window)
        while not self._stopping.is_set():
            woken = self._wait(delivery)
            now = _instant()
            self._take_acks(conn, delivery, now)
            if self._connected and self._client is not None:
                self._send(conn, delivery, self._client, now, woken)
            else:
                delivery.disconnected()
            self._say(delivery)
            self._show(conn, delivery, now)
        # Rows the last round left to mark (a picture skipped) are marked, and the figures kept
        # after the stop are what the station's summary shows: the backlog as it is now, not
        # as the last read (up to half a second before) saw it.
        now = _instant()
        self._take_acks(conn, delivery, now)
        self._say(delivery)
        self._record_sends(conn, delivery.take_sends(now.wall))
        self._read_backlog(conn, delivery, now)

    @staticmethod
    def _say(delivery: Delivery) -> None:
        """Write the log lines delivery has for the station's log (central silent, or back)."""
        for level, text in delivery.take_notices():
            logger.log(level, "sync: %s", text)

    def _wait(self, delivery: Delivery) -> bool:
        """Network I/O, or a nap without a broker, until there is work; True when woken."""
        busy = delivery.ready_to_send() or bool(self._acks) or self._wake.is_set()
        if self._net is not None:
            self._net.step(0.0 if busy else self.settings.poll_interval_s)
        else:
            self._wake.wait(self.settings.poll_interval_s)
        woken = self._wake.is_set()
        self._wake.clear()
        return woken

    def _take_acks(self, conn: sqlite3.Connection, delivery: Delivery, now: Instant) -> None:
        """Mark the rows central acknowledged since the last round delivered."""
        if not self._acks:
            return
        keys, self._acks = self._acks, []
        acked = delivery.acked(keys)
        changed = outbox.mark_flights_delivered(conn, _sends(acked.flights), now.wall)
        if acked.keys:
            marked = outbox.mark_delivered(conn, list(acked.keys), now.wall)
            changed += marked
            if marked < len(set(acked.keys)):  # repeats of acks, or keys of no row at all
                self._warn_unknown_acks(outbox.unknown_keys(conn, list(acked.keys)))
        conn.commit()
        delivery.delivered(changed, now)

    def _warn_unknown_acks(self, keys: list[str]) -> None:
        """Say when central acks keys this station never sent: each leaves the row central meant
        unacknowledged, resent forever. At most one line a minute, counting the keys since the last."""
        self._unknown_acks += len(keys)
        now = time.monotonic()
        if not keys or now - self._unknown_acks_logged < _UNKNOWN_ACK_LOG_EVERY_S:
            return
        logger.warning("sync: central acknowledged keys this station never sent (%d since the last such "
                       "line), e.g. %r: they acknowledge nothing, and the rows central meant are sent again "
                       "until acked. An ack repeats the key of the message central stored: "
                       "'<verdict_id>:<revision>' for a verdict, 'image:<verdict_id>:<camera>' for a "
                       "picture, 'purge:<purge_id>' for a purge",
                       self._unknown_acks, keys[0])
        self._unknown_acks = 0
        self._unknown_acks_logged = now

    def _send(self, conn: sqlite3.Connection, delivery: Delivery, client: mqtt.Client, now: Instant,
              woken: bool) -> None:
        """Publish what waits: status and replies, resends, the next outbox rows."""
        while True:
            try:
                topic, text, qos, retain = self._outgoing.get_nowait()
            except queue.Empty:
                break
            client.publish(topic, text, qos=qos, retain=retain)
        self._record_sends(conn, delivery.connected(self._generation, now))
        for message in delivery.resend_messages(now):
            self._publish(client, message)
        fetch = delivery.fetch(now, woken)
        if fetch is not None:
            rows = outbox.pending(conn, fetch.after_id, fetch.limit, images=False)
            for message in delivery.fetched_messages(fetch, rows, now):
                self._publish(client, message)
        # Pictures only once every waiting verdict is on its way (Delivery decides).
        fetch = delivery.fetch_images(now, woken)
        if fetch is not None:
            rows = outbox.pending(conn, fetch.after_id, fetch.limit, images=True)
            for message in delivery.fetched_messages(fetch, rows, now):
                self._publish(client, message)
        self._record_sends(conn, delivery.due_sends(now))

    def _publish(self, client: mqtt.Client, message: Message) -> None:
        """Publish one outbox row on its topic; a picture as its file's bytes with its properties."""
        if not message.image:
            client.publish(self.topics.prefix + topic_of_key(message.key), message.payload, qos=1)
            return
        row = ImageRow.from_payload(message.payload)
        try:
            data = Path(row.path).read_bytes()
        except OSError as exc:
            # Retention or a purge erased it first: nothing to send, and nothing to wait for.
            logger.info("sync: picture %s of verdict %s is no longer on disk (%s); not sent", row.camera,
                        row.verdict_id, exc.strerror or exc)
            self._skip(row.key)
            return
        if hashlib.sha256(data).hexdigest() != row.sha256:
            # Central would refuse it and the row would be resent forever.
            logger.error("sync: picture %s of verdict %s at %s no longer matches its sha256 %s; not sent",
                         row.camera, row.verdict_id, row.path, row.sha256)
            self._skip(row.key)
            return
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.UserProperty = row.properties()
        client.publish(self.topics.image, data, qos=1, properties=properties)

    def _skip(self, key: str) -> None:
        """A row that cannot be sent is done with: it leaves the window as if acknowledged."""
        self._acks.append(key)
        with self._lock:
            self._stats = replace(self._stats, images_skipped=self._stats.images_skipped + 1)

    def _show(self, conn: sqlite3.Connection, delivery: Delivery, now: Instant) -> None:
        """Bring the stats up to date (reading the backlog now and then); publish them when due."""
        if delivery.backlog_due(now):
            self._read_backlog(conn, delivery, now)
        else:
            self._keep_stats(delivery, now)
        if delivery.stats_due(now):
            self._publish_stats()

    def _read_backlog(self, conn: sqlite3.Connection, delivery: Delivery, now: Instant) -> None:
        """Read both lanes' backlog from the outbox into the stats."""
        count, oldest = outbox.lane_backlog(conn, images=False)
        delivery.backlog(count, oldest, outbox.lane_backlog(conn, images=True)[0])
        self._keep_stats(delivery, now)

    def _keep_stats(self, delivery: Delivery, now: Instant) -> None:
        with self._lock:
            self._oldest_created = delivery.oldest_created
            self._stats = delivery.stats(self._stats, now)

    @staticmethod
    def _record_sends(conn: sqlite3.Connection, sends: tuple[Sent, ...]) -> None:
        if sends:
            outbox.record_sends(conn, _sends(sends))
            conn.commit()

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
            "station_id": self.identity.station_id, "site_id": self.identity.site_id,
            "session": self.identity.session, "at": _now_iso(),
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
        body = {**asdict(reply), "station_id": self.identity.station_id, "at": _now_iso()}
        self._outgoing.put((self.topics.reply, json.dumps(body), 1, False))
        self._wake.set()

    # ---- payloads ---------------------------------------------------------------------

    def _status_payload(self, state: str) -> str:
        body: dict[str, Any] = {
            "state": state, "station_id": self.identity.station_id, "site_id": self.identity.site_id,
            "session": self.identity.session, "at": _now_iso(),
        }
        if state == "online":
            body["versions"] = self.identity.versions
            body["models"] = list(self._models)
            if self._alarm is not None:
                body["alarm"] = self._alarm
        return json.dumps(body)
