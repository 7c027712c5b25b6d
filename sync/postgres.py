"""Central's PostgreSQL connection and schema, safe for several receivers starting at once.

PostgreSQL's `CREATE TABLE IF NOT EXISTS` is not safe under concurrency: two receivers creating
the same table in the same instant both pass the "not exists" test and the second fails on
the catalogue's unique index. Every receiver of a fleet starts together after a reboot, so the
tables are created under one transaction-scoped advisory lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# How a PostgreSQL database is named to central (anything else is a SQLite file's path).
URL_SCHEMES = ("postgres://", "postgresql://")


def is_database_url(target: object) -> bool:
    """Whether central's `--db` names a PostgreSQL database (a URL) rather than a SQLite file."""
    return str(target).startswith(URL_SCHEMES)


# Any fixed 64-bit key, the same in every receiver: "rtrn" "schm".
SCHEMA_LOCK = 0x7274726E7363686D


def connect(url: str) -> Any:
    """An open psycopg connection to `url`, or an error saying which package to install."""
    try:
        import psycopg
    except ImportError:
        raise RuntimeError("a PostgreSQL URL needs the psycopg package — install the station's central "
                           "extra (pip install '.[central]' in its source folder, or 'psycopg[binary]')"
                           ) from None
    return psycopg.connect(url)


def create_tables(conn: Any, statements: Sequence[str]) -> None:
    """Run `statements` (CREATE ... IF NOT EXISTS) in one transaction, one receiver at a time."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        for statement in statements:
            conn.execute(statement)
