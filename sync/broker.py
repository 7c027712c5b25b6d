"""A local Mosquitto on a free loopback port: for the demo ([sync].broker = "auto"), the tests
and the benchmarks.

The broker must not outlive the process that started it: on Linux the kernel sends it
SIGTERM when its parent dies (PR_SET_PDEATHSIG), and everywhere a pid file in its folder
lets the next start stop a broker a crashed process left behind in that folder.

The broker runs from Debian's `mosquitto` binary with a config written into its own
folder. Persistence is on, so a stop (SIGTERM) and a start on the same port keep retained
messages, persistent sessions and their queued messages, like a real broker restart.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = ["DEMO_USER", "BrokerError", "BrokerTls", "LocalBroker", "demo_credentials", "find_mosquitto",
           "free_port", "start_auto_broker"]

logger = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    """The local broker could not be found, started or stopped; the message says what to do."""


@dataclass(frozen=True)
class BrokerTls:
    """Files of a TLS listener: the CA that signed the clients, the server's certificate and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    require_certificate: bool = True


def find_mosquitto() -> Path | None:
    """The mosquitto binary (PATH, then /usr/sbin where Debian puts it), or None."""
    found = shutil.which("mosquitto")
    if found:
        return Path(found)
    for candidate in (Path("/usr/sbin/mosquitto"), Path("/usr/local/sbin/mosquitto")):
        if candidate.exists():
            return candidate
    return None


_PR_SET_PDEATHSIG = 1
PID_FILE = "mosquitto.pid"


def _die_with_parent(parent: int) -> typing.Callable[[], None] | None:
    """A preexec function asking the kernel to SIGTERM the child when `parent` dies (Linux).

    The signal follows the *thread* that forked: start brokers from the main thread or
    another thread that lives as long as the process.
    """
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died between fork and prctl
            os._exit(1)

    return preexec


def _is_our_mosquitto(pid: int, config_file: Path) -> bool:
    """True when `pid` is a mosquitto running on `config_file` (checked through /proc)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return (bool(cmdline) and Path(os.fsdecode(cmdline[0])).name == "mosquitto"
            and os.fsencode(str(config_file)) in cmdline)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalBroker:
    """One Mosquitto process listening on 127.0.0.1:`port` (a free port when None).

    `password_file` (mosquitto_passwd format) turns anonymous access off; `acl_file`
    confines users to their topics; `tls` makes the listener TLS-only; `extra_config` is
    appended to the configuration (a bridge's `connection` section, sync.bridge).
    """

    def __init__(
        self,
        folder: Path | None = None,
        port: int | None = None,
        *,
        tls: BrokerTls | None = None,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        persistence: bool = True,
        extra_config: str = "",
    ) -> None:
        binary = find_mosquitto()
        if binary is None:
            raise BrokerError("mosquitto is not installed — install it (apt-get install mosquitto) "
                              "or set [sync].broker to a broker host")
        self.binary = binary
        self._own_folder = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="station-mosquitto-")) if folder is None else folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port() if port is None else port
        self.host = "127.0.0.1"
        self.tls = tls
        self.password_file = password_file
        self.acl_file = acl_file
        self.persistence = persistence
        self.extra_config = extra_config
        self.config_file = self.folder / "mosquitto.conf"
        self.log_file = self.folder / "mosquitto.log"
        self.pid_file = self.folder / PID_FILE
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """True while the mosquitto process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the running broker, if any."""
        return self._process.pid if self.running and self._process is not None else None

    def url(self) -> str:
        """`mqtt://127.0.0.1:<port>` (or `mqtts://` with TLS), for `station central --broker`."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def _write_config(self) -> None:
        lines = [
            "# Written by sync.broker for a local test/demo broker; not for production.",
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'false' if self.password_file else 'true'}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.folder}/",
            # Keep every queued QoS 1 message of a disconnected persistent session: the
            # default (1000) drops the rest silently, which is exactly what sync avoids.
            "max_queued_messages 0",
            "max_inflight_messages 0",
            "set_tcp_nodelay true",
            f"log_dest file {self.log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if os.name == "posix" and os.geteuid() == 0:
            # As root, mosquitto drops to the "mosquitto" user, who cannot write our folder.
            lines.append("user root")
        if self.password_file:
            lines.append(f"password_file {self.password_file}")
        if self.acl_file:
            lines.append(f"acl_file {self.acl_file}")
        if self.tls:
            lines += [
                f"cafile {self.tls.ca_file}",
                f"certfile {self.tls.cert_file}",
                f"keyfile {self.tls.key_file}",
                f"require_certificate {'true' if self.tls.require_certificate else 'false'}",
                "tls_version tlsv1.2",
            ]
        if self.extra_config:  # last: everything after a `connection` line belongs to that bridge
            lines.append(self.extra_config.rstrip("\n"))
        self.config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def start(self, timeout: float = 10.0) -> None:
        """Start mosquitto and wait until it accepts connections.

        Call it from the main thread or one that lives as long as the process: on Linux the
        broker is ended when the thread that started it ends (see `_die_with_parent`).
        """
        if self.running:
            return
        self._stop_leftover()
        self._write_config()
        logger.info("starting mosquitto on %s:%s (folder %s)", self.host, self.port, self.folder)
        self._process = subprocess.Popen(
            [str(self.binary), "-c", str(self.config_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # The preexec function only calls prctl and getppid (no locks, no allocation in
            # Python objects shared with other threads), which is safe after a fork.
            preexec_fn=_die_with_parent(os.getpid()),  # noqa: PLW1509
        )
        self.pid_file.write_text(f"{self._process.pid}\n", encoding="utf-8")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
                raise BrokerError(f"mosquitto exited at start (code {self._process.returncode}) on port "
                                  f"{self.port}: {err.strip() or log.strip()} — see {self.config_file}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout} s "
                          f"— see {self.log_file}")

    def _stop_leftover(self) -> None:
        """Stop a broker that a crashed process left running on this folder, if it is one."""
        try:
            pid = int(self.pid_file.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return
        if pid > 0 and _is_our_mosquitto(pid, self.config_file):
            logger.warning("stopping mosquitto pid %s left running in %s by a process that ended",
                           pid, self.folder)
            try:
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 5.0
                while time.monotonic() < deadline and _is_our_mosquitto(pid, self.config_file):
                    time.sleep(0.05)
                if _is_our_mosquitto(pid, self.config_file):
                    os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.pid_file.unlink(missing_ok=True)

    def stop(self, timeout: float = 10.0, *, kill: bool = False) -> None:
        """Stop mosquitto: SIGTERM (it saves its persistence file) or, with `kill`, SIGKILL."""
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            if kill:
                process.kill()
            else:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("mosquitto on port %s ignored SIGTERM for %s s; killing it",
                               self.port, timeout)
                process.kill()
                process.wait(timeout)
        if process.stderr:
            process.stderr.close()
        self.pid_file.unlink(missing_ok=True)
        logger.info("mosquitto on port %s stopped", self.port)

    def restart(self, down_s: float = 0.0) -> None:
        """Stop, stay down `down_s` seconds, start again on the same port."""
        self.stop()
        time.sleep(down_s)
        self.start()

    def close(self) -> None:
        """Stop and remove the folder when it was a temporary one."""
        self.stop()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# The one user of the demo line's local broker (`[sync] broker = "auto"`): the station and its local
# central log in as it, and nobody else of the PC can (its password is readable by the station's user only).
DEMO_USER = "station-demo"


def demo_credentials(folder: Path) -> tuple[str, str, Path]:
    """(user, password, mosquitto password file) of the local broker kept in `folder`: made at its
    first start (the password in `demo-password`, 0600), the same at every later one."""
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder / "demo-password"
    if not secret.is_file():
        fd = os.open(secret.with_suffix(".partial"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(24) + "\n")
        os.replace(secret.with_suffix(".partial"), secret)
    password = secret.read_text(encoding="utf-8").strip()
    passwd = folder / "passwd"
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    passwd.unlink(missing_ok=True)
    passwd.touch(mode=0o600)
    try:
        subprocess.run([tool, "-b", str(passwd), DEMO_USER, password], check=True, capture_output=True,
                       timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BrokerError(f"cannot write the local broker's password file with mosquitto_passwd ({exc}): "
                          "install mosquitto (apt-get install mosquitto)") from exc
    return DEMO_USER, password, passwd


def start_auto_broker(folder: Path) -> LocalBroker | None:
    """For [sync].broker = "auto": a local Mosquitto kept in `folder`, or None (with a logged
    reason) when mosquitto is not installed — verdicts then wait in the outbox."""
    if find_mosquitto() is None:
        logger.warning("sync: [sync].broker is \"auto\" but mosquitto is not installed "
                       "(apt-get install mosquitto); verdicts wait in the outbox")
        return None
    broker = LocalBroker(folder)
    broker.start()
    return broker
