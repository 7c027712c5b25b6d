"""The reference central receiver: takes every station's verdicts, stores each revision once, acks it.

One thread owns the socket (see `sync.mqtt.NetworkLoop`), another the database. The
network thread subscribes with an MQTT v5 shared subscription
(`$share/<group>/returns/v1/+/+/verdict`) so several receivers split the load, and checks
each message against the verdict schema; the database thread writes them in batches, one
SQLite transaction each (synchronous=FULL: an ack promises the row survives a power cut).
Only after the commit is each verdict acknowledged on its station's `<prefix>ack`, by the
network thread. While one batch waits for the disk, the next is already being read. A
repeat of a stored revision (the station resends whatever was not acknowledged) is not
stored again but acknowledged again, since the first ack may be what was lost. An invalid
verdict is kept in the `rejected` table and not acknowledged: it stays in the station's
backlog where its age shows up, rather than vanishing. So is a verdict whose `site_id` /
`station_id` differ from the `<site>/<station>` of the topic it came on: the broker's ACL
vouches for the topic, not for the payload. A repeat whose payload differs from the stored
one is kept in the `conflicts` table, logged, and acknowledged (resending it cannot help).
If a batch's transaction fails, its verdicts are stored one at a time, so one the database
refuses is rejected alone and the rest are stored and acknowledged. A database that cannot be
reached at all (PostgreSQL stopped or restarted) refuses nothing: the batch is neither stored
nor rejected nor acknowledged, the log says so once, and the next batch opens a new connection.

The same subscription takes the stations' evidence pictures (`<prefix>image`, checked against
the sha256 they announce) and purges (`<prefix>purge`); `sync.central_evidence` keeps and
erases them in a thread of their own, so a verdict never waits behind a picture's fsync, and
they are acknowledged by their keys. When that thread is still busy with earlier ones, new
pictures are left unacknowledged (their stations send them again) rather than hold up the
verdicts read from the same socket.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import re
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from sync.central_evidence import (
    EvidenceStore,
    ImagesDirError,
    default_images_dir,
    images_dir_fix,
    open_evidence_store,
)
from sync.central_metrics import CentralMeter
from sync.central_store import (
    Rejected,
    StoredVerdict,
    StoreResult,
    VerdictStore,
    ensure_central_schema,
    open_verdict_store,
)
from sync.evidence import EvidenceInvalidError, ImageMessage, PurgeMessage, parse_image, parse_purge
from sync.mqtt import BrokerAddress, NetworkLoop, make_client
from sync.postgres import DatabaseUnreachableError, is_database_url
from sync.schema import VerdictInvalidError, validate_verdict

__all__ = ["CentralReceiver", "ReceiverStats", "ensure_central_schema", "hide_db_password", "shown_db"]

logger = logging.getLogger(__name__)

DEFAULT_TOPIC = "returns/v1/+/+/verdict"

# Two receivers given the same --client-id take the session from each other each time one
# reconnects, the network loop backing off (0.5, 1, 2 s, ...) as long as no connection lasts
# NetworkLoop.STABLE_S: a connection ended sooner than that, this many times in a row, is taken as that.
_SHORT_SESSION_S = NetworkLoop.STABLE_S
_SHORT_SESSIONS = 3
_SESSION_TAKEN_OVER = 142  # MQTT v5 reason code

_QUERY_PASSWORD = re.compile(r"(?i)((?:^|&)password=)[^&]*")


def shown_db(db: Path | str) -> str:
    """`db` as central prints and logs it: a postgresql:// URL with its password as `***`
    (`postgresql://u:***@host/db`, also a `?password=` parameter); a SQLite path as it is."""
    text = str(db)
    if not is_database_url(text):
        return text
    try:
        parts = urlsplit(text)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user, colon, _password = userinfo.partition(":")
            netloc = f"{user}:***@{hostport}" if colon else netloc
        return urlunsplit(parts._replace(netloc=netloc, query=_QUERY_PASSWORD.sub(r"\1***", parts.query)))
    except ValueError:  # not a URL urlsplit can read: show no part that could be the password
        return text.split("://", 1)[0] + "://***"


def hide_db_password(text: str, db: Path | str) -> str:
    """`text` (a driver's error message, say) with the URL `db` shown as `shown_db` does and its
    password, wherever else it appears, as `***` (a password under 4 characters only within the
    URL: replacing each "p" of a message would make it unreadable, and drivers do not echo one)."""
    raw = str(db)
    if not is_database_url(raw):
        return text
    text = text.replace(raw, shown_db(raw))
    secrets: set[str] = set()
    with contextlib.suppress(ValueError):
        parts = urlsplit(raw)
        if parts.password:
            secrets.add(parts.password)
        secrets.update(m.group(0).split("=", 1)[1] for m in _QUERY_PASSWORD.finditer(parts.query))
    for secret in sorted(secrets, key=len, reverse=True):
        for form in {secret, unquote(secret), quote(unquote(secret), safe="")}:
            if len(form) >= 4:
                text = text.replace(form, "***")
    return text


@dataclass(frozen=True)
class ReceiverStats:
    """Counters of one receiver since it started."""

    connected: bool = False
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    conflicts: int = 0
    acked: int = 0
    images_stored: int = 0
    purges: int = 0
    last_error: str | None = None
    # Why the database cannot be reached, while it cannot (nothing is acknowledged meanwhile).
    database_error: str | None = None


@dataclass(frozen=True)
class _Batch:
    """Checked messages on their way to the database thread."""

    valid: list[tuple[str, StoredVerdict]]
    rejected: list[Rejected]
    images: list[tuple[str, ImageMessage]] = field(default_factory=list)
    purges: list[tuple[str, PurgeMessage]] = field(default_factory=list)


@dataclass(frozen=True)
class _Committed:
    """What the database thread made durable: `batch.valid` is stored (acknowledge it),
    `batch.rejected` kept aside; `error` is a database error met on the way, if any."""

    batch: _Batch
    stored: int
    conflicts: int = 0
    error: str | None = None
    # (ack topic, ack) of the pictures and purges done, and how many pictures were new
    evidence_acks: tuple[tuple[str, dict[str, Any]], ...] = ()
    images_new: int = 0
    purges_done: int = 0


def _topic_station(topic: str) -> tuple[str, str]:
    """The (site, station) of `<prefix>/<site>/<station>/<leaf>` (the ACL vouches for it)."""
    parts = topic.split("/")
    return (parts[-3], parts[-2]) if len(parts) >= 4 else ("", "")


# A station's and a site's id as the station itself accepts them ([station] id / site).
_STATION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _evidence_station(topic: str) -> tuple[str, str]:
    """The (site, station) of a picture's or purge's topic; EvidenceInvalidError unless both are ids a
    station can have. They name central's picture folders: a topic level such as `..` (a valid MQTT
    topic level, which `+` matches) must not lead a picture out of --images-dir."""
    site, station = _topic_station(topic)
    if not (_STATION_NAME.match(site) and _STATION_NAME.match(station)):
        raise EvidenceInvalidError(f"topic {topic!r} does not name a site and a station (<site>/<station>/"
                                   "image or purge, each letters, digits, '_', '.' or '-', not starting with "
                                   "'.')")
    return site, station


def _topic_mismatch(topic: str, verdict: dict[str, Any]) -> str | None:
    """Why the payload's station is not the topic's (`<prefix>/<site>/<station>/verdict`), or None."""
    parts = topic.split("/")
    if len(parts) < 4:
        return f"topic {topic!r} does not end in <site>/<station>/verdict"
    site, station = parts[-3], parts[-2]
    if (verdict["site_id"], verdict["station_id"]) != (site, station):
        return (f"payload says site_id {verdict['site_id']!r}, station_id {verdict['station_id']!r} but it "
                f"came on the topic of {site}/{station}")
    return None


def _ack_topic(topic: str) -> str:
    # <prefix>verdict (image, purge) -> <prefix>ack: works for any station prefix the ACL allows.
    return topic[: topic.rindex("/") + 1] + "ack"


_Properties = tuple[tuple[str, str], ...]


class CentralReceiver:
    """Receives verdicts from `address` into `db` (a SQLite file, or a postgresql:// URL) and
    acknowledges them."""

    def __init__(self, address: BrokerAddress, db: Path | str, *, topic: str = DEFAULT_TOPIC,
                 group: str = "central", client_id: str | None = None, batch_max: int = 200,
                 images_dir: Path | None = None) -> None:
        if not topic.endswith("/verdict"):
            raise ValueError(f"receiver topic {topic!r} must end with /verdict")
        self.address = address
        url = is_database_url(db)
        self.db_path: Path | str = str(db) if url else Path(db)
        self.db_shown = shown_db(self.db_path)  # in messages and logs: never a database password
        self.subscription = f"$share/{group}/{topic}" if group else topic
        # The stations' pictures and purges come under the same prefix as their verdicts.
        base = topic[: -len("verdict")]
        self.subscriptions = tuple(f"$share/{group}/{t}" if group else t
                                   for t in (topic, base + "image", base + "purge"))
        self.images_dir = images_dir
        where = str(self.db_path) if url else str(Path(db).resolve())
        digest = hashlib.sha1(where.encode()).hexdigest()[:8]
        # Stable per database: after a restart the broker hands this receiver its session
        # (and the verdicts queued for it meanwhile) back.
        self.client_id = client_id or f"central-{socket.gethostname()}-{digest}"
        self.batch_max = batch_max
        # filled by on_message in the network thread: topic, payload, user properties
        self._batch: list[tuple[str, bytes, _Properties]] = []
        # Two batches may wait for the database; beyond that the network thread waits too,
        # stops reading, and the broker holds the rest (back-pressure, nothing dropped).
        self._to_store: queue.Queue[_Batch | None] = queue.Queue(maxsize=2)
        # Pictures and purges for the evidence thread; never waited for (see _dispatch).
        self._to_keep: queue.Queue[_Batch | None] = queue.Queue(maxsize=8)
        self._committed: queue.SimpleQueue[_Committed] = queue.SimpleQueue()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_writer.setblocking(False)
        self._lock = threading.Lock()
        self._stats = ReceiverStats()
        self.meter = CentralMeter()  # what the metrics endpoint shows beside the stats
        self._stopping = threading.Event()
        self._client: mqtt.Client | None = None
        self._net: NetworkLoop | None = None
        self._thread: threading.Thread | None = None
        self._db_thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._subscribed = threading.Event()  # the broker granted the subscriptions (SUBACK)
        self._evidence_thread: threading.Thread | None = None
        self._evidence_ready = threading.Event()
        self._open_error: BaseException | None = None
        self._db_down_since: float | None = None  # when the database stopped answering (database thread)
        self._connected_at: float | None = None  # the network thread's: when the connection began
        self._short_sessions = 0  # connections in a row that ended right after they began

    def start(self) -> None:
        """Open the database and start the receiver threads; the network one connects (retrying with
        back-off)."""
        self._db_thread = threading.Thread(target=self._run_database, name="central-db", daemon=True)
        self._db_thread.start()
        self._ready.wait(30.0)
        if self._open_error is not None:
            text = hide_db_password(str(self._open_error), self.db_path)
            if isinstance(self._open_error, ImagesDirError):
                raise RuntimeError(f"central: {text}") from self._open_error
            raise RuntimeError(f"central: cannot open the database {self.db_shown}: {text}"
                               ) from self._open_error
        try:
            client = make_client(self.client_id, self.address)
        except BaseException:
            self._stop_database()  # nothing to receive: the database thread must not outlive start()
            raise
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._client = client
        self._net = NetworkLoop(client, self.address.host, self.address.port, backoff_min_s=0.5,
                                backoff_max_s=10.0, on_error=lambda text: self._set(last_error=text),
                                wake=self._wake_reader)
        self._thread = threading.Thread(target=self._run_network, name="central-receiver", daemon=True)
        self._thread.start()
        logger.info("central: receiving %s from %s:%s into %s", self.subscription, self.address.host,
                    self.address.port, self.db_shown)

    def wait_subscribed(self, timeout: float) -> bool:
        """Whether the broker has granted the receiver's subscriptions within `timeout` seconds.

        Until then a verdict published on a broker that holds no session for central is not
        delivered to it: a probe waits for this before it publishes.
        """
        return self._subscribed.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Store and acknowledge what was already received, then disconnect."""
        self._stopping.set()
        for thread in (self._thread, self._db_thread):
            if thread is not None:
                thread.join(timeout)
        self._wake_reader.close()
        self._wake_writer.close()
        logger.info("central: stopped")

    def stats(self) -> ReceiverStats:
        """A snapshot of the counters; safe from any thread."""
        with self._lock:
            return self._stats

    # ---- paho callbacks (in the network thread) ---------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason_code: ReasonCode, properties: Any) -> None:
        if reason_code.is_failure:
            self._set(last_error=f"broker refused the connection: {reason_code}")
            return
        client.subscribe([(subscription, 1) for subscription in self.subscriptions])
        if self._net is not None:
            self._net.connected()
        self._set(connected=True)
        self._connected_at = time.monotonic()
        if self._short_sessions < _SHORT_SESSIONS:  # not once per take-over (thousands a minute)
            logger.info("central: connected (session present: %s)", flags.session_present)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any,
                      properties: Any) -> None:
        if not any(getattr(reason, "is_failure", False) for reason in reasons or ()):
            self._subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags,
                       reason_code: ReasonCode, properties: Any) -> None:
        self._subscribed.clear()
        began, self._connected_at = self._connected_at, None
        short = began is not None and time.monotonic() - began < _SHORT_SESSION_S
        self._short_sessions = self._short_sessions + 1 if short else 0
        taken_over = getattr(reason_code, "value", None) == _SESSION_TAKEN_OVER
        if taken_over or self._short_sessions >= _SHORT_SESSIONS:
            text = (f"another client connects with this receiver's client id {self.client_id!r} and the "
                    "broker hands the session back and forth — give each receiver its own --client-id (or "
                    "stop the other one)")
            if self._short_sessions == _SHORT_SESSIONS or (taken_over and self._short_sessions <= 1):
                logger.error("central: %s", text)  # once, not at every take-over
            self._set(connected=False, last_error=text)
            return
        self._set(connected=False, last_error=f"disconnected: {reason_code}")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._net is not None:
            self._net.count_event()
        props = getattr(message.properties, "UserProperty", None) if message.properties is not None else None
        self._batch.append((message.topic, bytes(message.payload), tuple(props or ())))

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._stats = replace(self._stats, **changes)

    # ---- the network thread -----------------------------------------------------------

    def _run_network(self) -> None:
        net = self._net
        assert net is not None
        try:
            while not self._stopping.is_set():
                # Small batches keep acks flowing back while the station's window is still
                # full, so its next verdicts are already on the way (measured: one batch of
                # the whole window serialised the pipeline at ~600/s).
                net.step(0.1, max_packets=self.batch_max)
                self._send_acks()
                if self._batch:
                    batch, self._batch = self._batch, []
                    self._dispatch(batch)  # waits while two batches of verdicts are queued
            if self._batch:
                self._dispatch(self._batch)
                self._batch = []
        finally:
            self._stop_database()
            self._send_acks()
            # Acks are written as they are published, so none is behind the DISCONNECT.
            net.close()
            self._set(connected=False)

    def _stop_database(self) -> None:
        """End the database and evidence threads after what is queued for them."""
        self._to_store.put(None)  # the database thread ends after what is queued
        if self._db_thread is not None:
            self._db_thread.join(30.0)
        evidence = self._evidence_thread
        if evidence is not None and evidence.is_alive():
            with contextlib.suppress(queue.Full):
                self._to_keep.put(None, timeout=30.0)
            evidence.join(30.0)

    def _dispatch(self, batch: list[tuple[str, bytes, _Properties]]) -> None:
        """Check a batch, hand its pictures and purges to the evidence thread and its verdicts
        (and whatever was rejected) to the database thread."""
        checked = self._check(batch)
        if checked.images or checked.purges:
            try:
                self._to_keep.put_nowait(_Batch([], [], checked.images, checked.purges))
            except queue.Full:
                logger.info("central: still keeping earlier pictures; %s pictures and %s purges left "
                            "unacknowledged for their stations to send again", len(checked.images),
                            len(checked.purges))
        if checked.valid or checked.rejected:
            self._to_store.put(_Batch(checked.valid, checked.rejected))

    def _check(self, batch: list[tuple[str, bytes, _Properties]]) -> _Batch:
        now = time.time()
        self.meter.seen((topic for topic, _, _ in batch), now)
        valid: list[tuple[str, StoredVerdict]] = []
        rejected: list[Rejected] = []
        images: list[tuple[str, ImageMessage]] = []
        purges: list[tuple[str, PurgeMessage]] = []
        for topic, payload, properties in batch:
            if not topic.endswith("/verdict"):
                try:
                    if topic.endswith("/image"):
                        _evidence_station(topic)
                        images.append((topic, parse_image(properties, payload)))
                    elif topic.endswith("/purge"):
                        purge = parse_purge(payload)
                        if (purge.site_id, purge.station_id) != _evidence_station(topic):
                            raise EvidenceInvalidError(
                                f"purge says {purge.site_id}/{purge.station_id} but came on the topic of "
                                "{}/{}".format(*_topic_station(topic)))
                        purges.append((topic, purge))
                    else:
                        raise EvidenceInvalidError(f"no such topic {topic!r}")
                except EvidenceInvalidError as exc:
                    logger.warning("central: rejected a message on %s: %s", topic, exc)
                    rejected.append((topic, payload, str(exc), now))
                continue
            try:
                text = payload.decode()
                verdict = orjson.loads(payload)  # half the time of json.loads
                validate_verdict(verdict)
            except (ValueError, VerdictInvalidError) as exc:  # orjson.JSONDecodeError is a ValueError
                logger.warning("central: rejected a verdict on %s: %s", topic, exc)
                rejected.append((topic, payload, str(exc), now))
                continue
            if (mismatch := _topic_mismatch(topic, verdict)) is not None:
                logger.warning("central: rejected a verdict on %s: %s", topic, mismatch)
                rejected.append((topic, payload, mismatch, now))
                continue
            valid.append((topic, StoredVerdict.from_json(verdict, text, now)))
        with self._lock:
            self._stats = replace(self._stats, received=self._stats.received + len(batch))
        return _Batch(valid, rejected, images, purges)

    def _send_acks(self) -> None:
        """Acknowledge every batch the database thread has committed since the last call."""
        while True:
            try:
                done = self._committed.get_nowait()
            except queue.Empty:
                return
            if done.error is not None:
                # What was not stored is not acked, so its station resends it.
                self._set(last_error=f"database error: {done.error}")
            acks: dict[str, list[dict[str, Any]]] = {}
            for topic, verdict in done.batch.valid:
                acks.setdefault(_ack_topic(topic), []).append(
                    {"verdict_id": verdict.verdict_id, "revision": verdict.revision,
                     "key": f"{verdict.verdict_id}:{verdict.revision}"})
            for ack_topic, ack in done.evidence_acks:
                acks.setdefault(ack_topic, []).append(ack)
            # One message per station per batch (a JSON array of acks): per-message overhead,
            # not JSON, is what limits a Python pipeline, and a batch costs one PUBACK, not hundreds.
            client = self._client
            sent = 0
            if client is not None:
                for ack_topic, items in acks.items():
                    body = orjson.dumps(items[0] if len(items) == 1 else items)
                    info = client.publish(ack_topic, body, qos=1)
                    # NO_CONN: paho sends it after reconnecting; the station resends anyway.
                    if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                        sent += len(items)
            with self._lock:
                s = self._stats
                self._stats = replace(s, stored=s.stored + done.stored,
                                      duplicates=s.duplicates + len(done.batch.valid) - done.stored,
                                      invalid=s.invalid + len(done.batch.rejected),
                                      conflicts=s.conflicts + done.conflicts, acked=s.acked + sent,
                                      images_stored=s.images_stored + done.images_new,
                                      purges=s.purges + done.purges_done)

    # ---- the database thread ----------------------------------------------------------

    def _run_database(self) -> None:
        try:
            store = open_verdict_store(self.db_path)
        except Exception as exc:  # any driver's connect error: reported by start()
            self._open_error = exc
            self._ready.set()
            return
        # The evidence thread opens its tables once the verdict store has created the file (0600).
        self._evidence_thread = threading.Thread(target=self._run_evidence, name="central-evidence",
                                                 daemon=True)
        self._evidence_thread.start()
        self._evidence_ready.wait(30.0)
        if self._open_error is not None:
            store.close()
            self._ready.set()
            return
        self._ready.set()
        try:
            while (batch := self._to_store.get()) is not None:
                started = time.monotonic()
                committed = self._store(store, batch)
                self.meter.stored(time.monotonic() - started, committed.error is not None)
                self._committed.put(committed)
                with contextlib.suppress(OSError):  # the network thread acks it at once
                    self._wake_writer.send(b"\0")
        finally:
            store.close()

    # ---- the evidence thread ----------------------------------------------------------

    def _run_evidence(self) -> None:
        try:
            evidence = open_evidence_store(self.db_path, self.images_dir)
        except Exception as exc:  # reported by start()
            self._open_error = exc
            self._evidence_ready.set()
            return
        self._evidence_ready.set()
        try:
            while (batch := self._to_keep.get()) is not None:
                self._committed.put(self._store_evidence(evidence, batch, _Committed(_Batch([], []), 0)))
                with contextlib.suppress(OSError):
                    self._wake_writer.send(b"\0")
        finally:
            evidence.close()

    def _store_evidence(self, evidence: EvidenceStore, batch: _Batch, committed: _Committed) -> _Committed:
        """Keep the batch's pictures, then carry out its purges (a picture of a verdict purged in
        the same batch is erased again by the purge); each one done is acknowledged by its key."""
        acks: list[tuple[str, dict[str, Any]]] = []
        new = purges = 0
        error = committed.error
        if batch.images:
            try:
                results = evidence.store_images(
                    [(image, *_topic_station(topic)) for topic, image in batch.images], time.time())
            except Exception as exc:  # a full disk, the database: not acked, the stations resend
                logger.error("central: cannot keep %s pictures: %s — %s", len(batch.images),
                             hide_db_password(" ".join(str(exc).split()), self.db_path),
                             self._evidence_fix(exc))
                error = str(exc)
                results = []
            for (topic, image), result in zip(batch.images, results, strict=False):
                if result.purged:
                    logger.info("central: picture %s arrived after its verdict was purged; not kept",
                                image.key)
                elif result.conflict:
                    logger.warning("central: picture %s from %s is already kept with another sha256; the "
                                   "first one stays", image.key, topic)
                new += result.new
                acks.append((_ack_topic(topic), image.ack()))
        for topic, purge in batch.purges:
            try:
                outcome = evidence.purge(purge, time.time())
            except Exception as exc:
                logger.error("central: cannot carry out purge %s of RMA %s: %s", purge.purge_id, purge.rma,
                             exc)
                error = str(exc)
                continue
            if not outcome.repeat:
                purges += 1
                logger.info("central: purge %s of RMA %s from %s/%s: %s pictures and the personal fields of "
                            "%s revisions erased", purge.purge_id, purge.rma, purge.site_id, purge.station_id,
                            outcome.images_erased, outcome.revisions_erased)
            acks.append((_ack_topic(topic), purge.ack()))
        return replace(committed, error=error, evidence_acks=tuple(acks), images_new=new, purges_done=purges)

    def _evidence_fix(self, exc: BaseException) -> str:
        """What to do when pictures cannot be kept, by what failed."""
        if isinstance(exc, OSError) and isinstance(self.db_path, Path):  # SQLite: pictures are files
            return images_dir_fix(self.images_dir or default_images_dir(self.db_path))
        return ("check the database (is its server running, is --db right?); the pictures are not "
                "acknowledged meanwhile, so their stations keep them and send them again")

    def _store(self, store: VerdictStore, batch: _Batch) -> _Committed:
        started = time.monotonic()
        try:
            result = store.store([v for _, v in batch.valid], batch.rejected)
        except DatabaseUnreachableError as exc:
            return self._unreachable(exc)
        except Exception as exc:  # sqlite3 / psycopg errors alike
            logger.warning("central: a batch of %s verdicts failed in %s (%s); storing them one at a time",
                           len(batch.valid), self.db_shown, hide_db_password(str(exc), self.db_path))
            return self._store_one_by_one(store, batch, str(exc))
        self._reachable()
        logger.debug("central: batch of %s stored in %.1f ms", len(batch.valid) + len(batch.rejected),
                     (time.monotonic() - started) * 1000)
        self._warn_conflicts(result)
        return _Committed(batch, result.new, len(result.conflicts))

    def _store_one_by_one(self, store: VerdictStore, batch: _Batch, error: str) -> _Committed:
        """Isolate what the database refuses: each verdict in its own transaction; a refused one
        goes to `rejected` with the database's reason and is not acknowledged."""
        stored: list[tuple[str, StoredVerdict]] = []
        rejected = list(batch.rejected)
        new = conflicts = 0
        for topic, verdict in batch.valid:
            try:
                result = store.store([verdict], [])
            except DatabaseUnreachableError as exc:
                # Gone on the way: what is stored is acknowledged, the rest is sent again.
                lost = self._unreachable(exc)
                return replace(lost, batch=_Batch(stored, []), stored=new, conflicts=conflicts)
            except Exception as exc:
                logger.error("central: cannot store verdict %s:%s from %s in %s: %s", verdict.verdict_id,
                             verdict.revision, topic, self.db_shown, hide_db_password(str(exc), self.db_path))
                rejected.append((topic, verdict.payload.encode(), f"database refused it: {exc}",
                                 verdict.received_at))
                error = str(exc)
                continue
            stored.append((topic, verdict))
            new += result.new
            conflicts += len(result.conflicts)
            self._warn_conflicts(result)
        try:
            store.store([], rejected)
        except Exception as exc:
            # Not kept here, but not acknowledged either: the stations still hold these.
            logger.error("central: cannot keep %s rejected messages in %s: %s", len(rejected), self.db_shown,
                         hide_db_password(str(exc), self.db_path))
            error = str(exc)
        if batch.valid and not stored:
            # Nothing at all could be written: the database itself is failing. Wait a little
            # rather than spin; the stations resend everything unacknowledged.
            time.sleep(1.0)
        return _Committed(_Batch(stored, rejected), new, conflicts, error=error)

    def _unreachable(self, exc: DatabaseUnreachableError) -> _Committed:
        """The database cannot be reached: nothing of the batch is stored, kept as rejected or
        acknowledged (its stations send it again), and the log says so once per outage rather
        than once per verdict. The connection is opened again at the next batch."""
        text = hide_db_password(" ".join(str(exc).split()), self.db_path)
        if self._db_down_since is None:
            self._db_down_since = time.monotonic()
            logger.error("central: cannot reach the database %s (%s): nothing is acknowledged meanwhile, so "
                         "the stations keep their verdicts and send them again — start the database server "
                         "or fix --db; central connects again by itself (it tries every second)",
                         self.db_shown, text)
        self._set(database_error=text)
        time.sleep(1.0)  # rather than spin: the stations resend at their own pace
        return _Committed(_Batch([], []), 0, error=text)

    def _reachable(self) -> None:
        """A batch was written: end an outage the log announced."""
        if self._db_down_since is not None:
            logger.warning("central: the database %s answers again after %.0f s; storing what the stations "
                           "send again", self.db_shown, time.monotonic() - self._db_down_since)
            self._db_down_since = None
            self._set(database_error=None)

    def _warn_conflicts(self, result: StoreResult) -> None:
        for verdict in result.conflicts:
            logger.warning("central: verdict %s revision %s from %s/%s is already stored with a different "
                           "payload; the new one is kept in the conflicts table of %s and acknowledged",
                           verdict.verdict_id, verdict.revision, verdict.site_id, verdict.station_id,
                           self.db_shown)
