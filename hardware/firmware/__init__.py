"""Reference controller firmware for PROTOCOL.md, in MicroPython-compatible Python.

On the board these files live in the `conveyor` package (`/conveyor/*.py`) and `main.py`
at the root boots it; on a PC the same code runs under CPython as `hardware.firmware` with
the simulated belt of `simbelt.SimHal` (see README.md). Nothing here imports the station.
"""
