"""A confirm or override written by `station item` at a terminal while the station runs: two writers on
one real SQLite file, as the command and the station are. The station's window showed the old revision
until its next start, and a confirm made that way never fed the site's references."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from station.record_watch import RecordWatch
from station.state import ItemView, StationState
from station.store import Store
from station.verdict import Change, Disposition, Verdict


def _watched(tmp_path: Path) -> tuple[Store, StationState, list[Verdict], list[int]]:
    store = Store(tmp_path / "station.db", tmp_path / "images")
    return store, StationState(), [], []


def test_a_revision_from_a_terminal_reaches_the_window_central_and_the_references(
    tmp_path: Path, make_verdict: Callable[..., Verdict],
) -> None:
    station, state, settled, wakes = _watched(tmp_path)
    first, second = make_verdict(1, rma="R-1"), make_verdict(2, rma="R-2")
    for verdict in (first, second):
        station.record_verdict(verdict)
        state.add_item(ItemView(verdict, None))
    watch = RecordWatch(station, state, on_revision=lambda: wakes.append(1), on_settled=settled.append,
                        clock=first.decided_at.timestamp)
    assert watch.look() == 0

    terminal = Store(tmp_path / "station.db", tmp_path / "images")  # `station item`, its own process
    try:
        overridden = terminal.record_override(first.verdict_id, Disposition.REPAIR, "sup-2", "seal torn")
        asked = terminal.request_supervisor(second.verdict_id, "sup-2", "look at the corner")
    finally:
        terminal.close()
    assert watch.look() == 2
    shown = {view.verdict.verdict_id: view.verdict for view in state.recent()}
    assert shown[first.verdict_id].revision == overridden.revision
    assert shown[first.verdict_id].decision.disposition is Disposition.REPAIR
    assert shown[second.verdict_id].change is Change.SUPERVISOR_REQUESTED
    assert [v.verdict_id for v in settled] == [first.verdict_id]  # an override settles; a request does not
    assert wakes == [1]
    assert asked.revision == 2
    assert watch.look() == 0  # seen once only, though each look reads a minute back
    station.close()


def test_the_stations_own_revisions_are_not_taken_for_anothers(
    tmp_path: Path, make_verdict: Callable[..., Verdict],
) -> None:
    """The window's confirm goes through the station's own store: already shown, already settled."""
    station, state, settled, wakes = _watched(tmp_path)
    verdict = make_verdict(1)
    station.record_verdict(verdict)
    state.add_item(ItemView(verdict, None))
    watch = RecordWatch(station, state, on_revision=lambda: wakes.append(1), on_settled=settled.append,
                        clock=verdict.decided_at.timestamp)
    station.confirm(verdict.verdict_id, "op-7")
    assert watch.look() == 0 and settled == [] and wakes == []
    station.close()


def test_an_older_revision_never_replaces_the_one_shown(
    tmp_path: Path, make_verdict: Callable[..., Verdict],
) -> None:
    """The terminal's override (revision 2), then the window's confirm (revision 3) before the watch
    looks: the window keeps revision 3."""
    station, state, settled, _ = _watched(tmp_path)
    verdict = make_verdict(1)
    station.record_verdict(verdict)
    state.add_item(ItemView(verdict, None))
    watch = RecordWatch(station, state, on_revision=lambda: None, on_settled=settled.append,
                        clock=verdict.decided_at.timestamp)
    terminal = Store(tmp_path / "station.db", tmp_path / "images")
    try:
        terminal.record_override(verdict.verdict_id, Disposition.RECYCLE, "sup-2", "cracked")
    finally:
        terminal.close()
    confirmed = station.confirm(verdict.verdict_id, "op-7")
    state.update_item(confirmed)  # as the window's action does
    assert watch.look() == 1
    assert state.recent()[0].verdict.revision == confirmed.revision == 3
    station.close()
