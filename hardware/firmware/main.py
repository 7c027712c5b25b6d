"""Boot file. On the board this file is /main.py and the firmware is the /conveyor package
(README.md: `mpremote cp`); MicroPython runs it after boot.py.

On a PC, `python -m hardware.firmware.main` runs the firmware on a pseudo-terminal with
the simulated belt and prints the port for the station (`station hw selftest --port`).
"""

import sys


def _package() -> str:
    # /main.py on the board sits beside the `conveyor` package; on a PC it is hardware.firmware.main.
    name = __name__.rpartition(".")[0]
    return name if name else "conveyor"


def board() -> None:
    """Boot on a MicroPython board: configuration, hardware layer, main loop."""
    pkg = _package()
    config = __import__(pkg + ".config", None, None, ["Config"]).Config()
    hal = __import__(pkg + ".hal", None, None, ["MachineHal"]).MachineHal(config)
    __import__(pkg + ".app", None, None, ["App"]).App(config, hal).run()


def pc() -> None:
    """Under CPython: the firmware on a pty with the simulated belt, until Ctrl-C."""
    import logging
    import signal
    import time

    from .simbelt import FirmwareRunner

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM closes the pty as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, _terminate)
    logging.basicConfig(level=logging.INFO)
    with FirmwareRunner() as runner:
        print(runner.path, flush=True)
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if sys.implementation.name == "micropython":
    board()
elif __name__ == "__main__":
    pc()
