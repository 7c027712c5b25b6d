"""Watching a training run: one progress bar over every step of every epoch, so its remaining time is
the whole run's, and `metrics.csv` + `curves.png` beside the model, written as each epoch ends (a run
stopped half-way still has the epochs it finished)."""

from __future__ import annotations

import csv
import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from tqdm import tqdm

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.csv"
CURVES_FILE = "curves.png"
# Drawing the curves costs a fraction of a second: during a run at most this often, always at the end.
PLOT_EVERY_SECONDS = 30.0
# How the validation columns read on the plot.
LABELS = {"val_auroc": "AUROC", "val_top1": "top-1", "val_verification_auroc": "verification AUROC"}


def _cell(value: float | None) -> str:
    """A CSV cell: empty when the epoch was not measured (validation runs only on some epochs)."""
    if value is None or math.isnan(value):
        return ""
    return f"{value:.6g}"


class TrainingLog:
    """The per-epoch record and progress bar of one run.

    `metrics` names the validation columns (e.g. ``("val_auroc",)``); `chance` is what a model guessing
    at random scores in the first of them (the one the export is judged on), drawn as a dotted line.
    Use as a context manager so the bar closes and the curves are drawn when the run ends or stops.
    """

    def __init__(self, folder: Path, metrics: Sequence[str], epochs: int, steps_per_epoch: int,
                 chance: float | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.csv_path = folder / METRICS_FILE
        self.curves_path = folder / CURVES_FILE
        self.metrics = tuple(metrics)
        self.columns = ("epoch", "loss", *self.metrics, "lr", "seconds")
        self.epochs = epochs
        self.chance = chance
        self.rows: list[dict[str, float | None]] = []
        with self.csv_path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow(self.columns)
        # One bar for the whole run: tqdm's remaining time is then the run's, not the epoch's.
        self.bar = tqdm(total=epochs * steps_per_epoch, desc="training", unit="step", dynamic_ncols=True)
        self._epoch_started = time.monotonic()
        self._last_plot = time.monotonic()

    def __enter__(self) -> TrainingLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def start_epoch(self) -> None:
        """Start the clock of an epoch (its `seconds` include its validation)."""
        self._epoch_started = time.monotonic()

    def step(self, epoch: int, mean_loss: float) -> None:
        """One optimisation step done in `epoch` (1-based), with the epoch's running mean loss."""
        self.bar.update(1)
        self.bar.set_postfix_str(f"epoch {epoch}/{self.epochs} loss {mean_loss:.3f}", refresh=False)

    def end_epoch(self, epoch: int, loss: float, metrics: Mapping[str, float | None], lr: float) -> None:
        """Append the epoch's row to metrics.csv (flushed now) and redraw the curves now and then."""
        row: dict[str, float | None] = {"epoch": float(epoch), "loss": loss,
                                        **{m: metrics.get(m) for m in self.metrics},
                                        "lr": lr, "seconds": time.monotonic() - self._epoch_started}
        self.rows.append(row)
        with self.csv_path.open("a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow([str(epoch), *(_cell(row[c]) for c in self.columns[1:])])
        if time.monotonic() - self._last_plot >= PLOT_EVERY_SECONDS:
            self.plot()

    def plot(self) -> None:
        """Draw curves.png: the training loss and the validation figure(s) per epoch."""
        self._last_plot = time.monotonic()
        if not self.rows:
            return
        try:
            plot_curves(self.curves_path, self.rows, self.metrics, self.chance)
        except (OSError, ValueError) as exc:  # a plot must never stop a training run
            logger.warning("%s not drawn: %s", self.curves_path, exc)

    def close(self) -> None:
        """Close the bar and draw the final curves."""
        self.bar.close()
        self.plot()


def plot_curves(path: Path, rows: Sequence[Mapping[str, float | None]], metrics: Sequence[str],
                chance: float | None) -> None:
    """Two panels: loss per epoch; each validation column per epoch (points where it was measured)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [int(r["epoch"] or 0) for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=100)
    left.plot(epochs, [r["loss"] for r in rows], marker="." if len(rows) < 30 else None)
    left.set_xlabel("epoch")
    left.set_ylabel("training loss")
    left.set_title("loss")
    for name in metrics:
        points = [(e, r[name]) for e, r in zip(epochs, rows, strict=True)
                  if r.get(name) is not None and not math.isnan(float(r[name] or 0.0))]
        if points:
            right.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3,
                       label=LABELS.get(name, name.replace("_", " ")))
    if chance is not None:
        # Chance is that of the first column, the one the export is judged on.
        first = LABELS.get(metrics[0], metrics[0]) if metrics else "validation"
        right.axhline(chance, color="k", linestyle=":", linewidth=0.8,
                      label=f"chance, {first} ({chance:.2f})")
    right.set_xlabel("epoch")
    right.set_ylabel("validation")
    # A little room below 0: a model scoring 0 must not vanish into the axis.
    right.set_ylim(-0.03, 1.03)
    right.set_title("validation")
    right.legend(loc="best", fontsize=8)
    for ax in (left, right):
        ax.set_xlim(0.5, max(epochs) + 0.5)
        # Epochs are whole: a short run gets one tick each (the locator falls back to fractions there).
        if len(epochs) <= 12:
            ax.set_xticks(epochs)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
