"""Learning-rate schedules: the learning rate for each epoch.

Epochs count from 0 here; E is the number of epochs, lr the base rate. With a warmup of W epochs
(below), e counts from the end of the warmup and E is the epochs after it.

- constant:     lr
- step:         lr * decay ** (e // step)                 (decay 0.5, step 10)
- exponential:  lr * decay ** e                           (decay 0.01 ** (1/(E-1)): lr/100 in the last epoch)
- cosine:       lr * (1 + cos(pi * e / E)) / 2                (toward 0, which epoch E would reach; as
                PyTorch's CosineAnnealingLR with T_max = E)
- plateau:      lr, multiplied by decay (0.5) after `step` (5) epochs without a
                new best monitored loss (validation loss, else training loss + L2 penalty)
- onecycle:     from lr/25 up to lr over the first `warmup` epochs (30% of E, at most E - 2),
                then down to lr/1e4 at the last epoch, both along a cosine (E = 1: lr alone)
With warmup W > 0, every schedule but onecycle starts with W epochs that ramp linearly up toward lr
((e + 1) / (W + 1) of it), then runs over the epochs left, from lr: the peak is --lr, as the user gave
it, in epoch W + 1 as onecycle's (and as PyTorch's LinearLR from 1/(W + 1) over W epochs). (The ramp
once reached lr in its own last epoch: a warmup of 1 was no warmup at all.)
(The schedule was once multiplied by the ramp from epoch 0, so a decaying one had fallen below lr
before the ramp reached it: exponential with 5 of 20 epochs of warmup peaked at 39% of lr.)
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "step", "exponential", "cosine", "plateau", "onecycle")


def _cosine(start: float, end: float, fraction: float) -> float:
    return end + (start - end) * (1.0 + math.cos(math.pi * fraction)) / 2.0


class Schedule:
    """Learning rate per epoch; `plateau` also listens to each epoch's monitored loss."""

    def __init__(self, name: str, lr: float, epochs: int, *, decay: float | None = None,
                 step: int | None = None, warmup: int | None = None):
        if name not in SCHEDULES:
            raise ValueError(f"unknown schedule {name!r}")
        self.name, self.base, self.epochs = name, float(lr), max(int(epochs), 1)
        self.step = (10 if name == "step" else 5) if step is None else max(int(step), 1)
        if name == "onecycle":
            # The peak is epoch `warmup`; at least one epoch must follow it to come down in.
            last_peak = max(self.epochs - 2, 0)
            self.warmup = min(max(1, round(0.3 * self.epochs)), last_peak) if warmup is None else int(warmup)
            if self.warmup > last_peak:
                raise ValueError(f"onecycle over {self.epochs} epochs takes a warmup of at most {last_peak}")
        else:
            self.warmup = int(warmup or 0)
        self._after = max(self.epochs - self.warmup, 1)  # the epochs a decay runs over (onecycle has its own)
        default_decay = 0.01 ** (1.0 / max(self._after - 1, 1)) if name == "exponential" else 0.5
        self.decay = default_decay if decay is None else float(decay)
        self._plateau_lr = self.base
        self._best = math.inf
        self._wait = 0

    def lr(self, epoch: int) -> float:
        """Learning rate for 0-based `epoch`."""
        e, E, lr = epoch, self.epochs, self.base
        if self.name == "onecycle":
            if e < self.warmup:
                return _cosine(lr / 25.0, lr, e / self.warmup)
            span = max(E - 1 - self.warmup, 1)
            return _cosine(lr, lr / 1e4, min((e - self.warmup) / span, 1.0))
        if self.name == "plateau":
            lr = self._plateau_lr
        if e < self.warmup:
            return lr * (e + 1) / (self.warmup + 1)
        e, E = e - self.warmup, self._after
        if self.name == "step":
            return lr * self.decay ** (e // self.step)
        if self.name == "exponential":
            return lr * self.decay ** e
        if self.name == "cosine":
            return lr * (1.0 + math.cos(math.pi * e / E)) / 2.0
        return lr  # constant, plateau

    def observe(self, monitored_loss: float) -> None:
        """Tell the schedule an epoch's monitored loss (only `plateau` uses it)."""
        if self.name != "plateau":
            return
        if monitored_loss < self._best:
            self._best, self._wait = monitored_loss, 0
        else:
            self._wait += 1
            if self._wait >= self.step:
                self._plateau_lr *= self.decay
                self._wait = 0

    def __repr__(self) -> str:
        return f"Schedule({self.name}, lr={self.base:g})"
