"""Fixtures of the fault tests: the real store, broker and central receiver of the other suites.

Each test here reproduces one fault found by probing the station as an attacker or a bad
day on the floor would, on real parts, and holds the behaviour that fixed it.
"""

from __future__ import annotations

from tests.station.conftest import make_verdict, store  # noqa: F401
from tests.sync.conftest import broker, probe, start_receiver  # noqa: F401
