"""Modbus controllers (a PLC or remote I/O, RTU over RS-485 or TCP) through pymodbus.

    from hardware.modbus.driver import ModbusLink
    from hardware.modbus.plc_sim import PlcSimRunner
    plc = PlcSimRunner(SimSettings(), transport="tcp"); address = plc.start()
    link = ModbusLink(ModbusSettings(transport="tcp"), on_event, port=address); link.start()

`ModbusLink` has the surface of `hardware.link.ConveyorLink` and reports the same
`hardware.events`; the register map is in `registers` and hardware/MODBUS.md. This
package's top level loads no pymodbus (the config reads `ModbusSettings` from it).
"""

from hardware.modbus.registers import RegisterMap
from hardware.modbus.settings import SIM_PORT, ModbusSettings, ModbusSettingsError

__all__ = ["SIM_PORT", "ModbusSettings", "ModbusSettingsError", "RegisterMap"]
