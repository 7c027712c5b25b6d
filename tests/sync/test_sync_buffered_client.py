"""The chunked socket reader hands paho every packet whole: many small ones arriving
together, bodies larger than a chunk, and nothing of an old connection after a reconnect.
The joined writer sends a window of publishes in a few send() calls, and each is still
acknowledged; QoS 0 publishes and per-topic callbacks behave as paho's own."""

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


def test_a_window_of_publishes_goes_out_in_a_few_sends_and_each_is_acknowledged(broker: LocalBroker) -> None:
    received: list[bytes] = []
    receiver = _loop(broker, received, "join-rx")
    sender = _loop(broker, [], "join-tx")
    published: list[int] = []
    sender.client.on_publish = lambda c, userdata, mid, rc, props: published.append(mid)
    sends: list[int] = []
    real_send = sender.client._sock_send

    def counting_send(buf: bytes | bytearray) -> int:
        sends.append(len(buf))
        return real_send(buf)

    sender.client._sock_send = counting_send  # type: ignore[method-assign]
    payloads = [b"joined-%04d" % i + bytes(1400) for i in range(500)]
    mids = [sender.client.publish("test/chunks", payload, qos=1).mid for payload in payloads]
    # QoS 0 is reported published once written, so it is never folded into a joined write.
    qos0 = sender.client.publish("test/chunks", b"qos0", qos=0)
    _step_until([sender, receiver], lambda: len(received) >= len(payloads) + 1 and len(published) >= 501)
    assert received[:len(payloads)] == payloads and received[-1] == b"qos0"
    assert sorted(published) == sorted([*mids, qos0.mid])
    assert qos0.is_published()
    # 500 packets of ~1.4 kB: joined up to 1 MiB a send (and what the socket takes at once).
    assert len(sends) < 50, f"{len(sends)} sends for {len(payloads) + 1} packets"
    receiver.close()
    sender.close()


def test_per_topic_callbacks_still_get_their_messages(broker: LocalBroker) -> None:
    received: list[bytes] = []
    special: list[bytes] = []
    receiver = _loop(broker, received, "filter-rx")
    receiver.client.message_callback_add("test/chunks",
                                         lambda c, userdata, m: special.append(bytes(m.payload)))
    sender = _loop(broker, [], "filter-tx")
    sender.client.publish("test/chunks", b"to-the-filter", qos=1)
    _step_until([sender, receiver], lambda: bool(special))
    assert special == [b"to-the-filter"] and received == []
    receiver.client.message_callback_remove("test/chunks")
    sender.client.publish("test/chunks", b"to-on-message", qos=1)
    _step_until([sender, receiver], lambda: bool(received))
    assert received == [b"to-on-message"] and special == [b"to-the-filter"]
    receiver.close()
    sender.close()


def test_pubacks_report_success_and_failure_reasons_alike() -> None:
    """Two-byte PUBACKs (success) take the shared objects; one with a reason code goes through paho."""
    client = make_client("puback-paths", BrokerAddress("127.0.0.1", 1))
    seen: list[tuple[int, str, bool]] = []
    client.on_publish = lambda c, userdata, mid, rc, props: seen.append((mid, str(rc), rc.is_failure))
    first = client.publish("test/puback", b"one", qos=1)  # not connected: kept for sending, as paho does
    second = client.publish("test/puback", b"two", qos=1)
    client._in_packet = {**client._in_packet, "command": 0x40,
                         "packet": bytearray(first.mid.to_bytes(2, "big"))}
    client._handle_pubackcomp("PUBACK")
    client._in_packet = {**client._in_packet, "command": 0x40,
                         "packet": bytearray(second.mid.to_bytes(2, "big") + b"\x87\x00")}
    client._handle_pubackcomp("PUBACK")
    client._handle_pubackcomp("PUBACK")  # a repeat for a message already acknowledged: nothing
    assert seen == [(first.mid, "Success", False), (second.mid, "Not authorized", True)]
    assert first.mid not in client._out_messages and second.mid not in client._out_messages


def _publish_packet(topic: bytes, mid: int, payload: bytes, properties: bytes = b"\x00") -> bytearray:
    return bytearray(len(topic).to_bytes(2, "big") + topic + mid.to_bytes(2, "big") + properties + payload)


def test_publishes_without_properties_are_decoded_as_paho_decodes_them() -> None:
    """A QoS 1 PUBLISH without properties takes the client's own decoder; one with user
    properties goes through paho; both reach on_message alike and are acknowledged."""
    client = make_client("publish-paths", BrokerAddress("127.0.0.1", 1))
    got: list[mqtt.MQTTMessage] = []
    client.on_message = lambda c, userdata, m: got.append(m)
    client._sock = object()  # queue the PUBACKs as on a live connection (written by NetworkLoop)
    user = b"\x26" + (3).to_bytes(2, "big") + b"key" + (2).to_bytes(2, "big") + b"v1"
    with_user = len(user).to_bytes(1, "big") + user
    packets = [(0x32, _publish_packet(b"returns/s1/verdict", 7, b'{"id": 1}')),
               (0x3B, _publish_packet(b"returns/s1/verdict", 8, b"")),  # dup + retain, empty payload
               (0x32, _publish_packet(b"returns/s1/image", 9, b"\xff\xd8", with_user))]
    for command, packet in packets:
        client._in_packet = {**client._in_packet, "command": command, "packet": packet}
        assert client._handle_publish() == mqtt.MQTT_ERR_SUCCESS
    client._sock = None
    assert [(m.topic, m.mid, m.payload, m.qos, m.dup, m.retain) for m in got] == [
        ("returns/s1/verdict", 7, b'{"id": 1}', 1, False, False),
        ("returns/s1/verdict", 8, b"", 1, True, True),
        ("returns/s1/image", 9, b"\xff\xd8", 1, False, False)]
    assert got[0].properties is got[1].properties  # the shared empty one
    assert getattr(got[0].properties, "UserProperty", None) is None
    assert got[2].properties.UserProperty == [("key", "v1")]
    acks = [bytes(p["packet"]) for p in client._out_packet]
    assert acks == [b"\x40\x02\x00\x07", b"\x40\x02\x00\x08", b"\x40\x02\x00\x09"]
    with pytest.raises(AttributeError, match="shared"):
        got[0].properties.UserProperty = [("a", "b")]
    assert getattr(got[1].properties, "UserProperty", None) is None
