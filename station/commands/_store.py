"""How the commands refuse a station database they cannot use (a part of other commands)."""

from __future__ import annotations

import sys


def refuse(command: str, exc: Exception) -> int:
    """Print `station COMMAND: why` on stderr; the exit status: 2 for a file that is no station
    database (bad input, like a bad config), 1 for any other store or schema error."""
    from station.store import UnusableDatabaseError

    print(f"station {command}: {exc}", file=sys.stderr)
    return 2 if isinstance(exc, UnusableDatabaseError) else 1
