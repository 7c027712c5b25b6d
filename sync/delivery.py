"""What outbox delivery decides, with no I/O: acks, resends, fetching, the in-flight window, stats.

`Delivery` is the state of one delivery run of `sync.publisher.OutboxPublisher`, which is
its I/O shell: the shell reads the clock, the outbox and the broker, feeds what happened
to a `Delivery` and carries out what it answers. Nothing here touches paho, SQLite, a
thread or a clock (every method that needs the time is given an `Instant`), so the rules
run the same in tests as against a broker.

One round of the shell, in this order:
- `acked(keys)` with central's acks: which rows to mark delivered; then `delivered(count, now)`;
- while the link is up `connected(connection, now)`, otherwise `disconnected()`;
- while up: `resend_messages(now)` (messages unacknowledged for `ack_timeout_s`), `fetch(now, woken)`
  (which outbox rows to read, if any) and `fetched_messages(fetch, rows, now)` (messages to
  publish), then the same for pictures with `fetch_images(now, woken)`, and `due_sends(now)`
  (sends to write into the outbox);
- `backlog_due(now)` / `backlog(count, oldest, images)`, `stats(base, now)`, `stats_due(now)`;
- `take_notices()`: log lines about central going silent (acks missing, messages sent again)
  and answering again.

Two lanes share the run: verdicts (and every other row but pictures) in a window of
`window`, evidence pictures in a window of `image_window` of their own. Pictures are read
only once the verdict lane has read to the end of the outbox, so a backlog of pictures
never stands between a new verdict and the broker; at most `image_window` of them are on
the wire when it comes. While a verdict waits for its ack no new picture is sent either,
so a backlog of verdicts (after an outage) drains as fast as it would without pictures.

Except where central is there and working, and a message went where nobody answers (a
receiver gone from the shared subscription, hung or its session left on the broker, holds
its share until it is sent again after `ack_timeout_s`): a verdict overtaken by the ack of
one sent after it, or already sent again, no longer holds the pictures, and a picture
overtaken likewise waits for its resend without taking the picture window's room (up to
four windows in flight in all). While central acknowledges nothing, every message in flight
counts as before: pictures resent to a stopped central would only queue copies at the broker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

__all__ = ["ACK_FORM", "AckMessage", "Acked", "Delivery", "Fetch", "Instant", "Message", "PublisherStats",
           "Row", "Sent", "read_ack"]

logger = logging.getLogger(__name__)

# A row's `published_at` / `attempts` are written with its delivery, or after this long
# in flight without an ack. A crash loses only these counters: every undelivered row is
# sent again after a restart whatever they say.
RECORD_SENDS_AFTER_S = 1.0
# How often the backlog (count and oldest row) is read from the outbox for the stats.
BACKLOG_EVERY_S = 0.5


@dataclass(frozen=True)
class Instant:
    """One reading of the clocks: `wall` (epoch seconds) is written to the outbox and ages
    are counted in it; `mono` (monotonic seconds) times the periodic work."""

    wall: float
    mono: float


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
    # Evidence pictures waiting behind the verdicts (not in `backlog`, which counts what
    # the operator calls verdicts waiting), and those not sent because their file was gone
    # or changed before their turn.
    image_backlog: int = 0
    images_skipped: int = 0


class Row(Protocol):
    """An outbox row as delivery needs it (`sync.outbox.OutboxRow` is one)."""

    @property
    def id(self) -> int: ...

    @property
    def key(self) -> str: ...

    @property
    def payload(self) -> bytes: ...


@dataclass(frozen=True)
class Sent:
    """Sends of one row to write into the outbox: the last at `sent_at`, `sends` not yet counted."""

    row_id: int
    sent_at: float
    sends: int


@dataclass(frozen=True)
class Acked:
    """Central's acks sorted out: rows that were in flight (delivered, and their sends written
    in the same update) and keys of rows that were not (sent by an earlier connection or run)."""

    flights: tuple[Sent, ...]
    keys: tuple[str, ...]


@dataclass(frozen=True)
class AckMessage:
    """One message on the `ack` topic, read: the keys it acknowledges and, for each part of
    it that acknowledges nothing, why (a sentence for the log)."""

    keys: tuple[str, ...]
    problems: tuple[str, ...]


# What a log line about a wrong ack tells central's developers to send instead.
ACK_FORM = ('central must send {"key": "<verdict_id>:<revision>"} (or the image / purge key it received), '
            'or a JSON array of such objects (docs/sync.md)')


def read_ack(payload: bytes | bytearray) -> AckMessage:
    """The keys an ack message acknowledges, and why each part that acknowledges nothing was
    left out. An array's good entries count even beside bad ones: each only says that central
    stored that row, so taking it saves a resend, and leaving it out would gain nothing."""
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError) as exc:  # a bad encoding is a ValueError too
        return AckMessage((), (f"it is not JSON ({exc})",))
    if not isinstance(body, list):
        key, problem = _ack_key(body)
        return AckMessage((key,) if key is not None else (), (f"it {problem}",) if problem else ())
    if not body:
        return AckMessage((), ("it is an empty array",))
    keys: list[str] = []
    problems: list[str] = []
    for number, entry in enumerate(body, start=1):
        key, problem = _ack_key(entry)
        if key is not None:
            keys.append(key)
        else:
            problems.append(f"entry {number} {problem}")
    return AckMessage(tuple(keys), tuple(problems))


def _ack_key(entry: Any) -> tuple[str | None, str | None]:
    """(key, None) for one well-formed ack object, else (None, what is wrong with it)."""
    if not isinstance(entry, dict):
        return None, f"is {_shown(entry)}, not an object"
    if "key" in entry:
        key = entry["key"]
        if isinstance(key, str) and key:
            return key, None
        return None, f'has "key" {_shown(key)}, not a non-empty string'
    verdict_id, revision = entry.get("verdict_id"), entry.get("revision")
    if verdict_id is None and revision is None:
        return None, 'has neither "key" nor "verdict_id" and "revision"'
    if not isinstance(verdict_id, str) or not verdict_id:
        return None, f'has "verdict_id" {_shown(verdict_id)}, not a non-empty string'
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        return None, f'has "revision" {_shown(revision)}, not a whole number from 1 up'
    return f"{verdict_id}:{revision}", None


def _shown(value: Any) -> str:
    """`value` as JSON, cut short for a log line."""
    try:
        text = json.dumps(value)
    except RecursionError:  # nested almost as deep as the parser allows
        return "a value nested too deep to show"
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Fetch:
    """Read at most `limit` undelivered outbox rows with an id above `after_id`: of the
    picture lane when `images`, else every row but pictures."""

    after_id: int
    limit: int
    images: bool = False


@dataclass(frozen=True)
class Message:
    """One outbox row to publish: its key (which says its topic) and payload."""

    key: str
    payload: bytes
    image: bool = False


@dataclass
class _Flight:
    row_id: int
    payload: bytes
    sent_at: float
    image: bool = False
    unrecorded: int = 1  # sends not yet counted in the row's `attempts`
    overdue: bool = False  # sent again: its ack did not come within `ack_timeout_s`
    order: int = 0  # when it was last published, counted over the run's publishes


class _Every:
    """True once per `period` seconds of monotonic time, counted from `last`."""

    def __init__(self, period: float, last: float) -> None:
        self.period = period
        self.last = last

    def due(self, mono: float) -> bool:
        if mono - self.last < self.period:
            return False
        self.last = mono
        return True


class Delivery:
    """The in-flight window of one delivery run and the decisions made over it.

    Rows go out in `id` order, at most `window` unacknowledged; a row unacknowledged after
    `ack_timeout_s` is sent again; on every new connection whatever was in flight is
    forgotten and sent again from the oldest undelivered row (central dedupes). `start`
    is when the run began: sends are first written, and stats first published, one
    period after it.
    """

    def __init__(self, *, window: int, ack_timeout_s: float, poll_interval_s: float,
                 stats_interval_s: float, start: Instant, image_window: int = 4) -> None:
        self.window = window
        self.image_window = image_window
        self.ack_timeout_s = ack_timeout_s
        self.poll_interval_s = poll_interval_s
        self._inflight: dict[str, _Flight] = {}
        self._cursor = 0  # id of the last row read from the outbox
        self._connection = 0  # the connection the window was filled on
        # The last read was cut short by the window, not by the end of the outbox: once acks
        # make room there are more rows to send at once, without waiting for the next poll.
        self._more = True
        self._last_fetch = 0.0
        # The picture lane: its own cursor, read-ahead flag and count in flight.
        self._image_cursor = 0
        # Unknown until the lane's first read, which happens as soon as verdicts allow it.
        self._images_more = False
        self._images_in_flight = 0
        self._last_image_fetch = 0.0
        # Publishes counted, and the latest of them acknowledged, by lane (verdicts, pictures).
        self._orders = 0
        self._acked_order = [0, 0]
        self._record = _Every(RECORD_SENDS_AFTER_S, start.mono)
        self._backlog_read = _Every(BACKLOG_EVERY_S, 0.0)
        self._stats_sent = _Every(stats_interval_s, start.mono)
        self._published = self._resent = self._delivered = 0
        self._last_delivered_at: float | None = None
        self._backlog = 0
        self._image_backlog = 0
        self._oldest_created: float | None = None
        # Central's silence: when an ack last came (wall clock), whether one came in the acks
        # not yet followed by `delivered`, whether the shell was told central is silent and how
        # many messages were sent again since; and the log lines the shell has yet to write.
        self._last_heard = start.wall
        self._heard = False
        self._silent = False
        self._unanswered = 0
        self._notices: list[tuple[int, str]] = []

    @property
    def oldest_created(self) -> float | None:
        """When the oldest undelivered row was created, as the last backlog read saw it."""
        return self._oldest_created

    def _verdicts_in_flight(self) -> int:
        return len(self._inflight) - self._images_in_flight

    def _verdicts_hold_pictures(self) -> bool:
        """A verdict in flight waits for its first ack and none sent after it was acked first; or any
        verdict, while central acknowledges nothing."""
        return any(not flight.image and (self._silent or not (flight.overdue or self._overtaken(flight)))
                   for flight in self._inflight.values())

    def _overtaken(self, flight: _Flight) -> bool:
        """A message of its lane published after it was acknowledged before it: central is there and
        working, this one landed where nobody answers (a receiver gone from the shared subscription)."""
        return flight.order < self._acked_order[int(flight.image)]

    def _pictures_room(self) -> int:
        """Pictures that may be sent now: overtaken ones wait for their resend without taking the
        window's room, up to four windows in flight in all — while central acknowledges anything."""
        waiting = sum(1 for f in self._inflight.values()
                      if f.image and (self._silent or not self._overtaken(f)))
        return min(self.image_window - waiting, 4 * self.image_window - self._images_in_flight)

    def ready_to_send(self) -> bool:
        """The outbox holds more rows than the last read took and the window has room for them."""
        if self._more:
            return self._verdicts_in_flight() < self.window
        # Pictures only once every verdict has been read and acknowledged (see fetch_images).
        return self._images_more and self._pictures_room() > 0 and not self._verdicts_hold_pictures()

    # ---- acks --------------------------------------------------------------------------

    def acked(self, keys: Iterable[str]) -> Acked:
        """Central acknowledged these keys: they leave the window. Every key is to be marked
        delivered, also one not in flight (central acks every copy it receives)."""
        flights: list[Sent] = []
        others: list[str] = []
        for key in keys:
            flight = self._inflight.pop(key, None)
            if flight is None:
                others.append(key)
            else:
                self._images_in_flight -= flight.image
                lane = int(flight.image)
                self._acked_order[lane] = max(self._acked_order[lane], flight.order)
                flights.append(Sent(flight.row_id, flight.sent_at, flight.unrecorded))
        self._heard = self._heard or bool(flights or others)
        return Acked(tuple(flights), tuple(others))

    def delivered(self, count: int, now: Instant) -> None:
        """`count` rows were marked delivered in the outbox (repeats of an ack change none)."""
        self._delivered += count
        if count:
            self._last_delivered_at = now.wall
        if self._heard:  # any ack, a repeat too: central is there
            self._heard = False
            self._last_heard = now.wall
            if self._silent:
                self._notices.append((logging.INFO, "central acknowledges again (messages sent again "
                                                    f"while it did not: {self._unanswered})"))
                self._silent, self._unanswered = False, 0

    # ---- the link ----------------------------------------------------------------------

    def connected(self, connection: int, now: Instant) -> tuple[Sent, ...]:
        """The link is up, on the `connection`-th connection (counted from 1).

        On a new connection whatever was in flight may have been lost with the old one:
        the window is emptied and refilled from the oldest undelivered row. Returns the
        sends of the dropped rows, to write into the outbox.
        """
        if connection == self._connection:
            return ()
        self._connection = connection
        self._resent += len(self._inflight)
        dropped = self.take_sends(now.wall)
        self._inflight.clear()
        self._images_in_flight = 0
        self._cursor = self._image_cursor = 0
        self._more, self._images_more = True, False
        self._last_image_fetch = 0.0
        return dropped

    def disconnected(self) -> None:
        """The link is down: nothing can be sent, so there is nothing to hurry for."""
        self._more = self._images_more = False

    # ---- sending -----------------------------------------------------------------------

    def resends(self, now: Instant) -> list[bytes]:
        """Payloads in flight for `ack_timeout_s` without an ack: to publish again now."""
        return [message.payload for message in self.resend_messages(now)]

    def resend_messages(self, now: Instant) -> list[Message]:
        """Messages in flight for `ack_timeout_s` without an ack: to publish again now, verdicts first."""
        messages: list[Message] = []
        for key, flight in self._inflight.items():
            if now.wall - flight.sent_at >= self.ack_timeout_s:
                flight.sent_at = now.wall
                flight.unrecorded += 1
                flight.overdue = True
                self._orders += 1
                flight.order = self._orders
                messages.append(Message(key, flight.payload, flight.image))
        self._resent += len(messages)
        # Said once per silence, and only when no ack at all came for as long: while central
        # works through a backlog, rows of an earlier send are resent though it answers.
        if messages and not self._silent and now.wall - self._last_heard >= self.ack_timeout_s:
            self._silent = True
            self._notices.append((logging.WARNING, (
                f"central has acknowledged nothing within [sync] ack_timeout_s ({self.ack_timeout_s:g} s) "
                "of a send: sending what it has not acknowledged again "
                f"({len(messages)} now) until it does. Is central running, and subscribed to this station's "
                "topics? (the backlog waits in the outbox meanwhile)")))
        if self._silent:
            self._unanswered += len(messages)
        messages.sort(key=lambda m: m.image)  # stable: each lane keeps its order
        return messages

    def take_notices(self) -> list[tuple[int, str]]:
        """Log lines (level, text) for the shell to write, oldest first: central stopped
        acknowledging (once, at the first resend with no ack for `ack_timeout_s`), and central
        acknowledges again (at the first ack after that)."""
        notices, self._notices = self._notices, []
        return notices

    def fetch(self, now: Instant, woken: bool) -> Fetch | None:
        """Which outbox rows to read now: when the window has room and the last read was
        cut short, the shell was woken (a new row) or a poll interval has passed."""
        room = self.window - self._verdicts_in_flight()
        if room <= 0 or not (self._more or woken or now.mono - self._last_fetch >= self.poll_interval_s):
            return None
        self._last_fetch = now.mono
        return Fetch(self._cursor, room)

    def fetch_images(self, now: Instant, woken: bool) -> Fetch | None:
        """Which pictures to read now: only once the verdict lane has read everything there is
        and central has acknowledged it (verdicts first, on the link and in central's work; a
        verdict sent again while central acknowledges others no longer counts), when the
        picture window has room and there are more, the shell was woken or a poll interval
        has passed."""
        room = self._pictures_room()
        if room <= 0 or self._more or self._verdicts_hold_pictures():
            return None
        if not (self._images_more or woken or now.mono - self._last_image_fetch >= self.poll_interval_s):
            return None
        self._last_image_fetch = now.mono
        return Fetch(self._image_cursor, room, images=True)

    def fetched(self, fetch: Fetch, rows: Sequence[Row], now: Instant) -> list[bytes]:
        """The rows `fetch` read, oldest first: returns the payloads to publish, in order."""
        return [message.payload for message in self.fetched_messages(fetch, rows, now)]

    def fetched_messages(self, fetch: Fetch, rows: Sequence[Row], now: Instant) -> list[Message]:
        """The rows `fetch` read, oldest first: returns the messages to publish, in order."""
        more = len(rows) == fetch.limit
        if fetch.images:
            self._images_more = more
        else:
            self._more = more
        messages: list[Message] = []
        for row in rows:
            if fetch.images:
                self._image_cursor = row.id
            else:
                self._cursor = row.id
            if row.key in self._inflight:
                continue
            self._orders += 1
            self._inflight[row.key] = _Flight(row.id, row.payload, now.wall, image=fetch.images,
                                              order=self._orders)
            self._images_in_flight += fetch.images
            messages.append(Message(row.key, row.payload, fetch.images))
        self._published += len(messages)
        return messages

    # ---- writing sends -----------------------------------------------------------------

    def due_sends(self, now: Instant) -> tuple[Sent, ...]:
        """Sends to write now: once a second, those of rows waiting for their ack for a second.

        A row's sends are written with its delivery (one write per row); only rows still
        waiting after a while get them written on their own.
        """
        if not self._record.due(now.mono):
            return ()
        return self.take_sends(now.wall - RECORD_SENDS_AFTER_S)

    def take_sends(self, sent_before: float) -> tuple[Sent, ...]:
        """Sends not yet written of rows last sent at or before `sent_before`; counted as written."""
        stale = [f for f in self._inflight.values() if f.unrecorded and f.sent_at <= sent_before]
        sends = tuple(Sent(f.row_id, f.sent_at, f.unrecorded) for f in stale)
        for flight in stale:
            flight.unrecorded = 0
        return sends

    # ---- stats -------------------------------------------------------------------------

    def backlog_due(self, now: Instant) -> bool:
        """Time to read the backlog from the outbox again."""
        return self._backlog_read.due(now.mono)

    def backlog(self, count: int, oldest_created: float | None, images: int = 0) -> None:
        """The outbox holds `count` undelivered rows besides pictures, the oldest created at
        `oldest_created`, and `images` undelivered pictures."""
        self._backlog = count
        self._oldest_created = oldest_created
        self._image_backlog = images

    def stats(self, base: PublisherStats, now: Instant) -> PublisherStats:
        """`base` (the link's state, kept by the shell) with delivery's figures as of `now`."""
        oldest = self._oldest_created
        return replace(base, backlog=self._backlog, image_backlog=self._image_backlog,
                       in_flight=len(self._inflight),
                       published_total=self._published, resent_total=self._resent,
                       delivered_total=self._delivered, last_delivered_at=self._last_delivered_at,
                       oldest_undelivered_age_s=None if oldest is None else max(0.0, now.wall - oldest))

    def stats_due(self, now: Instant) -> bool:
        """Time to publish the `stats` message."""
        return self._stats_sent.due(now.mono)
