"""Process-wide malloc settings: memory the station frees goes back to the system.

glibc serves blocks above its mmap threshold (128 KiB at start) with their own mappings, which
are unmapped on free. But each time such a block is freed, glibc raises the threshold to that
block's size (up to 32 MiB), and from then on blocks of that size come from the heap. The heap
only shrinks from its top, so one live block above many freed ones keeps them all resident.

The station allocates many frame-sized blocks (a 1280×720 BGR frame is 2.7 MB): the demo
enrolment at start renders a few hundred of them, the camera and the models a few per item.
The peak RSS of `station run --headless --items 100` on a fresh data folder is 341 MB with
fixed thresholds and 507 MB with glibc's defaults, 170 MB of it freed heap glibc keeps
(`/usr/bin/time -f %M`; benchmarks/pipeline.py --default-malloc shows the latency is the
same either way).
"""

from __future__ import annotations

import ctypes
import logging
import sys

logger = logging.getLogger(__name__)

# mallopt() parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

# Blocks from this size up get their own mapping, returned to the system when freed. Fixing the
# value (any mallopt of it does) also stops glibc from raising it on its own.
MMAP_THRESHOLD = 1 << 20
# Free memory at the top of the heap above this much is given back.
TRIM_THRESHOLD = 4 << 20


def bound_heap(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Fix glibc's mmap and trim thresholds for this process; False where there is no glibc
    (the other C libraries do not keep freed memory this way)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))
    if not ok:
        logger.warning("mallopt refused the heap thresholds; freed memory may stay resident")
    return ok
