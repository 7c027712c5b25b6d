"""IP camera stream addresses: which are streams, and how to show one without its secrets.

No OpenCV and nothing of vision.camera here: the config loader checks `[camera] device` with
`stream_address_problem` when the file is read, before any camera is opened, and stays light.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

__all__ = ["STREAM_SCHEMES", "mask_url", "stream_address_problem"]

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")

# key=value pairs that carry credentials in paths and queries of common makes
# (`?user=admin&password=...`, `/user=admin_password=..._channel=1.sdp`); the value is
# masked up to the next separator, which may mask more than the secret, never less.
_SECRET_PAIR = re.compile(
    r"(?i)((?:user(?:name)?|usr|login|pass(?:word|wd)?|pwd|auth|token|key|sig(?:nature)?)=)[^&;/?#]*"
)


_NOT_ENCODED = ("the stream address's user name or password holds '#', '/', '?' or '@' written as is: write "
                "them percent-encoded in the address (# is %23, / is %2F, ? is %3F, @ is %40)")


def _credentials_cut(parts: SplitResult) -> bool:
    """Whether the address's user name or password holds a '#', '/' or '?' written as is.

    `rtsp://user:12#ab@10.0.0.7/x` is host "user", port 12 for every URL reader (FFmpeg's too): the
    '@' lands in the path, the fragment or the query. No camera address needs one in its path or
    fragment; a query may hold an e-mail address, but as a parameter's value (`user=dock@x.com`),
    where a cut password leaves it before any `=`.
    """
    cut_query = "@" in parts.query and not {"=", "&"} & set(parts.query.partition("@")[0])
    return "@" in parts.path + parts.fragment or cut_query


def mask_url(url: str) -> str:
    """`url` safe to show: no user name or password, credential parameters as `***`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return "(an unreadable stream address)"
    if _credentials_cut(parts):
        # Its "host" and "port" are the start of the account: nothing of it is shown.
        return f"{parts.scheme}://***@(an address whose password is not percent-encoded)"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = ("***@" if "@" in parts.netloc else "") + host + (f":{port}" if port is not None else "")
    rest = _SECRET_PAIR.sub(r"\1***", parts.path + (f"?{parts.query}" if parts.query else ""))
    return f"{parts.scheme}://{netloc}{rest}"


def stream_address_problem(url: str) -> str | None:
    """Why `url` is not a camera stream's address (shown masked), or None when it is one."""
    shown = mask_url(url) if "://" in url else repr(url)  # '0' rather than a masked '://?0'
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks the port
    except ValueError:
        if "@" in url.partition("://")[2]:  # `u:p/w@host`: the password's "/" ended the host at "u:p"
            return _NOT_ENCODED
        return f"stream address {shown} cannot be read: check [camera].device"
    if _credentials_cut(parts):
        return _NOT_ENCODED
    if parts.scheme.lower() not in STREAM_SCHEMES or not parts.hostname:
        return (f"stream address {shown} is not a camera stream: it must start with "
                f"{', '.join(s + '://' for s in STREAM_SCHEMES)} and name the camera")
    return None
