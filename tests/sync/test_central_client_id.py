"""Two receivers started with the same --client-id (a copied service file) take the broker
session from each other as fast as they reconnect. Each must say so, once, and what to do."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from sync.broker import LocalBroker
from sync.central import CentralReceiver
from tests.sync.conftest import wait_for

pytestmark = pytest.mark.broker


def test_two_receivers_with_one_client_id_are_told_to_give_each_its_own(
        tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sync.central"):
        receivers = [start_receiver(broker, tmp_path / "a.db", client_id="central-1"),
                     start_receiver(broker, tmp_path / "b.db", client_id="central-1")]
        for receiver in receivers:
            wait_for(lambda r=receiver: "own --client-id" in str(r.stats().last_error), 20,
                     "the receiver's stats say why it keeps losing its connection")
    said = [r.getMessage() for r in caplog.records if "own --client-id" in r.getMessage()]
    assert said and "client id 'central-1'" in said[0]
    # once per receiver, not a line per take-over (they happen hundreds of times a second)
    assert len(said) <= len(receivers)
    assert len([r for r in caplog.records if "central: connected" in r.getMessage()]) <= 2 * 5
