"""A throwaway PostgreSQL cluster (initdb + pg_ctl in a temporary folder, on a free loopback
port) for the fleet test and benchmarks/fleet.py. As root it runs as the `postgres` user:
PostgreSQL refuses to run as root."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sync.broker import free_port


class PostgresMissingError(RuntimeError):
    """PostgreSQL's server programs (or a way to run them) are not on this machine; says what to install."""


def pg_bin(name: str) -> str | None:
    """A PostgreSQL server program (PATH, then Debian's /usr/lib/postgresql/<version>/bin)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    return None


@contextlib.contextmanager
def throwaway_postgres(*, fsync: bool = False) -> Iterator[str]:
    """Start a cluster, yield its URL (`postgresql://postgres@127.0.0.1:<port>/postgres`), delete it.

    `fsync=False` (tests): a commit is not forced to disk, which only matters on a power cut;
    benchmarks pass True to measure what a real server does."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise PostgresMissingError("needs PostgreSQL's initdb and pg_ctl (apt-get install postgresql)")
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise PostgresMissingError("running as root without runuser to start PostgreSQL as another user")
        as_user = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="fleet-pg-"))
    if as_user:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    port = free_port()
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                   check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=50"
    if not fsync:
        options += " -c fsync=off"
    try:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-o", options,
                        "start"], check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True,
                       check=False)
        shutil.rmtree(folder, ignore_errors=True)
