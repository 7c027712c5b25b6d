"""The time and the station of the tests of signed messages (offers, actions, thresholds)."""

from __future__ import annotations

from datetime import UTC, datetime

T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
STATION = "site-01/dock-01"


class Clock:
    """The station's clock, set by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at
