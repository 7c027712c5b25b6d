"""What differs between MicroPython and CPython, in one place: `const` and the clock.

MicroPython's `time.ticks_ms()` wraps (at 2**30 on most ports); every time difference in
the firmware goes through `ticks_diff` / `ticks_add` so that the wrap never matters.
"""


def const(value: int) -> int:
    """The value itself. MicroPython's compiler folds `NAME = const(...)` into the bytecode
    by the name alone, so this stand-in for `micropython.const` costs nothing on the board."""
    return value


TICKS_PERIOD = const(1 << 30)
_TICKS_HALF = const(1 << 29)


def ticks_diff(a: int, b: int) -> int:
    """a - b in milliseconds on the wrapping clock (like MicroPython's time.ticks_diff)."""
    return ((a - b + _TICKS_HALF) % TICKS_PERIOD) - _TICKS_HALF


def ticks_add(a: int, ms: int) -> int:
    """a + ms on the wrapping clock."""
    return (a + ms) % TICKS_PERIOD
