"""The central broker's address and credentials from the command line: `station central` and its tools."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.mqtt import BrokerAddress


def read_password(password_file: Path | None) -> str:
    """The broker password: the file's first line, else the environment, else none."""
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    return os.environ.get("CENTRAL_MQTT_PASSWORD") or os.environ.get("STATION_MQTT_PASSWORD") or ""


def broker_address(broker: str, password_file: Path | None, ca: Path | None, cert: Path | None,
                   key: Path | None, key_option: str = "--key") -> BrokerAddress:
    """The central broker's address with its credentials, from central's command-line options (the
    TLS client key's option is `key_option`); ValueError says what to give instead."""
    from sync.mqtt import BrokerAddress

    address = BrokerAddress.parse(broker, ca_file=ca, cert_file=cert, key_file=key)
    for option, path in (("--ca", ca), ("--cert", cert), (key_option, key)):
        if path is not None and not path.is_file():
            raise ValueError(f"{option} {path} is not a file — give the path of the PEM file (CA certificate "
                             f"for --ca, this client's certificate and its key for --cert / {key_option})")
    options = (("--ca", ca), ("--cert", cert), (key_option, key))
    given = [option for option, path in options if path is not None]
    if given and not address.tls:
        # Certificates given with a plain mqtt:// URL would be ignored: the password and every
        # verdict would cross the network unencrypted, with nothing said.
        raise ValueError(f"{' and '.join(given)} given, but --broker is not an mqtts:// URL: the connection "
                         "would be plain text and the certificates unused — write the broker as "
                         "mqtts://host:8883 to use TLS, or leave the certificate options out for a broker "
                         "without TLS")
    if address.password:
        raise ValueError("--broker carries a password, which every user of this computer can read in the "
                         "process list (ps) — remove it from the URL and put it in the environment "
                         "(CENTRAL_MQTT_PASSWORD or STATION_MQTT_PASSWORD) or in a file readable by you "
                         "only, given with --password-file FILE")
    try:
        password = read_password(password_file)
    except OSError as exc:
        raise ValueError(f"cannot read the password file {password_file}: {exc.strerror or exc} — check the "
                         "path and that this user may read it") from None
    username = address.username or os.environ.get("CENTRAL_MQTT_USERNAME") or ""
    if username or password:
        address = BrokerAddress(**{**asdict(address), "username": username, "password": password})
    return address
