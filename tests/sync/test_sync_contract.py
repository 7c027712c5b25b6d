"""The written contract holds together: docs/asyncapi.yaml is a valid AsyncAPI 3.0 document
(checked against the AsyncAPI project's own JSON Schema of 3.0.0), every `$ref` in it resolves,
every channel's messages have a schema and examples, every example validates against its
schema, every schema field is described, and the schemas say what the station's code accepts
(config/set names and ranges, manifest lines)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from station.config import PolicyConfig
from station.policy import POLICY_RANGES
from sync.delivery import PublisherStats
from sync.inbound import Inbound, InboundHandlers, RmaLine
from sync.schema import validate_verdict
from sync.settings import StationIdentity, SyncSettings
from tests.sync.sync_contract_files import (
    ROOT,
    SCHEMAS,
    asyncapi,
    channel_messages,
    load_json,
    message_schemas,
    resolve,
    schema_files,
)

META = Path(__file__).parent / "data" / "asyncapi-3.0.0.schema.json"


def _refs(node: Any, where: str = "") -> list[tuple[str, str]]:
    """Every ($ref value, where it is) under `node`."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.append((node["$ref"], where))
        for key, value in node.items():
            found += _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _refs(value, f"{where}/{i}")
    return found


def test_the_document_is_valid_asyncapi_3() -> None:
    doc = asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    validator = jsonschema.Draft7Validator(load_json(META))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors)


def test_every_ref_resolves() -> None:
    doc = asyncapi()
    refs = _refs(doc)
    assert len(refs) > 50
    for ref, where in refs:
        try:
            resolve(ref, doc)
        except (KeyError, IndexError, FileNotFoundError) as exc:
            pytest.fail(f"{where}: $ref {ref!r} does not resolve ({exc!r})")


def test_every_topic_the_station_uses_has_a_channel_and_operation() -> None:
    doc = asyncapi()
    topics = SyncSettings().topics(StationIdentity(station_id="dock-01", site_id="site-01"))
    used = {topics.status, topics.verdict, topics.stats, topics.ack, topics.reply, *topics.inbound,
            topics.prefix + "image", topics.prefix + "purge"}
    addresses = {channel["address"].replace("{site}", "site-01").replace("{station}", "dock-01")
                 for channel in doc["channels"].values()}
    assert used == addresses
    for name, channel in doc["channels"].items():
        assert set(re.findall(r"{(\w+)}", channel["address"])) == set(channel["parameters"]), name
    operated = {op["channel"]["$ref"] for op in doc["operations"].values()}
    assert operated == {f"#/channels/{name}" for name in doc["channels"]}
    # From the station's point of view: what it publishes is `send`, what central sends `receive`.
    actions = {op["channel"]["$ref"].rsplit("/", 1)[1]: op["action"] for op in doc["operations"].values()
               if op["channel"]["$ref"] != "#/channels/reply"}
    assert actions == {"status": "send", "verdict": "send", "image": "send", "purge": "send", "stats": "send",
                       "ack": "receive", "manifest": "receive", "configSet": "receive",
                       "modelOffer": "receive", "cmdRebirth": "receive"}


def test_qos_and_retain_are_the_publishers() -> None:
    doc = asyncapi()
    by_channel = {op["channel"]["$ref"].rsplit("/", 1)[1]: op["bindings"]["mqtt"]
                  for op in doc["operations"].values()}
    assert by_channel["status"] == {"qos": 1, "retain": True, "bindingVersion": "0.2.0"}
    assert by_channel["stats"]["qos"] == 0
    for name, binding in by_channel.items():
        if name not in ("status", "stats"):
            assert (binding["qos"], binding["retain"]) == (1, False), name


def test_every_message_has_a_schema_and_examples() -> None:
    doc = asyncapi()
    messages = channel_messages(doc)
    assert {m for _, m, _ in messages} >= {"status", "verdict", "stats", "ack", "manifest", "configSet",
                                           "modelOfferInstall", "modelOfferAction", "cmdRebirth", "reply",
                                           "image", "purge"}
    for channel, name, message in messages:
        assert "payload" in message and "schema" in message["payload"], f"{channel}/{name}: no payload schema"
        assert message["payload"]["schemaFormat"] == "application/schema+json;version=draft-2020-12"
        assert message.get("examples"), f"{channel}/{name}: no examples"


def test_every_example_validates_against_its_schema() -> None:
    doc = asyncapi()
    checked = 0
    for channel, name, message in channel_messages(doc):
        validators = message_schemas(message, doc)
        for example in message["examples"]:
            parts = [p for p in ("payload", "headers") if p in example]
            assert parts, f"{channel}/{name}/{example.get('name')}: empty example"
            for part in parts:
                assert part in validators, f"{channel}/{name}: example has {part} but the message no schema"
                errors = list(validators[part].iter_errors(example[part]))
                assert not errors, f"{channel}/{name}/{example['name']} {part}: {errors[0].message[:300]}"
                checked += 1
            if name == "verdict":
                validate_verdict(example["payload"])  # and central's own check accepts it
    assert checked >= 15


@pytest.mark.parametrize("path", schema_files(), ids=lambda p: p.name)
def test_each_schema_is_valid_and_its_examples_validate(path: Path) -> None:
    schema = load_json(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema.get("examples"), f"{path.name} has no examples"
    for example in schema["examples"]:
        jsonschema.Draft202012Validator(schema).validate(example)


def _undescribed(node: Any, where: str) -> list[str]:
    missing: list[str] = []
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            if "description" not in sub:
                missing.append(f"{where}.{name}")
            missing += _undescribed(sub, f"{where}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                missing += _undescribed(node[key], f"{where}[]")
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in node.get(key) or []:
                missing += _undescribed(sub, where)
        for name, sub in (node.get("$defs") or {}).items():
            missing += _undescribed(sub, f"{where}#{name}")
    return missing


@pytest.mark.parametrize("path", schema_files(), ids=lambda p: p.name)
def test_every_field_is_described(path: Path) -> None:
    schema = load_json(path)
    assert schema.get("description"), path.name
    assert _undescribed(schema, path.stem) == []


def test_the_stats_schema_describes_every_delivery_figure_the_station_sends() -> None:
    # Keys a schema does not list may appear, but a figure the station always sends is one a
    # dashboard wants to read: each must be described, with what it counts and leaves out.
    outbox = load_json(SCHEMAS / "stats-1.schema.json")["properties"]["outbox"]["properties"]
    assert sorted(f.name for f in dataclasses.fields(PublisherStats) if f.name not in outbox) == []
    assert "image_backlog" in outbox["backlog"]["description"]


def test_the_verdict_schema_says_what_regions_are() -> None:
    defect = load_json(SCHEMAS / "verdict-1.schema.json")["properties"]["inspection"]["properties"]["defect"]
    text = defect["properties"]["regions"]["description"]
    assert "[x, y, w, h, score]" in text and "pixels" in text and "view" in text


def test_config_set_lists_exactly_the_ranges_the_station_allows() -> None:
    values = load_json(SCHEMAS / "config-set-1.schema.json")["properties"]["values"]
    listed = {name: (p["minimum"], p["maximum"]) for name, p in values["properties"].items()}
    assert listed == POLICY_RANGES
    assert values["additionalProperties"] is False


class _Station:
    def __init__(self) -> None:
        self.manifest: list[RmaLine] | None = None
        self.values: dict[str, float] | None = None


def _inbound(station: _Station) -> Inbound:
    return Inbound(InboundHandlers(
        on_manifest=lambda lines: setattr(station, "manifest", lines),
        on_config_set=lambda values: setattr(station, "values", values),
        config_ranges=POLICY_RANGES,
    ))


MANIFESTS: list[Any] = [
    {"rmas": [{"rma": "R-1042", "skus": ["SKU-1"]}]},
    {"request_id": "m1",
     "rmas": [{"rma": "R-1042", "skus": ["SKU-1", "SKU-2"], "declared_reason": "damaged"}]},
    {"rmas": [{"rma": "R-1044", "expected_sku": "SKU-3", "declared_reason": "unopened"}]},
    {"rmas": [{"rma": "R-1", "skus": ["A"]}, {"rma": "R-2", "expected_sku": "B", "declared_reason": None}]},
    {"rmas": []},
    {"rmas": [{"rma": "R-1"}]},
    {"rmas": [{"rma": "R-1", "skus": ["A"], "expected_sku": "A"}]},
    {"rmas": [{"rma": "R-1", "expected_sku": ["A"]}]},
    {"rmas": [{"rma": "R-1", "expected_sku": ""}]},
    {"rmas": [{"rma": "R-1", "expected_sku": "   "}]},
    {"rmas": [{"rma": "", "skus": ["A"]}]},
    {"rmas": [{"rma": "R" * 65, "skus": ["A"]}]},
    {"rmas": [{"rma": "R-1", "skus": []}]},
    {"rmas": [{"rma": "R-1", "skus": ["A"], "declared_reason": "bored"}]},
    {"lines": [{"rma": "R-1", "skus": ["A"]}]},
]


@pytest.mark.parametrize("body", MANIFESTS, ids=[json.dumps(m)[:60] for m in MANIFESTS])
def test_the_manifest_schema_accepts_what_the_station_accepts(body: Any) -> None:
    schema = jsonschema.Draft202012Validator(load_json(SCHEMAS / "manifest-1.schema.json"))
    station = _Station()
    reply = _inbound(station).handle("manifest", json.dumps(body).encode())
    assert schema.is_valid(body) == reply.ok, reply.reason


def test_a_manifest_line_may_name_its_sku_as_the_csv_does() -> None:
    station = _Station()
    reply = _inbound(station).handle("manifest", json.dumps({"request_id": "m2", "rmas": [
        {"rma": "R-1044", "expected_sku": " SKU-3 ", "declared_reason": "unopened"},
        {"rma": "R-1045", "skus": ["SKU-4"]},
    ]}).encode())
    assert reply.ok, reply.reason
    assert station.manifest == [RmaLine("R-1044", ("SKU-3",), "unopened"), RmaLine("R-1045", ("SKU-4",))]
    both = _inbound(station).handle("manifest", json.dumps(
        {"rmas": [{"rma": "R-1", "skus": ["A"], "expected_sku": "A"}]}).encode())
    assert not both.ok and "both skus and expected_sku" in both.reason


CONFIGS: list[Any] = [
    {"values": {"defect_repair": 0.45}},
    {"request_id": "c", "values": {"min_sharpness": 100000, "decision_margin": 0.01}},
    {"values": {"conformity_min_similarity": -1}},
    {"values": {}},
    {"values": {"defect_repair": 1.5}},
    {"values": {"decision_margin": 0.0}},
    {"values": {"defect_repair": True}},
    {"values": {"defect_repair": "0.5"}},
    {"values": {"require_rma": False}},
    {"values": {"colour": 0.5}},
    {"thresholds": {"defect_repair": 0.5}},
]


@pytest.mark.parametrize("body", CONFIGS, ids=[json.dumps(c)[:60] for c in CONFIGS])
def test_the_config_set_schema_accepts_what_the_station_accepts(body: Any) -> None:
    schema = jsonschema.Draft202012Validator(load_json(SCHEMAS / "config-set-1.schema.json"))
    reply = _inbound(_Station()).handle("config/set", json.dumps(body).encode())
    assert schema.is_valid(body) == reply.ok, reply.reason


def test_the_guide_lists_the_same_config_set_names_ranges_and_defaults() -> None:
    text = (ROOT / "docs" / "sync.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (−?[\d.]+) – ([\d.]+) \| ([\d.]+) \|$", text, re.MULTILINE)
    listed = {name: (float(low.replace("−", "-")), float(high)) for name, low, high, _ in rows}
    assert listed == POLICY_RANGES
    defaults = PolicyConfig()
    assert {name: float(default) for name, *_, default in rows} == {
        name: getattr(defaults, name) for name in POLICY_RANGES}
