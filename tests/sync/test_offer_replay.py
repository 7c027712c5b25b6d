"""A signed model offer or action recorded from the broker and sent again later is refused: each
says when it was signed and until when it may be used, and the station takes only one signed
later than the last it accepted for that model, also after a restart. Going back to an old
version on purpose is a new offer of it. Model actions are signed for one station."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.inbound import Inbound, InboundHandlers
from sync.modelstore import (
    MAX_CLOCK_SKEW,
    ModelStore,
    OfferMode,
    action_message,
    canonical_json,
    format_time,
    offer_message,
    sign_action,
    sign_offer,
)
from sync.offer_client import OfferInputError, parse_duration
from tests.sync.signing import STATION, T0, Clock


@pytest.fixture
def store(tmp_path: Path, key: Ed25519PrivateKey, clock: Clock) -> ModelStore:
    return ModelStore(tmp_path / "models", key.public_key(), now=clock)


def _inbound(store: ModelStore) -> Inbound:
    return Inbound(InboundHandlers(), store, station=STATION)


def _offer(key: Ed25519PrivateKey, version: str, at: datetime, mode: OfferMode = OfferMode.ACTIVATE,
           valid_for: timedelta = timedelta(hours=24)) -> dict[str, Any]:
    model = f"onnx {version}".encode()
    offer = sign_offer(key, "defect", version, model, {"version": version}, mode, signed_at=at,
                       valid_for=valid_for)
    return offer_message(offer, model, request_id=f"o-{version}")


def _action(key: Ed25519PrivateKey, action: str, at: datetime, station: str = STATION) -> dict[str, Any]:
    return action_message(sign_action(key, action, "defect", station, signed_at=at), request_id=f"a-{action}")


def _send(inbound: Inbound, message: dict[str, Any]) -> tuple[bool, str]:
    reply = inbound.handle("model/offer", json.dumps(message).encode())
    return reply.ok, reply.reason


def _active(store: ModelStore) -> str | None:
    active = store.active("defect")
    return active.version if active else None


# ---- offers ---------------------------------------------------------------------------------


def test_an_older_offer_sent_again_is_refused_and_the_newer_version_stays(
        store: ModelStore, key: Ed25519PrivateKey, clock: Clock) -> None:
    inbound = _inbound(store)
    old = _offer(key, "1", T0)
    assert _send(inbound, old)[0]
    clock.at = T0 + timedelta(hours=1)
    assert _send(inbound, _offer(key, "2", clock.at))[0]
    assert _active(store) == "2"

    ok, reason = _send(inbound, old)  # recorded from the broker, still within its 24 h
    assert not ok
    assert "not later than the last signed change of defect" in reason
    assert "sign a new offer with `station central offer`" in reason
    assert _active(store) == "2"


def test_the_same_offer_delivered_twice_is_taken_once(store: ModelStore, key: Ed25519PrivateKey) -> None:
    inbound = _inbound(store)
    offer = _offer(key, "1", T0)
    assert _send(inbound, offer)[0]
    ok, reason = _send(inbound, offer)
    assert not ok and "it was already applied, or it is an old message sent again" in reason


def test_going_back_to_an_old_version_is_a_new_offer_of_it(
        store: ModelStore, key: Ed25519PrivateKey, clock: Clock) -> None:
    inbound = _inbound(store)
    assert _send(inbound, _offer(key, "1", T0))[0]
    assert _send(inbound, _offer(key, "2", T0 + timedelta(minutes=1)))[0]
    clock.at = T0 + timedelta(hours=2)
    ok, reason = _send(inbound, _offer(key, "1", clock.at))
    assert ok, reason
    assert _active(store) == "1"


def test_an_expired_offer_is_refused_saying_to_sign_it_again(
        store: ModelStore, key: Ed25519PrivateKey, clock: Clock) -> None:
    offer = _offer(key, "1", T0, valid_for=timedelta(minutes=30))
    clock.at = T0 + timedelta(minutes=30) + MAX_CLOCK_SKEW + timedelta(seconds=1)
    ok, reason = _send(_inbound(store), offer)
    assert not ok
    assert "the offer expired at 2026-12-05T06:30:00.000000Z" in reason
    assert "sign a new offer with `station central offer`" in reason and "--valid-for" in reason
    assert _active(store) is None


def test_an_offer_just_past_its_expiry_is_taken_within_the_clock_skew(
        store: ModelStore, key: Ed25519PrivateKey, clock: Clock) -> None:
    offer = _offer(key, "1", T0, valid_for=timedelta(minutes=30))
    clock.at = T0 + timedelta(minutes=30) + MAX_CLOCK_SKEW - timedelta(seconds=1)
    ok, reason = _send(_inbound(store), offer)
    assert ok, reason


def test_an_offer_signed_in_the_stations_future_beyond_the_skew_is_refused(
        store: ModelStore, key: Ed25519PrivateKey) -> None:
    inbound = _inbound(store)
    ok, reason = _send(inbound, _offer(key, "1", T0 + MAX_CLOCK_SKEW + timedelta(seconds=1)))
    assert not ok
    assert "in the future" in reason and "set the clocks of central and of this station right" in reason
    ok, reason = _send(inbound, _offer(key, "1", T0 + MAX_CLOCK_SKEW - timedelta(seconds=1)))
    assert ok, reason


def test_an_offer_valid_for_longer_than_a_station_takes_is_refused(
        store: ModelStore, key: Ed25519PrivateKey) -> None:
    ok, reason = _send(_inbound(store), _offer(key, "1", T0, valid_for=timedelta(days=365)))
    assert not ok and "which is not a period of up to 30 days" in reason


def test_the_last_accepted_time_survives_a_new_store_on_the_same_folder(
        tmp_path: Path, store: ModelStore, key: Ed25519PrivateKey, clock: Clock) -> None:
    inbound = _inbound(store)
    old = _offer(key, "1", T0)
    assert _send(inbound, old)[0]
    assert _send(inbound, _offer(key, "2", T0 + timedelta(minutes=1)))[0]

    restarted = ModelStore(store.root, key.public_key(), now=clock)
    assert restarted.last_signed_at("defect") == T0 + timedelta(minutes=1)
    ok, reason = _send(_inbound(restarted), old)
    assert not ok and "not later than the last signed change" in reason
    assert _active(restarted) == "2"


def test_an_offer_of_the_previous_format_is_refused_saying_to_sign_it_again(
        store: ModelStore, key: Ed25519PrivateKey) -> None:
    envelope = canonical_json({"format": "returns.model-offer/2", "name": "defect", "version": "1",
                           "mode": "activate", "sha256": "0" * 64, "size": 1, "manifest": {}})
    message = {"offer": base64.b64encode(envelope).decode(),
               "signature": base64.b64encode(key.sign(envelope)).decode(),
               "payload_b64": base64.b64encode(b"x").decode()}
    ok, reason = _send(_inbound(store), message)
    assert not ok
    assert "old format returns.model-offer/2" in reason
    assert "sign it again with the current `station central offer`" in reason


def test_an_envelope_whose_times_are_not_utc_is_refused(store: ModelStore, key: Ed25519PrivateKey) -> None:
    good = json.loads(sign_offer(key, "defect", "1", b"x", {}, signed_at=T0).envelope)
    envelope = canonical_json({**good, "signed_at": "2026-12-05T07:00:00+01:00"})
    with pytest.raises(ValueError, match="'signed_at' must be a UTC time"):
        store.open_offer(envelope, key.sign(envelope))


# ---- model actions --------------------------------------------------------------------------


@pytest.fixture
def two_versions(store: ModelStore, key: Ed25519PrivateKey) -> Inbound:
    """defect 1 active, 2 in shadow, both offered at T0 - 1 h and T0 - 30 min."""
    inbound = _inbound(store)
    assert _send(inbound, _offer(key, "1", T0 - timedelta(hours=1)))[0]
    assert _send(inbound, _offer(key, "2", T0 - timedelta(minutes=30), OfferMode.SHADOW))[0]
    return inbound


def test_an_unsigned_action_is_refused_saying_how_to_send_it(two_versions: Inbound,
                                                              store: ModelStore) -> None:
    ok, reason = _send(two_versions, {"request_id": "a", "action": "promote", "name": "defect"})
    assert not ok
    assert "unsigned model action refused" in reason
    assert "`station central model promote defect --key RELEASE_KEY`" in reason
    assert _active(store) == "1"


def test_an_action_signed_by_another_key_is_refused(two_versions: Inbound, store: ModelStore) -> None:
    ok, reason = _send(two_versions, _action(Ed25519PrivateKey.generate(), "promote", T0))
    assert not ok and "signature does not verify" in reason
    assert _active(store) == "1"


def test_an_action_for_another_station_is_refused(
        two_versions: Inbound, store: ModelStore, key: Ed25519PrivateKey) -> None:
    ok, reason = _send(two_versions, _action(key, "promote", T0, station="site-01/dock-02"))
    assert not ok
    assert "for the station 'site-01/dock-02', this is site-01/dock-01" in reason
    assert _active(store) == "1"


def test_a_station_that_does_not_know_its_id_refuses_actions(store: ModelStore,
                                                              key: Ed25519PrivateKey) -> None:
    ok, reason = _send(Inbound(InboundHandlers(), store), _action(key, "rollback", T0))
    assert not ok and "does not know its own site/station id" in reason


def test_the_outer_words_must_be_the_signed_ones(
        two_versions: Inbound, store: ModelStore, key: Ed25519PrivateKey) -> None:
    message = {**_action(key, "drop", T0), "action": "promote"}
    ok, reason = _send(two_versions, message)
    assert not ok and "its signed envelope says drop defect" in reason
    assert _active(store) == "1" and store.shadow("defect") is not None


def test_a_signed_action_is_done_once_and_an_expired_one_not_at_all(
        two_versions: Inbound, store: ModelStore, key: Ed25519PrivateKey, clock: Clock) -> None:
    promote = _action(key, "promote", T0)
    ok, reason = _send(two_versions, promote)
    assert ok, reason
    assert _active(store) == "2"
    rollback = _action(key, "rollback", T0 + timedelta(minutes=1))
    assert _send(two_versions, rollback)[0]
    assert _active(store) == "1"

    ok, reason = _send(two_versions, promote)  # replayed: would make 2 active again
    assert not ok and "not later than the last signed change" in reason
    assert _active(store) == "1"

    clock.at = T0 + timedelta(days=2)
    ok, reason = _send(two_versions, _action(key, "rollback", T0 + timedelta(minutes=2)))
    assert not ok and "the action expired" in reason
    assert "`station central model rollback defect --stations site-01/dock-01`" in reason
    assert _active(store) == "1"


def test_an_offer_replayed_after_a_rollback_is_refused(
        store: ModelStore, key: Ed25519PrivateKey, clock: Clock) -> None:
    inbound = _inbound(store)
    assert _send(inbound, _offer(key, "1", T0 - timedelta(hours=1)))[0]
    offer_2 = _offer(key, "2", T0 - timedelta(minutes=30))
    assert _send(inbound, offer_2)[0]
    assert _send(inbound, _action(key, "rollback", T0))[0]
    assert _active(store) == "1"
    ok, reason = _send(inbound, offer_2)  # would undo the rollback
    assert not ok and "not later than the last signed change" in reason
    assert _active(store) == "1"


def test_a_drop_with_no_shadow_is_remembered(store: ModelStore, key: Ed25519PrivateKey, clock: Clock) -> None:
    inbound = _inbound(store)
    drop = _action(key, "drop", T0 - timedelta(minutes=10))
    assert _send(inbound, drop)[0]
    assert store.last_signed_at("defect") == T0 - timedelta(minutes=10)
    assert _send(inbound, _offer(key, "3", T0 - timedelta(minutes=5), OfferMode.SHADOW))[0]
    ok, _ = _send(inbound, drop)  # sent again: must not remove the shadow offered since
    assert not ok
    shadow = store.shadow("defect")
    assert shadow is not None and shadow.version == "3"


# ---- central's side -------------------------------------------------------------------------


def test_signed_times_are_utc_with_z(key: Ed25519PrivateKey) -> None:
    offer = sign_offer(key, "defect", "1", b"x", {}, signed_at=T0, valid_for=timedelta(minutes=30))
    doc = json.loads(offer.envelope)
    assert doc["signed_at"] == "2026-12-05T06:00:00.000000Z"
    assert doc["expires"] == "2026-12-05T06:30:00.000000Z"
    assert format_time(T0 + timedelta(microseconds=5)) == "2026-12-05T06:00:00.000005Z"


@pytest.mark.parametrize(("text", "period"), [("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)),
                                              ("7d", timedelta(days=7)), ("90s", timedelta(seconds=90)),
                                              ("1.5h", timedelta(minutes=90))])
def test_valid_for_durations(text: str, period: timedelta) -> None:
    assert parse_duration(text) == period


@pytest.mark.parametrize(("text", "why"), [("0m", "no time at all"), ("24", "is not a duration"),
                                           ("-1h", "is not a duration"), ("31d", "longer than the 30 days"),
                                           ("forever", "is not a duration")])
def test_bad_valid_for_is_refused_saying_what_to_give(text: str, why: str) -> None:
    with pytest.raises(OfferInputError, match=why) as refused:
        parse_duration(text)
    assert "e.g. 30m, 24h or 7d" in str(refused.value)
