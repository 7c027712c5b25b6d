"""How late and how fast do IP-camera frames arrive? A local camera timed frame by frame.

    .venv/bin/python benchmarks/stream_latency.py [--seconds 10] [--size 1280x720] [--fps 25]
                    [--kinds mjpeg-plain,mjpeg,rtsp-tcp,rtsp-udp] [--decode-threads 1]

Each picture is made in this process and served: `mjpeg-plain` JPEG-encodes and sends it
at once over HTTP multipart (as a camera does); `mjpeg` and `rtsp-*` write it to Debian's
ffmpeg, which encodes and serves it (HTTP MJPEG: ffmpeg itself, which holds pictures back
for a frame period or two; RTSP: H.264 through the small RTSP server of the tests, which
forwards ffmpeg's RTP packets 3-6 ms after the picture was made).

The picture carries the time it was made, as two rows of black and white blocks (32 bits,
the second row inverted as a check), and the station's `Camera` with a `StreamSource`
reads the stream: latency = the frame's arrival in the capture thread minus the time
written in it, so it covers encoding, the network stack, FFmpeg's demuxing and decoding
and the grabber. fps = frames the `Camera` delivered per second. Both over --seconds
after the stream is live (one second of warm-up dropped). --decode-threads is
StreamSource's (1 by default; 0 = OpenCV's, one per core).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tests.vision.stream_servers import FFMPEG, MjpegServer, PlainMjpegServer, RtspServer  # noqa: E402
from vision.camera import Camera, StreamSource  # noqa: E402

BITS = 32
T0 = time.monotonic()


def stamp_maker(
    width: int, height: int
) -> tuple[Callable[[], np.ndarray], Callable[[np.ndarray], float | None]]:
    block = width // BITS
    rows = (slice(0, block), slice(block, 2 * block))
    base = np.zeros((height, width, 3), np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    base[..., 1] = ((xx + yy) % 256).astype(np.uint8)  # some picture for the encoder
    count = [0]

    def make() -> np.ndarray:
        count[0] += 1
        image = base.copy()
        image[2 * block:, :, 2] = (count[0] * 8) % 256  # moves, so every frame differs
        value = int((time.monotonic() - T0) * 10_000) & (2**BITS - 1)  # 0.1 ms units
        for bit in range(BITS):
            on = (value >> (BITS - 1 - bit)) & 1
            xs = slice(bit * block, (bit + 1) * block)
            image[rows[0], xs] = 255 if on else 0
            image[rows[1], xs] = 0 if on else 255
        return image

    def read(image: np.ndarray) -> float | None:
        value = 0
        for bit in range(BITS):
            x = bit * block + block // 2
            a = image[block // 2, x].mean() > 127
            b = image[block + block // 2, x].mean() > 127
            if a == b:
                return None  # the check row disagrees: not a readable stamp
            value = (value << 1) | int(a)
        return T0 + value / 10_000

    return make, read


def measure(kind: str, size: tuple[int, int], fps: int, seconds: float, threads: int) -> str:
    make, read = stamp_maker(*size)
    server: MjpegServer | PlainMjpegServer | RtspServer
    if kind == "mjpeg-plain":
        server = PlainMjpegServer(make, fps=fps).start()
        source = StreamSource(server.url(), decode_threads=threads)
    elif kind == "mjpeg":
        server = MjpegServer(size=size, fps=fps, frames=make).start()
        source = StreamSource(server.url(), decode_threads=threads)
    else:
        server = RtspServer(size=size, fps=fps, frames=make).start()
        source = StreamSource(server.url(), transport=kind.split("-")[1], open_timeout_s=10.0,
                              decode_threads=threads)
    camera = Camera(source, frozen_after_s=3.0, backoff_s=0.2, backoff_max_s=1.0)
    camera.start()
    try:
        first = camera.wait_frame(time.monotonic(), timeout=20.0)
        if first is None:
            return f"{kind:11} no frame in 20 s ({camera.health().detail})"
        time.sleep(1.0)
        latencies: list[float] = []
        unreadable = 0
        start, frames0 = time.monotonic(), camera.health().frames
        last = time.monotonic()
        while time.monotonic() - start < seconds:
            frame = camera.wait_frame(last + 1e-6, timeout=2.0)
            if frame is None:
                continue
            last = frame.t_capture
            made = read(frame.image)
            if made is None:
                unreadable += 1
                continue
            latencies.append((frame.t_capture - made) * 1000)
        elapsed = time.monotonic() - start
        delivered = camera.health().frames - frames0
        state = camera.state
    finally:
        camera.stop()
        server.kill()
    if not latencies:
        return f"{kind:11} no readable stamp ({unreadable} frames)"
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    return (
        f"{kind:11} {size[0]}x{size[1]}@{fps}: {delivered / elapsed:5.1f} fps, latency ms "
        f"median {statistics.median(latencies):6.1f}  p95 {p95:6.1f}  max {latencies[-1]:6.1f}  "
        f"({len(latencies)} frames timed, {unreadable} unreadable, camera {state.value})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--kinds", default="mjpeg-plain,mjpeg,rtsp-tcp,rtsp-udp")
    parser.add_argument("--decode-threads", type=int, default=1, help="0 = OpenCV's default, one per core")
    args = parser.parse_args()
    if FFMPEG is None:
        sys.exit("needs Debian's ffmpeg (apt install ffmpeg)")
    width, height = (int(v) for v in args.size.split("x"))
    for kind in args.kinds.split(","):
        print(measure(kind, (width, height), args.fps, args.seconds, args.decode_threads), flush=True)


if __name__ == "__main__":
    main()
