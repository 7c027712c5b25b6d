"""Reconnecting to a broker that is not there backs off, doubling up to the maximum."""

from __future__ import annotations

import re
import time

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


class _TakenAwayClient:
    """A broker that accepts the connection and drops it at once (another client with the same id)."""

    def __init__(self) -> None:
        self.tries: list[float] = []

    def connect_async(self, *args: object, **kwargs: object) -> None:
        pass

    def socket(self) -> None:
        return None

    def reconnect(self) -> None:
        self.tries.append(time.monotonic())


def test_a_connection_lost_at_once_backs_off_instead_of_reconnecting_in_a_loop() -> None:
    client = _TakenAwayClient()
    loop = NetworkLoop(client, "127.0.0.1", 1883, backoff_min_s=0.05, backoff_max_s=0.2)  # type: ignore[arg-type]
    while len(client.tries) < 5:
        before = len(client.tries)
        loop.step(1.0)
        if len(client.tries) > before:
            loop.connected()  # on_connect came, then the broker took the session away
    gaps = [b - a for a, b in zip(client.tries, client.tries[1:], strict=False)]
    # Waits that grow, at least the back-off each (a sleep never ends early): 0.05, 0.1, 0.2, 0.2 s.
    assert all(gap >= wait for gap, wait in zip(gaps, (0.05, 0.1, 0.2, 0.2), strict=True)), gaps
