"""Reconnecting to a broker that is not there backs off, doubling up to the maximum."""

from __future__ import annotations

import re

from sync.broker import free_port
from sync.mqtt import BrokerAddress, NetworkLoop, make_client


def test_reconnect_delay_doubles_up_to_the_maximum() -> None:
    port = free_port()  # nothing listens there
    errors: list[str] = []
    client = make_client("backoff-test", BrokerAddress("127.0.0.1", port))
    loop = NetworkLoop(client, "127.0.0.1", port, backoff_min_s=0.05, backoff_max_s=0.2,
                       on_error=errors.append)
    while len(errors) < 5:
        loop.step(1.0)  # sleeps until the next attempt is due, then tries once
    delays = [float(re.search(r"retrying in ([0-9.]+) s", e).group(1)) for e in errors]  # type: ignore[union-attr]
    assert delays == [0.05, 0.1, 0.2, 0.2, 0.2]
    assert all(f"127.0.0.1:{port}" in e for e in errors)
