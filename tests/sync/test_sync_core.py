"""The delivery rules of `sync.delivery.Delivery`, driven with no broker, no database and no clock:
the in-flight window, acks, resends, reconnects, revisions and stats."""

from __future__ import annotations

from dataclasses import dataclass

from sync.delivery import Acked, Delivery, Fetch, Instant, PublisherStats, Sent


@dataclass(frozen=True)
class FakeRow:
    """An outbox row as `Delivery.fetched` reads it."""

    id: int
    key: str
    payload: bytes


def at(t: float) -> Instant:
    """Both clocks at `t`: the rules never mix them, so tests may keep them equal."""
    return Instant(wall=t, mono=t)


def rows(first: int, last: int) -> list[FakeRow]:
    return [FakeRow(i, f"v{i}:1", f"payload {i}".encode()) for i in range(first, last + 1)]


def delivery(window: int = 3, ack_timeout_s: float = 10.0) -> Delivery:
    return Delivery(window=window, ack_timeout_s=ack_timeout_s, poll_interval_s=0.2,
                    stats_interval_s=30.0, start=at(100.0))


def send(core: Delivery, outbox: list[FakeRow], now: Instant, woken: bool = False) -> list[bytes]:
    """One fetch as the shell does it: read what the core asks for from `outbox`, return what to publish."""
    fetch = core.fetch(now, woken)
    if fetch is None:
        return []
    read = [r for r in outbox if r.id > fetch.after_id][:fetch.limit]
    return core.fetched(fetch, read, now)


def test_a_full_window_reads_nothing_until_an_ack_makes_room() -> None:
    core = delivery(window=3)
    outbox = rows(1, 5)
    assert core.connected(1, at(100.0)) == ()
    assert core.fetch(at(100.0), woken=False) == Fetch(after_id=0, limit=3)
    assert core.fetched(Fetch(0, 3), outbox[:3], at(100.0)) == [b"payload 1", b"payload 2", b"payload 3"]
    assert not core.ready_to_send()
    assert core.fetch(at(200.0), woken=True) is None
    acked = core.acked(["v2:1"])
    assert acked == Acked(flights=(Sent(row_id=2, sent_at=100.0, sends=1),), keys=())
    # The last read filled the window, so more rows wait: room is used at once, from after row 3.
    assert core.ready_to_send()
    assert core.fetch(at(100.1), woken=False) == Fetch(after_id=3, limit=1)


def test_after_reading_the_end_of_the_outbox_the_next_read_waits_for_a_wake_or_the_poll() -> None:
    core = delivery(window=10)
    core.connected(1, at(100.0))
    assert send(core, rows(1, 2), at(100.0)) == [b"payload 1", b"payload 2"]
    assert not core.ready_to_send()
    assert core.fetch(at(100.1), woken=False) is None
    assert core.fetch(at(100.1), woken=True) == Fetch(after_id=2, limit=8)
    assert core.fetched(Fetch(2, 8), [], at(100.1)) == []
    assert core.fetch(at(100.2), woken=False) is None
    assert core.fetch(at(100.4), woken=False) == Fetch(after_id=2, limit=8)


def test_acks_of_unknown_or_repeated_keys_are_marked_by_key_and_count_only_what_changed() -> None:
    core = delivery()
    core.connected(1, at(100.0))
    send(core, rows(1, 1), at(100.0))
    first = core.acked(["v1:1", "not-in-flight:1"])
    assert first == Acked(flights=(Sent(1, 100.0, 1),), keys=("not-in-flight:1",))
    core.delivered(1, at(101.0))
    # central acks every copy it receives: the repeat is no longer in flight
    assert core.acked(["v1:1"]) == Acked(flights=(), keys=("v1:1",))
    core.delivered(0, at(102.0))
    stats = core.stats(PublisherStats(), at(102.0))
    assert (stats.delivered_total, stats.last_delivered_at, stats.in_flight) == (1, 101.0, 0)


def test_an_unacked_row_is_sent_again_after_the_ack_timeout() -> None:
    core = delivery(ack_timeout_s=10.0)
    core.connected(1, at(100.0))
    send(core, rows(1, 1), at(100.0))
    assert core.resends(at(109.9)) == []
    assert core.resends(at(110.0)) == [b"payload 1"]
    assert core.resends(at(115.0)) == []  # the timeout counts from the last send
    # Both sends are written with the delivery, the last one's time with them.
    assert core.acked(["v1:1"]).flights == (Sent(1, 110.0, 2),)
    stats = core.stats(PublisherStats(), at(116.0))
    assert (stats.published_total, stats.resent_total) == (1, 1)


def test_a_new_connection_empties_the_window_and_sends_again_from_the_oldest_row() -> None:
    core = delivery(window=5)
    outbox = rows(1, 3)
    core.connected(1, at(100.0))
    assert len(send(core, outbox, at(100.0))) == 3
    core.disconnected()
    assert not core.ready_to_send()
    assert core.connected(1, at(100.5)) == ()  # the same connection: nothing is dropped
    dropped = core.connected(2, at(101.0))
    assert dropped == (Sent(1, 100.0, 1), Sent(2, 100.0, 1), Sent(3, 100.0, 1))
    assert core.stats(PublisherStats(), at(101.0)).in_flight == 0
    assert core.fetch(at(101.0), woken=False) == Fetch(after_id=0, limit=5)
    assert send(core, outbox, at(101.1)) == [b"payload 1", b"payload 2", b"payload 3"]
    stats = core.stats(PublisherStats(), at(101.1))
    assert (stats.published_total, stats.resent_total, stats.in_flight) == (6, 3, 3)
    # the sends of the first connection were handed out once; only the new ones remain
    assert core.take_sends(200.0) == (Sent(1, 101.1, 1), Sent(2, 101.1, 1), Sent(3, 101.1, 1))


def test_revisions_of_one_verdict_are_separate_rows_and_a_row_in_flight_is_not_sent_twice() -> None:
    core = delivery(window=5)
    core.connected(1, at(100.0))
    revisions = [FakeRow(1, "v7:1", b"rev 1"), FakeRow(2, "v7:2", b"rev 2")]
    assert core.fetched(Fetch(0, 5), revisions, at(100.0)) == [b"rev 1", b"rev 2"]
    assert core.acked(["v7:1"]).flights == (Sent(1, 100.0, 1),)
    # the same row read again (e.g. by a poll before its ack) stays one flight
    assert core.fetched(Fetch(0, 4), [FakeRow(2, "v7:2", b"rev 2")], at(100.5)) == []
    assert core.acked(["v7:2"]).flights == (Sent(2, 100.0, 1),)
    assert core.stats(PublisherStats(), at(101.0)).published_total == 2


def test_sends_are_written_once_a_second_for_rows_still_waiting_for_their_ack() -> None:
    core = delivery(window=5)
    core.connected(1, at(100.0))
    send(core, rows(1, 1), at(100.0))
    send(core, rows(1, 2), at(100.6), woken=True)
    assert core.due_sends(at(100.9)) == ()  # not a second since the run started
    assert core.due_sends(at(101.2)) == (Sent(1, 100.0, 1),)  # row 2 has not waited a second yet
    assert core.due_sends(at(101.9)) == ()  # once a second
    assert core.due_sends(at(102.3)) == (Sent(2, 100.6, 1),)
    # written sends are not counted again with the delivery
    assert core.acked(["v1:1"]).flights == (Sent(1, 100.0, 0),)


def test_stats_keep_the_link_state_and_show_backlog_and_the_oldest_rows_age() -> None:
    core = delivery()
    base = PublisherStats(connected=True, reconnects=2, last_error="refused")
    assert core.stats(base, at(100.0)).oldest_undelivered_age_s is None
    assert core.backlog_due(at(100.0))
    core.backlog(7, 40.0)
    assert not core.backlog_due(at(100.4))
    assert core.backlog_due(at(100.5))
    stats = core.stats(base, at(100.0))
    assert stats == PublisherStats(connected=True, reconnects=2, last_error="refused", backlog=7,
                                   oldest_undelivered_age_s=60.0)
    assert core.oldest_created == 40.0
    core.backlog(0, None)
    assert core.stats(base, at(101.0)).oldest_undelivered_age_s is None


def test_the_stats_message_is_due_once_per_interval_from_the_start() -> None:
    core = delivery()  # stats_interval_s = 30, started at 100
    assert not core.stats_due(at(129.9))
    assert core.stats_due(at(130.0))
    assert not core.stats_due(at(159.0))
    assert core.stats_due(at(160.0))
