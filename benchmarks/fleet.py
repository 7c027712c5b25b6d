"""The fleet's throughput and end-to-end lag for 1, 2 and 3 central receivers.

    .venv/bin/python benchmarks/fleet.py [--stations 20] [--backlog 250] [--rate 5] [--seconds 10]
                                         [--receivers 1,2,3] [--repeats 3] [--no-fsync]

Topology, all real processes on this machine: stations (`python -m sync.loadgen`, the real
OutboxPublisher) on two site brokers, each bridged to the central broker (sync.bridge), and N
`station central` receivers in one shared-subscription group storing into PostgreSQL (a
throwaway cluster, fsync on unless --no-fsync). Every run starts fresh brokers and empty tables.

Two measures per run:
- throughput: every station starts with a backlog of `--backlog` verdicts, all stations'
  publishers (the real OutboxPublisher, in this process, so that they all start within
  milliseconds of each other rather than as 20 Python processes come up one by one on a busy
  machine) start together; verdicts/s is the rows stored divided by the time from that start to
  the last row's commit in PostgreSQL; the CPU time each part spent meanwhile (stations'
  publishers, the three brokers, the receivers, PostgreSQL's processes) is divided by the
  verdicts, to show where the time goes;
- lag: the stations record `--rate` verdicts/s each for `--seconds`; a verdict's lag is the
  time from its creation at the station (just before the station's commit and publish) to its
  row's insert in PostgreSQL — station outbox, site broker, bridge, central broker, receiver,
  database. The benchmark adds a `committed_at` column (clock_timestamp() default) to its own
  copy of the table; the receivers' code does not know it.

Prints one line per run, then a table of medians over the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sync.bridge import BridgeSettings, bridge_config  # noqa: E402
from sync.broker import LocalBroker  # noqa: E402
from sync.central_store import PostgresVerdictStore  # noqa: E402
from sync.loadgen import connect_station_db, make_verdict, record_verdict, uuid7  # noqa: E402
from sync.publisher import OutboxPublisher  # noqa: E402
from sync.settings import StationIdentity, SyncSettings  # noqa: E402
from tests.sync.postgres import throwaway_postgres  # noqa: E402

SITES = ("site-01", "site-02")


def _stations(count: int) -> list[tuple[str, str]]:
    """(site, station) pairs, the stations split evenly over the sites."""
    return [(SITES[n % len(SITES)], f"dock-{n + 1:02d}") for n in range(count)]


def _fill(db: Path, site: str, station: str, rows: int) -> None:
    conn = connect_station_db(db)
    conn.execute("PRAGMA synchronous=OFF")  # filling the backlog is not what is measured
    rng = random.Random(station)
    session = str(uuid7())
    for seq in range(rows):
        record_verdict(conn, make_verdict(station, site, session, seq, rng))
    conn.close()


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout} s waiting for {what}")


def _connected(path: Path) -> bool:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    return bool(lines) and bool(json.loads(lines[-1]).get("connected"))


class Fleet:
    """Fresh central and site brokers (bridged) and N receivers into PostgreSQL, for one run."""

    def __init__(self, work: Path, url: str, receivers: int) -> None:
        self.work = work
        self.central = LocalBroker(work / "central")
        self.central.start()
        self.sites = {}
        for site in SITES:
            bridge = BridgeSettings(site=site, central_host="127.0.0.1", central_port=self.central.port,
                                    restart_timeout=(1, 2))
            self.sites[site] = LocalBroker(work / site, extra_config=bridge_config(bridge))
            self.sites[site].start()
        self.receivers = []
        for n in range(receivers):
            log = work / f"central-{n}.jsonl"
            with log.open("wb") as out:
                self.receivers.append(subprocess.Popen(
                    [sys.executable, "-m", "station", "central", "--broker", self.central.url(), "--db", url,
                     "--group", "bench", "--client-id", f"bench-central-{n}", "--json",
                     "--stats-interval", "0.5"],
                    cwd=work, stdout=out, stderr=subprocess.STDOUT))
            _wait(lambda log=log: _connected(log), 60, f"receiver {n} connected")
        time.sleep(1.0)  # the bridges connect (restart_timeout 1 s)

    def stations(self, stations: list[tuple[str, str]], tag: str, count: int, rate: float
                 ) -> list[subprocess.Popen[bytes]]:
        """Start `python -m sync.loadgen` for every station; its database is `<tag>-<station>.db`."""
        return [subprocess.Popen(
            [sys.executable, "-m", "sync.loadgen", "--db", str(self.work / f"{tag}-{station}.db"), "--host",
             "127.0.0.1", "--port", str(self.sites[site].port), "--station-id", station, "--site-id", site,
             "--count", str(count), "--rate", str(rate), "--drain-timeout", "300"],
            cwd=self.work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for site, station in stations]

    def drain(self, stations: list[tuple[str, str]], tag: str) -> float:
        """Start every station's publisher on its backlog at once; the start time (time.time())."""
        publishers = [OutboxPublisher(
            self.work / f"{tag}-{station}.db",
            SyncSettings(broker="127.0.0.1", port=self.sites[site].port, stats_interval_s=3600),
            StationIdentity(station_id=station, site_id=site, session=str(uuid7())))
            for site, station in stations]
        started = time.time()
        for publisher in publishers:
            publisher.start()
        try:
            for publisher in publishers:
                if not publisher.wait_drained(300):
                    raise SystemExit(f"throughput: a station did not drain: {publisher.stats()}")
        finally:
            for publisher in publishers:
                publisher.stop()
        return started

    def close(self) -> int:
        """Stop everything; the copies the receivers got again (resent by stations whose ack was late)."""
        for receiver in self.receivers:
            receiver.terminate()
        for receiver in self.receivers:
            receiver.wait(30)
        repeats = 0
        for n in range(len(self.receivers)):
            lines = (self.work / f"central-{n}.jsonl").read_text(encoding="utf-8").splitlines()
            finals = [json.loads(line) for line in lines if line.startswith("{")]
            repeats += int(finals[-1]["duplicates"]) if finals else 0
        for broker in (*self.sites.values(), self.central):
            broker.close()
        return repeats


def _prepare(url: str) -> None:
    """The receivers' tables, plus the benchmark's own commit-time column."""
    import psycopg

    PostgresVerdictStore(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE verdicts ADD COLUMN IF NOT EXISTS committed_at DOUBLE PRECISION"
                     " DEFAULT extract(epoch FROM clock_timestamp())")


def _truncate(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE verdicts, rejected, conflicts")


def _count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()
        return int(row[0]) if row else 0


def _last_commit(url: str) -> float:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT MAX(committed_at) FROM verdicts").fetchone()
        return float(row[0]) if row and row[0] is not None else 0.0


def _lags_ms(url: str) -> list[float]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT payload->>'created_at', committed_at FROM verdicts").fetchall()
    return [(committed - datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()) * 1000
            for created, committed in rows]


def _finish(processes: list[subprocess.Popen[bytes]], what: str) -> None:
    try:
        for process in processes:
            if process.wait(400) != 0:
                raise SystemExit(f"{what}: a station did not drain (exit {process.returncode})")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()


def _cpu(processes: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds (user + system) of each live process, by pid."""
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


def _postgres_processes(url: str) -> list[psutil.Process]:
    """The postmaster of `url` and its children (one backend per receiver, the writers)."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    pid = int((Path(str(row[0] if row else "")) / "postmaster.pid").read_text().split()[0])
    postmaster = psutil.Process(pid)
    return [postmaster, *postmaster.children(recursive=True)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * q / 100))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=20)
    parser.add_argument("--backlog", type=int, default=250,
                        help="verdicts per station for the throughput run")
    parser.add_argument("--rate", type=float, default=5.0, help="verdicts/s per station for the lag run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the lag run")
    parser.add_argument("--receivers", default="1,2,3", help="receiver counts to compare")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-fsync", action="store_true", help="PostgreSQL without fsync")
    args = parser.parse_args()
    counts = [int(n) for n in args.receivers.split(",")]
    stations = _stations(args.stations)
    paced = round(args.rate * args.seconds)
    work_root = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    results: dict[int, list[tuple[float, float, float, int]]] = {n: [] for n in counts}
    cpu: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    with throwaway_postgres(fsync=not args.no_fsync) as url:
        _prepare(url)
        for repeat in range(args.repeats):
            for n in counts:  # interleaved, so a change in the machine's load spreads over all counts
                work = work_root / f"r{repeat}-n{n}"
                work.mkdir()
                for site, station in stations:
                    _fill(work / f"backlog-{station}.db", site, station, args.backlog)
                _truncate(url)
                fleet = Fleet(work, url, n)
                try:
                    parts = {"receivers": [psutil.Process(r.pid) for r in fleet.receivers],
                             "brokers": [psutil.Process(b.pid) for b in (fleet.central, *fleet.sites.values())
                                         if b.pid is not None],
                             "postgres": _postgres_processes(url)}
                    before = {name: _cpu(procs) for name, procs in parts.items()}
                    station_cpu = time.process_time()
                    started = fleet.drain(stations, "backlog")
                    total = args.backlog * len(stations)
                    _wait(lambda total=total: _count(url) >= total, 60, "every verdict stored")
                    throughput = total / max(_last_commit(url) - started, 1e-6)
                    cpu_us = {"stations": (time.process_time() - station_cpu) / total * 1e6}
                    for name, procs in parts.items():
                        after = _cpu(procs)
                        spent = sum(s - before[name].get(pid, 0.0) for pid, s in after.items())
                        cpu_us[name] = spent / total * 1e6
                    _truncate(url)
                    _finish(fleet.stations(stations, "paced", paced, args.rate), "lag")
                    _wait(lambda: _count(url) >= paced * len(stations), 60, "every paced verdict stored")
                    lags = _lags_ms(url)
                finally:
                    repeats = fleet.close()
                results[n].append((throughput, statistics.median(lags), _percentile(lags, 95), repeats))
                cpu[n].append(cpu_us)
                print(f"run {repeat + 1}, {n} receiver(s): {throughput:7.0f} verdicts/s; lag at "
                      f"{args.rate * len(stations):.0f}/s: median {results[n][-1][1]:6.0f} ms, "
                      f"p95 {results[n][-1][2]:6.0f} ms; {repeats} resent copies received; load "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
    print()
    print(f"{args.stations} stations on {len(SITES)} bridged site brokers -> central broker -> receivers -> "
          f"PostgreSQL (fsync {'off' if args.no_fsync else 'on'}); medians of {args.repeats} runs")
    print(f"{'receivers':>9}  {'verdicts/s':>10}  {'(runs)':<12}  {'lag median ms':>13}  {'lag p95 ms':>10}"
          f"  {'resent copies':>13}  vs 1st")
    base = statistics.median(r[0] for r in results[counts[0]])
    for n in counts:
        rates = [r[0] for r in results[n]]
        median = statistics.median(rates)
        runs = f"{min(rates):.0f}–{max(rates):.0f}"
        print(f"{n:>9}  {median:>10.0f}  {runs:<12}  {statistics.median(r[1] for r in results[n]):>13.0f}  "
              f"{statistics.median(r[2] for r in results[n]):>10.0f}  "
              f"{statistics.median(r[3] for r in results[n]):>13.0f}  x{median / base:.2f}")
    print()
    names = ("stations", "brokers", "receivers", "postgres")
    print(f"CPU per verdict in the throughput run, µs (median): {'receivers':>9}  "
          + "  ".join(f"{name:>9}" for name in names))
    for n in counts:
        print(f"{'':51}{n:>9}  " + "  ".join(f"{statistics.median(c[name] for c in cpu[n]):>9.0f}"
                                             for name in names))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    shutil.rmtree(work_root, ignore_errors=True)  # the brokers' and stations' files of every run
    return 0


if __name__ == "__main__":
    sys.exit(main())
