"""A reliable frame of a type that this end never receives (an event sent to the controller, a
command sent to the host) is unknown to it: NACK UNSUPPORTED, nothing delivered, as the
reference firmware answers it and PROTOCOL.md §4 asks."""

from __future__ import annotations

from hardware.framing import decode_frame, encode_frame
from hardware.messages import Divert, Hello, ItemEnteredMsg, Message, Nack, NackReason, decode_message
from hardware.protocol import Connection, ConnectionState, Received, Role

HELLO = Hello(0x12345678, 0, 0x0F, 5, 0, 1000)


def _established() -> tuple[Connection, Connection]:
    ctrl = Connection(Role.CONTROLLER, 0.0, None, HELLO)
    host = Connection(Role.HOST, 0.0)
    host.receive_data(ctrl.data_to_send(), 0.0)
    ctrl.receive_data(host.data_to_send(), 0.0)
    assert host.state is ctrl.state is ConnectionState.ESTABLISHED
    host.events()
    ctrl.events()
    return ctrl, host


def _answers(end: Connection) -> list[Message]:
    out = end.data_to_send()
    return [decode_message(raw.type, raw.payload) for raw in map(decode_frame, out.split(b"\x00")[:-1])]


def test_the_controller_refuses_an_event_sent_to_it() -> None:
    ctrl, _host = _established()
    ctrl.receive_data(encode_frame(ItemEnteredMsg.TYPE, 1, ItemEnteredMsg(5).payload()), 0.0)
    assert _answers(ctrl) == [Nack(1, NackReason.UNSUPPORTED)]
    assert not any(isinstance(e, Received) for e in ctrl.events())
    # The stream goes on: the next command is delivered for the controller to decide.
    ctrl.receive_data(encode_frame(Divert.TYPE, 2, Divert(HELLO.boot_id, 1, 1).payload()), 0.0)
    assert [e.message for e in ctrl.events() if isinstance(e, Received)] == [Divert(HELLO.boot_id, 1, 1)]


def test_the_host_refuses_a_command_sent_to_it() -> None:
    _ctrl, host = _established()
    host.receive_data(encode_frame(Divert.TYPE, 1, Divert(HELLO.boot_id, 1, 1).payload()), 0.0)
    assert _answers(host) == [Nack(1, NackReason.UNSUPPORTED)]
    assert not any(isinstance(e, Received) for e in host.events())
    host.receive_data(encode_frame(ItemEnteredMsg.TYPE, 2, ItemEnteredMsg(5).payload()), 0.0)
    assert [e.message for e in host.events() if isinstance(e, Received)] == [ItemEnteredMsg(5)]
