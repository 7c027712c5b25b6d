"""The station's link to central: the MQTT publisher of the outbox and what central may ask.

`[sync] broker = "auto"` starts a local Mosquitto with the reference central receiver
(the demo line and tests); "" keeps every verdict in the outbox until a broker is set.
Central's messages (manifest, thresholds, model offers) reach the station's parts through
`InboundHandlers`; the reply to each is published by the publisher.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from station.config import Config
from station.i18n import DEFAULT_LANGUAGE, QT_TRANSLATE_NOOP
from station.inspector import Identity
from station.state import Health, Level
from station.verdict import ModelRef
from sync.broker import LocalBroker, demo_credentials
from sync.central import CentralReceiver
from sync.inbound import Inbound, InboundHandlers
from sync.modelstore import ModelStore
from sync.mqtt import BrokerAddress
from sync.publisher import OutboxPublisher, PublisherStats
from sync.settings import AUTO_BROKER, StationIdentity

__all__ = ["Uplink", "sync_health"]

logger = logging.getLogger(__name__)


class Uplink:
    """Starts (and stops) the broker of the demo line, its central receiver and the publisher."""

    def __init__(
        self,
        config: Config,
        identity: Identity,
        handlers: InboundHandlers,
        model_store: ModelStore,
        stats_source: Callable[[], dict[str, Any]],
        on_health: Callable[[Health], None],
        versions: dict[str, Any],
    ) -> None:
        self.config = config
        self.identity = identity
        self.handlers = handlers
        self.model_store = model_store
        self.stats_source = stats_source
        self.on_health = on_health
        self.versions = versions
        self.publisher: OutboxPublisher | None = None
        self.inbound: Inbound | None = None  # what central sends: handled, refused and counted
        self.broker: LocalBroker | None = None
        self.central: CentralReceiver | None = None
        self._demo_login = ("", "")  # the local broker's user and password (broker = "auto")

    @property
    def language(self) -> str:
        """The language of the status lines ([ui] language)."""
        return self.config.ui.language

    def start(self, models: tuple[ModelRef, ...]) -> None:
        """Connect to the configured broker (or start the local one); without one, verdicts wait."""
        settings = self.config.sync.resolved(self.config.base_dir)
        if settings.broker == AUTO_BROKER:
            try:
                host, port = self._start_local_broker()
            except Exception as exc:
                logger.warning("no local broker (%s): verdicts wait in the outbox", exc)
                self.on_health(Health("mqtt", Level.WARNING, QT_TRANSLATE_NOOP(
                    "Health", "no broker: verdicts kept in the outbox").render(self.language), str(exc)))
                return
            settings = dataclasses.replace(settings, broker=host, port=port, tls=False,
                                           username=self._demo_login[0], password=self._demo_login[1])
        if not settings.broker:
            self.on_health(Health(
                "mqtt", Level.WARNING,
                QT_TRANSLATE_NOOP("Health", "no broker configured").render(self.language),
                QT_TRANSLATE_NOOP("Health", "Verdicts wait in the outbox; set [sync].broker to send them.")
                .render(self.language)))
            return
        identity = StationIdentity(
            station_id=self.identity.station_id, site_id=self.identity.site_id, session=self.identity.session,
            versions=self.versions, models=tuple(m.to_json() for m in models),
        )
        inbound = Inbound(self.handlers, model_store=self.model_store, url_allow=settings.model_url_allow,
                          station=f"{identity.site_id}/{identity.station_id}",
                          config_signed=settings.config_signed)
        self.inbound = inbound
        db_path = self.config.in_data_dir(self.config.storage.db_path)
        self.publisher = OutboxPublisher(db_path, settings, identity, stats_source=self.stats_source,
                                         inbound=inbound)
        self.publisher.start()

    def _start_local_broker(self) -> tuple[str, int]:
        data_dir = self.config.data_dir
        # A password of its own: the broker listens on 127.0.0.1, where every user of the PC could
        # otherwise read the verdicts and send the station thresholds, manifests and model actions.
        user, password, passwd = demo_credentials(data_dir / "mosquitto")
        self._demo_login = (user, password)
        self.broker = LocalBroker(folder=data_dir / "mosquitto", password_file=passwd)
        self.broker.start()
        # The demo line has its own central: the reference receiver, acknowledging each verdict.
        self.central = CentralReceiver(BrokerAddress(self.broker.host, self.broker.port, username=user,
                                                     password=password), data_dir / "central.db")
        self.central.start()
        logger.info("local broker %s with the reference central receiver", self.broker.url())
        return self.broker.host, self.broker.port

    def stop(self) -> None:
        """Say goodbye on MQTT, then stop the local central and broker."""
        for part in (self.publisher, self.central):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    logger.exception("stopping %s failed", type(part).__name__)
        if self.broker is not None:
            self.broker.close()

    # -- what the other parts tell central ------------------------------------------------
    def wake(self) -> None:
        """A verdict or a revision waits in the outbox: send it now."""
        if self.publisher is not None:
            self.publisher.wake()

    def set_models(self, models: tuple[ModelRef, ...]) -> None:
        """Announce the model versions in use (after a swap)."""
        if self.publisher is not None:
            self.publisher.set_models(tuple(m.to_json() for m in models))

    def set_alarm(self, alarm: str | None) -> None:
        """Put (or clear) an alarm in the station's retained status."""
        if self.publisher is not None:
            self.publisher.set_alarm(alarm)

    def stats(self) -> PublisherStats | None:
        """Delivery figures (None without a broker)."""
        return self.publisher.stats() if self.publisher is not None else None


def sync_health(s: PublisherStats, language: str = DEFAULT_LANGUAGE) -> Health:
    """The MQTT status line from the publisher's figures, in `language`."""
    age = s.oldest_undelivered_age_s
    values = {"backlog": s.backlog, "oldest_s": age, "in_flight": s.in_flight,
              "delivered": s.delivered_total, "connected": s.connected}
    if not s.connected:
        detail = (QT_TRANSLATE_NOOP(
            "Health", "Cannot reach the broker ({error}). Nothing is lost: verdicts wait in the outbox "
            "and are sent when it is back. Check the network or the broker.")
            .render(language, error=s.last_error) if s.last_error else QT_TRANSLATE_NOOP(
            "Health", "The broker does not answer. Nothing is lost: verdicts wait in the outbox "
            "and are sent when it is back. Check the network or the broker.").render(language))
        return Health(
            "mqtt", Level.ERROR,
            QT_TRANSLATE_NOOP("Health", "MQTT down, {backlog} verdicts waiting")
            .render(language, backlog=s.backlog),
            detail, values)
    if age is not None and age > 60:
        return Health(
            "mqtt", Level.WARNING,
            QT_TRANSLATE_NOOP("Health", "MQTT connected, {backlog} waiting (oldest {age:.0f} s)").render(
                language, backlog=s.backlog, age=age),
            QT_TRANSLATE_NOOP("Health", "Central has not acknowledged these verdicts yet; "
                              "check the central receiver.").render(language), values)
    return Health("mqtt", Level.OK,
                  QT_TRANSLATE_NOOP("Health", "MQTT connected, {backlog} waiting").render(
                      language, backlog=s.backlog), "", values)
