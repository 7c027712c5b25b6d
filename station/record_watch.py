"""Revisions written into the record by another process while the station runs.

A supervisor at a terminal settles an item with `station item confirm | override | supervisor`
(station/commands/item.py): the revision, its outbox row and its audit entry go straight into the
database. The running station's publisher sends it from the outbox on its next poll; this watch, one
look a second on the monitor's thread, makes the rest of the station see it too: the window shows the
new revision of an item it lists, central is asked for at once, and a confirm or override feeds the
site's references as one made in the window does.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from station.state import StationState
from station.store import Store
from station.verdict import Change, Verdict

__all__ = ["RecordWatch"]

logger = logging.getLogger(__name__)

# Each look reads again this far back: a revision another process decided just before one of ours
# but committed after it is not missed (the ones already seen are remembered, not shown twice).
OVERLAP_S = 60.0
_SEEN_KEPT = 10_000
_SETTLING = frozenset({Change.CONFIRMED, Change.OVERRIDDEN, Change.SUPERVISOR_APPROVED})


class RecordWatch:
    """`look()` finds the revisions another process wrote since the last look and passes them on."""

    def __init__(self, store: Store, state: StationState, *, on_revision: Callable[[], None],
                 on_settled: Callable[[Verdict], None], clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.state = state
        self.on_revision = on_revision
        self.on_settled = on_settled
        self._since = clock()  # what was written before the start, the window was given at the start
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()

    def look(self) -> int:
        """One look; the number of new revisions found."""
        new = [verdict for verdict in self.store.revisions_from_elsewhere(self._since - OVERLAP_S)
               if (verdict.verdict_id, verdict.revision) not in self._seen]
        for verdict in new:
            self._seen[(verdict.verdict_id, verdict.revision)] = None
            self._since = max(self._since, verdict.decided_at.timestamp())
            logger.info("item %s: revision %s (%s by %s) written outside this station's window",
                        verdict.verdict_id, verdict.revision, verdict.change.value, verdict.changed_by or "-")
            self.state.update_item(verdict)
            if verdict.change in _SETTLING:
                self.on_settled(verdict)
        while len(self._seen) > _SEEN_KEPT:
            self._seen.popitem(last=False)
        if new:
            self.on_revision()
        return len(new)
