"""What the operator (and central, for thresholds) asks of the running station.

`OperatorActions` implements `StationActions`, the intents a view may send: sign in,
confirm, override, flag for the supervisor, trigger, scan, switch mode, change
thresholds. Each is checked (who is signed in, a reason, the supervisor's PIN) and
recorded in the audit log; a confirm, an override and a call for a supervisor are also a
new revision of the item's verdict, written on the recorder's thread and sent to central.
The window says itself what the operator's own actions did,
naming the item (a second, vaguer notice from here would overwrite it); a change the
operator did not make here (thresholds from central) is announced on `StationState.message`.
A refused action raises `ActionError` whose message the window shows as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from station.config import UiConfig
from station.config_writer import write_policy, write_settings
from station.i18n import QT_TRANSLATE_NOOP, disposition_words
from station.inspector import StationInspector
from station.pipeline import Pipeline, Trigger
from station.policy import update_policy
from station.state import StationState
from station.store import Store
from station.verdict import Disposition, Verdict

__all__ = ["ActionError", "OperatorActions"]

logger = logging.getLogger(__name__)


class ActionError(Exception):
    """An operator action the station refused; the message says why."""


class OperatorActions:
    """The station's answers to the operator's intents; every one is audited."""

    def __init__(
        self,
        state: StationState,
        store: Store,
        pipeline: Pipeline,
        inspector: StationInspector,
        ui: UiConfig,
        session: str,
        config_file: Path | None,
        on_revision: Callable[[], None],
        before_bench_trigger: Callable[[], None] | None = None,
        lanes: Mapping[str, int] | None = None,
        on_settled: Callable[[Verdict], None] | None = None,
    ) -> None:
        """`on_revision` is called after each operator revision is recorded (the publisher sends it);
        `before_bench_trigger` puts the next item under the camera (the demo bench); `lanes`
        ([hardware.lanes]) tells an override of an item already routed to another lane;
        `on_settled` gets each confirmed or overridden revision (site references)."""
        self.state = state
        self.store = store
        self.pipeline = pipeline
        self.inspector = inspector
        self.ui = ui
        self.session = session
        self.config_file = config_file
        self.on_revision = on_revision
        self.before_bench_trigger = before_bench_trigger
        self.lanes = dict(lanes) if lanes else None
        self.on_settled = on_settled

    def _operator(self) -> str:
        if not self.state.operator_id:
            raise ActionError(QT_TRANSLATE_NOOP(
                "Notice", "nobody is signed in: sign in with your operator id first").render(
                    self.ui.language))
        return self.state.operator_id

    def sign_in(self, operator_id: str) -> None:
        """Start an operator's shift."""
        operator_id = operator_id.strip()
        if not operator_id:
            raise ActionError(QT_TRANSLATE_NOOP("Notice", "an operator id is needed to sign in").render(
                self.ui.language))
        self.state.operator_id = operator_id
        self.store.audit(operator_id, "sign_in", {"session": self.session})

    def _revise(self, write: Callable[[], Verdict]) -> Verdict:
        """Write an operator's revision on the recorder's thread (in turn with the conveyor's), show it,
        and wake the publisher: every revision goes to central through the outbox."""
        def write_and_show() -> Verdict:
            new = write()
            # On the recorder's thread too, so the window gets the revisions in their order.
            self.state.update_item(new)
            return new

        new = self.pipeline.write(write_and_show)
        self.on_revision()
        return new

    def confirm(self, verdict_id: str) -> None:
        """The operator agrees with the verdict: a `confirmed` revision."""
        operator = self._operator()
        self._settled(self._revise(lambda: self.store.confirm(verdict_id, operator)))

    def _settled(self, revision: Verdict) -> None:
        if self.on_settled is not None:
            self.on_settled(revision)

    def override(
        self, verdict_id: str, disposition: str, reason: str, supervisor_pin: str | None = None
    ) -> None:
        """The operator's own decision, as a new revision (never re-routes: an item already in
        another lane is flagged `move_by_hand`, see station/hand_move.py)."""
        operator = self._operator()
        try:
            target = Disposition(disposition)
        except ValueError:
            raise ActionError(f"unknown disposition {disposition!r}") from None
        if not reason.strip():
            raise ActionError(QT_TRANSLATE_NOOP("Notice", "an override needs a reason").render(
                self.ui.language))
        language = self.ui.language
        named = disposition_words(target, language, in_sentence=True)
        approved = False
        if target.value in self.ui.supervisor_required_for:
            pin = self.ui.supervisor_pin
            if not pin or supervisor_pin != pin:
                self.store.audit(operator, "override_refused", {"verdict_id": verdict_id, "to": target.value,
                                                                "why": "supervisor PIN missing or wrong"})
                raise ActionError(QT_TRANSLATE_NOOP(
                    "Notice", "an override to {disposition} needs the supervisor's PIN").render(
                        language, disposition=named))
            approved = True
        self._settled(self._revise(lambda: self.store.record_override(
            verdict_id, target, operator, reason.strip(), lanes=self.lanes, supervisor_approved=approved)))

    def withdraw(self, verdict_id: str, intent: str) -> None:
        """The operator took back a confirm or an override during its undo time: it never reached
        the record, so only the audit log says it was meant and taken back."""
        self.store.audit(self._operator(), "undo", {"verdict_id": verdict_id, "intent": intent,
                                                    "recorded": False})

    def needs_supervisor(self, verdict_id: str, note: str) -> None:
        """Flag an item for the supervisor: a `supervisor_requested` revision with the note."""
        operator = self._operator()
        self._revise(lambda: self.store.request_supervisor(verdict_id, operator, note))

    def reinspect(self) -> None:
        """Inspect what is under the camera again."""
        self.trigger()

    def trigger(self) -> None:
        """Inspect the item under the camera now (bench mode)."""
        if self.before_bench_trigger is not None:
            self.before_bench_trigger()
        self.pipeline.submit(Trigger(source="key"), wait=True)

    def scan(self, text: str) -> None:
        """A code scanned in the window (keyboard-wedge scanner) or on the scanner's port:
        in bench mode it triggers an inspection with it."""
        self.pipeline.submit(Trigger(source="scan", scanned=(text,)))

    def set_mode(self, mode: str) -> None:
        """Save bench/conveyor as `[station] mode` in the config file, for the next start: the conveyor
        link or the bench's scanner port and motion trigger are opened when the station starts, so the
        station runs on in the mode it started in until it is started again (the window offers that at
        once: `station run` then stops it and starts it again on the saved file)."""
        if mode not in ("bench", "conveyor"):
            raise ActionError(f"unknown mode {mode!r}: bench or conveyor")
        if self.config_file is None:
            raise ActionError(QT_TRANSLATE_NOOP(
                "Notice", "the station runs on its built-in settings, so the mode cannot be saved: put "
                          "[station] mode = \"{mode}\" in a config.toml and start the station with it")
                .render(self.ui.language, mode=mode))
        write_settings(self.config_file, "station", {"mode": mode})
        self.store.audit(self.state.operator_id or "station", "set_mode",
                         {"mode": mode, "from": "next_start"})

    def set_thresholds(self, values: dict[str, float]) -> None:
        """Change policy thresholds (range-checked); written back to the config file with a backup."""
        self.inspector.use_policy(update_policy(self.inspector.policy, values))
        self.store.audit(self.state.operator_id or "central", "set_thresholds", values)
        if self.config_file is not None:
            write_policy(self.config_file, values)
        self.state.message.emit(QT_TRANSLATE_NOOP("Notice", "thresholds updated").render(
            self.ui.language))
