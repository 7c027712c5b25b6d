"""`station central report` run by the person who looks after central: a database it cannot read
is named (its password hidden) with what to check."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.cli import main


def test_a_database_server_that_refuses_says_what_to_check(capsys: pytest.CaptureFixture[str]) -> None:
    from sync.broker import free_port

    pytest.importorskip("psycopg")
    url = f"postgresql://central:s3cret-pw@127.0.0.1:{free_port()}/returns"  # nothing listens there
    assert main(["central", "report", "--db", url]) == 1
    out = capsys.readouterr().out
    assert "s3cret-pw" not in out
    assert "check --db (host, port, user, password, database name) and that the database server is " \
           "running" in out


def test_a_missing_sqlite_file_says_which_file_to_give(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["central", "report", "--db", str(tmp_path / "central.db")]) == 1
    out = capsys.readouterr().out
    assert f"no central database at {tmp_path / 'central.db'}" in out
    assert "give --db the SQLite file central writes" in out
