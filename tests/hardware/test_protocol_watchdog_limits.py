"""The controller watchdogs the station accepts in HELLO (PROTOCOL.md §5, §12 S1): only those that
outlast the station's heartbeats, since a shorter one ends every session of an idle belt; the
reference firmware's configuration check names the same limits."""

from __future__ import annotations

import pytest

from hardware.firmware.config import Config
from hardware.framing import decode_frame, encode_frame
from hardware.messages import Hello, Message, Nack, NackReason, Welcome, decode_message, hello_problems
from hardware.protocol import Connection, Role, SessionStarted, Timing


def _answer(host: Connection, watchdog_ms: int) -> Message:
    host.receive_data(encode_frame(Hello.TYPE, 1, Hello(0xBEEF, 0, 0x0F, 5, 0, watchdog_ms).payload()), 0.0)
    out = host.data_to_send()
    raw = decode_frame(out[:-1])
    return decode_message(raw.type, raw.payload)


@pytest.mark.parametrize("watchdog_ms", [100, 150, 300, 400])
def test_a_watchdog_shorter_than_two_heartbeats_is_refused(watchdog_ms: int) -> None:
    # The station sends a HEARTBEAT every 200 ms: such a controller would drop every session.
    host = Connection(Role.HOST, 0.0)
    answer = _answer(host, watchdog_ms)
    assert answer == Nack(1, NackReason.BAD_HELLO)
    assert host.events() == []


def test_a_one_second_watchdog_gets_a_session() -> None:
    host = Connection(Role.HOST, 0.0)
    assert _answer(host, 1000) == Welcome(0xBEEF, 1)
    assert [type(e) for e in host.events()] == [SessionStarted]


def test_a_host_with_slower_heartbeats_refuses_a_watchdog_they_would_trip() -> None:
    host = Connection(Role.HOST, 0.0, Timing(heartbeat_s=0.4))
    assert _answer(host, 700) == Nack(1, NackReason.BAD_HELLO)
    assert "twice the station's heartbeat period (400 ms)" in " ".join(
        hello_problems(Hello(0xBEEF, 0, 0x0F, 5, 0, 700), heartbeat_ms=400))
    assert _answer(Connection(Role.HOST, 0.0, Timing(heartbeat_s=0.4)), 1000) == Welcome(0xBEEF, 1)


@pytest.mark.parametrize("watchdog_ms", [1, 100, 300, 499, 500, 1000, 5000, 5001])
def test_the_firmware_names_the_watchdogs_the_station_refuses(watchdog_ms: int) -> None:
    station_refuses = bool(hello_problems(Hello(1, 0, 0x0F, 5, 0, watchdog_ms)))
    firmware_warns = any("WATCHDOG_MS" in p for p in Config(watchdog_ms=watchdog_ms).problems())
    assert firmware_warns == station_refuses
