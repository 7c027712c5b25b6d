"""How the station reaches a Modbus PLC: [hardware.modbus] in the config (no pymodbus here,
so reading the config does not load the Modbus stack)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hardware.modbus.registers import RegisterMap

__all__ = ["SIM_PORT", "ModbusSettings", "ModbusSettingsError", "Transport", "host_port"]

SIM_PORT = "sim"
"""The port that means the built-in simulated PLC (`hardware.modbus.plc_sim`)."""

Transport = Literal["rtu", "tcp"]


class ModbusSettingsError(ValueError):
    """Modbus settings that contradict each other; `key` names the setting to change."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


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
        if self.transport == "tcp" and self.port != SIM_PORT:
            host_port(self.port)
        try:
            self.register_map()
        except ValueError as exc:
            raise ModbusSettingsError("ring_slots", str(exc)) from None

    def register_map(self) -> RegisterMap:
        """The map's place in the PLC's address space."""
        return RegisterMap(self.hr_base, self.ir_base, self.ring_slots)


def host_port(text: str) -> tuple[str, int]:
    """"192.168.0.10:502" -> ("192.168.0.10", 502); a bare host takes Modbus's port 502."""
    host, _, port = text.rpartition(":")
    if not host:
        return text, 502
    try:
        number = int(port)
    except ValueError:
        raise ModbusSettingsError("port", f"port {text!r} is not host:port, "
                                  "e.g. \"192.168.0.10:502\"") from None
    if not 1 <= number <= 65535:
        raise ModbusSettingsError("port", f"port {text!r}: the TCP port is 1 to 65535")
    return host, number
