"""Every operator action is a verdict revision: what each one says (`change`, `changed_by`,
`change_note`), how older verdicts without those fields read, and that the conveyor's outcome and
an operator's action arriving together still number the revisions 1, 2, 3, ... once each, all
written by the recorder's thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from station.actions import ActionError, OperatorActions
from station.config import UiConfig
from station.pipeline import Pipeline
from station.privacy import ERASED
from station.state import ItemView, StationState
from station.store import Store
from station.store.images import FrameImage
from station.verdict import (
    CONVEYOR,
    Change,
    CodeRead,
    DecisionSource,
    Disposition,
    Routing,
    Verdict,
    VerdictError,
)
from sync.schema import validate_verdict

PIN = "4321"


@pytest.fixture
def line(store: Store) -> Iterator[tuple[OperatorActions, Pipeline, StationState]]:
    """The station's operator actions on a running pipeline (its recorder thread live), op-7 signed in."""
    state = StationState()
    pipeline = Pipeline(None, store, state, {})  # type: ignore[arg-type]  # no item is inspected here
    pipeline.start()
    woken: list[int] = []
    actions = OperatorActions(state, store, pipeline, None,  # type: ignore[arg-type]
                              UiConfig(supervisor_pin=PIN, supervisor_required_for=("restock",)),
                              session="s", config_file=None, on_revision=lambda: woken.append(1))
    actions.sign_in("op-7")
    try:
        yield actions, pipeline, state
    finally:
        pipeline.stop()


def _outbox(store: Store, verdict_id: str) -> list[dict[str, object]]:
    rows = store.conn.execute("SELECT key, payload FROM outbox WHERE key LIKE ? ORDER BY id",
                              (f"{verdict_id}:%",)).fetchall()
    out = [json.loads(bytes(payload)) for _key, payload in rows]
    assert [key for key, _ in rows] == [f"{v['verdict_id']}:{v['revision']}" for v in out]
    return out


def test_each_operator_action_is_a_revision_with_its_change_in_the_outbox(
    store: Store, make_verdict: Callable[..., Verdict],
    line: tuple[OperatorActions, Pipeline, StationState],
) -> None:
    actions, _pipeline, state = line
    first = store.record_verdict(make_verdict(1, disposition=Disposition.REPAIR), [])
    state.add_item(ItemView(verdict=first, frame=None))
    actions.confirm(first.verdict_id)
    actions.needs_supervisor(first.verdict_id, "  label torn, check the serial  ")
    actions.needs_supervisor(first.verdict_id, "")
    actions.override(first.verdict_id, "recycle", "battery swollen")
    with pytest.raises(ActionError):
        actions.override(first.verdict_id, "restock", "only the box", supervisor_pin="0000")
    actions.override(first.verdict_id, "restock", "only the box", supervisor_pin=PIN)

    history = store.history(first.verdict_id)
    said = [(v.revision, v.change, v.changed_by, v.change_note) for v in history]
    assert said == [
        (1, Change.INSPECTED, None, None),
        (2, Change.CONFIRMED, "op-7", None),
        (3, Change.SUPERVISOR_REQUESTED, "op-7", "label torn, check the serial"),
        (4, Change.SUPERVISOR_REQUESTED, "op-7", None),
        (5, Change.OVERRIDDEN, "op-7", None),  # the reason is the decision's override_reason
        (6, Change.SUPERVISOR_APPROVED, "op-7", None),  # the wrong PIN wrote nothing
    ]
    # A confirm and a call for a supervisor leave the decision as it stood; an override changes it.
    assert history[1].decision == history[2].decision == history[3].decision == first.decision
    assert history[4].decision.disposition is Disposition.RECYCLE
    assert history[4].decision.override_reason == "battery swollen"
    assert history[5].decision.disposition is Disposition.RESTOCK
    assert history[5].decision.source is DecisionSource.OPERATOR and history[5].decision.operator_id == "op-7"
    assert all(v.routing == first.routing for v in history)
    # Every revision went into the outbox once, as stored, and central's schema accepts it.
    sent = _outbox(store, first.verdict_id)
    assert sent == [v.to_json() for v in history]
    for payload in sent:
        validate_verdict(payload)
    # The window's item is the latest revision; the audit log still has every action.
    assert state.recent()[-1].verdict == history[-1]
    assert [e.action for e in reversed(store.audit_log())][-6:] == [
        "confirm", "needs_supervisor", "needs_supervisor", "override", "override_refused", "override"]
    assert json.loads(store.audit_log(action="override")[0].detail)["supervisor_approved"] is True


def test_the_conveyors_outcome_is_routed_by_the_conveyor(store: Store,
                                                         make_verdict: Callable[..., Verdict]) -> None:
    first = store.record_verdict(make_verdict(1), [])
    routed = store.record_routing(first.verdict_id, Routing(1, 3))
    assert routed is not None
    assert (routed.revision, routed.change, routed.changed_by, routed.change_note) == (
        2, Change.ROUTED, CONVEYOR, None)
    assert routed.decided_at == first.decided_at  # the conveyor carried out the decision; it made none


def test_a_purge_writes_one_purged_revision_with_the_codes_erased(
    store: Store, make_verdict: Callable[..., Verdict], frame: np.ndarray,
) -> None:
    label = CodeRead("Code128", "MRS J SMITH 12 HIGH ST")
    mine = store.record_verdict(make_verdict(1, codes=(CodeRead("EAN13", "4006381333931"), label)),
                                [FrameImage("top", frame)])
    other = store.record_verdict(make_verdict(2, rma="R-2"), [])
    store.confirm(mine.verdict_id, "op-7")
    result = store.purge_rma("R-1042", "dpo@site-01")
    assert result.revisions == 1
    latest = store.get_verdict(mine.verdict_id)
    assert latest is not None
    assert (latest.revision, latest.change, latest.changed_by) == (3, Change.PURGED, "dpo@site-01")
    assert [c.text for c in latest.item.codes] == ["4006381333931", ERASED]
    assert latest.decision == mine.decision
    # The picture was deleted with the purge: the revision names no file (the schema's null).
    (picture,) = mine.inspection.images
    assert picture.path is not None and not (store.images_dir / picture.path).exists()
    assert [(ref.camera, ref.sha256, ref.path) for ref in latest.inspection.images] == [
        ("top", picture.sha256, None)]
    assert _outbox(store, mine.verdict_id)[-1] == latest.to_json()
    # Purging again writes nothing new; another customer's item is untouched.
    assert store.purge_rma("R-1042", "dpo@site-01").revisions == 0
    assert len(store.history(mine.verdict_id)) == 3
    assert store.history(other.verdict_id) == [other]


def test_a_verdict_written_before_these_fields_reads_by_its_revision(
    make_verdict: Callable[..., Verdict],
) -> None:
    first = make_verdict(1)
    old = first.to_json()
    for name in ("change", "changed_by", "change_note"):
        del old[name]
    assert Verdict.from_json(old) == first and first.change is Change.INSPECTED
    second = dict(old, revision=2)
    read = Verdict.from_json(second)
    assert (read.change, read.changed_by, read.change_note) == (Change.ROUTED, None, None)
    # An override stored before this round reads as "routed" too (that is the contract); the window
    # tells it from the decision that changed (tests/ui/test_ui_revision_words.py).
    overridden = first.override(Disposition.REPAIR, "op-7", "dent").to_json()
    for name in ("change", "changed_by", "change_note"):
        del overridden[name]
    assert Verdict.from_json(overridden).change is Change.ROUTED


@pytest.mark.parametrize(("change", "revision", "changed_by", "problem"), [
    ("inspected", 2, None, "revision 2 cannot be 'inspected'"),
    ("confirmed", 1, "op-7", "revision 1 cannot be 'confirmed'"),
    ("confirmed", 2, None, "names the operator"),
    ("supervisor_requested", 2, "", "non-empty string"),
    ("overridden", 2, "op-7", "decision.source = operator"),
    ("routed", 2, "op-7", "the conveyor's"),
    ("repainted", 2, "op-7", "not one of"),
])
def test_a_revision_that_contradicts_itself_is_refused(
    make_verdict: Callable[..., Verdict], change: str, revision: int, changed_by: str | None, problem: str,
) -> None:
    data = dict(make_verdict(1).to_json(), change=change, revision=revision, changed_by=changed_by)
    with pytest.raises(VerdictError, match=problem):
        Verdict.from_json(data)


def test_the_conveyor_and_the_operator_at_once_number_each_verdict_once(
    store: Store, make_verdict: Callable[..., Verdict],
    line: tuple[OperatorActions, Pipeline, StationState],
) -> None:
    actions, pipeline, state = line
    verdicts = [store.record_verdict(make_verdict(seq), []) for seq in range(1, 31)]
    for verdict in verdicts:
        state.add_item(ItemView(verdict=verdict, frame=None))
    writers: set[str] = set()
    state.item_updated.connect(lambda _view: writers.add(threading.current_thread().name))
    start = threading.Barrier(2)

    def conveyor() -> None:
        start.wait()
        for verdict in verdicts:
            pipeline.routed(verdict.verdict_id, Routing(1, 3))

    def operator() -> None:
        start.wait()
        for verdict in verdicts:
            actions.override(verdict.verdict_id, "repair", "dent on the lid")
            actions.confirm(verdict.verdict_id)

    threads = [threading.Thread(target=conveyor), threading.Thread(target=operator)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    deadline = threading.Event()
    while not pipeline.idle():
        deadline.wait(0.05)
    for verdict in verdicts:
        history = store.history(verdict.verdict_id)
        assert [v.revision for v in history] == [1, 2, 3, 4]
        changes = [v.change for v in history]
        assert sorted(changes) == sorted([Change.INSPECTED, Change.ROUTED, Change.OVERRIDDEN,
                                          Change.CONFIRMED])
        assert changes.index(Change.OVERRIDDEN) < changes.index(Change.CONFIRMED)
        # Whichever came second read the other's revision: the latest has both.
        latest = history[-1]
        assert latest.routing == Routing(1, 3) and latest.decision.disposition is Disposition.REPAIR
        assert _outbox(store, verdict.verdict_id) == [v.to_json() for v in history]
    # Every revision was written, and shown, by the recorder's thread: the one writer.
    assert writers == {"pipeline-record"}
