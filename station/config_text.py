"""The settings as an engineer at the dock may read them: on the Settings page (F3).

`shown_config(config)` is the config file's own text, or — on the embedded defaults — those
defaults written out as TOML (`as_toml`), so the page always says what the station runs with.
Either way `redacted` hides the secrets first: the page is open to whoever stands at the bench,
and the supervisor's PIN, the broker's password or a camera stream's must not be read off it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from station.config import Config

__all__ = ["HIDDEN", "as_toml", "redacted", "shown_config"]

HIDDEN = '"••••••"'

# A key whose value is a secret: password, supervisor_pin, and any *_password, *_pin, *_secret, *_token;
# the key bare or quoted ("password" = ...), the value in any of TOML's four string forms. The
# multi-line ones (three quotes) are tried first: their opening quotes would read as an empty string.
_MULTI_LINE_BASIC = '"""' + r'(?:[^\\]|\\.)*?' + '"""' + r'(?!")'
_MULTI_LINE_LITERAL = "'''" + r".*?" + "'''" + r"(?!')"
_SECRET = re.compile(
    r"""(?P<key>(?P<quote>["']?)\b(?:[A-Za-z0-9_]*_)?(?:password|pin|secret|token)(?P=quote))(?P<eq>\s*=\s*)"""
    rf"""(?P<value>{_MULTI_LINE_BASIC}|{_MULTI_LINE_LITERAL}|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,}}#]+)""",
    re.IGNORECASE | re.DOTALL,
)
_EMPTY = ('""', "''", '""""""', "''''''")
# The password in an address such as a camera stream's: rtsp://user:password@host/...
# (up to the address's last "@": a password may hold one written as it is)
_URL_PASSWORD = re.compile(r"""(?P<user>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@"']*):[^\s/"']*@""")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def redacted(text: str) -> str:
    """`text` (TOML) with every secret's value replaced by HIDDEN (an empty one stays empty) and
    the password of every address (`rtsp://user:password@host`) by dots."""

    def hide(match: re.Match[str]) -> str:
        value = match["value"]
        shown = value if value in _EMPTY else HIDDEN
        return f"{match['key']}{match['eq']}{shown}"

    return _URL_PASSWORD.sub(r"\g<user>:••••••@", _SECRET.sub(hide, text))


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def _value(value: Any) -> str:
    """One TOML value; None (a path not set) is written "" as the loader reads it."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        return json.dumps(str(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")  # a new field type needs a branch


def _table(name: str, settings: Any, skip: tuple[str, ...] = ()) -> list[str]:
    """`[name]` with its keys (flat settings types inline, `skip` left out), then its sub-tables
    `[name.key]`."""
    lines = [f"[{name}]"]
    later: list[str] = []

    def keys(obj: Any) -> None:
        for f in dataclasses.fields(obj):
            if f.name in skip:
                continue
            value = getattr(obj, f.name)
            if f.metadata.get("flat"):
                keys(value)
            elif dataclasses.is_dataclass(value):
                later.extend(["", *_table(f"{name}.{f.name}", value)])
            else:
                lines.append(f"{f.name} = {_value(value)}")

    keys(settings)
    return lines + later


def as_toml(config: Config) -> str:
    """Every setting of `config` as a TOML file `load_config` reads back to the same settings."""
    blocks: list[str] = []
    for section in dataclasses.fields(Config):
        if section.name in ("source", "base_dir"):
            continue
        value = getattr(config, section.name)
        if isinstance(value, dict):  # [cameras.NAME]: named by the table, not by a key
            blocks.extend("\n".join(_table(f"{section.name}.{_key(n)}", c, skip=("name",)))
                          for n, c in value.items())
        else:
            blocks.append("\n".join(_table(section.name, value)))
    return "\n\n".join(blocks) + "\n"


def shown_config(config: Config) -> str:
    """What the Settings page shows: the file as written, or the defaults; secrets hidden.

    A file gone or unreadable since the station read it is said so, above the settings it gave."""
    if config.source == "<defaults>":
        return redacted(as_toml(config))
    try:
        return redacted(Path(config.source).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return redacted(f"# {config.source} cannot be read now ({reason}); the settings the station "
                        f"started with:\n\n{as_toml(config)}")
