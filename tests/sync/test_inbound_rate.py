"""A flood of inbound messages is refused beyond each kind's rate: the sender is told when to try
again, the refusals are counted, and the log gets one warning per burst, not one per message."""

from __future__ import annotations

import json
import logging

import pytest

from sync.inbound import RATE_LIMITS, Inbound, InboundHandlers, RateLimit

RANGES = {"defect_repair": (0.2, 0.8)}


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


def _station(clock: Clock, applied: list[dict[str, float]]) -> Inbound:
    return Inbound(InboundHandlers(on_config_set=applied.append, on_manifest=lambda lines: None,
                                   config_ranges=RANGES),
                   rate_limits={"config/set": RateLimit(burst=3, per_minute=6), "manifest": RateLimit(3, 6)},
                   clock=clock)


def _config(n: int) -> bytes:
    return json.dumps({"request_id": f"c{n}", "values": {"defect_repair": 0.5}}).encode()


def test_a_burst_beyond_the_limit_is_refused_with_when_to_try_again(caplog: pytest.LogCaptureFixture) -> None:
    clock, applied = Clock(), []
    inbound = _station(clock, applied)
    caplog.set_level(logging.INFO, logger="sync.inbound")
    replies = [inbound.handle("config/set", _config(n)) for n in range(8)]

    assert [r.ok for r in replies] == [True] * 3 + [False] * 5
    assert len(applied) == 3  # the refused ones changed nothing
    refused = replies[3]
    assert refused.request_id == "c3"  # echoed, so central's command shows this answer
    assert refused.reason.startswith("too many messages, try again in 10 s")
    assert inbound.rate_limited["config/set"] == 5 and inbound.refused["config/set"] == 5

    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "refusing until a slot is free" in warnings[0]


def test_the_wait_shrinks_and_the_kind_is_taken_again_with_one_summary(
        caplog: pytest.LogCaptureFixture) -> None:
    clock, applied = Clock(), []
    inbound = _station(clock, applied)
    for n in range(5):
        inbound.handle("config/set", _config(n))
    clock.at += 4
    assert "try again in 6 s" in inbound.handle("config/set", _config(5)).reason
    caplog.clear()
    clock.at += 10  # 6 a minute: one every 10 s
    reply = inbound.handle("config/set", _config(6))
    assert reply.ok, reply.reason
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["inbound config/set: taken again; 3 messages were refused as too many"]


def test_each_kind_has_its_own_bucket() -> None:
    clock, applied = Clock(), []
    inbound = _station(clock, applied)
    for n in range(6):
        inbound.handle("config/set", _config(n))
    reply = inbound.handle("manifest", json.dumps({"rmas": [{"rma": "R-1", "skus": ["A"]}]}).encode())
    assert reply.ok, reply.reason


def test_a_message_over_the_rate_is_not_even_read() -> None:
    clock, applied = Clock(), []
    inbound = _station(clock, applied)
    assert [inbound.handle("config/set", b"not json").ok for _ in range(3)] == [False] * 3
    reply = inbound.handle("config/set", b"not json")
    assert reply.reason.startswith("too many messages") and reply.request_id is None
    assert inbound.refused["config/set"] == 4 and inbound.rate_limited["config/set"] == 1


def test_model_offers_are_limited_by_default_more_tightly_than_thresholds() -> None:
    clock = Clock()
    inbound = Inbound(InboundHandlers(), clock=clock)  # no model store: each offer is refused, but counted
    burst = RATE_LIMITS["model/offer"].burst
    replies = [inbound.handle("model/offer", b'{"request_id": "o"}') for _ in range(burst + 1)]
    assert all("no model offers" in r.reason for r in replies[:burst])
    assert replies[burst].reason.startswith("too many messages, try again in")
    assert RATE_LIMITS["model/offer"].per_minute < RATE_LIMITS["config/set"].per_minute


def test_the_refusals_are_counted_by_kind_in_the_station_metrics() -> None:
    """What a scrape of the station's endpoint says after a flood of config/set and a bad manifest."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from station.metrics import inbound_families

    clock, applied = Clock(), []
    inbound = _station(clock, applied)
    for n in range(5):
        inbound.handle("config/set", _config(n))
    assert not inbound.handle("manifest", b"{not json").ok

    class Collector:
        def collect(self):  # type: ignore[no-untyped-def]
            return inbound_families(inbound)

    registry = CollectorRegistry()
    registry.register(Collector())  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    samples = {(s.name, s.labels.get("kind")): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("station_inbound_rate_limited_total", "config/set")] == 2
    assert samples[("station_inbound_refused_total", "config/set")] == 2
    assert samples[("station_inbound_refused_total", "manifest")] == 1
    assert ("station_inbound_rate_limited_total", "manifest") not in samples
