"""The station's end of the conveyor link: events in, DIVERTs out, outcomes recorded.

`ConveyorBridge` sits between the controller link (`hardware.ConveyorLink`, or
`ModbusLink` for a PLC: any `hardware.controller.Controller`, which runs `on_event` on its
own thread) and the pipeline. It keeps `hardware.ItemTracker`, which follows each item from
the entry eye to its verdict's outcome, behind one lock because three threads touch it:
the link thread (events), the inspection worker (`route`) and the recorder (`recorded`).
An item's outcome goes to `on_routed(verdict_id, routing)` once its verdict is recorded
and the item closed, whichever happens last (the recorder writes the first case itself).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from hardware import events as ev
from hardware.controller import Controller
from hardware.item_tracker import ItemRouting, ItemTracker, LaneMap
from hardware.link import LinkHealth
from station.i18n import DEFAULT_LANGUAGE, QT_TRANSLATE_NOOP, Message
from station.pipeline import ItemKey, Trigger
from station.state import Health, Level
from station.verdict import Disposition, Routing

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConveyorCounters:
    """What happened on the belt since start (`ConveyorBridge.counters` is a snapshot)."""

    items: int = 0
    at_camera: int = 0
    diverts_sent: int = 0
    late: int = 0
    confirmed: int = 0
    misrouted: int = 0
    lost: int = 0
    flushed: int = 0
    jams: int = 0
    estops: int = 0


class ConveyorBridge:
    """Turns link events into triggers and routing outcomes; sends DIVERTs in time."""

    def __init__(
        self,
        lanes: LaneMap,
        on_trigger: Callable[[Trigger], object],
        on_routed: Callable[[str, Routing], None],
        on_health: Callable[[Health], None],
        on_item_at_camera: Callable[[int], None] | None = None,
        confirm_timeout_s: float = 10.0,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        self.lanes = lanes
        self.language = language  # of the status lines
        self.tracker = ItemTracker(lanes, confirm_timeout_s=confirm_timeout_s)
        self.on_trigger = on_trigger
        self.on_routed = on_routed
        self.on_health = on_health
        self.on_item_at_camera = on_item_at_camera
        self.link: Controller | None = None
        self._lock = threading.Lock()  # the tracker and the counters
        self._counts = ConveyorCounters()
        # Why the belt stands (a jam, an e-stop): its status line and the zone of a jam.
        self._stop_reason: tuple[Message, dict[str, object]] | None = None
        # The controller's default lane when it is not [hardware.lanes] manual (None: it is).
        self._wrong_default: int | None = None

    @property
    def counters(self) -> ConveyorCounters:
        """What happened on the belt since start, all counted at the same moment."""
        return self._counts

    def _count(self, name: str) -> None:
        # The link thread and the inspection worker both count: each count is a new snapshot.
        with self._lock:
            self._counts = replace(self._counts, **{name: getattr(self._counts, name) + 1})

    def attach(self, link: Controller) -> None:
        """The link whose DIVERTs this bridge sends (created with `on_event=bridge.on_event`)."""
        self.link = link

    # -- the link's thread ------------------------------------------------------------------
    def on_event(self, event: ev.Event) -> None:
        """One event from the controller (runs on the link thread: keep it short)."""
        now = time.monotonic()
        with self._lock:
            closed = self.tracker.handle(event, now)
        if isinstance(event, ev.ItemAtCamera):
            self._count("at_camera")
            if self.on_item_at_camera is not None:
                self.on_item_at_camera(event.item_id)
            self.on_trigger(Trigger(source="conveyor", t_trigger=now, item_id=event.item_id,
                                    boot_id=event.boot_id, deadline=event.deadline))
        elif isinstance(event, ev.ItemEntered):
            self._count("items")
        elif isinstance(event, ev.LinkUp):
            self._wrong_default = event.default_lane if event.default_lane != self.lanes.manual_lane else None
            if self._wrong_default is not None:
                # Every item the station says nothing about (in time) goes there, unchecked.
                logger.error("the controller's default lane is %d, not the manual lane %d "
                             "([hardware.lanes]): items without a DIVERT go to lane %d unchecked; set its "
                             "default lane to %d",
                             event.default_lane, self.lanes.manual_lane, event.default_lane,
                             self.lanes.manual_lane)
                self.on_health(self.health())
            else:
                # The boot id is for the log and the values, not the operator's screen.
                self._report(Level.OK, QT_TRANSLATE_NOOP("Health", "conveyor connected"), "",
                             boot_id=event.boot_id)
            if event.new_boot and closed:
                logger.warning("controller rebooted: %s items in flight closed as lost", len(closed))
        elif isinstance(event, ev.LinkDown):
            self._report(Level.ERROR, QT_TRANSLATE_NOOP("Health", "conveyor link down"),
                         QT_TRANSLATE_NOOP("Health", "{problem}. Items go to the manual lane until it is "
                                           "back; check the controller's power and its cable or network.")
                         .render(self.language, problem=event.reason))
        elif isinstance(event, ev.Jam):
            self._count("jams")
            self._stop_reason = (QT_TRANSLATE_NOOP("Health", "JAM in zone {zone}"), {"zone": event.zone})
            self._report(Level.ERROR, QT_TRANSLATE_NOOP("Health", "JAM in zone {zone}"),
                         QT_TRANSLATE_NOOP("Health", "No diverts are sent. Clear the belt, then press Clear "
                                           "on the controller.").render(self.language), zone=event.zone)
        elif isinstance(event, ev.EStop):
            self._count("estops")
            self._stop_reason = (QT_TRANSLATE_NOOP("Health", "E-STOP pressed"), {})
            self._report(Level.ERROR, QT_TRANSLATE_NOOP("Health", "E-STOP pressed"),
                         QT_TRANSLATE_NOOP("Health", "The belt is stopped. Release the e-stop and clear it "
                                           "on the controller.").render(self.language))
        elif isinstance(event, ev.Cleared):
            self._stop_reason = None
            self._report(Level.OK, QT_TRANSLATE_NOOP("Health", "conveyor running"), "")
        for item in closed:
            self._closed(item)

    def expire(self) -> None:
        """Close items never confirmed, forget closed ones whose verdict never came (every second or so)."""
        with self._lock:
            closed = self.tracker.expire(time.monotonic())
        for item in closed:
            self._closed(item)

    def _closed(self, item: ItemRouting) -> None:
        """Count an item whose journey ended; hand its outcome out when its verdict is recorded."""
        if item.reason.startswith("flushed"):
            self._count("flushed")
        if item.lost:
            self._count("lost")
        elif item.lane_confirmed is not None:
            self._count("confirmed")
            expected = item.lane_commanded if item.lane_commanded is not None else self.lanes.manual_lane
            if item.lane_confirmed != expected:
                self._count("misrouted")
                logger.error("item %s went to lane %s, not %s (%s)", item.item_id, item.lane_confirmed,
                             expected, item.reason)
        if item.verdict_id is not None:
            self.on_routed(item.verdict_id, _routing(item))

    # -- the inspection worker's thread ---------------------------------------------------
    def route(self, trigger: Trigger, disposition: Disposition) -> Routing:
        """Send the DIVERT for `disposition` if still in time; otherwise the default lane takes it."""
        if trigger.item_id is None or trigger.boot_id is None or self.link is None:
            return Routing()
        lane = self.lanes.lane_for(disposition.value)
        with self._lock:
            ok = self.tracker.command(trigger.boot_id, trigger.item_id, lane, time.monotonic())
        if not ok:
            self._count("late")
            why = self._stop_reason or "decided after the item's deadline"
            logger.warning("no DIVERT for item %s: %s; it goes to the manual lane", trigger.item_id, why)
            late = trigger.deadline is not None and time.monotonic() >= trigger.deadline
            return Routing(lane_commanded=None, late=late)
        self.link.divert(trigger.item_id, lane, trigger.boot_id)
        self._count("diverts_sent")
        return Routing(lane_commanded=lane)

    # -- the recorder's thread ------------------------------------------------------------
    def recorded(self, key: ItemKey, verdict_id: str) -> Routing | None:
        """The verdict of item `key` is committed: its outcome when the item already closed."""
        with self._lock:
            item = self.tracker.recorded(*key, verdict_id)
        return None if item is None else _routing(item)

    # -- health ---------------------------------------------------------------------------
    def _report(self, level: Level, summary: Message, detail: str, **values: object) -> None:
        text = summary.render(self.language, **values)
        self.on_health(Health("conveyor", level, text, detail, dict(values)))

    def health(self) -> Health:
        """The conveyor's status line, from the link's counters."""
        lang = self.language
        if self.link is None:
            return Health("conveyor", Level.OK,
                          QT_TRANSLATE_NOOP("Health", "no conveyor (bench mode)").render(lang), "")
        link: LinkHealth = self.link.health()
        counts = self.counters
        values = {
            "boot_id": link.boot_id, "crc_errors": link.crc_errors, "retransmits": link.retransmits,
            "reconnects": link.reconnects, "heartbeat_age_s": link.last_frame_age_s,
            "rtt_ms_p50": link.rtt_ms_p50, "rtt_ms_p99": link.rtt_ms_p99,
            "misrouted": counts.misrouted, "lost": counts.lost, "late": counts.late,
        }
        if not link.connected:
            detail = (QT_TRANSLATE_NOOP("Health", "No answer from the controller on {port}: items go to the "
                                        "manual lane. Check the controller's power and cable.")
                      .render(lang, port=link.port) if link.port else
                      QT_TRANSLATE_NOOP("Health", "No answer from the controller: items go to the "
                                        "manual lane. Check the controller's power and cable.").render(lang))
            return Health("conveyor", Level.ERROR,
                          QT_TRANSLATE_NOOP("Health", "conveyor link down").render(lang), detail, values)
        if self._wrong_default is not None:
            wrong = QT_TRANSLATE_NOOP("Health", "conveyor's default lane is not the manual lane")
            what_to_do = QT_TRANSLATE_NOOP("Health", "Items the station sends no DIVERT for go to lane "
                                           "{lane}, unchecked. Set the controller's default lane to the "
                                           "manual lane ({manual}).")
            said = what_to_do.render(lang, lane=self._wrong_default, manual=self.lanes.manual_lane)
            return Health("conveyor", Level.ERROR, wrong.render(lang), said, values)
        if self._stop_reason is not None:
            message, stop_values = self._stop_reason
            return Health("conveyor", Level.ERROR, message.render(lang, **stop_values),
                          QT_TRANSLATE_NOOP("Health", "No diverts are sent until the controller reports "
                                            "it cleared.").render(lang), values)
        # The boot id and the link's counters stay in `values` (the log, central's stats): the
        # operator reads whether the belt runs, and a warning only when items went astray.
        summary = QT_TRANSLATE_NOOP("Health", "conveyor running").render(lang)
        level = Level.WARNING if counts.misrouted else Level.OK
        detail = ""
        if counts.misrouted:
            detail = QT_TRANSLATE_NOOP("Health", "{misrouted} items misrouted: check the diverters").render(
                lang, misrouted=counts.misrouted)
        return Health("conveyor", level, summary, detail, values)


def _routing(item: ItemRouting) -> Routing:
    """The verdict's routing block of an item's outcome."""
    return Routing(lane_commanded=item.lane_commanded, lane_confirmed=item.lane_confirmed,
                   late=item.late, lost=item.lost)
