"""`station central keygen | offer | model | config` as the site's IT runs them, against a real
Mosquitto and stations whose inbound side (publisher, Inbound, a real ModelStore trusting the public
key) runs on it: one line per station with its answer, and an exit status a script can act on."""

from __future__ import annotations

import json
import random
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeAlias

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.cli import main
from station.policy import POLICY_RANGES
from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.inbound import Inbound, InboundHandlers
from sync.loadgen import make_verdict, uuid7
from sync.modelstore import ModelStore, load_public_key
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings
from tests.sync.conftest import Probe, sqlite_count, wait_for

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "defect"
VERSION = json.loads((MODEL / "manifest.json").read_text(encoding="utf-8"))["version"]
BOTH = "site-01/dock-01,site-01/dock-02"
Run: TypeAlias = Callable[..., tuple[int, str, str]]


class FakeFleet:
    """Stations on the test broker: each answers central as a real one does (its publisher's inbound
    thread, Inbound, a ModelStore under tmp_path trusting `public_key`)."""

    def __init__(self, tmp_path: Path, broker: LocalBroker, public_key: Path) -> None:
        self.tmp_path = tmp_path
        self.broker = broker
        self.public_key = public_key
        self.running: dict[str, OutboxPublisher] = {}
        # the thresholds each station was given by config/set (it takes signed ones only)
        self.thresholds: dict[str, dict[str, float]] = {}

    def store(self, station: str) -> ModelStore:
        return ModelStore(self.tmp_path / station / "models", load_public_key(self.public_key))

    def start(self, *stations: str) -> None:
        for station in stations:
            self._start(station)

    def _start(self, station: str) -> None:
        (self.tmp_path / station).mkdir(exist_ok=True)
        thresholds = self.thresholds.setdefault(station, {})
        handlers = InboundHandlers(on_config_set=thresholds.update, config_ranges=POLICY_RANGES)
        publisher = OutboxPublisher(self.tmp_path / station / "station.db",
                                    SyncSettings(broker="127.0.0.1", port=self.broker.port),
                                    StationIdentity(station_id=station, site_id="site-01"),
                                    inbound=Inbound(handlers, self.store(station),
                                                    station=f"site-01/{station}", config_signed=True))
        publisher.start()
        self.running[station] = publisher
        wait_for(lambda: publisher.stats().connected, 30, f"{station} connected")

    def stop(self, station: str) -> None:
        self.running.pop(station).stop()

    def stop_all(self) -> None:
        for station in list(self.running):
            self.stop(station)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Run:
    """run(*args) -> (exit status, stdout, stderr) of `station ARGS` with the embedded defaults."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STATION_CONFIG", raising=False)
    for name in ("CENTRAL_MQTT_PASSWORD", "STATION_MQTT_PASSWORD", "CENTRAL_MQTT_USERNAME"):
        monkeypatch.delenv(name, raising=False)

    def call(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.fixture
def release_key(tmp_path: Path, run: Run) -> Path:
    """A release key made by `station central keygen`; its public half is beside it."""
    code, _, err = run("central", "keygen", "--out", str(tmp_path / "release-key.pem"))
    assert code == 0, err
    return tmp_path / "release-key.pem"


@pytest.fixture
def fleet(tmp_path: Path, broker: LocalBroker, release_key: Path) -> Iterator[FakeFleet]:
    made = FakeFleet(tmp_path, broker, tmp_path / "release-key.pub.pem")
    yield made
    made.stop_all()


def test_keygen_writes_a_private_key_for_its_owner_only_and_its_public_half_beside_it(
        tmp_path: Path, run: Run) -> None:
    code, out, err = run("central", "keygen", "--out", "release-key.pem")
    assert code == 0, err
    private, public = tmp_path / "release-key.pem", tmp_path / "release-key.pub.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    assert load_public_key(public) == key.public_key()  # what [sync].trusted_key_file takes
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("release-key.pem: the release key (private")
    assert lines[1].startswith("release-key.pub.pem: its public half")
    assert "[sync].trusted_key_file" in lines[1]


@pytest.mark.broker
def test_offer_installs_in_shadow_on_both_stations_then_promote_and_rollback(
        tmp_path: Path, broker: LocalBroker, fleet: FakeFleet, release_key: Path,
        run: Run) -> None:
    fleet.start("dock-01", "dock-02")
    code, out, err = run("central", "offer", str(MODEL), "--key", str(release_key), "--stations", BOTH,
                         "--broker", broker.url(), "--wait", "60")
    assert code == 0, out + err
    assert out.splitlines()[1:] == [
        f"site-01/dock-01: installed — defect {VERSION} installed as shadow",
        f"site-01/dock-02: installed — defect {VERSION} installed as shadow",
    ]
    for station in ("dock-01", "dock-02"):
        store = fleet.store(station)
        shadow = store.shadow("defect")
        assert shadow is not None and shadow.version == VERSION and store.active("defect") is None
        assert shadow.onnx.read_bytes() == (MODEL / "model.onnx").read_bytes()

    code, out, err = run("central", "model", "promote", "defect", "--key", str(release_key),
                         "--stations", BOTH, "--broker", broker.url(), "--wait", "60", "--json")
    assert code == 0, out + err
    result = json.loads(out)
    assert [(s["station"], s["result"]) for s in result["stations"]] == [("site-01/dock-01", "ok"),
                                                                         ("site-01/dock-02", "ok")]
    assert result["exit_status"] == 0
    for station in ("dock-01", "dock-02"):
        active = fleet.store(station).active("defect")
        assert active is not None and active.version == VERSION
        assert fleet.store(station).shadow("defect") is None

    code, out, err = run("central", "model", "rollback", "defect", "--key", str(release_key), "--stations",
                         "site-01/dock-02", "--broker", broker.url(), "--wait", "60")
    assert code == 0, out + err
    assert out.splitlines()[1:] == ["site-01/dock-02: done — defect: rollback done; active the shipped model"]
    assert fleet.store("dock-02").active("defect") is None
    assert fleet.store("dock-01").active("defect") is not None  # only the station named


@pytest.mark.broker
def test_an_offer_signed_with_a_key_the_stations_do_not_trust_is_printed_as_refused(
        tmp_path: Path, broker: LocalBroker, fleet: FakeFleet, run: Run) -> None:
    fleet.start("dock-01")
    code, _, err = run("central", "keygen", "--out", "other-key.pem")
    assert code == 0, err
    code, out, err = run("central", "offer", str(MODEL), "--key", "other-key.pem", "--stations",
                         "site-01/dock-01", "--broker", broker.url(), "--wait", "60")
    assert code == 1, out + err
    assert out.splitlines()[1:] == [
        "site-01/dock-01: refused — signature does not verify with the trusted key"]
    assert fleet.store("dock-01").shadow("defect") is None

    code, out, err = run("central", "model", "promote", "defect", "--key", "other-key.pem", "--stations",
                         "site-01/dock-01", "--broker", broker.url(), "--wait", "60")
    assert code == 1, out + err
    assert "site-01/dock-01: refused — signature does not verify with the trusted key" in out


@pytest.mark.broker
def test_a_station_that_is_off_gives_no_reply_and_installs_the_offer_when_it_connects_again(
        tmp_path: Path, broker: LocalBroker, fleet: FakeFleet, release_key: Path,
        run: Run) -> None:
    fleet.start("dock-02")  # connected once: the broker keeps its session while it is off
    fleet.stop("dock-02")
    code, out, err = run("central", "offer", str(MODEL), "--key", str(release_key), "--stations",
                         "site-01/dock-02", "--broker", broker.url(), "--wait", "0.5")
    assert code == 3, out + err
    lines = out.splitlines()
    assert lines[1] == "site-01/dock-02: no reply in 0.5 s"
    assert "delivers it when the station connects again" in lines[2], lines
    assert fleet.store("dock-02").shadow("defect") is None

    fleet.start("dock-02")
    wait_for(lambda: fleet.store("dock-02").shadow("defect") is not None, 30, "the queued offer installed")


@pytest.mark.broker
def test_db_names_every_station_that_sent_a_verdict(
        tmp_path: Path, broker: LocalBroker, fleet: FakeFleet, release_key: Path,
        start_receiver: Callable[..., CentralReceiver], run: Run) -> None:
    start_receiver(broker, tmp_path / "central.db")
    sender = Probe(broker.port, ["returns/v1/site-01/dock-02/ack"])
    try:
        verdict = make_verdict("dock-02", "site-01", str(uuid7()), 1, random.Random(1))
        sender.publish("returns/v1/site-01/dock-02/verdict", json.dumps(verdict))
    finally:
        sender.close()
    wait_for(lambda: sqlite_count(tmp_path / "central.db", "SELECT COUNT(*) FROM verdicts") == 1, 30,
             "the verdict stored")
    fleet.start("dock-02")
    code, out, err = run("central", "offer", str(MODEL), "--key", str(release_key), "--db",
                         str(tmp_path / "central.db"), "--broker", broker.url(), "--wait", "60")
    assert code == 0, out + err
    assert out.splitlines()[1:] == [f"site-01/dock-02: installed — defect {VERSION} installed as shadow"]


@pytest.mark.broker
def test_config_sets_thresholds_on_each_station_signed_for_it(
        tmp_path: Path, broker: LocalBroker, fleet: FakeFleet, release_key: Path, run: Run) -> None:
    fleet.start("dock-01", "dock-02")
    code, out, err = run("central", "config", "defect_repair=0.45", "min_confidence=0.7", "--key",
                         str(release_key), "--stations", BOTH, "--broker", broker.url(), "--wait", "60")
    assert code == 0, out + err
    assert out.splitlines() == [
        f"sent defect_repair=0.45 min_confidence=0.7 (signed with {release_key}) to 2 stations; waiting "
        "up to 60 s for their answers",
        "site-01/dock-01: applied — set defect_repair=0.45, min_confidence=0.7",
        "site-01/dock-02: applied — set defect_repair=0.45, min_confidence=0.7",
    ]
    assert fleet.thresholds == {"dock-01": {"defect_repair": 0.45, "min_confidence": 0.7},
                                "dock-02": {"defect_repair": 0.45, "min_confidence": 0.7}}

    code, out, err = run("central", "config", "grade_a_max=0.1", "--key", str(release_key), "--stations",
                         "site-01/dock-02", "--broker", broker.url(), "--wait", "60", "--json")
    assert code == 0, out + err
    result = json.loads(out)
    assert result["values"] == {"grade_a_max": 0.1} and result["exit_status"] == 0
    assert [(s["station"], s["result"], s["detail"]) for s in result["stations"]] == [
        ("site-01/dock-02", "ok", {"values": {"grade_a_max": 0.1}})]
    assert fleet.thresholds["dock-01"] == {"defect_repair": 0.45, "min_confidence": 0.7}  # only the one named


@pytest.mark.broker
def test_config_signed_with_a_key_the_stations_do_not_trust_is_printed_as_refused(
        tmp_path: Path, broker: LocalBroker, fleet: FakeFleet, run: Run) -> None:
    fleet.start("dock-01")
    code, _, err = run("central", "keygen", "--out", "other-key.pem")
    assert code == 0, err
    code, out, err = run("central", "config", "defect_repair=0.45", "--key", "other-key.pem", "--stations",
                         "site-01/dock-01", "--broker", broker.url(), "--wait", "60")
    assert code == 1, out + err
    assert out.splitlines()[1:] == [
        "site-01/dock-01: refused — signature does not verify with the trusted key"]
    assert fleet.thresholds["dock-01"] == {}


# ---- bad input: refused before anything is sent (the broker given is never contacted) -----------

NO_BROKER = ("--stations", "site-01/dock-01", "--broker", "mqtt://127.0.0.1:1")


def test_a_missing_model_folder_is_refused_saying_what_to_give(
        release_key: Path, run: Run) -> None:
    code, out, err = run("central", "offer", "no-such-folder", "--key", str(release_key), *NO_BROKER)
    assert code == 2
    assert err.strip() == ("station central offer: no-such-folder is not a folder — give the folder `station "
                           "train` wrote (model.onnx and manifest.json)")
    assert out == ""


def test_a_manifest_that_is_not_the_models_is_refused(
        tmp_path: Path, release_key: Path, run: Run) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "manifest.json").write_bytes((MODEL / "manifest.json").read_bytes())
    (mixed / "model.onnx").write_bytes((MODEL / "model.onnx").read_bytes()[:-1])
    code, _, err = run("central", "offer", str(mixed), "--key", str(release_key), *NO_BROKER)
    assert code == 2
    assert "manifest.json says sha256" in err and "copy model.onnx and manifest.json together" in err

    (mixed / "manifest.json").write_text("{oops", encoding="utf-8")
    code, _, err = run("central", "offer", str(mixed), "--key", str(release_key), *NO_BROKER)
    assert code == 2 and "manifest.json is not JSON" in err


def test_the_public_key_given_as_key_is_refused_saying_to_give_the_private_one(
        tmp_path: Path, release_key: Path, run: Run) -> None:
    code, _, err = run("central", "offer", str(MODEL), "--key", str(tmp_path / "release-key.pub.pem"),
                         *NO_BROKER)
    assert code == 2
    assert "release-key.pub.pem is a public key" in err
    assert "give --key the private key `station central keygen --out FILE` wrote" in err


@pytest.mark.parametrize(("valid_for", "why"), [
    ("0m", "--valid-for: '0m' is no time at all"),
    ("90d", "--valid-for: '90d' is longer than the 30 days a station takes"),
    ("tomorrow", "--valid-for: 'tomorrow' is not a duration"),
])
def test_a_validity_that_is_no_time_or_too_long_is_refused(
        release_key: Path, run: Run, valid_for: str, why: str) -> None:
    for command in (("offer", str(MODEL)), ("model", "rollback", "defect"), ("config", "defect_repair=0.4")):
        code, out, err = run("central", *command, "--key", str(release_key), "--valid-for", valid_for,
                             *NO_BROKER)
        assert code == 2, err
        assert err.startswith(f"station central {command[0]}: {why}") and "e.g. 30m, 24h or 7d" in err
        assert out == ""


def test_a_model_action_is_signed_with_the_release_key(tmp_path: Path, release_key: Path, run: Run) -> None:
    with pytest.raises(SystemExit) as usage:
        run("central", "model", "promote", "defect", *NO_BROKER)
    assert usage.value.code == 2  # --key is required
    public = str(tmp_path / "release-key.pub.pem")
    code, _, err = run("central", "model", "promote", "defect", "--key", public, *NO_BROKER)
    assert code == 2 and "release-key.pub.pem is a public key" in err


def test_keygen_never_replaces_an_existing_key(
        tmp_path: Path, release_key: Path, run: Run) -> None:
    before = release_key.read_bytes(), (tmp_path / "release-key.pub.pem").read_bytes()
    code, _, err = run("central", "keygen", "--out", str(release_key))
    assert code == 2
    assert "already exists: keygen never replaces a key" in err
    assert (release_key.read_bytes(), (tmp_path / "release-key.pub.pem").read_bytes()) == before

    (tmp_path / "new.pub.pem").write_text("a public key the stations trust", encoding="utf-8")
    code, _, err = run("central", "keygen", "--out", str(tmp_path / "new.pem"))
    assert code == 2 and "new.pub.pem already exists" in err
    assert not (tmp_path / "new.pem").exists()


@pytest.mark.parametrize(("assignment", "why"), [
    ("colour=0.5", "'colour' is not a threshold central may set: conformity_min_similarity takes a number "
                   "from -1 to 1; decision_margin takes a number from 0.01 to 1; defect_recycle"),
    ("defect_repair=1.5", "defect_repair=1.5 is out of range — defect_repair takes a number from 0 to 1"),
    ("defect_repair=high",
     "defect_repair=high: 'high' is not a number — defect_repair takes a number from 0 to 1"),
    ("defect_repair=nan", "defect_repair=nan is out of range — defect_repair takes a number from 0 to 1"),
    ("defect_repair", "'defect_repair' is not NAME=VALUE: give each threshold as NAME=VALUE, e.g. "
                      "defect_repair=0.45 (conformity_min_similarity takes"),
    ("require_rma=0", "'require_rma' is not a threshold central may set"),
])
def test_a_bad_threshold_is_refused_before_anything_is_sent_saying_what_is_allowed(
        release_key: Path, run: Run, assignment: str, why: str) -> None:
    code, out, err = run("central", "config", "min_confidence=0.7", assignment, "--key", str(release_key),
                         *NO_BROKER)
    assert code == 2, err
    assert err.startswith(f"station central config: {why}"), err
    assert out == ""


def test_a_threshold_given_twice_or_an_unusable_key_is_refused(
        tmp_path: Path, release_key: Path, run: Run) -> None:
    code, _, err = run("central", "config", "defect_repair=0.4", "defect_repair=0.5", "--key",
                       str(release_key), *NO_BROKER)
    assert code == 2 and err.strip() == ("station central config: defect_repair is given twice: give each "
                                         "threshold once")
    public = str(tmp_path / "release-key.pub.pem")
    code, _, err = run("central", "config", "defect_repair=0.4", "--key", public, *NO_BROKER)
    assert code == 2 and "release-key.pub.pem is a public key" in err
    with pytest.raises(SystemExit) as usage:
        run("central", "config", "defect_repair=0.4", *NO_BROKER)
    assert usage.value.code == 2  # --key is required
