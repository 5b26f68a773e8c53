"""Splitting NumPy work over threads: `team(n).run(job)` runs job(0..n-1) at once.

NumPy releases the GIL inside matrix products and element-wise loops, so
Python threads that each work on their own rows of the same arrays run on
separate cores. nncli splits a training step this way itself, with BLAS kept
to one thread: on the small matrices of these networks (a batch of 128 rows)
OpenBLAS's own two threads gained nothing on the *large* benchmark, while two
threads that each run the step on half of the batch took it from 2.16 to 1.41 s
an epoch, and ~1.25 s with the first layer's weight gradient in a second
hand-off (`Network.train_step`; benchmarks/RESULTS.md).

A team is a caller plus `size - 1` worker threads, each woken by a lock, so a
waiting thread never spins: with a busy loop holding the other core, two threads
took 2.80 s an epoch of *large* against 2.51 s on one (1.1x slower, not the 10x
that spinning BLAS threads can cost). Splitting has costs: a hand-off (~50 us to wake a thread on
this 2-vCPU VM), and the GIL, which both threads need between NumPy calls. So
work is only split where each part is big (see `worth_splitting`).

Imports the standard library only.
"""

from __future__ import annotations

import sys
import threading
from typing import Callable

# Work worth splitting, in floating-point operations (~0.3 ms on one core at ~100 GFLOP/s).
# Measured on two threads: a *regression* step (8 MFLOP) ran 2x slower when split, the hand-off
# and the GIL eating more than the saving; a *medium* step (72 MFLOP) ran 16% faster, a *large*
# one (411 MFLOP) 1.4-1.5x.
MIN_SPLIT_FLOPS = 30_000_000


class Team:
    """The calling thread plus `size - 1` daemon workers that run parts of one job at a time."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"a team has at least one thread, not {size}")
        self.size = size
        self._job: Callable[[int], None] | None = None
        self._go = [threading.Lock() for _ in range(size - 1)]
        self._done = [threading.Lock() for _ in range(size - 1)]
        self._errors: list[BaseException | None] = [None] * (size - 1)
        for k in range(size - 1):
            self._go[k].acquire()
            self._done[k].acquire()
            threading.Thread(target=self._work, args=(k,), name=f"nncli-team-{k + 1}", daemon=True).start()
        self._running = threading.Lock()  # one job at a time, whichever thread calls `run`

    def _work(self, k: int) -> None:
        while True:
            self._go[k].acquire()
            try:
                self._job(k + 1)  # type: ignore[misc]
            except BaseException as e:  # re-raised by `run` in the caller
                self._errors[k] = e
            self._done[k].release()

    def run(self, job: Callable[[int], None]) -> None:
        """Call job(i) for i in 0..size-1, part 0 on this thread, and return when all are done."""
        if self.size == 1:
            job(0)
            return
        with self._running:
            self._job = job
            for go in self._go:
                go.release()
            try:
                job(0)
            finally:  # always: the workers must be idle, and their errors collected, before the next job
                for done in self._done:
                    done.acquire()
                self._job = None
                errors = [e for e in self._errors if e is not None]
                self._errors = [None] * (self.size - 1)
            if errors:  # (an error of part 0 has priority, raised as the `finally` ends)
                raise errors[0]

    def bounds(self, n: int, part: int) -> tuple[int, int]:
        """[lo, hi) of part `part` when 0..n-1 is cut into `size` near-equal pieces."""
        return n * part // self.size, n * (part + 1) // self.size

    def worth_splitting(self, flops: float) -> bool:
        return self.size > 1 and flops >= MIN_SPLIT_FLOPS


_TEAMS: dict[int, Team] = {}


def team(size: int) -> Team:
    """The process's team of `size` threads (created on first use, then shared)."""
    t = _TEAMS.get(size)
    if t is None:
        t = _TEAMS[size] = Team(size)
        if size > 1:
            quick_gil_handoff()
    return t


def quick_gil_handoff() -> None:
    """For threads that all run NumPy: they hand the GIL to each other around every NumPy call, and
    with Python's default 5 ms switch interval a thread that wants it back can idle that long each time."""
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
