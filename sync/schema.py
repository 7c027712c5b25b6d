"""The versioned payload schemas (sync/schemas/*.schema.json) and the check both ends run."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

__all__ = ["VERDICT_SCHEMA", "VerdictInvalidError", "validate_verdict", "verdict_schema"]

logger = logging.getLogger(__name__)

VERDICT_SCHEMA = "returns.verdict/1"


class VerdictInvalidError(ValueError):
    """A verdict that does not match its schema; the message names the first offending field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"verdict field {path or '<root>'}: {problem}")
        self.path = path
        self.problem = problem


@functools.cache
def verdict_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `returns.verdict/1`."""
    text = resources.files("sync").joinpath("schemas/verdict-1.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _compiled() -> Callable[[Any], Any]:
    schema = dict(verdict_schema())
    Draft202012Validator.check_schema(schema)
    # jsonschema needs ~0.7 ms per verdict, too slow for a receiver taking thousands per
    # second; fastjsonschema compiles the schema to Python (~0.1 ms). It reads draft 7,
    # and the schema uses only keywords that mean the same in draft 7 and 2020-12
    # (tests/sync/test_sync_schema.py checks both validators agree).
    schema = _inline_refs(schema, schema.get("$defs", {}))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    check: Callable[[Any], Any] = fastjsonschema.compile(schema)
    return check


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    # fastjsonschema turns each $ref into a call that formats its error path eagerly;
    # inlined, validation takes a third less time.
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


def validate_verdict(obj: Any) -> None:
    """Raise VerdictInvalidError unless `obj` (parsed JSON) is a valid `returns.verdict/1` verdict."""
    if isinstance(obj, dict) and obj.get("schema") not in (None, VERDICT_SCHEMA):
        raise VerdictInvalidError(
            "schema", f"unknown schema {obj.get('schema')!r}; this side reads {VERDICT_SCHEMA}"
        )
    try:
        _compiled()(obj)
    except fastjsonschema.JsonSchemaValueException as exc:
        path = ".".join(str(p) for p in exc.path[1:])
        raise VerdictInvalidError(path, exc.message) from None
