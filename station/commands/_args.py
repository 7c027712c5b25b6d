"""Argument types of the commands: a value out of its range is refused by argparse, with what to
write, before anything runs (a NaN speed would otherwise hang a simulated run forever).

Not a command: `station.cli` skips modules whose name starts with "_".
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from station.config import RANGES

__all__ = ["CAMERA_POS", "DIVERT_POS", "RATE", "SPACING", "SPEED", "number", "whole"]


def whole(minimum: int, maximum: int | None = None, example: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number from `minimum` (up to `maximum`), refused with what to write."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            span = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
            raise argparse.ArgumentTypeError(f"{text!r}: write a whole number {span}"
                                             + (f", e.g. {example}" if example else ""))
        return value
    return parse


def number(low: float, high: float, *, low_open: bool = False, high_open: bool = False,
           example: str = "") -> Callable[[str], float]:
    """An argparse type: a finite number between `low` and `high` (ends included unless open)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (above and below):  # NaN fails both; the ends are finite, so infinities fail one
            span = (f"{'above' if low_open else 'from'} {low:g} "
                    f"{'and below' if high_open else 'up to'} {high:g}")
            raise argparse.ArgumentTypeError(f"{text!r}: write a number {span}"
                                             + (f", e.g. {example}" if example else ""))
        return value
    return parse


# The simulated belt's figures, in the ranges [hardware] takes them (station.config.RANGES): a NaN or
# an infinity would keep a run waiting for items that never arrive.
SPEED = number(*RANGES[("hardware", "sim_speed_m_s")], example="2")  # m/s
SPACING = number(*RANGES[("hardware", "sim_spacing_m")], example="0.5")  # m between items
RATE = number(*RANGES[("hardware", "sim_items_per_s")], low_open=True, example="2")  # items per second
CAMERA_POS = number(*RANGES[("hardware", "sim_camera_pos_m")], example="0.5")  # m along the belt
DIVERT_POS = number(*RANGES[("hardware", "sim_divert_pos_m")], example="2")  # m along the belt
