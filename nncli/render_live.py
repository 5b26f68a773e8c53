"""The live training screen: what `nncli fit` redraws in place on a terminal.

A header (data, model, optimizer), the epoch progress, the loss chart and the
current numbers, laid out again for the console's width at every frame, so a
resized window is followed. Frames are drawn from the training loop itself, only
after an epoch has changed something, at most about 8 a second and only while
drawing has taken under 2% of the time so far: between frames the loop pays for a
few appends and one clock read.

Imports rich, the standard library and nncli's render modules; never typer or numpy.
"""

from __future__ import annotations

import math
import time
from typing import Iterable

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.text import Text

from nncli.render_chart import LineChart, Series

MAX_RATE = 8.0  # frames a second
MAX_SHARE = 0.02  # of the wall time spent drawing
TRAIN_STYLE, VAL_STYLE = "cyan", "magenta"


def clock(seconds: float) -> str:
    """Elapsed time as m:ss or h:mm:ss."""
    s = int(seconds)
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def rate(per_second: float) -> str:
    """12, 950, 12.3k, 4.1M."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if per_second >= limit:
            return f"{per_second / limit:.1f}{suffix}"
    return f"{per_second:.0f}"


def loss_series(loss: list[float], val_loss: list[float]) -> list[Series]:
    """Training loss, and validation loss when any epoch has one."""
    series = [Series("train", loss, style=TRAIN_STYLE)]
    if any(not math.isnan(v) for v in val_loss):
        series.append(Series("validation", val_loss, style=VAL_STYLE))
    return series


class TrainingScreen:
    """The state of one run as a Rich renderable; `add` each epoch's stats.

    Parameters
    ----------
    header : list of Text
        Lines describing the data, the model and the optimizer.
    epochs : int
        Planned epochs.
    metric : str
        "acc" or "r2", the label of `EpochStats.metric`.
    """

    def __init__(self, header: list[Text], epochs: int, metric: str) -> None:
        self.header, self.epochs, self.metric = header, epochs, metric
        self.loss: list[float] = []
        self.val_loss: list[float] = []
        self.last = None
        self.samples = 0
        self.started = time.perf_counter()
        self.finished: float | None = None  # when the last epoch ended; the frame then drops the chart

    def add(self, stats) -> None:
        self.last = stats
        self.loss.append(stats.loss)
        self.val_loss.append(math.nan if stats.val_loss is None else stats.val_loss)
        self.samples += stats.samples

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # The text is laid out first: how many lines it wraps to at this width decides
        # how tall the chart can be in this window (its axes and legend take 4 more).
        unbounded = options.update(height=None)
        top = console.render_lines(Group(*self.header, *self._progress(options.max_width)), unbounded, pad=False,
                                   new_lines=True)
        bottom = console.render_lines(self._numbers(), unbounded, pad=False, new_lines=True)
        for line in top:
            yield from line
        if self.finished is None and self.loss:
            height = max(3, min(12, options.size.height - len(top) - len(bottom) - 5))
            yield LineChart(loss_series(self.loss, self.val_loss), height=height,
                            marker_x=self.last.best_epoch if self.last else None)
        for line in bottom:
            yield from line

    def _progress(self, width: int) -> list[Text]:
        """`epoch i/N ━━━━──── p%` across the width, then elapsed, ETA and throughput."""
        s = self.last
        done = s.epoch if s else 0
        now = self.finished if self.finished is not None else time.perf_counter()
        elapsed = now - self.started
        left, right = f"epoch {done}/{self.epochs} ", f" {100 * done / self.epochs:.0f}%"
        # Drawn here rather than with rich's ProgressBar in a table grid: a third of the frame's cost.
        bar = max(0, width - len(left) - len(right))
        filled = bar * done // self.epochs
        line = Text(left, no_wrap=True, overflow="crop")
        line.append("━" * filled, "green")
        line.append("─" * (bar - filled), "dim")  # dim and thinner, so it reads without colour too
        line.append(right)
        facts = [f"elapsed {clock(elapsed)}"]
        if s is not None and s.stopped:
            facts.append(f"stopped {'early' if s.stopped == 'early' else 'by interrupt'}")
        elif done and self.finished is None:
            facts.append(f"eta {clock(elapsed / done * (self.epochs - done))}")
        if elapsed > 0 and self.samples:
            facts.append(f"{rate(self.samples / elapsed)} samples/s")
        return [line, Text(" · ".join(facts), style="dim")]

    def _numbers(self) -> Text:
        s = self.last
        if s is None:
            return Text("waiting for the first epoch…", style="dim")
        text = Text()
        text.append(f"loss {s.loss:.4g}", TRAIN_STYLE)
        if s.val_loss is not None:
            text.append(f"  val loss {s.val_loss:.4g}", VAL_STYLE)
        m = "R²" if self.metric == "r2" else "acc"
        text.append(f"  {m} {s.metric:.4g}")
        if s.val_metric is not None:
            text.append(f"  val {m} {s.val_metric:.4g}")
        text.append(f"  best epoch {s.best_epoch}", "bold")
        text.append(f"  lr {s.lr:.3g}")
        return text


class Pacer:
    """When the next frame is due: at most MAX_RATE a second, and only while drawing has taken
    at most MAX_SHARE of the time since `start`, counting the frame about to be drawn
    (estimated by the last one). A short run therefore gets its first and last frames only."""

    def __init__(self, start: float) -> None:
        self.start, self.next = start, start
        self.spent = self.last_cost = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next and self.spent + self.last_cost <= MAX_SHARE * (now - self.start)

    def drawn(self, start: float, end: float) -> None:
        self.last_cost = end - start
        self.spent += self.last_cost
        self.next = end + 1.0 / MAX_RATE


def run_live(epochs: Iterable, screen: TrainingScreen, console: Console) -> None:
    """Iterate `epochs` (EpochStats), redrawing `screen` on `console` as they come.

    The final frame stays on screen without the chart (the summary redraws it); if
    training fails or a second Ctrl-C arrives, the last frame stays as it was.
    """
    live = Live(screen, console=console, auto_refresh=False, transient=False,
                redirect_stdout=False, redirect_stderr=False)
    start = time.perf_counter()
    pacer = Pacer(start)
    live.start(refresh=True)
    pacer.drawn(start, time.perf_counter())
    try:
        for stats in epochs:
            screen.add(stats)
            now = time.perf_counter()
            if pacer.due(now):
                live.refresh()
                pacer.drawn(now, time.perf_counter())
        screen.finished = time.perf_counter()
    finally:
        live.stop()  # draws the final frame once more and shows the cursor again
        if not console.is_terminal:
            console.line()  # Live ends its only frame with a newline on terminals alone
