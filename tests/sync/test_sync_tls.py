"""TLS with a test CA: a station and central with client certificates deliver through a
TLS-only Mosquitto; a client without a certificate, or trusting another CA, gets nothing."""

from __future__ import annotations

import datetime
import ipaddress
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sync.broker import BrokerTls, LocalBroker
from sync.central import CentralReceiver
from sync.loadgen import connect_station_db, make_verdict, record_verdict, uuid7
from sync.mqtt import BrokerAddress
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings
from tests.sync.conftest import wait_for

pytestmark = pytest.mark.broker


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _make_ca(folder: Path, cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / f"{cn}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def _issue(folder: Path, ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], cn: str,
           server: bool) -> tuple[Path, Path]:
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path, key_path = folder / f"{cn}.crt", folder / f"{cn}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, key)
    return cert_path, key_path


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "pki"
    folder.mkdir()
    ca = _make_ca(folder, "test-ca")
    _make_ca(folder, "other-ca")
    server_cert, server_key = _issue(folder, ca, "broker", server=True)
    station_cert, station_key = _issue(folder, ca, "dock-01", server=False)
    central_cert, central_key = _issue(folder, ca, "central", server=False)
    return {"ca": folder / "test-ca.pem", "other_ca": folder / "other-ca.pem",
            "server_cert": server_cert, "server_key": server_key,
            "station_cert": station_cert, "station_key": station_key,
            "central_cert": central_cert, "central_key": central_key}


@pytest.fixture
def tls_broker(tmp_path: Path, pki: dict[str, Path]) -> Iterator[LocalBroker]:
    tls = BrokerTls(pki["ca"], pki["server_cert"], pki["server_key"])
    with LocalBroker(tmp_path / "broker", tls=tls) as b:
        yield b


def _station(tmp_path: Path, broker: LocalBroker, pki: dict[str, Path],
             **tls: Path | None) -> OutboxPublisher:
    db = tmp_path / "station.db"
    conn = connect_station_db(db)
    session = str(uuid7())
    for seq in range(10):
        record_verdict(conn, make_verdict("dock-01", "site-01", session, seq, random.Random(seq)))
    conn.close()
    files = {"ca_file": pki["ca"], "cert_file": pki["station_cert"], "key_file": pki["station_key"], **tls}
    return OutboxPublisher(db, SyncSettings(broker="127.0.0.1", port=broker.port, tls=True,
                                            reconnect_backoff_min_s=0.2, **files),
                           StationIdentity(session=session))


def test_station_and_central_deliver_over_mutual_tls(tmp_path: Path, tls_broker: LocalBroker,
                                                     pki: dict[str, Path]) -> None:
    receiver = CentralReceiver(
        BrokerAddress("127.0.0.1", tls_broker.port, tls=True, ca_file=pki["ca"],
                      cert_file=pki["central_cert"], key_file=pki["central_key"]),
        tmp_path / "central.db")
    receiver.start()
    publisher = _station(tmp_path, tls_broker, pki)
    try:
        wait_for(lambda: receiver.stats().connected, 10, "central connected over TLS")
        publisher.start()
        assert publisher.wait_drained(20), publisher.stats()
        wait_for(lambda: receiver.stats().stored == 10, 5, "central counted 10")
    finally:
        publisher.stop()
        receiver.stop()


@pytest.mark.parametrize("case", ["no client certificate", "trusts another CA"])
def test_station_without_valid_tls_gets_nothing_through(tmp_path: Path, tls_broker: LocalBroker,
                                                        pki: dict[str, Path], case: str) -> None:
    if case == "no client certificate":
        publisher = _station(tmp_path, tls_broker, pki, cert_file=None, key_file=None)
    else:
        publisher = _station(tmp_path, tls_broker, pki, ca_file=pki["other_ca"])
    publisher.start()
    try:
        wait_for(lambda: publisher.stats().last_error is not None, 10, "a connection error")
        stats = publisher.stats()
        assert not stats.connected and stats.published_total == 0
        assert "broker" in (stats.last_error or "")
    finally:
        publisher.stop()
