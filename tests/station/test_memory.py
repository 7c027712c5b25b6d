"""The malloc settings give freed frame-sized blocks back to the system (glibc only)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Frees one 8 MiB block (glibc then serves blocks up to 8 MiB from the heap), allocates 60
# frame-sized blocks, keeps only the last, and prints how much the resident set grew in MiB.
_PATTERN = """
import sys
import numpy as np
from station.memory import bound_heap

def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

if sys.argv[1] == "bound":
    assert bound_heap()
np.ones(8 << 20, np.uint8)
start = rss()
blocks = [np.ones(2_764_800, np.uint8) for _ in range(60)]
last = blocks[-1]
del blocks
print((rss() - start) / 2**20)
"""


def _growth(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", _PATTERN, mode], capture_output=True, text=True, check=True)
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc only")
def test_freed_frames_stay_resident_by_default_and_are_returned_when_bounded() -> None:
    default, bounded = _growth("default"), _growth("bound")
    # 60 frames of 2.6 MiB = 158 MiB: kept by default; with the bound only the live one remains.
    assert default > 100, f"the pattern no longer shows glibc keeping freed memory ({default:.0f} MiB)"
    assert bounded < 10, f"{bounded:.0f} MiB still resident after freeing 59 of 60 frames"
