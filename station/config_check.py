"""Every problem of a config file at once, for `station doctor` and the installer.

`load_config` stops at the first `ConfigError`: the station refuses to start and that one
message is enough. Someone fixing a file by hand at the dock wants the whole list, so this
module reads it again section by section and key by key with the loader's own checks
(types, ranges, names, each section's cross-key rules) and collects every error, each with
its file, line and what to do. A section whose keys are all well-typed is then built whole,
so a rule between two keys is reported too.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from station.config import (
    ENV_OVERRIDES,
    CameraConfig,
    Config,
    ConfigError,
    _build,
    _build_cameras,
    _coerce,
    _Locator,
    load_config,
    section_keys,
)

__all__ = ["config_problems"]

logger = logging.getLogger(__name__)


def config_problems(path: Path | None, env: Mapping[str, str] | None = None) -> list[ConfigError]:
    """Every error of the file at `path` (none for the embedded defaults or a good file).

    A file that cannot be read or is not valid TOML has that one problem: nothing further
    can be said of its keys.
    """
    env = os.environ if env is None else env
    try:
        load_config(path, env)
        return []
    except ConfigError as exc:
        first = exc
        if path is None:
            return [first]
        try:
            text = path.read_text(encoding="utf-8")
            raw = tomllib.loads(text)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return [first]
    locator = _Locator(str(path), text)
    problems: list[ConfigError] = []
    hints = typing.get_type_hints(Config)
    known = {f.name for f in dataclasses.fields(Config) if f.name not in ("source", "base_dir")}
    for name, table in raw.items():
        if name not in known:
            problems.append(ConfigError(locator.source, name, locator.line(name, None), "unknown section",
                                        f"remove it or use one of: {', '.join(sorted(known))}"))
        elif not isinstance(table, dict):
            problems.append(ConfigError(locator.source, name, locator.line(name, None), "must be a table",
                                        f"write it as a [{name}] section"))
    sections: dict[str, Any] = {}
    for name in sorted(known, key=lambda n: n == "cameras"):  # [camera] before [cameras.NAME]
        table = raw.get(name, {})
        if not isinstance(table, dict):
            continue
        table = dict(table)
        for var, (section, key) in ENV_OVERRIDES.items():
            if section == name and env.get(var):
                table[key] = env[var]
        if name == "cameras":
            problems += _camera_problems(table, sections, locator)
            continue
        found = _section_problems(hints[name], name, table, locator)
        problems += found
        if not found:  # [cameras.NAME] tables are checked against the first camera's name
            sections[name] = _build(hints[name], name, table, locator)
    unique = list({str(p): p for p in problems}.values())
    return sorted(unique, key=lambda p: (p.line is None, p.line or 0)) or [first]


def _key_hint(cls: Any, key: str) -> Any | None:
    """The type of `key` in the section `cls`, looking into its flat settings types."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("flat"):
            found = _key_hint(hints[f.name], key)
            if found is not None:
                return found
        elif f.name == key:
            return hints[key]
    return None


def _section_problems(cls: Any, section: str, table: dict[str, Any], locator: _Locator) -> list[ConfigError]:
    """Each key on its own (unknown, wrong type, out of range), then the section's cross-key rules."""
    problems: list[ConfigError] = []
    bad: set[str] = set()
    for key, value in table.items():
        hint = _key_hint(cls, key)
        bad.add(key)
        if hint is None:
            problems.append(ConfigError(locator.source, f"{section}.{key}", locator.line(section, key),
                                        "unknown key",
                                        f"remove it or use one of: {', '.join(section_keys(cls))}"))
            continue
        try:
            _coerce(hint, value, section, key, locator)
        except ConfigError as exc:
            problems.append(exc)
        else:
            bad.discard(key)
    try:  # the rules between keys, on the keys that are right by themselves
        _build(cls, section, {k: v for k, v in table.items() if k not in bad}, locator)
    except ConfigError as exc:
        problems.append(exc)
    return problems


def _camera_problems(tables: dict[str, Any], sections: dict[str, Any],
                     locator: _Locator) -> list[ConfigError]:
    problems: list[ConfigError] = []
    for name, table in tables.items():
        try:
            _build_cameras({name: table}, sections, locator)
        except ConfigError as exc:
            problems.append(exc)
            if isinstance(table, dict):
                rest = {k: v for k, v in table.items() if k != "name"}
                section = f"cameras.{name}"
                problems += _section_problems(CameraConfig, section, {**rest, "name": name}, locator)
    return problems
