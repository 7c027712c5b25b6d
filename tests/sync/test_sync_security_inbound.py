"""Whoever can publish on a station's inbound topics cannot make it hold an unbounded message: an
oversized manifest is refused unread with a reply saying the limit, and a manifest line cannot
carry an unbounded list of SKUs the station never uses. Over a real broker and publisher."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sync.broker import LocalBroker
from sync.inbound import MAX_LINE_SKUS, MAX_MESSAGE_BYTES, Inbound, InboundHandlers, RmaLine
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings
from tests.sync.conftest import Probe, wait_for

pytestmark = pytest.mark.broker

PREFIX = "returns/v1/site-01/dock-01/"


def _manifest(lines: int, skus: int) -> bytes:
    """A manifest every line of which the station would take, of `lines` lines of `skus` SKUs."""
    sku = "S" * 64
    rmas = [{"rma": f"R-{i:062d}", "skus": [sku] * skus} for i in range(lines)]
    return json.dumps({"rmas": rmas}).encode()


def test_an_oversized_manifest_is_refused_unread_and_the_station_goes_on(
    tmp_path: Path, broker: LocalBroker, probe: Callable[[list[str]], Probe]
) -> None:
    manifests: list[list[RmaLine]] = []
    inbound = Inbound(InboundHandlers(on_manifest=manifests.append))
    watcher = probe([PREFIX + "reply", PREFIX + "status"])
    publisher = OutboxPublisher(tmp_path / "station.db", SyncSettings(broker="127.0.0.1", port=broker.port),
                                StationIdentity(session="s-1"), inbound=inbound)
    publisher.start()
    try:
        wait_for(lambda: len(watcher.json_on(PREFIX + "status")) == 1, 10, "online status")
        oversized = _manifest(100_000, 5)
        assert len(oversized) > MAX_MESSAGE_BYTES["manifest"]
        watcher.publish(PREFIX + "manifest", oversized)
        watcher.publish(PREFIX + "manifest", json.dumps({"rmas": [{"rma": "R-1", "skus": ["SKU-1"]}]}))
        wait_for(lambda: len(watcher.json_on(PREFIX + "reply")) == 2, 30, "two replies")
    finally:
        publisher.stop()
    refused, accepted = watcher.json_on(PREFIX + "reply")
    assert not refused["ok"] and f"{len(oversized)} bytes, more than the" in refused["reason"]
    assert accepted["ok"]
    assert manifests == [[RmaLine("R-1", ("SKU-1",))]]


def test_the_largest_manifest_of_full_lines_fits_and_a_line_of_too_many_skus_is_refused() -> None:
    manifests: list[list[RmaLine]] = []
    inbound = Inbound(InboundHandlers(on_manifest=manifests.append))
    full = _manifest(100_000, 1)
    assert inbound.handle("manifest", full).ok and len(manifests[0]) == 100_000
    reply = inbound.handle("manifest", _manifest(1, MAX_LINE_SKUS + 1))
    assert not reply.ok and f"list of 1 to {MAX_LINE_SKUS} SKU strings" in reply.reason
    assert len(manifests) == 1
