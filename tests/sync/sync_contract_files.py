"""The contract files (docs/asyncapi.yaml and sync/schemas/*.schema.json) as the contract tests read them."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI = ROOT / "docs" / "asyncapi.yaml"
SCHEMAS = ROOT / "sync" / "schemas"


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI document, parsed."""
    doc: dict[str, Any] = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    return doc


def schema_files() -> list[Path]:
    """Every payload schema file."""
    return sorted(SCHEMAS.glob("*.schema.json"))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def pointer(doc: Any, fragment: str) -> Any:
    """The node at JSON pointer `fragment` ('' or '/a/b') in `doc`; KeyError/IndexError when absent."""
    node = doc
    for raw in [p for p in fragment.split("/") if p]:
        part = urllib.parse.unquote(raw).replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def resolve(ref: str, doc: dict[str, Any]) -> tuple[Any, Path | None, str]:
    """What `ref` in the AsyncAPI document points to: (node, schema file or None, fragment)."""
    target, _, fragment = ref.partition("#")
    if not target:
        return pointer(doc, fragment), None, fragment
    path = (ASYNCAPI.parent / target).resolve()
    return pointer(load_json(path), fragment), path, fragment


def validator_for(path: Path, fragment: str = "") -> jsonschema.Draft202012Validator:
    """A draft 2020-12 validator for the schema in `path` (or its part at `fragment`)."""
    schema = load_json(path)
    if not fragment:
        return jsonschema.Draft202012Validator(schema)
    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(schema["$id"], resource)
    return jsonschema.Draft202012Validator({"$ref": f"{schema['$id']}#{fragment}"}, registry=registry)


def message_schemas(message: dict[str, Any],
                    doc: dict[str, Any]) -> dict[str, jsonschema.Draft202012Validator]:
    """Validators for a message's `payload` and `headers` (those it has), from their schema files."""
    out: dict[str, jsonschema.Draft202012Validator] = {}
    for part in ("payload", "headers"):
        if part not in message:
            continue
        schema = message[part]["schema"]
        if "$ref" in schema:
            _, path, fragment = resolve(schema["$ref"], doc)
            assert path is not None, f"{part} of {message['name']} must refer to a sync/schemas file"
            out[part] = validator_for(path, fragment)
        else:  # an inline schema (the image's JPEG bytes)
            out[part] = jsonschema.Draft202012Validator(schema)
    return out


def channel_messages(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(channel, message name, message object) for every message of every channel, refs followed."""
    out = []
    for channel_name, channel in doc["channels"].items():
        for message_name, entry in channel["messages"].items():
            message = resolve(entry["$ref"], doc)[0] if "$ref" in entry else entry
            out.append((channel_name, message_name, message))
    return out
