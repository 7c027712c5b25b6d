"""How the station reaches a Modbus PLC: [hardware.modbus] in the config (no pymodbus here,
so reading the config does not load the Modbus stack)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from hardware.modbus.registers import HEADER_WORDS, MAX_READ_WORDS, RegisterMap

__all__ = ["SIM_PORT", "ModbusSettings", "ModbusSettingsError", "Transport", "host_port",
           "is_network_address"]

SIM_PORT = "sim"
"""The port that means the built-in simulated PLC (`hardware.modbus.plc_sim`)."""

Transport = Literal["rtu", "tcp"]


class ModbusSettingsError(ValueError):
    """Modbus settings that contradict each other; `key` names the setting to change, `fix` how
    (None: the config's loader says "fix [hardware.modbus] <key>")."""

    def __init__(self, key: str, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.fix = fix


# "192.168.0.10:502", "plc-3.dock:1502": a network address, never a serial port's name (those are
# /dev/ttyUSB0, COM3, or pyserial URLs such as rfc2217://host:port, which have a slash).
_NETWORK_ADDRESS = re.compile(r"[A-Za-z0-9.\-]+:[0-9]+|\[[0-9A-Fa-f:.]+\](:[0-9]+)?")


def is_network_address(port: str) -> bool:
    """Whether `port` is written as a host and port ("192.168.0.10:502", "[fd00::10]:502")."""
    return _NETWORK_ADDRESS.fullmatch(port) is not None


_RTU_OVERHEAD_BYTES = 13
"""A function 4 request (8 bytes) and its answer's address, function, byte count and CRC (5)."""


@dataclass(frozen=True)
class ModbusSettings:
    """How to reach the PLC and where its registers are ([hardware.modbus] in the config)."""

    transport: Transport = "rtu"
    # "sim" = the simulated PLC; RTU: the serial port (/dev/ttyUSB0, COM3); TCP: "host:port".
    port: str = SIM_PORT
    unit_id: int = 1  # the PLC's Modbus address on the bus (1 to 247)
    baudrate: int = 19200
    parity: Literal["N", "E", "O"] = "E"  # Modbus RTU's default frame is 8E1
    stopbits: int = 1
    poll_ms: int = 10  # the period of the header read (events and acknowledgements)
    timeout_ms: int = 100  # no answer within this long: the request failed
    retries: int = 2  # failed requests in a row tolerated before the PLC counts as down
    ack_timeout_ms: int = 200  # a DIVERT not echoed in ACK_SEQ within this long is written again
    heartbeat_ms: int = 200  # the period of the station's HOST_ALIVE write (the PLC's watchdog)
    silence_ms: int = 1000  # the PLC's HEARTBEAT unchanged this long: the PLC counts as down
    reconnect_backoff_s: float = 0.5
    reconnect_backoff_max_s: float = 10.0
    hr_base: int = 0  # PDU address of the first holding register of the map
    ir_base: int = 0  # PDU address of the first input register of the map
    ring_slots: int = 20  # events the PLC's ring holds

    def __post_init__(self) -> None:
        if self.reconnect_backoff_s > self.reconnect_backoff_max_s:
            raise ModbusSettingsError(
                "reconnect_backoff_s",
                f"reconnect_backoff_s ({self.reconnect_backoff_s}) is above reconnect_backoff_max_s "
                f"({self.reconnect_backoff_max_s})",
            )
        if self.silence_ms <= 2 * max(self.poll_ms, 100):
            raise ModbusSettingsError(
                "silence_ms",
                f"silence_ms ({self.silence_ms}) must be above twice the poll period and the PLC's "
                "100 ms heartbeat, or a healthy PLC counts as down",
            )
        self._check_port()
        self._check_timeout()
        try:
            self.register_map()
        except ValueError as exc:
            raise ModbusSettingsError("ring_slots", str(exc)) from None

    def _check_port(self) -> None:
        """The port must be one the transport can open: a typing slip is named here, not after a
        doctor's six seconds of "did not answer"."""
        where = ('"host:port" (e.g. "192.168.0.10:502")' if self.transport == "tcp"
                 else "serial port (/dev/ttyUSB0, COM3)")
        if not self.port.strip():
            raise ModbusSettingsError("port", "port is empty",
                                      f'set [hardware.modbus] port to the PLC\'s {where}, or "sim"')
        if self.port == SIM_PORT:
            return
        if self.transport == "tcp":
            host_port(self.port)
        elif is_network_address(self.port):
            raise ModbusSettingsError(
                "port", f"port {self.port!r} is a network address, but transport is \"rtu\" (a serial port)",
                'set [hardware.modbus] transport = "tcp" for a PLC on the network, or port to the serial '
                "port of the RS-485 adapter (/dev/ttyUSB0, COM3)")

    def read_words_limit(self) -> int:
        """The most registers one read asks for: Modbus's 125 on TCP; on a serial line as many as
        arrive in half of timeout_ms at `baudrate` (the other half is the PLC's turnaround), since
        pymodbus gives up on an answer still arriving after timeout_ms. At 19200 8E1 a full
        125-register answer takes 146 ms: with the default 100 ms timeout every such read would
        fail, and a backlog of events after an outage would never be read."""
        if self.transport == "tcp":
            return MAX_READ_WORDS
        chars = self.timeout_ms / 2000 * self.baudrate / self._char_bits()
        return max(1, min(MAX_READ_WORDS, int((chars - _RTU_OVERHEAD_BYTES) // 2)))

    def _char_bits(self) -> int:
        """Bits on the wire per byte: start, 8 data, parity, stop."""
        return 9 + (self.parity != "N") + self.stopbits

    def _check_timeout(self) -> None:
        """On a serial line the header read itself must fit in timeout_ms, or no session comes up."""
        if self.transport != "rtu" or self.port == SIM_PORT:
            return
        wire_ms = (_RTU_OVERHEAD_BYTES + 2 * HEADER_WORDS) * self._char_bits() * 1000 / self.baudrate
        if wire_ms >= self.timeout_ms:
            raise ModbusSettingsError(
                "timeout_ms", f"timeout_ms ({self.timeout_ms}) is shorter than one header read takes at "
                f"{self.baudrate} baud ({wire_ms:.0f} ms on the wire)",
                f"set [hardware.modbus] timeout_ms to {2 * wire_ms:.0f} or more, or raise baudrate "
                "(on the PLC too)")

    def register_map(self) -> RegisterMap:
        """The map's place in the PLC's address space."""
        return RegisterMap(self.hr_base, self.ir_base, self.ring_slots)


def host_port(text: str) -> tuple[str, int]:
    """"192.168.0.10:502" -> ("192.168.0.10", 502); a bare host takes Modbus's port 502; an IPv6
    address is written in brackets ("[fd00::10]:502")."""
    if text.startswith("[") and "]" in text:  # IPv6: the colons inside the brackets are the address's
        host, _, rest = text[1:].partition("]")
        if not rest:
            return host, 502
        if not rest.startswith(":"):
            raise ModbusSettingsError("port", f"port {text!r} is not host:port, e.g. \"[fd00::10]:502\"")
        port = rest[1:]
    else:
        host, colon, port = text.rpartition(":")
        if not colon:
            return text, 502
        if ":" in host:
            raise ModbusSettingsError("port", f"port {text!r}: an IPv6 address goes in brackets",
                                      'write it as "[fd00::10]:502"')
    if not host:
        raise ModbusSettingsError("port", f"port {text!r} has no host",
                                  'write the PLC\'s address before the colon, e.g. "192.168.0.10:502"')
    try:
        number = int(port)
    except ValueError:
        raise ModbusSettingsError("port", f"port {text!r} is not host:port, "
                                  "e.g. \"192.168.0.10:502\"") from None
    if not 1 <= number <= 65535:
        raise ModbusSettingsError("port", f"port {text!r}: the TCP port is 1 to 65535")
    return host, number
