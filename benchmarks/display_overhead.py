"""What the live training screen costs: training time with it drawing vs without any display.

    python benchmarks/display_overhead.py
    python benchmarks/display_overhead.py --rows 10000 --hidden 32,32 --epochs 20 --reps 7

A small, fast model (moons, 2-32-32-1, batch 32: a few milliseconds an epoch, so
drawing has the least time to hide in) is trained --reps times each way, the two
ways alternating so the machine's drift hits both alike. "live" draws the real
screen through `render_live.run_live` onto a terminal-like Rich console writing to
/dev/null (every frame is rendered and written out in full, only nobody sees it);
"none" just iterates the epochs. Reports the median wall time of each, the
overhead in percent of the median (target: under 3%), and the frames drawn. Moons has two
features: from a run's second second on, in a console of 33 lines or more (the default is 100 x 50),
each frame draws the map of what the network predicts below the loss chart, as `fit` does; the
default 20 epochs (a quarter second) draw none of it, `--epochs 200` does. On a
busy machine the medians drift; the median of the back-to-back pairs' overheads
and the ratio of the minima are printed too, and the time spent drawing measured
directly (inside rich's Live.refresh), as steadier estimates.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--hidden", default="32,32")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--reps", type=int, default=7, help="repetitions of each way (at least 5)")
    p.add_argument("--width", type=int, default=100, help="console columns for the screen")
    p.add_argument("--height", type=int, default=50, help="console lines for the screen (from 33 the map is drawn "
                   "below the chart, full at 41)")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy as np
    from rich.console import Console

    from nncli import render, render_live, render_view, workflow
    from nncli.core.datagen import moons
    from nncli.core.training import TrainConfig
    from nncli.csv_write import write_columns

    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "moons.csv")
        write_columns(csv, moons(np.random.default_rng(0), args.rows)[0])
        data = workflow.load_training_data(csv, workflow.DataOptions(), "auto", val_split=0.1,
                                           rng=np.random.default_rng(1))
    mopts = workflow.ModelOptions(hidden=tuple(int(h) for h in args.hidden.split(",")))
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size)
    frames, drawing = [], []
    devnull = open(os.devnull, "w")
    # Time spent inside Live.refresh (which start and stop call too): the drawing itself,
    # measured directly, so it stays readable when a busy machine makes the totals drift.
    from rich.live import Live

    refresh, spent = Live.refresh, [0.0]

    def timed_refresh(self) -> None:
        t = time.perf_counter()
        refresh(self)
        spent[0] += time.perf_counter() - t

    Live.refresh = timed_refresh

    def train(display: bool) -> float:
        run = workflow.Training(data, mopts, config, seed=0, dtype="float32")
        # fit makes its console anyway (for the column table), so making one is no display cost.
        sink = CountingSink(devnull)
        console = Console(file=sink, force_terminal=True, color_system="truecolor", width=args.width,
                          height=args.height)
        start = time.perf_counter()
        if display:
            spent[0] = 0.0
            screen = render_live.TrainingScreen(render.training_header(run, data), args.epochs, "acc")
            screen.view = render_view.live_view(run, data)  # (as fit draws it: the map below the chart, given room)
            render_live.run_live(run, screen, console)
            drawing.append(spent[0])
        else:
            for _ in run:
                pass
        elapsed = time.perf_counter() - start
        if display:
            frames.append(sink.frames)
        return elapsed

    train(False), train(True)  # warm-up: imports, caches, first allocations
    frames.clear(), drawing.clear()
    times: dict[str, list[float]] = {"none": [], "live": []}
    for _ in range(max(5, args.reps)):
        times["none"].append(train(False))
        times["live"].append(train(True))
    none, live = statistics.median(times["none"]), statistics.median(times["live"])
    print(f"moons {args.rows:,} rows, {data.X.shape[1]}-{args.hidden.replace(',', '-')}-1, batch {args.batch_size}, "
          f"{args.epochs} epochs, {len(times['none'])} repetitions each, console {args.width}x{args.height}")
    print(f"no display   median {none:.3f}s  (min {min(times['none']):.3f}s)")
    print(f"live screen  median {live:.3f}s  (min {min(times['live']):.3f}s), "
          f"{statistics.median(frames):.0f} frames per run")
    print(f"drawing      median {1000 * statistics.median(drawing):.1f} ms per run inside Live.refresh "
          f"= {100 * statistics.median(drawing) / none:.2f}% of the median time without display; "
          f"{1000 * statistics.median(d / f for d, f in zip(drawing, frames)):.1f} ms a frame")
    paired = statistics.median(100 * (b - a) / a for a, b in zip(times["none"], times["live"]))
    print(f"overhead     {100 * (live - none) / none:+.2f}% of the median (target < 3%); "
          f"{paired:+.2f}% median of the back-to-back pairs; {100 * (min(times['live']) / min(times['none']) - 1):+.2f}% "
          "of the minimum")


class CountingSink:
    """/dev/null that counts the frames written: Rich writes each with one call."""

    def __init__(self, devnull) -> None:
        self.devnull, self.frames = devnull, 0

    def write(self, text: str) -> int:
        self.frames += "epoch " in text
        return self.devnull.write(text)

    def flush(self) -> None:
        self.devnull.flush()

    def isatty(self) -> bool:
        # A terminal, as far as `run_live` asks: else it writes the last frame only, as into a file (since
        # FORCE_COLOR's fix, this script had measured one frame a run)
        return True


if __name__ == "__main__":
    main()
