"""`station item` end to end on a real data directory: find, confirm, override and supervisor write
the revision, its outbox row and the audit entry as the window does, with its rules (operator id,
supervisor's PIN, move by hand) and its refusals (unknown or ambiguous id, a foreign database)."""

from __future__ import annotations

import dataclasses
import io
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from station.cli import main
from station.config import load_config
from station.store import Store, StoreReader
from station.verdict import Change, Disposition, Routing, Verdict

FIRST = "01a244d3-7109-71d8-b9cc-d5fcb92f06e0"
SECOND = "01a244d3-710b-7744-9201-929e49fd8248"  # the same first 8 characters: inspected in the same minute


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("STATION_SUPERVISOR_PIN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: nothing is asked
    path = tmp_path / "config.toml"
    path.write_text('[station]\ndata_dir = "data"\n[sync]\nbroker = ""\n[ui]\nsupervisor_pin = "4711"\n',
                    encoding="utf-8")
    return path


def station(config_file: Path, *args: str) -> int:
    return main(["--config", str(config_file), *args])


def open_store(config_file: Path) -> Store:
    return Store.from_config(load_config(config_file, env={}))


def seed(config_file: Path, make_verdict: Callable[..., Verdict]) -> tuple[Verdict, Verdict]:
    """Two items in lane 1 (restock): R-1042 restocked, R-2000 (inspected later) to repair."""
    store = open_store(config_file)
    try:
        first = store.record_verdict(dataclasses.replace(make_verdict(1, rma="R-1042"), verdict_id=FIRST))
        second = store.record_verdict(dataclasses.replace(
            make_verdict(2, rma="R-2000", disposition=Disposition.REPAIR), verdict_id=SECOND))
    finally:
        store.close()
    return first, second


def database(config_file: Path) -> Path:
    config = load_config(config_file, env={})
    return config.in_data_dir(config.storage.db_path)


def latest(config_file: Path, verdict_id: str) -> Verdict:
    with StoreReader(database(config_file)) as reader:
        verdict = reader.get_verdict(verdict_id)
    assert verdict is not None
    return verdict


def audit(config_file: Path, action: str) -> list[dict[str, object]]:
    with StoreReader(database(config_file)) as reader:
        return [json.loads(e.detail) | {"actor": e.actor} for e in reader.audit_log(action=action)]


def outbox_keys(config_file: Path) -> list[str]:
    with sqlite3.connect(database(config_file)) as conn:
        return [str(r[0]) for r in conn.execute("SELECT key FROM outbox WHERE kind = 'verdict' ORDER BY id")]


def test_confirm_supervisor_and_override_write_revision_outbox_and_audit(
    config_file: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str]
) -> None:
    seed(config_file, make_verdict)
    assert station(config_file, "item", "confirm", FIRST, "--operator", "op-7") == 0
    out = capsys.readouterr().out
    assert f"item {FIRST} (RMA R-1042) confirmed as restock by op-7: revision 2" in out
    assert latest(config_file, FIRST).change is Change.CONFIRMED
    assert audit(config_file, "confirm") == [{"verdict_id": FIRST, "revision": 2, "actor": "op-7"}]

    assert station(config_file, "item", "supervisor", FIRST, "--operator", "op-7", "--note", "dent?") == 0
    assert "flagged for a supervisor by op-7: revision 3" in capsys.readouterr().out
    flagged = latest(config_file, FIRST)
    assert (flagged.change, flagged.change_note, flagged.changed_by) == (
        Change.SUPERVISOR_REQUESTED, "dent?", "op-7")
    assert audit(config_file, "needs_supervisor")[0]["note"] == "dent?"

    # The first 13 characters name the item; the disposition is taken in any case, in French too.
    assert station(config_file, "item", "override", FIRST[:13], "--to", "Réparation", "--reason",
                   "scratch on the lid", "--operator", "op-7") == 0
    assert "overridden to repair by op-7: revision 4" in capsys.readouterr().out
    overridden = latest(config_file, FIRST)
    assert overridden.change is Change.OVERRIDDEN
    assert (overridden.decision.disposition, overridden.decision.override_reason) == (
        Disposition.REPAIR, "scratch on the lid")
    assert audit(config_file, "override")[0]["to"] == "repair"
    # Every revision is queued for central, in order, behind the first.
    assert outbox_keys(config_file) == [f"{FIRST}:1", f"{SECOND}:1", f"{FIRST}:2", f"{FIRST}:3", f"{FIRST}:4"]


def test_override_needing_the_supervisor_is_refused_and_audited_without_the_right_pin(
    config_file: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(config_file, make_verdict)
    override = ("item", "override", SECOND, "--to", "restock", "--reason", "fine", "--operator", "op-7")
    # No terminal to ask at and no --pin-stdin: refused, nothing recorded, the refusal audited.
    assert station(config_file, *override) == 1
    assert "needs the supervisor's PIN" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("1234\n"))
    assert station(config_file, *override, "--pin-stdin") == 1
    assert "wrong supervisor's PIN" in capsys.readouterr().err
    assert latest(config_file, SECOND).revision == 1
    refused = audit(config_file, "override_refused")
    assert len(refused) == 2
    assert refused[0] == {"verdict_id": SECOND, "to": "restock", "why": "supervisor PIN missing or wrong",
                          "actor": "op-7"}

    monkeypatch.setattr("sys.stdin", io.StringIO("4711\n"))
    assert station(config_file, *override, "--pin-stdin") == 0
    assert "overridden to restock by op-7 with the supervisor's PIN: revision 2" in capsys.readouterr().out
    approved = latest(config_file, SECOND)
    assert approved.change is Change.SUPERVISOR_APPROVED
    assert approved.decision.disposition is Disposition.RESTOCK
    assert audit(config_file, "override")[0]["supervisor_approved"] is True


def test_override_needing_the_supervisor_is_refused_where_no_pin_is_set(
    tmp_path: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STATION_SUPERVISOR_PIN", raising=False)
    config_file = tmp_path / "config.toml"
    config_file.write_text('[station]\ndata_dir = "data"\n[sync]\nbroker = ""\n', encoding="utf-8")
    seed(config_file, make_verdict)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))  # an empty PIN matches no PIN set
    assert station(config_file, "item", "override", SECOND, "--to", "restock", "--reason", "fine",
                   "--operator", "op-7", "--pin-stdin") == 1
    assert "none is set on this station" in capsys.readouterr().err
    assert latest(config_file, SECOND).revision == 1
    assert len(audit(config_file, "override_refused")) == 1


def test_a_pin_written_on_the_command_line_is_refused(
    config_file: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str]
) -> None:
    seed(config_file, make_verdict)
    assert station(config_file, "item", "override", SECOND, "--to", "restock", "--reason", "fine",
                   "--operator", "op-7", "--pin", "4711") == 2
    err = capsys.readouterr().err
    assert "never given on the command line" in err and "--pin-stdin" in err
    assert latest(config_file, SECOND).revision == 1


def test_unknown_and_ambiguous_ids_are_refused_with_a_hint(
    config_file: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str]
) -> None:
    seed(config_file, make_verdict)
    assert station(config_file, "item", "confirm", FIRST[:8], "--operator", "op-7") == 2
    err = capsys.readouterr().err
    assert FIRST in err and SECOND in err and "station item find" in err
    assert station(config_file, "item", "confirm", "01a244d3-7100", "--operator", "op-7") == 2
    assert "no item has a verdict id starting with 01a244d3-7100" in capsys.readouterr().err
    with pytest.raises(SystemExit) as short:
        station(config_file, "item", "confirm", "01a244", "--operator", "op-7")
    assert short.value.code == 2
    assert "at least its first 8 characters" in capsys.readouterr().err
    assert latest(config_file, FIRST).revision == 1 and latest(config_file, SECOND).revision == 1
    assert audit(config_file, "confirm") == []


def test_a_bad_operator_id_is_refused(
    config_file: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str]
) -> None:
    seed(config_file, make_verdict)
    with pytest.raises(SystemExit) as refused:
        station(config_file, "item", "confirm", FIRST, "--operator", "op 7; drop")
    assert refused.value.code == 2
    assert "is no operator id" in capsys.readouterr().err
    assert latest(config_file, FIRST).revision == 1


def test_an_unknown_disposition_lists_the_valid_ones(
    config_file: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str]
) -> None:
    seed(config_file, make_verdict)
    with pytest.raises(SystemExit) as refused:
        station(config_file, "item", "override", FIRST, "--to", "bin", "--reason", "x", "--operator", "op-7")
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "'bin' is no disposition" in err
    assert all(d.value in err for d in Disposition)


def test_override_of_an_item_already_in_another_lane_is_flagged_to_move_by_hand(
    config_file: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(config_file, make_verdict)  # both items went down lane 1 (restock)
    assert station(config_file, "item", "override", SECOND, "--to", "recycle", "--reason", "cracked",
                   "--operator", "op-7", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["move_by_hand"] == {"from_lane": 1, "to_lane": 3}
    moved = latest(config_file, SECOND)
    assert "move_by_hand" in moved.decision.flags
    assert moved.routing == Routing(1, 1, False, False)  # never re-routed
    assert audit(config_file, "override")[0]["move_by_hand"] == {"from_lane": 1, "to_lane": 3}
    assert station(config_file, "item", "override", FIRST, "--to", "quarantine", "--reason", "smoke",
                   "--operator", "op-7") == 0
    assert "move it by hand: take it out of lane 1 (restock) and put it in quarantine (lane 4)" in (
        capsys.readouterr().out)
    # Back to the lane it lies in: nothing to move any more (the flag of the earlier override stays).
    monkeypatch.setattr("sys.stdin", io.StringIO("4711\n"))
    assert station(config_file, "item", "override", SECOND, "--to", "restock", "--reason", "fine after all",
                   "--operator", "op-7", "--pin-stdin", "--json") == 0
    assert json.loads(capsys.readouterr().out)["move_by_hand"] is None
    assert "move_by_hand" not in audit(config_file, "override")[0]


def test_find_by_rma_and_gtin_newest_first(
    config_file: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str]
) -> None:
    seed(config_file, make_verdict)
    store = open_store(config_file)
    store.confirm(FIRST, "op-1")
    store.close()
    assert station(config_file, "item", "find", "R-1042") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(FIRST)
    for words in ("R-1042", "SKU-A", "restock", "revision 2 confirmed"):
        assert words in lines[0]
    assert station(config_file, "item", "find", "--json", "4006381333931") == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["verdict_id"] for f in found] == [SECOND, FIRST]
    assert found[0]["rma"] == "R-2000" and found[0]["disposition"] == "repair"
    assert station(config_file, "item", "find", "R-9999") == 1
    assert "no item with the RMA, GTIN or code 'R-9999'" in capsys.readouterr().err


def test_works_while_the_running_station_holds_the_database(
    config_file: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str]
) -> None:
    seed(config_file, make_verdict)
    running = open_store(config_file)  # the station's own writer, open the whole time
    try:
        assert station(config_file, "item", "confirm", FIRST, "--operator", "op-7") == 0
        seen = running.get_verdict(FIRST)
        assert seen is not None and seen.change is Change.CONFIRMED
        # The station goes on writing after it, on the revision the command wrote.
        after = running.record_override(FIRST, Disposition.REPAIR, "op-8", "second look")
        assert after.revision == 3
    finally:
        running.close()


@pytest.mark.parametrize("action", [("find", "R-1042"), ("confirm", FIRST, "--operator", "op-7")])
def test_a_database_that_is_not_a_stations_is_refused_and_left_alone(
    config_file: Path, capsys: pytest.CaptureFixture[str], action: tuple[str, ...]
) -> None:
    db = database(config_file)
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoices(number TEXT)")
    conn.close()
    assert station(config_file, "item", *action) == 2
    assert "an SQLite database of another program (tables invoices), not a station database" in (
        capsys.readouterr().err)
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    assert tables == ["invoices"]


class Terminal(io.StringIO):
    """stdin at a terminal: what a plain read of it would get shows on the screen as it is typed."""

    def isatty(self) -> bool:
        return True


def test_at_a_terminal_the_pin_is_asked_without_echo_even_with_pin_stdin(
    config_file: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(config_file, make_verdict)
    prompts: list[str] = []

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return "4711"

    monkeypatch.setattr("getpass.getpass", getpass)
    terminal = Terminal("a line typed with echo\n")
    monkeypatch.setattr("sys.stdin", terminal)
    for pin_option in ([], ["--pin"], ["--pin-stdin"]):
        assert station(config_file, "item", "override", SECOND, "--to", "restock", "--reason", "fine",
                       "--operator", "op-7", *pin_option) == 0
    assert prompts == ["supervisor's PIN for the override to restock: "] * 3
    assert terminal.tell() == 0  # never read as a plain line
    assert latest(config_file, SECOND).change is Change.SUPERVISOR_APPROVED
