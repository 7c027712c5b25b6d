"""Central's PostgreSQL connection and schema, safe for several receivers starting at once.

PostgreSQL's `CREATE TABLE IF NOT EXISTS` is not safe under concurrency: two receivers creating
the same table in the same instant both pass the "not exists" test and the second fails on
the catalogue's unique index. Every receiver of a fleet starts together after a reboot, so the
tables are created under one transaction-scoped advisory lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

# How a PostgreSQL database is named to central (anything else is a SQLite file's path).
URL_SCHEMES = ("postgres://", "postgresql://")


def is_database_url(target: object) -> bool:
    """Whether central's `--db` names a PostgreSQL database (a URL) rather than a SQLite file."""
    return str(target).startswith(URL_SCHEMES)


def mistyped_db_url(db: str) -> str | None:
    """Why a --db meant as a PostgreSQL URL but mistyped (`postgresql:/...`, `postgressql://...`) is
    refused, else None: taken as a SQLite path it would fail with the whole text, password and all,
    in the message."""
    if is_database_url(db) or not ("://" in db or db.lower().startswith(("postgres:", "postgresql:"))):
        return None
    return (f"--db {db.split(':', 1)[0]}:... is neither a postgresql:// URL nor a SQLite file — write it "
            "postgresql://user@host:5432/database (the password in ~/.pgpass), or give the path of a SQLite "
            "file")


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


class DatabaseUnreachableError(RuntimeError):
    """The database server cannot be reached (stopped, restarting, the network): nothing of the
    transaction was written, and what was sent to be stored may be sent again once it answers."""


class ReconnectingConnection:
    """One receiver's connection, opened again when the server dropped it.

    A psycopg connection is closed for good once PostgreSQL restarts (an upgrade, a failover, a
    reboot of the database host): without a new one a receiver would fail every batch until
    someone restarted it, and a service manager does not, since the process is still running.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = connect(url)

    def _open(self) -> Any:
        if self._conn.closed:
            try:
                self._conn = connect(self.url)
            except RuntimeError:  # psycopg missing: not a reachability problem
                raise
            except Exception as exc:  # psycopg.OperationalError: refused, unknown host, login
                raise DatabaseUnreachableError(str(exc)) from exc
        return self._conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """The open connection inside one transaction; `DatabaseUnreachableError` when the server
        cannot be reached or dropped the connection on the way (the transaction is then lost)."""
        conn = self._open()
        try:
            with conn.transaction():
                yield conn
        except Exception as exc:
            if conn.closed:
                raise DatabaseUnreachableError(str(exc)) from exc
            raise

    def close(self) -> None:
        self._conn.close()


class OlderLayoutError(RuntimeError):
    """A table of central's, made by an earlier version, lacks columns this version writes."""


def open_with_tables(url: str, statements: Sequence[str],
                     layout: Mapping[str, Sequence[str]]) -> ReconnectingConnection:
    """A connection to `url` whose tables `create_tables` has made (or checked); closed again when
    that fails, so a refused start leaves no connection open."""
    db = ReconnectingConnection(url)
    try:
        with db.transaction() as conn:
            create_tables(conn, statements, layout)
    except BaseException:
        db.close()
        raise
    return db


def create_tables(conn: Any, statements: Sequence[str], layout: Mapping[str, Sequence[str]]) -> None:
    """Run `statements` (CREATE ... IF NOT EXISTS) in the transaction `conn` is in, one receiver at
    a time, then check that each table of `layout` has the columns this version writes.

    IF NOT EXISTS leaves a table of an older layout as it is: without the check central would
    start, then fail on every verdict it receives, and say so once per verdict."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
    for statement in statements:
        conn.execute(statement)
    rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns"
                        " WHERE table_schema = current_schema() AND table_name = ANY(%s)",
                        (list(layout),)).fetchall()
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    for table, columns in layout.items():
        missing = [column for column in columns if column not in found.get(table, set())]
        if missing:
            raise OlderLayoutError(
                f"its table {table} has an older layout without the column(s) {', '.join(missing)} that "
                f"this version writes — rename that table (ALTER TABLE {table} RENAME TO {table}_old) or "
                "give central an empty database of its own, and start it again: it creates the tables it "
                "needs")
