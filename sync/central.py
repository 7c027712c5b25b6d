"""The reference central receiver: takes every station's verdicts, stores each revision once, acks it.

It subscribes with an MQTT v5 shared subscription (`$share/<group>/returns/v1/+/+/verdict`)
so several receivers split the load. Messages are validated against the verdict schema
and written in batches, one SQLite transaction each (synchronous=FULL: an ack promises the
row survives a power cut); only after the commit is each verdict acknowledged on its
station's `<prefix>ack`. A repeat of a stored revision (the station resends whatever was
not acknowledged) is not stored again but acknowledged again, since the first ack may be
what was lost. An invalid verdict is kept in the `rejected` table and not acknowledged:
it stays in the station's backlog where its age shows up, rather than vanishing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from sync.mqtt import BrokerAddress, connect_properties, make_client
from sync.schema import VerdictInvalidError, validate_verdict

__all__ = ["CentralReceiver", "ReceiverStats", "ensure_central_schema"]

logger = logging.getLogger(__name__)

DEFAULT_TOPIC = "returns/v1/+/+/verdict"


@dataclass(frozen=True)
class ReceiverStats:
    """Counters of one receiver since it started."""

    connected: bool = False
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    acked: int = 0
    queued: int = 0
    last_error: str | None = None


def ensure_central_schema(conn: sqlite3.Connection) -> None:
    """Create central's tables: one row per verdict revision, and the rejected messages."""
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS verdicts(
            verdict_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            station_id TEXT NOT NULL,
            site_id TEXT NOT NULL,
            session TEXT NOT NULL,
            seq INTEGER NOT NULL,
            grade TEXT NOT NULL,
            disposition TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            payload TEXT NOT NULL,
            received_at REAL NOT NULL,
            PRIMARY KEY (verdict_id, revision)
        ) WITHOUT ROWID
        """
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS rejected(id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
        " payload BLOB NOT NULL, reason TEXT NOT NULL, received_at REAL NOT NULL)"
    )
    conn.commit()


def _ack_topic(verdict_topic: str) -> str:
    # <prefix>verdict -> <prefix>ack: works for any station prefix the ACL allows.
    return verdict_topic[: -len("verdict")] + "ack"


class CentralReceiver:
    """Receives verdicts from `address` into the SQLite file `db_path` and acknowledges them."""

    def __init__(self, address: BrokerAddress, db_path: Path, *, topic: str = DEFAULT_TOPIC,
                 group: str = "central", client_id: str | None = None, batch_max: int = 500) -> None:
        if not topic.endswith("/verdict"):
            raise ValueError(f"receiver topic {topic!r} must end with /verdict")
        self.address = address
        self.db_path = Path(db_path)
        self.subscription = f"$share/{group}/{topic}" if group else topic
        digest = hashlib.sha1(str(self.db_path.resolve()).encode()).hexdigest()[:8]
        # Stable per database: after a restart the broker hands this receiver its session
        # (and the verdicts queued for it meanwhile) back.
        self.client_id = client_id or f"central-{socket.gethostname()}-{digest}"
        self.batch_max = batch_max
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=20_000)
        self._lock = threading.Lock()
        self._stats = ReceiverStats()
        self._client: mqtt.Client | None = None
        self._writer: threading.Thread | None = None
        self._ready = threading.Event()
        self._open_error: BaseException | None = None

    def start(self) -> None:
        """Open the database, start the writer thread and connect (retrying with back-off)."""
        self._writer = threading.Thread(target=self._run_writer, name="central-writer", daemon=True)
        self._writer.start()
        self._ready.wait(30.0)
        if self._open_error is not None:
            raise RuntimeError(f"central: cannot open the database {self.db_path}: {self._open_error}")
        client = make_client(self.client_id, self.address, backoff_min_s=0.5, backoff_max_s=10.0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_connect_fail = self._on_connect_fail
        self._client = client
        client.connect_async(self.address.host, self.address.port, keepalive=30,
                             clean_start=False, properties=connect_properties())
        client.loop_start()
        logger.info("central: receiving %s from %s:%s into %s", self.subscription, self.address.host,
                    self.address.port, self.db_path)

    def stop(self, timeout: float = 10.0) -> None:
        """Disconnect, then store and acknowledge what was already received."""
        # Store and ack what is queued while still connected, then disconnect (the acks
        # are queued before the DISCONNECT packet, so they go out first).
        self._queue.put(None)
        if self._writer is not None:
            self._writer.join(timeout)
        client = self._client
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self._client = None
        logger.info("central: stopped")

    def stats(self) -> ReceiverStats:
        """A snapshot of the counters; safe from any thread."""
        with self._lock:
            return replace(self._stats, queued=self._queue.qsize())

    # ---- paho callbacks ---------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason_code: ReasonCode, properties: Any) -> None:
        if reason_code.is_failure:
            self._set(last_error=f"broker refused the connection: {reason_code}")
            return
        client.subscribe(self.subscription, qos=1)
        self._set(connected=True)
        logger.info("central: connected (session present: %s)", flags.session_present)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._set(last_error=f"cannot reach the broker at {self.address.host}:{self.address.port}")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags,
                       reason_code: ReasonCode, properties: Any) -> None:
        self._set(connected=False, last_error=f"disconnected: {reason_code}")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Blocks paho's thread when the writer falls behind: back-pressure instead of an
        # unbounded queue (the broker keeps the rest).
        self._queue.put((message.topic, bytes(message.payload)))

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._stats = replace(self._stats, **changes)

    # ---- writer -----------------------------------------------------------------------

    def _run_writer(self) -> None:
        try:
            conn = sqlite3.connect(self.db_path, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            ensure_central_schema(conn)
        except (sqlite3.Error, OSError) as exc:
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            stopping = False
            while not stopping:
                first = self._queue.get()
                batch: list[tuple[str, bytes]] = []
                if first is None:
                    stopping = True
                else:
                    batch.append(first)
                while len(batch) < self.batch_max:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                        break
                    batch.append(item)
                if batch:
                    self._store(conn, batch)
        finally:
            conn.close()

    def _store(self, conn: sqlite3.Connection, batch: list[tuple[str, bytes]]) -> None:
        now = time.time()
        acks: list[tuple[str, str]] = []
        stored = duplicates = invalid = 0
        with conn:
            for topic, payload in batch:
                try:
                    verdict = json.loads(payload)
                    validate_verdict(verdict)
                except (ValueError, VerdictInvalidError) as exc:
                    invalid += 1
                    logger.warning("central: rejected a verdict on %s: %s", topic, exc)
                    conn.execute(
                        "INSERT INTO rejected(topic, payload, reason, received_at) VALUES (?, ?, ?, ?)",
                        (topic, payload, str(exc), now))
                    continue
                cursor = conn.execute(
                    "INSERT INTO verdicts(verdict_id, revision, station_id, site_id, session, seq, grade,"
                    " disposition, decided_at, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(verdict_id, revision) DO NOTHING",
                    (verdict["verdict_id"], verdict["revision"], verdict["station_id"], verdict["site_id"],
                     verdict["session"], verdict["seq"], verdict["decision"]["grade"],
                     verdict["decision"]["disposition"], verdict["decided_at"], payload.decode(), now),
                )
                if cursor.rowcount == 1:
                    stored += 1
                else:
                    duplicates += 1
                key = f"{verdict['verdict_id']}:{verdict['revision']}"
                ack = json.dumps({"verdict_id": verdict["verdict_id"], "revision": verdict["revision"],
                                  "key": key})
                acks.append((_ack_topic(topic), ack))
        # Only now, with the rows durable, does the station hear that they arrived.
        client = self._client
        sent = 0
        if client is not None:
            for ack_topic, ack in acks:
                info = client.publish(ack_topic, ack, qos=1)
                if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    sent += 1  # NO_CONN: paho sends it after reconnecting; the station resends anyway
        with self._lock:
            s = self._stats
            self._stats = replace(s, received=s.received + len(batch), stored=s.stored + stored,
                                  duplicates=s.duplicates + duplicates, invalid=s.invalid + invalid,
                                  acked=s.acked + sent)
