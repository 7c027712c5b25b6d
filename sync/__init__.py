"""Sync: every verdict reaches central exactly once in effect (docs/sync.md).

- `sync.outbox`: the outbox table; the station calls `ensure_schema` / `enqueue` inside its
  verdict transaction.
- `sync.schema.validate_verdict`: the `returns.verdict/1` check both ends run.
- `sync.publisher.OutboxPublisher` + `sync.settings.SyncSettings` (the `[sync]` section) and
  `StationIdentity` (who publishes): delivery, presence, stats;
  `sync.delivery.Delivery` holds its delivery rules without I/O.
- `sync.inbound.Inbound` + `InboundHandlers`: manifest, config/set, model/offer.
- `sync.modelstore.ModelStore`: verified model installs, rollback, shadow.
- `sync.central.CentralReceiver`: the reference receiver behind `station central`.
- `sync.broker.LocalBroker`: a local Mosquitto for the demo, tests and benchmarks.

Imports nothing else of the project (docs/architecture.md).
"""
