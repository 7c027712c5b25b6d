"""Thresholds signed by central's release key (`returns.config-set/1`): a station applies a signed
config/set addressed to it, within its time window and newer than the last one it accepted (also
after a restart), and refuses any other with nothing changed. `[sync].config_signed = true`
refuses unsigned ones, saying how to send them signed; false takes them as before."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.config import load_config
from station.policy import POLICY_RANGES
from sync.inbound import CONFIG_STATE_FILE, Inbound, InboundHandlers, config_set_message, sign_config_set
from sync.modelstore import MAX_CLOCK_SKEW, ModelStore, format_time
from sync.offer_client import config_requests, parse_stations
from tests.sync.signing import STATION, T0, Clock

SCHEMAS = Path(__file__).resolve().parents[2] / "sync" / "schemas"


class Station:
    """What the station's config/set handler was given, each time."""

    def __init__(self) -> None:
        self.applied: list[dict[str, float]] = []

    def set(self, values: dict[str, float]) -> None:
        if values.get("defect_repair", 0.5) >= values.get("defect_recycle", 0.85):
            raise ValueError("defect_repair must stay below defect_recycle")
        self.applied.append(values)


@pytest.fixture
def station() -> Station:
    return Station()


def _inbound(tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station,
             config_signed: bool = False, name: str = STATION) -> Inbound:
    store = ModelStore(tmp_path / "models", key.public_key(), now=clock)
    return Inbound(InboundHandlers(on_config_set=station.set, config_ranges=POLICY_RANGES), store,
                   station=name, config_signed=config_signed)


def _signed(key: Ed25519PrivateKey, values: dict[str, float], at: datetime, station: str = STATION,
            valid_for: timedelta = timedelta(hours=24)) -> dict[str, Any]:
    signed = sign_config_set(key, values, station, signed_at=at, valid_for=valid_for)
    return config_set_message(signed, request_id="c-1")


def _send(inbound: Inbound, message: dict[str, Any]) -> tuple[bool, str]:
    reply = inbound.handle("config/set", json.dumps(message).encode())
    return reply.ok, reply.reason


def test_a_signed_config_set_for_this_station_is_applied_and_its_time_kept(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station) -> None:
    inbound = _inbound(tmp_path, key, clock, station)
    message = _signed(key, {"defect_repair": 0.45, "min_confidence": 0.7}, T0)
    assert sorted(message) == ["envelope", "request_id", "signature"]  # the values travel signed only
    envelope = json.loads(base64.b64decode(message["envelope"]))
    assert envelope == {"format": "returns.config-set/1",
                        "values": {"defect_repair": 0.45, "min_confidence": 0.7}, "station": STATION,
                        "signed_at": format_time(T0),
                        "expires": format_time(T0 + timedelta(hours=24))}
    reply = inbound.handle("config/set", json.dumps(message).encode())
    assert reply.ok, reply.reason
    assert reply.request_id == "c-1" and reply.reason == "set defect_repair=0.45, min_confidence=0.7"
    assert station.applied == [{"defect_repair": 0.45, "min_confidence": 0.7}]
    state = json.loads((tmp_path / "models" / CONFIG_STATE_FILE).read_text(encoding="utf-8"))
    assert state == {"signed_at": format_time(T0)}


def test_a_config_set_signed_with_another_key_is_refused_with_nothing_changed(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station) -> None:
    inbound = _inbound(tmp_path, key, clock, station)
    ok, reason = _send(inbound, _signed(Ed25519PrivateKey.generate(), {"defect_repair": 0.45}, T0))
    assert not ok and reason == "signature does not verify with the trusted key"
    assert station.applied == [] and not (tmp_path / "models" / CONFIG_STATE_FILE).exists()


def test_a_changed_envelope_or_values_beside_it_are_refused(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station) -> None:
    inbound = _inbound(tmp_path, key, clock, station)
    message = _signed(key, {"defect_repair": 0.45}, T0)
    forged = json.loads(base64.b64decode(message["envelope"]))
    forged["values"]["defect_repair"] = 0.2
    changed = base64.b64encode(json.dumps(forged).encode()).decode()
    ok, reason = _send(inbound, {**message, "envelope": changed})
    assert not ok and "signature does not verify" in reason
    ok, reason = _send(inbound, {**message, "values": {"defect_repair": 0.2}})
    assert not ok and "['values'] not allowed beside a signed config/set" in reason
    ok, reason = _send(inbound, {"values": {"defect_repair": 0.2}, "signature": message["signature"]})
    assert not ok and "needs 'envelope' and 'signature'" in reason
    assert station.applied == []


def test_a_config_set_signed_for_another_station_is_refused(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station) -> None:
    inbound = _inbound(tmp_path, key, clock, station)
    ok, reason = _send(inbound, _signed(key, {"defect_repair": 0.45}, T0, station="site-01/dock-02"))
    assert not ok
    assert reason.startswith("the signed config/set is for the station 'site-01/dock-02', this is "
                             "site-01/dock-01: nothing was changed; sign it again with "
                             "`station central config")
    assert station.applied == []


def test_an_expired_or_future_config_set_is_refused(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station) -> None:
    inbound = _inbound(tmp_path, key, clock, station)
    clock.at = T0 + timedelta(hours=24) + MAX_CLOCK_SKEW + timedelta(seconds=1)
    ok, reason = _send(inbound, _signed(key, {"defect_repair": 0.45}, T0))
    assert not ok and "the config/set expired at" in reason and "nothing was done" in reason
    clock.at = T0
    ahead = T0 + MAX_CLOCK_SKEW + timedelta(seconds=1)
    ok, reason = _send(inbound, _signed(key, {"defect_repair": 0.45}, ahead))
    assert not ok and "in the future (this station's clock says" in reason and "(NTP)" in reason
    assert station.applied == []
    ok, reason = _send(inbound, _signed(key, {"defect_repair": 0.45}, T0 + MAX_CLOCK_SKEW))  # within the skew
    assert ok, reason


def test_a_config_set_sent_again_or_signed_earlier_is_refused_also_after_a_restart(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station) -> None:
    first = _signed(key, {"defect_repair": 0.45}, T0)
    older = _signed(key, {"defect_repair": 0.3}, T0 - timedelta(minutes=1))
    inbound = _inbound(tmp_path, key, clock, station)
    assert _send(inbound, first)[0]
    ok, reason = _send(inbound, first)
    assert not ok
    assert "not later than the last signed change of the thresholds this station accepted" in reason
    assert _send(inbound, older)[0] is False

    restarted = _inbound(tmp_path, key, clock, station)  # a new Inbound on the same folder
    ok, reason = _send(restarted, first)
    assert not ok and f"({format_time(T0)})" in reason
    assert _send(restarted, older)[0] is False
    assert station.applied == [{"defect_repair": 0.45}]
    clock.at = T0 + timedelta(minutes=2)
    ok, reason = _send(restarted, _signed(key, {"defect_repair": 0.4}, clock.at))
    assert ok, reason
    assert station.applied[-1] == {"defect_repair": 0.4}


def test_a_signed_config_set_the_station_refuses_is_not_recorded(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station) -> None:
    inbound = _inbound(tmp_path, key, clock, station)
    ok, reason = _send(inbound, _signed(key, {"defect_repair": 1.5}, T0))
    assert not ok and reason == "defect_repair = 1.5 is out of range [0.0, 1.0]"
    ok, reason = _send(inbound, _signed(key, {"defect_repair": 0.9}, T0))  # the handler's own rule
    assert not ok and "below defect_recycle" in reason
    assert not (tmp_path / "models" / CONFIG_STATE_FILE).exists()
    assert _send(inbound, _signed(key, {"defect_repair": 0.45}, T0))[0]  # the same time, now valid


def test_thresholds_applied_are_answered_as_applied_even_when_their_time_cannot_be_kept(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station,
        caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    inbound = Inbound(InboundHandlers(on_config_set=station.set, config_ranges=POLICY_RANGES),
                      ModelStore(tmp_path / "models", key.public_key(), now=clock), station=STATION,
                      config_state=tmp_path / "a-file" / CONFIG_STATE_FILE)
    assert _send(inbound, _signed(key, {"defect_repair": 0.45}, T0)) == (True, "set defect_repair=0.45")
    assert station.applied == [{"defect_repair": 0.45}]
    assert "config/set applied, but cannot write" in caplog.text


def test_config_signed_refuses_unsigned_thresholds_saying_how_to_send_them(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station) -> None:
    inbound = _inbound(tmp_path, key, clock, station, config_signed=True)
    ok, reason = _send(inbound, {"request_id": "c-0", "values": {"defect_repair": 0.45}})
    assert not ok
    assert reason.startswith("unsigned config/set refused: this station takes only thresholds signed with "
                             "central's release key ([sync].config_signed = true); nothing was changed")
    assert "station central config NAME=VALUE ... --key RELEASE_KEY" in reason
    assert station.applied == []
    assert _send(inbound, _signed(key, {"defect_repair": 0.45}, T0))[0]
    assert station.applied == [{"defect_repair": 0.45}]


def test_without_config_signed_unsigned_thresholds_are_taken_as_before(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station) -> None:
    inbound = _inbound(tmp_path, key, clock, station)
    assert _send(inbound, {"values": {"defect_repair": 0.45}}) == (True, "set defect_repair=0.45")
    assert station.applied == [{"defect_repair": 0.45}]
    # but a signed one is still checked
    assert _send(inbound, _signed(Ed25519PrivateKey.generate(), {"defect_repair": 0.4}, T0))[0] is False


def test_a_station_without_a_trusted_key_refuses_signed_thresholds(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock, station: Station) -> None:
    inbound = Inbound(InboundHandlers(on_config_set=station.set, config_ranges=POLICY_RANGES),
                      ModelStore(tmp_path / "models", None, now=clock), station=STATION)
    ok, reason = _send(inbound, _signed(key, {"defect_repair": 0.45}, T0))
    assert not ok and reason == ("no trusted key configured ([sync].trusted_key_file); signed config/set "
                                 "messages are refused")


def test_central_signs_one_config_set_per_station(
        tmp_path: Path, key: Ed25519PrivateKey, clock: Clock) -> None:
    stations = parse_stations("site-01/dock-01,site-01/dock-02")
    requests = config_requests(key, {"defect_repair": 0.45}, stations)
    assert [(r.subtopic, str(r.station)) for r in requests] == [("config/set", "site-01/dock-01"),
                                                               ("config/set", "site-01/dock-02")]
    clock.at = datetime.now(UTC)  # central signed them now
    for request, name in zip(requests, ("dock-01", "dock-02"), strict=True):
        assert request.message["request_id"] == request.request_id
        here, there = Station(), Station()
        own = _inbound(tmp_path / name, key, clock, here, name=f"site-01/{name}")
        other = _inbound(tmp_path / f"other-{name}", key, clock, there,
                         name="site-01/dock-02" if name == "dock-01" else "site-01/dock-01")
        assert _send(own, request.message)[0] and here.applied == [{"defect_repair": 0.45}]
        assert _send(other, request.message)[0] is False and there.applied == []


def test_config_signed_is_a_sync_setting_off_by_default(tmp_path: Path) -> None:
    assert load_config(None, env={}).sync.config_signed is False
    path = tmp_path / "config.toml"
    path.write_text("[sync]\nconfig_signed = true\n", encoding="utf-8")
    assert load_config(path, env={}).sync.config_signed is True


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return schema


def test_the_schemas_describe_the_signed_form_the_station_takes(key: Ed25519PrivateKey) -> None:
    message_schema = jsonschema.Draft202012Validator(_schema("config-set-1.schema.json"))
    envelope_schema = jsonschema.Draft202012Validator(_schema("config-set-envelope-1.schema.json"))
    message = _signed(key, {"defect_repair": 0.45, "conformity_min_similarity": -0.5}, T0)
    assert message_schema.is_valid(message)
    assert envelope_schema.is_valid(json.loads(base64.b64decode(message["envelope"])))
    # what the station refuses, the schema refuses too
    assert not message_schema.is_valid({**message, "values": {"defect_repair": 0.45}})
    assert not message_schema.is_valid({"envelope": message["envelope"]})
    assert not envelope_schema.is_valid({**json.loads(base64.b64decode(message["envelope"])), "mode": "x"})
    # one list of thresholds and ranges for both forms
    assert (_schema("config-set-envelope-1.schema.json")["properties"]["values"]["properties"]
            == _schema("config-set-1.schema.json")["properties"]["values"]["properties"])
