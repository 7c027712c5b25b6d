"""The chunked socket reader hands paho every packet whole: many small ones arriving
together, bodies larger than a chunk, and nothing of an old connection after a reconnect."""

from __future__ import annotations

import random
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from sync.broker import LocalBroker
from sync.mqtt import BrokerAddress, NetworkLoop, make_client

pytestmark = pytest.mark.broker


def _loop(broker: LocalBroker, received: list[bytes], name: str) -> NetworkLoop:
    client = make_client(name, BrokerAddress("127.0.0.1", broker.port))

    def on_connect(c: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        c.subscribe("test/chunks", qos=1)

    def on_subscribe(c: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        subscribed.append(mid)

    def on_message(c: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        received.append(bytes(message.payload))
        loop.count_event()

    subscribed: list[int] = []
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    loop = NetworkLoop(client, "127.0.0.1", broker.port)
    _step_until([loop], lambda: bool(subscribed))
    return loop


def _step_until(loops: list[NetworkLoop], done: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        for loop in loops:
            loop.step(0.01)


def test_every_message_arrives_whole_and_in_order(broker: LocalBroker) -> None:
    rng = random.Random(5)
    # Mostly small messages, which arrive many to a chunk, and a few larger than a chunk.
    payloads = [rng.randbytes(rng.choice([0, 1, 40, 1500, 70_000, 200_000] + [90] * 20))
                for _ in range(600)]
    received: list[bytes] = []
    receiver = _loop(broker, received, "chunks-rx")
    sender = _loop(broker, [], "chunks-tx")
    for payload in payloads:
        sender.client.publish("test/chunks", payload, qos=1)
    _step_until([sender, receiver], lambda: len(received) >= len(payloads))
    assert received == payloads
    receiver.close()
    sender.close()


def test_nothing_read_before_a_reconnect_leaks_into_the_new_connection(broker: LocalBroker) -> None:
    received: list[bytes] = []
    receiver = _loop(broker, received, "chunks-rx2")
    sender = _loop(broker, [], "chunks-tx2")
    for i in range(50):
        sender.client.publish("test/chunks", b"before-%d" % i, qos=1)
    _step_until([sender, receiver], lambda: len(received) >= 50)
    broker.stop()
    broker.start()
    _step_until([receiver, sender], lambda: receiver.client.is_connected() and sender.client.is_connected())
    for i in range(50):
        sender.client.publish("test/chunks", b"after-%d" % i, qos=1)
    _step_until([sender, receiver], lambda: sum(p.startswith(b"after") for p in received) >= 50)
    after = [p for p in received if p.startswith(b"after")]
    assert after == [b"after-%d" % i for i in range(50)]
    assert all(p.startswith((b"before", b"after")) for p in received)
    receiver.close()
    sender.close()
