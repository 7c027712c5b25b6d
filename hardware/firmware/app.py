"""The firmware's main loop: edges, then UART bytes, then timers, then bytes out."""

from . import config as cfg
from .hal import Hal
from .link import Link
from .tracker import Tracker


class App:
    """One boot of the controller: a boot id, the belt tracker and the link to the station."""

    def __init__(self, config: cfg.Config, hal: Hal) -> None:
        for problem in config.problems():
            # Announced anyway: the station refuses the HELLO and says why on its side too.
            hal.log("configuration: " + problem)
        self.hal = hal
        now = hal.ticks_ms()
        self.boot_id = hal.new_boot_id()
        self.tracker = Tracker(config, hal, self.boot_id, now)
        self.link = Link(config, self.boot_id, self.tracker, now, hal)
        self.tracker.link = self.link
        hal.set_led(False)
        self._flush()

    def step(self) -> None:
        """One pass of the loop; a board runs it every millisecond or so."""
        hal = self.hal
        now = hal.ticks_ms()
        # Edges first: a DIVERT read in this pass is judged against where the items are now.
        for source, index, active, at in hal.edges():
            self.tracker.on_edge(source, index, active, at, now)
        data = hal.uart_read()
        if data:
            self.link.feed(data, now)
        self.link.tick(now)
        self.tracker.tick(now)
        self._flush()

    def _flush(self) -> None:
        out = self.link.take_output()
        if out:
            self.hal.uart_write(out)

    def run(self) -> None:
        """Run until the HAL says stop (a board: forever)."""
        while self.hal.running():
            self.step()
            self.hal.idle(1)
