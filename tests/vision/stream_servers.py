"""Local IP cameras for the stream tests: Debian's ffmpeg serving a generated test pattern.

- `MjpegServer`: ffmpeg itself serves HTTP MJPEG (`-f mpjpeg -listen 1`), one viewer.
- `PlainMjpegServer`: HTTP MJPEG written here, each picture JPEG-encoded and sent the
  moment it is made, as a camera does (ffmpeg's own server holds pictures back for one
  or two frame periods, which a latency measurement would take for the reader's).
- `RtspServer`: ffmpeg cannot serve RTSP to a player (its `-rtsp_flags listen` only takes
  a stream *pushed* to it), so a small RTSP server here answers OPTIONS / DESCRIBE / SETUP /
  PLAY and forwards the RTP packets ffmpeg sends it (H.264, as cameras send) to each
  viewer, interleaved on the RTSP connection (TCP) or to the viewer's UDP ports.

Both can be killed and started again on the same port, as a camera that loses power.
The pictures come either from ffmpeg's `testsrc` or, for latency measurements, from
`frames` written to ffmpeg's standard input.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

FFMPEG = shutil.which("ffmpeg")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nobody listens on right now."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Picture:
    """Where ffmpeg's pictures come from: its test pattern, or frames we write to its stdin."""

    def __init__(
        self,
        size: tuple[int, int],
        fps: int,
        frames: Callable[[], np.ndarray] | None,
    ) -> None:
        self.size, self.fps, self.frames = size, fps, frames
        self._feeder: threading.Thread | None = None

    def input_args(self) -> list[str]:
        w, h = self.size
        if self.frames is None:
            return ["-nostdin", "-re", "-f", "lavfi", "-i", f"testsrc=size={w}x{h}:rate={self.fps}"]
        # passthrough: each frame goes out when it comes in, not held to time the next one
        return ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", str(self.fps), "-i", "-",
                "-fps_mode", "passthrough"]

    def feed(self, proc: subprocess.Popen[bytes]) -> None:
        """Write a fresh frame every 1/fps to ffmpeg (the frame made when it is written)."""
        if self.frames is None:
            return
        make = self.frames

        def run() -> None:
            assert proc.stdin is not None
            period = 1.0 / self.fps
            next_t = time.monotonic()
            with contextlib.suppress(OSError, ValueError):
                while proc.poll() is None:
                    next_t += period
                    delay = next_t - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    proc.stdin.write(make().tobytes())
                    proc.stdin.flush()

        self._feeder = threading.Thread(target=run, daemon=True)
        self._feeder.start()


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.kill()
    proc.wait(5)


class MjpegServer:
    """`http://127.0.0.1:PORT/cam.mjpg`, served by ffmpeg to one viewer at a time."""

    def __init__(
        self,
        port: int | None = None,
        size: tuple[int, int] = (320, 240),
        fps: int = 15,
        frames: Callable[[], np.ndarray] | None = None,
    ) -> None:
        assert FFMPEG is not None
        self.port = port or free_port()
        self.picture = _Picture(size, fps, frames)
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, userinfo: str = "", query: str = "") -> str:
        return f"http://{userinfo}127.0.0.1:{self.port}/cam.mjpg{query}"

    def start(self) -> MjpegServer:
        assert FFMPEG is not None
        self.proc = subprocess.Popen(
            [FFMPEG, "-hide_banner", "-loglevel", "error", *self.picture.input_args(),
             "-c:v", "mjpeg", "-q:v", "5", "-pix_fmt", "yuvj420p",
             # every picture written to the socket at once, as a camera does
             "-flush_packets", "1", "-f", "mpjpeg", "-listen", "1", self.url()],
            stdin=subprocess.PIPE if self.picture.frames is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.picture.feed(self.proc)
        return self

    def kill(self) -> None:
        _stop(self.proc)

    def pause(self) -> None:
        """Freeze the server: the connection stays open, nothing more comes (a dead network)."""
        assert self.proc is not None
        self.proc.send_signal(19)  # SIGSTOP

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(18)  # SIGCONT


class PlainMjpegServer:
    """`http://127.0.0.1:PORT/cam.mjpg`: multipart JPEG with Content-Length, one viewer at a time."""

    def __init__(self, frames: Callable[[], np.ndarray], fps: int = 15, port: int | None = None) -> None:
        self.frames, self.fps = frames, fps
        self.port = port or free_port()
        self._listener: socket.socket | None = None
        self._closing = threading.Event()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cam.mjpg"

    def start(self) -> PlainMjpegServer:
        self._closing.clear()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(1)
        self._listener = listener
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def kill(self) -> None:
        self._closing.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()

    def _serve(self) -> None:
        import cv2

        assert self._listener is not None
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)  # the GET
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=frame\r\n\r\n")
            next_t = time.monotonic()
            while not self._closing.is_set():
                next_t += 1.0 / self.fps
                delay = next_t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                jpeg = cv2.imencode(".jpg", self.frames())[1].tobytes()
                head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                conn.sendall(head.encode() + jpeg + b"\r\n")


class RtspServer:
    """`rtsp://127.0.0.1:PORT/cam`: H.264 from ffmpeg, forwarded to every viewer that PLAYs."""

    def __init__(
        self,
        port: int | None = None,
        size: tuple[int, int] = (320, 240),
        fps: int = 15,
        frames: Callable[[], np.ndarray] | None = None,
    ) -> None:
        assert FFMPEG is not None
        self.port = port or free_port()
        self.picture = _Picture(size, fps, frames)
        self.proc: subprocess.Popen[bytes] | None = None
        self.transports: list[str] = []  # the Transport header of every SETUP, for the tests
        self._sdp = ""
        self._listener: socket.socket | None = None
        self._rtp_in: socket.socket | None = None
        self._rtcp_in: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._viewers: list[Callable[[bytes], None]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._tmp = Path(tempfile.mkdtemp(prefix="rtsp-"))

    def url(self, userinfo: str = "") -> str:
        return f"rtsp://{userinfo}127.0.0.1:{self.port}/cam"

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> RtspServer:
        assert FFMPEG is not None
        self._closing.clear()
        self._rtp_in = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._rtp_in.bind(("127.0.0.1", 0))
        rtp_port = self._rtp_in.getsockname()[1]
        # ffmpeg sends its RTCP reports beside: a bound port takes them (and drops them)
        # instead of answering "port unreachable", which ffmpeg would take for an error.
        self._rtcp_in = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._rtcp_in.bind(("127.0.0.1", 0))
        rtcp_port = self._rtcp_in.getsockname()[1]
        sdp_file = self._tmp / "cam.sdp"
        sdp_file.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [FFMPEG, "-hide_banner", "-loglevel", "error", *self.picture.input_args(),
             "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
             "-g", str(self.picture.fps), "-pix_fmt", "yuv420p",
             # SPS/PPS in the SDP and again before every key frame, as cameras send them
             "-flags", "+global_header", "-x264-params", "repeat-headers=1",
             "-f", "rtp", "-sdp_file", str(sdp_file),
             f"rtp://127.0.0.1:{rtp_port}?rtcpport={rtcp_port}&pkt_size=1200"],
            stdin=subprocess.PIPE if self.picture.frames is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.picture.feed(self.proc)
        deadline = time.monotonic() + 10
        while not sdp_file.is_file() or "m=video" not in sdp_file.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("ffmpeg wrote no SDP")
            time.sleep(0.05)
        self._sdp = self._rtsp_sdp(sdp_file.read_text())
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(4)
        self._listener = listener
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._forward, daemon=True).start()
        return self

    def kill(self) -> None:
        """The camera loses power: every connection and the listening port close."""
        self._closing.set()
        _stop(self.proc)
        with self._lock:
            conns, self._conns = self._conns, []
        for sock in (self._listener, self._rtp_in, self._rtcp_in, *conns):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        with self._lock:
            self._viewers.clear()

    @staticmethod
    def _rtsp_sdp(sdp: str) -> str:
        # ffmpeg writes the SDP of a plain RTP send; a player over RTSP needs port 0 and a
        # control URL for its SETUP.
        lines = [ln for ln in sdp.splitlines() if ln.strip() and not ln.startswith("SDP:")]
        out: list[str] = []
        for line in lines:
            if line.startswith("m=video"):
                out.append(re.sub(r"^m=video \d+", "m=video 0", line))
                out.append("a=control:track0")
                continue
            out.append(line)
        return "\r\n".join(out) + "\r\n"

    # -- RTP in, to every viewer ------------------------------------------------------------
    def _forward(self) -> None:
        assert self._rtp_in is not None
        rtp_in = self._rtp_in
        while not self._closing.is_set():
            try:
                packet = rtp_in.recv(65536)
            except OSError:
                return
            with self._lock:
                viewers = list(self._viewers)
            for send in viewers:
                try:
                    send(packet)
                except OSError:
                    with self._lock:
                        if send in self._viewers:
                            self._viewers.remove(send)

    # -- RTSP ---------------------------------------------------------------------------
    def _accept(self) -> None:
        assert self._listener is not None
        listener = self._listener
        while not self._closing.is_set():
            try:
                conn, peer = listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn, peer[0]), daemon=True).start()

    def _serve(self, conn: socket.socket, peer: str) -> None:
        send_lock = threading.Lock()
        udp: socket.socket | None = None
        pending: Callable[[bytes], None] | None = None
        try:
            for method, url, headers in _requests(conn, self._closing):
                cseq = headers.get("cseq", "0")
                extra: dict[str, str] = {}
                body = b""
                if method == "OPTIONS":
                    extra["Public"] = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"
                elif method == "DESCRIBE":
                    body = self._sdp.encode()
                    extra["Content-Type"] = "application/sdp"
                    extra["Content-Base"] = url.rstrip("/") + "/"
                elif method == "SETUP":
                    transport = headers.get("transport", "")
                    self.transports.append(transport)
                    if "interleaved" in transport or "TCP" in transport:
                        extra["Transport"] = "RTP/AVP/TCP;unicast;interleaved=0-1"

                        def send_tcp(packet: bytes) -> None:
                            with send_lock:
                                conn.sendall(b"$\x00" + len(packet).to_bytes(2, "big") + packet)

                        pending = send_tcp
                    else:
                        match = re.search(r"client_port=(\d+)", transport)
                        if match is None:
                            _reply(conn, "461 Unsupported Transport", cseq, {}, b"")
                            continue
                        client_port = int(match.group(1))
                        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        udp.bind(("127.0.0.1", 0))
                        server_port = udp.getsockname()[1]
                        extra["Transport"] = (
                            f"RTP/AVP;unicast;client_port={client_port}-{client_port + 1};"
                            f"server_port={server_port}-{server_port + 1}"
                        )
                        out = udp

                        def send_udp(
                            packet: bytes, out: socket.socket = out, port: int = client_port
                        ) -> None:
                            out.sendto(packet, (peer, port))

                        pending = send_udp
                    extra["Session"] = "12345678;timeout=60"
                elif method == "PLAY":
                    extra["Session"] = "12345678"
                    _reply(conn, "200 OK", cseq, extra, b"")
                    if pending is not None:
                        with self._lock:
                            self._viewers.append(pending)
                    continue
                _reply(conn, "200 OK", cseq, extra, body, send_lock)
        except OSError:
            pass
        finally:
            with self._lock:
                if pending is not None and pending in self._viewers:
                    self._viewers.remove(pending)
            if udp is not None:
                udp.close()
            conn.close()


def _reply(
    conn: socket.socket,
    status: str,
    cseq: str,
    headers: dict[str, str],
    body: bytes,
    lock: threading.Lock | None = None,
) -> None:
    lines = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", *(f"{k}: {v}" for k, v in headers.items())]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    with lock or contextlib.nullcontext():
        conn.sendall(data)


def _requests(conn: socket.socket, closing: threading.Event) -> Iterator[tuple[str, str, dict[str, str]]]:
    """RTSP requests from a viewer; interleaved RTCP reports ($-framed) are skipped."""
    buf = b""

    def need(n: int) -> bool:
        nonlocal buf
        while len(buf) < n:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            buf += chunk
        return True

    while not closing.is_set():
        if not need(1):
            return
        if buf[:1] == b"$":
            if not need(4):
                return
            size = int.from_bytes(buf[2:4], "big")
            if not need(4 + size):
                return
            buf = buf[4 + size:]
            continue
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        first, *rest = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in rest:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if length and not need(length):
            return
        buf = buf[length:]
        method, url, *_ = first.split(" ")
        yield method, url, headers
