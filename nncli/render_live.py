"""The live training screen: what `nncli fit` redraws in place on a terminal.

A header (data, model, optimizer), the epoch progress, the loss chart and the
current numbers, laid out again for the console's width at every frame, so a
resized window is followed. Frames are drawn from the training loop itself, only
after an epoch has changed something, at most about 8 a second and only while
drawing has taken under 2% of the time so far: between frames the loop pays for a
few appends and one clock read.

Imports rich, the standard library, nncli's render modules, `stop_signals` and `std_streams`; never typer
or numpy.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import signal
import time
from typing import Callable, Iterable, Iterator, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.text import Text

from nncli import stop_signals
from nncli.std_streams import is_terminal
from nncli.render_chart import LineChart, Series

MAX_RATE = 8.0  # frames a second
MAX_SHARE = 0.02  # of the wall time spent drawing
TRAIN_STYLE, VAL_STYLE = "cyan", "magenta"
CHART_ROWS, MIN_CHART_ROWS = 12, 3  # rows of plot area: at most, and at least (else no chart)
CHART_FRAME = 4  # the chart's lines around its plot area: the y label, the x axis, its tick labels, the legend
VIEW_ROWS, MIN_VIEW_ROWS = 20, 6  # rows of plot area of what the model predicts (a map's, or a chart's)
VIEW_AFTER = 1.0  # seconds into a run before it is drawn


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


def loss_series(loss: Sequence[float], val_loss: Sequence[float],
                xs: Sequence[float] | None = None) -> list[Series]:
    """Training loss, and validation loss when any epoch has one (x: epochs 1, 2, ... or `xs`)."""
    series = [Series("train", loss, xs=xs, style=TRAIN_STYLE)]
    if any(not math.isnan(v) for v in val_loss):
        series.append(Series("validation", val_loss, xs=xs, style=VAL_STYLE))
    return series


def _low(a: float, b: float) -> float:
    return min((v for v in (a, b) if math.isfinite(v)), default=math.nan)


def _high(a: float, b: float) -> float:
    return max((v for v in (a, b) if math.isfinite(v)), default=math.nan)


class History:
    """One value per epoch for the live chart, kept to at most about `cap` points.

    Up to `cap` epochs every value is kept. Then neighbouring epochs are merged into
    blocks, kept as their lowest and highest finite value at the block's first epoch,
    and the blocks double whenever the list fills up again. That is the min/max
    envelope the chart draws anyway, so the chart looks the same, while a frame costs
    the same at epoch 100 as at epoch 1,000,000. The newest, unfinished block is shown
    value by value.
    """

    def __init__(self, cap: int = 2048) -> None:
        if cap < 4 or cap % 4:
            raise ValueError(f"cap must be a positive multiple of 4, got {cap}")
        self.cap, self.block = cap, 1
        self.xs: list[int] = []  # finished blocks: one x and value per epoch, or two per block
        self.values: list[float] = []
        self.tail_start = 1  # first epoch of the unfinished block
        self.tail: list[float] = []

    def __len__(self) -> int:
        return self.tail_start - 1 + len(self.tail)

    def append(self, v: float) -> None:
        self.tail.append(v)
        if len(self.tail) < self.block:
            return
        if self.block == 1:
            self.xs.append(self.tail_start)
            self.values.append(v)
        else:
            x = self.tail_start
            finite = [t for t in self.tail if math.isfinite(t)]
            self.xs += [x, x]
            self.values += [min(finite), max(finite)] if finite else [math.nan, math.nan]
        self.tail_start += self.block
        self.tail = []
        if len(self.values) >= self.cap:
            self._merge()

    def _merge(self) -> None:
        """Merge neighbouring blocks: half as many points as `cap`, blocks 4 or 2 times as long."""
        v = self.values
        lows, highs = (v, v) if self.block == 1 else (v[0::2], v[1::2])
        factor = 4 if self.block == 1 else 2  # a single epoch is one point, a block two
        lows = [functools.reduce(_low, lows[i:i + factor]) for i in range(0, len(lows), factor)]
        highs = [functools.reduce(_high, highs[i:i + factor]) for i in range(0, len(highs), factor)]
        self.block *= factor
        self.values = [t for pair in zip(lows, highs) for t in pair]
        self.xs = [1 + k * self.block for k in range(len(lows)) for _ in (0, 1)]

    def view(self) -> tuple[list[float], list[int] | None]:
        """(values, xs) to draw; xs is None while every epoch is its own point."""
        if self.block == 1:
            return self.values + self.tail, None
        return self.values + self.tail, self.xs + list(range(self.tail_start, self.tail_start + len(self.tail)))


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
        self.loss, self.val_loss = History(), History()
        self.last = None
        self.samples = 0
        self.rows, self.n_rows = 0, 0  # the epoch under way: rows trained on, of n_rows
        self.started = time.perf_counter()
        self.finished: float | None = None  # when the last epoch ended; the frame then drops the chart
        # When training failed (a divergence, a second Ctrl-C), and why: the frame above the error then
        # says the run stopped, keeping its chart (a loss that blew up is worth seeing).
        self.failed: tuple[float, str] | None = None
        # What the network predicts now, for a model of one or two numeric features: view(rows) gives it at
        # most `rows` of plot high (render_view.prediction_view), drawn below the loss chart where the window has
        # room for both (the chart comes first)
        self.view: Callable[[int], object] | None = None
        self._header_lines: tuple[object, int, list] | None = None  # (console, width, the header's lines)

    def add(self, stats) -> None:
        self.last = stats
        self.samples += stats.samples
        self.rows = 0
        if stats.partial:  # cut short by Ctrl-C: a loss of its first batches would look like an epoch's
            return
        self.loss.append(stats.loss)
        self.val_loss.append(math.nan if stats.val_loss is None else stats.val_loss)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # The text is laid out first: how many lines it wraps to at this width decides how tall the
        # chart can be in this window. When the window is too short for everything, Rich would cut the
        # frame's bottom, the current numbers: the chart gives way first, then the header's lines.
        unbounded = options.update(height=None)

        def lines(text: Text) -> list:
            return console.render_lines(text, unbounded, pad=False, new_lines=True)

        bar, facts = self._progress(options.max_width)
        # The header's lines do not change in a run: laid out again only for another console or width (they
        # were a tenth of a frame of the chart).
        if self._header_lines is None or self._header_lines[:2] != (console, options.max_width):
            self._header_lines = (console, options.max_width, [lines(t) for t in self.header])
        header = self._header_lines[2]
        progress = [lines(bar), lines(facts)]
        bottom = lines(self._numbers(options.max_width))
        room = min(options.size.height, _window_lines(console)) - len(bottom)
        top = [*header, *progress]
        chart = 0
        if self.finished is None and len(self.loss):
            chart = min(CHART_ROWS, room - sum(map(len, top)) - CHART_FRAME)
            if chart < MIN_CHART_ROWS:
                chart = 0
        kept = list(range(len(top)))
        # Least useful first: the last header line (the optimizer) up to the first (the data),
        # then elapsed time and ETA; the progress bar goes last.
        for i in [*reversed(range(len(header))), len(top) - 1, len(top) - 2]:
            if sum(len(top[k]) for k in kept) <= room:
                break
            kept.remove(i)
        for k in kept:
            for line in top[k]:
                yield from line
        if chart:
            (loss, xs), (val_loss, _) = self.loss.view(), self.val_loss.view()
            yield LineChart(loss_series(loss, val_loss, xs), height=chart,
                            marker_x=self.last.best_epoch if self.last else None)
            # (the rows left for the view's plot: less the chart's frame, and the view's own, as tall)
            left = room - sum(len(top[k]) for k in kept) - chart - CHART_FRAME - CHART_FRAME
            # Not in a run's first second: a map's frame costs ~7 ms, 3% of a run of a quarter second
            # (the pacer learns a frame's cost from the last one, and the first with a map is dearer)
            if self.view is not None and left >= MIN_VIEW_ROWS and time.perf_counter() - self.started >= VIEW_AFTER:
                view = self.view(min(left, VIEW_ROWS))
                if view is not None:
                    yield view
        for line in bottom:
            yield from line

    def _progress(self, width: int) -> list[Text]:
        """`epoch i/N ━━━━──── p%` across the width, then elapsed, ETA and throughput."""
        s = self.last
        done = (s.epoch - s.partial) if s else 0  # whole epochs
        now = self.finished if self.finished is not None else self.failed[0] if self.failed else time.perf_counter()
        elapsed = now - self.started
        under_way = self.rows / self.n_rows if self.n_rows and not (s and s.stopped) else 0.0
        fraction = min(1.0, (done + under_way) / self.epochs)
        left, right = f"epoch {done}/{self.epochs} ", f" {100 * fraction:.0f}%"
        # Drawn here rather than with rich's ProgressBar in a table grid: a third of the frame's cost.
        bar = max(0, width - len(left) - len(right))
        filled = int(bar * fraction)
        line = Text(left, no_wrap=True, overflow="crop")
        line.append("━" * filled, "green")
        line.append("─" * (bar - filled), "dim")  # dim and thinner, so it reads without colour too
        line.append(right)
        facts = [f"elapsed {clock(elapsed)}"]
        if self.failed:  # (in the epoch after the last whole one: "diverged at epoch 12" above epoch 11's numbers)
            facts.append(f"stopped {self.failed[1]} in epoch {done + 1}")
        elif s is not None and s.stopped:
            facts.append("stopped early" if s.stopped == "early" else f"stopped {_by(_SIGNAL_OF.get(s.stopped))}")
        elif done + under_way and self.finished is None:
            facts.append(f"eta {clock(elapsed / (done + under_way) * (self.epochs - done - under_way))}")
        samples = self.samples + (self.rows if self.finished is None else 0)
        if elapsed > 0 and samples:
            facts.append(f"{rate(samples / elapsed)} samples/s")
        return [line, _lines_of([(f, "") for f in facts], " · ", width, style="dim")]

    def _numbers(self, width: int) -> Text:
        s = self.last
        if s is None:
            if self.failed:
                done = f" after {100 * self.rows / self.n_rows:.0f}% of its rows" if self.n_rows else ""
                return Text(f"stopped in the first epoch{done}", style="dim")
            under_way = f" ({100 * self.rows / self.n_rows:.0f}% of its rows)" if self.n_rows else ""
            return Text(f"waiting for the first epoch…{under_way}", style="dim")
        pieces: list[tuple[str, str]] = []
        # An epoch cut short by Ctrl-C has the training loss and metric of its first batches only:
        # not shown. Its validation numbers are whole (the weights as they are).
        if s.partial:
            pieces.append((f"epoch {s.epoch} cut short", "bold"))
        else:
            pieces.append((f"loss {s.loss:.4g}", TRAIN_STYLE))
        if s.val_loss is not None:
            pieces.append((f"val loss {s.val_loss:.4g}", VAL_STYLE))
        m = "R²" if self.metric == "r2" else "acc"
        if not s.partial:
            pieces.append((f"{m} {s.metric:.4g}", ""))
        if s.val_metric is not None:
            pieces.append((f"val {m} {s.val_metric:.4g}", ""))
        if s.best_epoch:  # 0: no whole epoch yet
            pieces.append((f"best epoch {s.best_epoch}", "bold"))
        pieces.append((f"lr {s.lr:.3g}", ""))
        return _lines_of(pieces, "  ", width)


def _lines_of(pieces: list[tuple[str, str]], sep: str, width: int, style: str = "") -> Text:
    """(text, style) pieces joined by `sep`, a line break between two where the next would not fit
    the width: a label stays beside its value (Rich would wrap `val loss` from its number)."""
    text = Text(style=style)
    used = 0
    for i, (piece, piece_style) in enumerate(pieces):
        if i:
            if used + len(sep) + cell_len(piece) > width:
                text.append("\n")
                used = 0
            else:
                text.append(sep)
                used += len(sep)
        text.append(piece, piece_style)
        used += cell_len(piece)
    return text


def _window_lines(console: Console) -> int | float:
    """The lines of the terminal window the console writes to, where it can tell (else no limit): an
    exported LINES, which Rich takes for the height, is not updated as the window changes, and a frame
    taller than the window scrolls a copy of itself into the scrollback at every redraw."""
    try:
        return os.get_terminal_size(console.file.fileno()).lines or math.inf
    except (AttributeError, ValueError, OSError):  # (not a terminal, a closed or stand-in stream)
        return math.inf


def fits(console: Console) -> bool:
    """Whether the console's lines fit the terminal it writes to, which is at least `render.MIN_WIDTH`
    columns wide. A frame wider than the window wraps, and Live, which moves the cursor up by the
    frame's own line count to redraw it, then leaves copies of it behind: in a window under
    MIN_WIDTH columns (the narrowest the console draws when it starts), or with COLUMNS wider than
    the window (exported, it is not updated as the window changes). A console that follows the
    window would draw a frame narrowed after it started a letter a line."""
    from nncli.render import MIN_WIDTH

    try:
        columns = os.get_terminal_size(console.file.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return True
    return columns == 0 or columns >= max(console.width, MIN_WIDTH)  # (0: a terminal that does not know its size)


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


@contextlib.contextmanager
def _whole_frame() -> Iterator[None]:
    """Hold the stop signals while a frame is written; one that came is delivered at the end. Python
    drops the rest of a large write to stderr when a signal's handler runs after part of it: a map's
    frame (~28 KB) was cut, and the next redraw, climbing the whole frame's height, erased the lines
    above the screen (the command line). Main thread only, where frames are drawn (a signal the kernel
    hands another thread, a team's, interrupts no write of it)."""
    if not hasattr(signal, "pthread_sigmask"):  # (Windows)
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals.STOPS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _keys_unechoed(stream: object) -> Callable[..., None]:
    """Stop the terminal the screen is drawn on (`stream`) from echoing keys typed while it is drawn, and
    return what turns the echo back on. An echoed key (a Return above all) moves the cursor under
    Live, which then redraws each frame below a copy of the last one. (The terminal's, not stdin's:
    `fit -` reads a pipe.) Only a process in the terminal's foreground changes it: from the background,
    changing it would stop the process (SIGTTOU), and a job put in the background meanwhile (Ctrl-Z,
    `bg`) leaves it to the shell, which keeps its own settings for itself. Ctrl-C still interrupts,
    and the keys typed still reach the shell afterwards; meanwhile it no longer discards output the
    terminal has not shown yet (NOFLSH), nor the keys typed, which a run stopped by a signal discards
    when it ends (`restore(stopped=True)`), as the terminal's Ctrl-C would have."""
    try:
        import termios
    except ImportError:  # (not a POSIX system)
        return lambda stopped=False: None

    def in_front(fd: int) -> bool:
        return os.tcgetpgrp(fd) == os.getpgrp()

    def set_modes(fd: int, modes: list) -> None:
        # SIGTTOU held: put in the background between `in_front` and here, the call goes through, not
        # stopping the process
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
        try:
            termios.tcsetattr(fd, termios.TCSANOW, modes)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        if not os.isatty(fd) or not in_front(fd):
            return lambda stopped=False: None
        saved = termios.tcgetattr(fd)
        quiet = list(saved)
        quiet[3] &= ~termios.ECHO  # (the local modes)
        # and Ctrl-C no longer discards output the terminal has not shown yet: the frame under way
        # arrives whole, and the redraws after it climb as far as it went
        quiet[3] |= termios.NOFLSH
        set_modes(fd, quiet)
    except (AttributeError, ValueError, OSError, termios.error):  # (a closed stream, a stand-in)
        return lambda stopped=False: None

    def restore(stopped: bool = False) -> None:
        try:
            if in_front(fd):
                set_modes(fd, saved)
                if stopped:  # (what a Ctrl-C would have discarded but for NOFLSH: keys typed unseen, not for
                    termios.tcflush(fd, termios.TCIFLUSH)  # the shell to run once the run ends)
        except (OSError, termios.error):
            pass
    return restore


_SIGNAL_OF = {word: signum for signum, word in stop_signals.STOPS.items()}  # "terminated": SIGTERM


def _by(signum: int | None) -> str:
    """What stopped training, for the frame: "by interrupt" (Ctrl-C), "by SIGTERM", "by an error"."""
    if signum is None:
        return "by an error"
    return "by interrupt" if signum == signal.SIGINT else f"by {signal.Signals(signum).name}"


def _failure(e: BaseException) -> tuple[float, str]:
    """`TrainingScreen.failed` for training ended by this exception."""
    if isinstance(e, KeyboardInterrupt):
        return time.perf_counter(), _by(signal.SIGINT)
    return time.perf_counter(), _by(getattr(e, "signum", None))  # (`stop_signals.Terminated`: SIGTERM, SIGHUP)


def run_live(epochs: Iterable, screen: TrainingScreen, console: Console) -> None:
    """Iterate `epochs` (EpochStats), redrawing `screen` on `console` as they come.

    The final frame stays on screen without the chart (the summary redraws it); if
    training fails or a second Ctrl-C arrives, the last frame keeps its chart and says it stopped.
    """
    if console.is_terminal and not is_terminal(console.file):
        # FORCE_COLOR (or TTY_COMPATIBLE) makes Rich take a file for a terminal: Live would write every
        # frame into it, with the escape codes that redraw them. The last frame only, as off a terminal.
        try:
            for stats in epochs:
                screen.add(stats)
            screen.finished = time.perf_counter()
        except BaseException as e:
            screen.failed = _failure(e)
            raise
        finally:
            with _whole_frame():
                console.print(screen)
        return
    live = Live(screen, console=console, auto_refresh=False, transient=False,
                redirect_stdout=False, redirect_stderr=False)
    start = time.perf_counter()
    pacer = Pacer(start)

    def under_way(rows: int, n: int) -> None:  # an epoch's progress (`fit_iter`): long epochs move too
        screen.rows, screen.n_rows = rows, n
        now = time.perf_counter()
        if pacer.due(now) and fits(console):
            with _whole_frame():
                live.refresh()
            pacer.drawn(now, time.perf_counter())

    if hasattr(epochs, "progress"):
        epochs.progress = under_way  # type: ignore[attr-defined]
    echo_back = _keys_unechoed(console.file)
    try:
        _draw(live, epochs, screen, console, pacer, start)
    finally:
        last = screen.last
        echo_back(stopped=screen.failed is not None or bool(last and last.stopped and last.stopped != "early"))


def _draw(live: Live, epochs: Iterable, screen: TrainingScreen, console: Console, pacer: Pacer, start: float) -> None:
    """`run_live`'s frames."""
    with _whole_frame():
        live.start(refresh=True)
    pacer.drawn(start, time.perf_counter())
    try:
        for stats in epochs:
            screen.add(stats)
            now = time.perf_counter()
            if pacer.due(now) and fits(console):  # (a window made too narrow: the last frame is drawn at the end)
                with _whole_frame():
                    live.refresh()
                pacer.drawn(now, time.perf_counter())
        screen.finished = time.perf_counter()
    except BaseException as e:
        screen.failed = _failure(e)
        raise
    finally:
        with _whole_frame():
            live.stop()  # draws the final frame once more and shows the cursor again
        if not console.is_terminal:
            console.line()  # Live ends its only frame with a newline on terminals alone
