"""Serial link benchmark over a pseudo-terminal: DIVERT -> ACK round trip and the highest
item rate the link sustains; the same round trip to a PLC over Modbus RTU and TCP.

    .venv/bin/python benchmarks/serial.py [--repeats 5] [--rates 25,50,100,200,400]

Round trip: the simulator runs in its own process (`station sim`, as a controller is its
own hardware); this process runs the real ConveyorLink over pyserial and answers every
item at the camera at once. Each run reports p50 / p99 of its DIVERT -> ACK times; the
table's last rows are the medians over runs and the percentiles of all samples pooled.

Modbus: the simulated PLC runs in its own process (`station sim --controller modbus`), RTU
over a pty (19200 baud settings: pymodbus paces its reads by the baud rate even on a pty)
or TCP on 127.0.0.1; this process runs the real ModbusLink. A command's time is from the
write of the DIVERT registers until the header read that shows ACK_SEQ echoed (the PLC
executes on the write here; a real PLC adds up to one scan).

Item rate: simulator, link and decision driver in one process (`run_simulation`), items
paced to each rate; a rate is "sustained" when every item is diverted as commanded (none
late, lost or misrouted). The pty has no baud limit, so the 115200-baud line budget is
printed beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named serial.py: keep its folder off sys.path so `import serial` is pyserial.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

BAUD = 115200


def _percentile(values: list[float], q: int) -> float:
    import statistics

    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _line_budget_items_s(baud: int = BAUD) -> float:
    """Items/s one direction of a `baud` 8N1 line carries (10 bits per byte), heartbeats aside."""
    from hardware.framing import encode_frame
    from hardware.messages import Ack, Divert, DivertedMsg, ItemAtCameraMsg, ItemEnteredMsg

    def size(message: object, seq: int = 1000) -> int:
        return len(encode_frame(message.TYPE, seq, message.payload()))  # type: ignore[attr-defined]

    ack = size(Ack(1000), 0)
    up = (size(ItemEnteredMsg(70000)) + size(ItemAtCameraMsg(70000, 700)) + size(DivertedMsg(70000, 2, 1))
          + ack)
    down = size(Divert(1, 70000, 2)) + 3 * ack
    return baud / 10 / max(up, down)


def _rtt_run(items: int, rate: float, seed: int, modbus: str | None = None) -> list[float]:
    """DIVERT -> ACK times (ms) against `station sim` in a child process; with `modbus` ("rtu" or
    "tcp"), DIVERT written -> ACK_SEQ read against `station sim --controller modbus`."""
    import subprocess
    import threading

    from hardware import events as ev
    from hardware.link import ConveyorLink, LinkSettings
    from hardware.modbus.driver import ModbusLink
    from hardware.modbus.settings import ModbusSettings

    station = Path(sys.executable).with_name("station")
    controller = ["--controller", "modbus", "--transport", modbus] if modbus else []
    proc = subprocess.Popen(
        [str(station), "sim", *controller, "--items", str(items), "--rate", str(rate), "--camera-pos", "0.1",
         "--divert-pos", "0.8", "--seed", str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        rtts: list[float] = []
        done = threading.Event()
        link: ConveyorLink | ModbusLink | None = None

        def on_event(event: ev.Event) -> None:
            if isinstance(event, ev.ItemAtCamera) and link is not None:
                link.divert(event.item_id, 1 + event.item_id % 4, event.boot_id)
            elif isinstance(event, ev.DivertAccepted) and event.rtt_ms is not None:
                rtts.append(event.rtt_ms)
            elif isinstance(event, ev.Diverted | ev.Lost) and event.item_id == items:
                done.set()

        if modbus:
            # The simulated PLC's pty is 8N1 (a pseudo-terminal takes no parity bit).
            settings = ModbusSettings(transport="tcp" if modbus == "tcp" else "rtu", port=port, parity="N")
            link = ModbusLink(settings, on_event)
        else:
            link = ConveyorLink(port, LinkSettings(), on_event)
        link.start()
        done.wait(timeout=items / rate + (30 if modbus else 15))
        link.stop()
        return rtts
    finally:
        proc.terminate()
        proc.wait(timeout=10)


_ECHO = """
import os, select, sys, tty
master, slave = os.openpty()
tty.setraw(slave)
print(os.ttyname(slave), flush=True)
while True:
    select.select([master], [], [])
    data = os.read(master, 4096)
    if data == b"q":
        break
    os.write(master, data)
"""


def _pty_echo_baseline(samples: int) -> list[float]:
    """Round trips (ms) of 16 bytes through a bare pty echo in another process: the machine's floor."""
    import subprocess
    import time

    import serial

    proc = subprocess.Popen([sys.executable, "-c", _ECHO], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = serial.Serial(proc.stdout.readline().strip(), timeout=1)
        out = []
        for _ in range(samples):
            start = time.perf_counter()
            port.write(b"0123456789abcdef")
            port.read(16)
            out.append((time.perf_counter() - start) * 1000)
            time.sleep(0.005)
        port.write(b"q")
        port.close()
        return out
    finally:
        proc.wait(timeout=5)


def main() -> None:
    import argparse
    import logging
    import statistics
    import time

    from hardware.simrun import run_simulation
    from hardware.simulator import SimSettings

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--items", type=int, default=400, help="items per round-trip run")
    parser.add_argument("--rates", default="25,50,100,200,400")
    parser.add_argument("--seconds", type=float, default=4.0, help="feeding time per rate run")
    parser.add_argument("--modbus-items", type=int, default=200, help="items per Modbus round-trip run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    print(f"DIVERT -> ACK round trip over a pty, simulator in its own process "
          f"({args.repeats} runs x {args.items} items at 50 items/s)")
    print(f"{'run':>6} {'samples':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    p50s, p99s, pooled = [], [], []
    for run in range(args.repeats):
        rtts = _rtt_run(args.items, 50.0, run)
        pooled += rtts
        p50s.append(statistics.median(rtts))
        p99s.append(_percentile(rtts, 99))
        print(f"{run + 1:>6} {len(rtts):>8} {p50s[-1]:>8.3f} {p99s[-1]:>8.3f} {max(rtts):>8.3f}")
    print(f"{'median':>6} {'':>8} {statistics.median(p50s):>8.3f} {statistics.median(p99s):>8.3f}")
    print(f"{'pooled':>6} {len(pooled):>8} {statistics.median(pooled):>8.3f} {_percentile(pooled, 99):>8.3f} "
          f"{max(pooled):>8.3f}   (target p99 <= 5 ms)")
    rows = [("protocol (pty)", statistics.median(p50s), statistics.median(p99s))]
    for transport, label in (("rtu", "modbus rtu (pty)"), ("tcp", "modbus tcp (127.0.0.1)")):
        m50, m99 = [], []
        for run in range(args.repeats):
            rtts = _rtt_run(args.modbus_items, 20.0, run, modbus=transport)
            if len(rtts) > 1:
                m50.append(statistics.median(rtts))
                m99.append(_percentile(rtts, 99))
        if m50:
            rows.append((label, statistics.median(m50), statistics.median(m99)))
    print()
    print(f"Command -> acknowledgement, medians of {args.repeats} runs (Modbus: {args.modbus_items} items "
          "at 20 items/s, poll 10 ms)")
    print(f"{'controller':<24} {'p50 ms':>8} {'p99 ms':>8}")
    for label, p50, p99 in rows:
        print(f"{label:<24} {p50:>8.3f} {p99:>8.3f}")
    print()
    echo = _pty_echo_baseline(1000)
    print(f"{'echo':>6} {len(echo):>8} {statistics.median(echo):>8.3f} {_percentile(echo, 99):>8.3f} "
          f"{max(echo):>8.3f}   (bare pty echo, no protocol: this machine's floor right now)")
    print()
    budget = _line_budget_items_s()
    print(f"Item rate, one process, fed for {args.seconds:.0f} s each "
          f"(115200-baud line budget ~{budget:.0f} items/s)")
    print(f"{'items/s':>8} {'items':>6} {'as cmd':>7} {'late':>5} {'lost':>5} {'misrt':>6} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'sustained':>9}")
    best = 0.0
    for rate in (float(r) for r in args.rates.split(",")):
        started = time.monotonic()
        belt = SimSettings(speed_m_s=2.0, camera_pos_m=0.1, divert_pos_m=0.8, confirm_delay_s=0.02,
                           rate_items_s=rate, items=int(rate * args.seconds), seed=7)
        s = run_simulation(belt)
        ok = s.diverted_as_commanded == s.items and s.misrouted == 0
        best = max(best, rate) if ok else best
        print(f"{rate:>8.0f} {s.items:>6} {s.diverted_as_commanded:>7} {s.rejections.get('TOO_LATE', 0):>5} "
              f"{s.lost:>5} {s.misrouted:>6} {s.rtt_ms_p50 or 0:>8.3f} {s.rtt_ms_p99 or 0:>8.3f} "
              f"{'yes' if ok else 'no':>9}   ({time.monotonic() - started:.0f} s)")
    print(f"highest sustained rate: {best:.0f} items/s of those tried (pty, this machine); "
          f"line budget at 115200 baud: {budget:.0f} items/s")


if __name__ == "__main__":
    main()
