"""A station database that is no database (random bytes, a folder, an empty file), a data folder
that is a file or read-only, a station live on the folder, a cut-off archive or bundle, an output
that is a folder: each command says it in one line with what to do, exits non-zero (2 for a database
it cannot use at all, as for a bad config; 3 for a folder a station holds), and leaves everything as
it found it — no traceback, no half-written file, no permission changed on a file it refused."""

from __future__ import annotations

import errno
import os
import re
import sqlite3
import stat
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from station.backup import BackupError, create_backup
from station.cli import main
from station.config import Config, load_config
from station.datalock import DataLock
from station.doctor import Status, run_checks
from station.store import Store, StoreReader, UnusableDatabaseError
from station.verdict import Verdict
from sync.central_store import SqliteVerdictStore
from tests.faults.conftest import mounted_read_only

CATALOG = "sku,name,gtins\nSKU-S-1,Store mug,4006381333931\n"
MANIFEST = "rma,expected_sku\nR-S-1,SKU-S-1\n"


def _config_file(tmp_path: Path, data_dir: Path, name: str = "config.toml", extra: str = "") -> Path:
    path = tmp_path / name
    path.write_text(f'[station]\ndata_dir = "{data_dir}"\n\n[sync]\nbroker = ""\n{extra}', encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")


def _one_line(err: str) -> str:
    """The one message of stderr (the log's own lines aside)."""
    lines = [line for line in err.splitlines() if line.strip() and not LOG_LINE.match(line)]
    assert len(lines) == 1, err
    return lines[0]


def _state(folder: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under `folder` with its mode and (for files) content."""
    return {str(p.relative_to(folder)): (p.stat().st_mode, p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    files = {"catalog": tmp_path / "catalog.csv", "manifest": tmp_path / "manifest.csv"}
    files["catalog"].write_text(CATALOG, encoding="utf-8")
    files["manifest"].write_text(MANIFEST, encoding="utf-8")
    return files


def _commands(inputs: dict[str, Path], out: Path) -> list[list[str]]:
    return [["catalog", "show", "SKU-S-1"], ["catalog", "import", str(inputs["catalog"])],
            ["manifest", "show", "R-S-1"], ["manifest", "import", str(inputs["manifest"])],
            ["report"], ["migrate"], ["migrate", "--check"], ["purge", "--rma", "R-S-1"],
            ["backup", "--out", str(out)]]


def _another_programs_database(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices(total) VALUES (12.5)")
    conn.close()


@pytest.mark.parametrize("kind", ["random bytes", "a folder", "another program's SQLite database"])
def test_a_database_that_is_no_database_is_refused_by_every_command_and_left_as_it_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], inputs: dict[str, Path], kind: str) -> None:
    """Another program's SQLite database named by db_path: `report` failed on "no such table: items"
    with a traceback, and `catalog import` or `purge` added the station's tables into that file."""
    data = tmp_path / "data"
    data.mkdir()
    db = data / "station.db"
    if kind == "random bytes":
        db.write_bytes(os.urandom(8192))
        db.chmod(0o644)
        said = (f"{db} is not a station database (file is not a database)", "`station restore`", "aside")
    elif kind == "a folder":
        db.mkdir()
        db.chmod(0o755)
        said = (f"{db} is not a station database (it is a folder)", "`station restore`", "aside")
    else:
        _another_programs_database(db)
        said = (f"{db} is an SQLite database of another program (tables invoices)",
                "nothing in it was changed", "[storage].db_path")
    before = _state(data)
    config = _config_file(tmp_path, data)
    out = tmp_path / "backup.tar.gz"
    for command in _commands(inputs, out):
        code, _, err = _run(capsys, config, *command)
        line = _one_line(err)
        assert code == 2, (command, err)
        assert all(words in line for words in said), (command, line)
        # Nothing made, nothing narrowed: no images folder, no lock file, the mode and bytes as they were.
        assert _state(data) == before, command
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_station_run_leaves_another_programs_database_as_it_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "station.db"
    _another_programs_database(db)
    code, _, err = _run(capsys, _config_file(tmp_path, data), "run", "--headless", "--items", "1")
    assert code == 2 and "station run: refusing to start:" in _one_line(err), err
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("invoices",)]
    conn.close()


def test_the_store_the_station_opens_refuses_it_the_same_way(tmp_path: Path) -> None:
    """What `station run` meets when it opens its store (Store.from_config)."""
    db = tmp_path / "data" / "station.db"
    db.parent.mkdir()
    db.write_bytes(b"PK\x03\x04 not sqlite at all" * 100)
    db.chmod(0o644)
    with pytest.raises(UnusableDatabaseError, match=r"is not a station database \(file is not a database\)"):
        Store(db, tmp_path / "data" / "images")
    assert stat.S_IMODE(db.stat().st_mode) == 0o644
    assert sorted(p.name for p in db.parent.iterdir()) == ["station.db"]
    with pytest.raises(UnusableDatabaseError, match="is a file, not a folder"):
        Store(db / "station.db", tmp_path / "images")  # a data folder that is a file


def test_station_run_refuses_to_start_on_it_in_one_line(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "station.db"
    garbage = os.urandom(8192)
    db.write_bytes(garbage)
    code, _, err = _run(capsys, _config_file(tmp_path, data), "run", "--headless", "--items", "1")
    line = _one_line(err)
    assert code == 2, err
    assert line.startswith("station run: refusing to start:") and "is not a station database" in line
    assert db.read_bytes() == garbage


def test_an_empty_file_reads_as_an_empty_database(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "station.db").touch()
    config = _config_file(tmp_path, data)
    code, _, err = _run(capsys, config, "catalog", "show", "SKU-S-1")
    assert code == 1 and "not in the catalog" in _one_line(err)
    code, _, err = _run(capsys, config, "manifest", "show", "R-S-1")
    assert code == 1 and "not in the manifest" in _one_line(err)
    code, out, _ = _run(capsys, config, "report", "--json")
    assert code == 0 and '"items": 0' in out
    assert (data / "station.db").stat().st_size == 0  # read, not written
    with StoreReader(data / "station.db") as reader:
        assert reader.count_items() == 0


def test_manifest_show_only_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "nothing-yet"
    config = _config_file(tmp_path, data)
    code, _, err = _run(capsys, config, "manifest", "show", "R-S-1")
    assert code == 1 and "no station database at" in _one_line(err)
    assert not data.exists()  # no database created (nor migrated) to show an RMA


def test_migrate_is_refused_while_a_station_runs_and_check_still_works(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], make_verdict: Callable[..., Verdict]) -> None:
    data = tmp_path / "data"
    config = _config_file(tmp_path, data)
    store = Store(data / "station.db", data / "images")
    store.record_verdict(make_verdict(1))
    store.close()
    before = (data / "station.db").read_bytes()
    running = DataLock(data)
    running.acquire()
    try:
        code, _, err = _run(capsys, config, "migrate")
        line = _one_line(err)
        assert code == 3
        assert "refusing to migrate: a station is running" in line and f"pid {os.getpid()}" in line
        assert "stop it first" in line
        code, out, _ = _run(capsys, config, "migrate", "--check")
        assert code == 0 and "passes on a copy" in out
    finally:
        running.release()
    assert (data / "station.db").read_bytes() == before
    code, out, _ = _run(capsys, config, "migrate")
    assert code == 0 and "done" in out


@pytest.fixture
def archive(tmp_path: Path, make_verdict: Callable[..., Verdict]) -> Path:
    config = load_config(_config_file(tmp_path, tmp_path / "source", "source.toml"), env={})
    store = Store.from_config(config)
    store.record_verdict(make_verdict(1))
    store.close()
    return create_backup(config, tmp_path / "good.tar.gz").archive


def _cut(archive: Path, size: int) -> Path:
    cut = archive.with_name(f"cut-{size}.tar.gz")
    cut.write_bytes(archive.read_bytes()[:size])
    return cut


def test_a_cut_off_archive_is_refused_and_the_data_folder_is_untouched(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], archive: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "station.db").write_bytes(b"the data already here")
    before = _state(target)
    config = _config_file(tmp_path, target)
    whole = archive.stat().st_size
    for size in (whole // 3, whole - 64):
        code, _, err = _run(capsys, config, "restore", str(_cut(archive, size)), "--data-dir", str(target),
                            "--force")
        line = _one_line(err)
        assert code == 1
        assert "is damaged or cut off" in line and "nothing was restored" in line and "another copy" in line
        assert {k: v for k, v in _state(target).items() if k != "station.lock"} == before


def test_a_cut_off_bundle_is_refused_and_the_releases_stay(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], archive: Path) -> None:
    home = tmp_path / "home"
    (home / "releases" / "0.1.0").mkdir(parents=True)
    (home / "current").symlink_to(Path("releases") / "0.1.0")
    before = sorted(p.name for p in home.iterdir())
    code, _, err = _run(capsys, _config_file(tmp_path, tmp_path / "data"), "upgrade", "--home", str(home),
                        str(_cut(archive, archive.stat().st_size // 2)))
    line = _one_line(err)
    assert code == 1 and "cannot be read as a bundle" in line and "nothing changed" in line
    assert sorted(p.name for p in home.iterdir()) == before  # no station-bundle-* left behind
    assert os.readlink(home / "current") == "releases/0.1.0"


def test_backup_into_a_folder_or_failing_midway_leaves_no_part_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], archive: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config_file(tmp_path, tmp_path / "source", "source.toml")
    folder = tmp_path / "backups"
    folder.mkdir()
    code, _, err = _run(capsys, config, "backup", "--out", str(folder))
    line = _one_line(err)
    assert code == 1 and "is a folder: give the archive's file name" in line and "--out" in line
    assert not list(tmp_path.glob("*.part")) and not list(folder.iterdir())

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tarfile.TarFile, "add", disk_full)
    with pytest.raises(BackupError, match=r"No space left on device.*nothing was written"):
        create_backup(load_config(config, env={}), folder / "b.tar.gz")
    assert not list(folder.iterdir())  # no archive, no .part, no staging folder


def test_restore_into_a_file_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], archive: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder", encoding="utf-8")
    code, _, err = _run(capsys, _config_file(tmp_path, tmp_path / "data"), "restore", str(archive),
                        "--data-dir", str(a_file))
    line = _one_line(err)
    assert code == 1 and "is a file, not a folder" in line and "--data-dir" in line
    assert a_file.read_text(encoding="utf-8") == "not a folder"


@pytest.fixture
def read_only(tmp_path: Path, make_verdict: Callable[..., Verdict]) -> Iterator[Path]:
    """A folder with a station database and an empty `home`, bind-mounted read-only."""
    made = tmp_path / "made"
    store = Store(made / "station.db", made / "images")
    store.record_verdict(make_verdict(1))
    store.close()
    (made / "home").mkdir()
    mounted = tmp_path / "ro"
    mounted.mkdir()
    with mounted_read_only(made, mounted):
        yield mounted


def test_read_only_folders_are_named_with_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], archive: Path, read_only: Path) -> None:
    config = _config_file(tmp_path, read_only, "ro.toml")
    code, _, err = _run(capsys, config, "migrate")
    line = _one_line(err)
    assert code == 1 and f"data folder {read_only} is not writable" in line and "read-only" in line
    code, out, _ = _run(capsys, config, "migrate", "--check")
    assert code == 0 and "passes on a copy" in out
    code, _, err = _run(capsys, config, "manifest", "show", "R-1042")
    assert code == 1 and "not in the manifest" in _one_line(err)  # read, not refused
    code, _, err = _run(capsys, config, "backup", "--out", str(read_only / "b.tar.gz"))
    line = _one_line(err)
    assert code == 1 and f"cannot write the backup into {read_only}" in line
    assert "give --out a file in a folder you can write to" in line
    code, _, err = _run(capsys, config, "restore", str(archive), "--data-dir", str(read_only / "new"))
    line = _one_line(err)
    assert code == 1 and "read-only file system" in line and "--data-dir" in line
    code, _, err = _run(capsys, config, "upgrade", "--home", str(read_only / "home"), str(archive))
    line = _one_line(err)
    assert code == 1 and f"cannot write in the releases' folder {read_only / 'home'}" in line
    assert "--home" in line and "nothing changed" in line


def test_central_refuses_a_file_that_is_no_database_without_changing_its_mode(tmp_path: Path) -> None:
    picture = tmp_path / "corrupt.jpg"
    picture.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(4000))
    picture.chmod(0o644)
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        SqliteVerdictStore(picture)
    assert stat.S_IMODE(picture.stat().st_mode) == 0o644
    folder = tmp_path / "central.db"
    folder.mkdir(mode=0o755)
    with pytest.raises(sqlite3.OperationalError, match="folder, not a database file"):
        SqliteVerdictStore(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    good = tmp_path / "good.db"
    sqlite3.connect(good).close()
    good.chmod(0o644)
    SqliteVerdictStore(good).close()
    assert stat.S_IMODE(good.stat().st_mode) == 0o600  # a database it accepts is narrowed


def _doctor(tmp_path: Path, data_dir: Path) -> dict[str, list[str]]:
    config: Config = load_config(_bench_config(tmp_path, data_dir), env={})
    results = run_checks(config, lambda _r: None, camera_seconds=0.3)
    found: dict[str, list[str]] = {}
    for result in results:
        found.setdefault(result.check, []).append(f"{result.status.value} {result.message} — {result.fix}")
    return found


def _bench_config(tmp_path: Path, data_dir: Path) -> Path:
    path = tmp_path / "doctor.toml"
    path.write_text(f'[station]\ndata_dir = "{data_dir}"\nmode = "bench"\n\n[sync]\nbroker = ""\n',
                    encoding="utf-8")
    return path


def test_doctor_names_a_data_dir_that_is_a_file_and_creates_no_folder(tmp_path: Path) -> None:
    picture = tmp_path / "good.png"
    picture.write_bytes(b"\x89PNG not a folder")
    found = _doctor(tmp_path, picture)
    for check in ("lock", "disk"):
        (line,) = found[check]
        assert line.startswith(Status.FAIL.value)
        assert f"data_dir {picture} is a file, not a folder" in line and "set [station] data_dir" in line
    assert not any("running station" in line for line in found["camera"] + found.get("conveyor", []))
    assert picture.read_bytes() == b"\x89PNG not a folder"

    mistyped = tmp_path / "nonexist" / "a" / "b" / "var"
    found = _doctor(tmp_path, mistyped)
    assert found["lock"][0].startswith(Status.OK.value)
    assert not (tmp_path / "nonexist").exists()  # not even the model store's folder
