"""What an operator id may be: one rule for the window's sign-in and for `station item`.

Both record the id in the audit log and in the revisions sent to central, so both accept the same
ones. It lives outside the Qt package: a terminal on a dock without a display must not need Qt.
"""

from __future__ import annotations

import re

__all__ = ["OPERATOR_ID", "OPERATOR_ID_RULE", "valid_operator_id"]

OPERATOR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
OPERATOR_ID_RULE = "letters, digits, '.', '_' or '-', up to 32 characters, starting with a letter or digit"


def valid_operator_id(text: str) -> bool:
    """Whether `text` (already trimmed) is an operator id the window would accept at sign-in."""
    return OPERATOR_ID.fullmatch(text) is not None
