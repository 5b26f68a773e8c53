"""Mini-batch training as an iterator of per-epoch statistics.

`fit_iter` runs epochs of shuffled mini-batches (forward, loss, backward,
optimizer step) and yields one `EpochStats` after each epoch. It never prints
and never touches files: the caller decides what to show and when to stop.

Imports numpy, the core and `nncli.errors` only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from nncli.core import metrics
from nncli.core.network import Network
from nncli.core.optimizers import SGD, Adam, Momentum, make_optimizer
from nncli.core.schedules import Schedule
from nncli.errors import DivergenceError

PROGRESS_BATCHES = 64  # `fit_iter` reports an epoch's progress this often (a call: ~1 us)
GATHER_BYTES = 4 << 20  # input bytes gathered per shuffled chunk: many batches, little memory


# The default --l2 is DEFAULT_L2_ROWS / (training rows): a fixed prior on the weights against a data
# loss that grows with the rows, as in a MAP estimate. A constant 0.005 (the tuned value for a few
# hundred rows) kept pulling as hard on 10,000 rows: 5x more moons scored worse than fewer (95.3 vs
# 96.0% on fresh rows, 96.9% with no L2). 1.5 / rows suits the five small sets of
# benchmarks/defaults.py (RESULTS.md, "Good defaults"), at most 0.02 (75 rows or fewer).
DEFAULT_L2_ROWS = 1.5
DEFAULT_L2_MAX = 0.02  # (on a handful of rows 1.5 / rows would bury the data loss: 0.75 on two rows)


def default_l2(rows: int) -> float:
    return min(DEFAULT_L2_MAX, DEFAULT_L2_ROWS / max(rows, 1))


class _Update:
    """The step after a batch's gradients, as `Network.train_step` calls it on each range of the
    parameters whose gradients are complete: the L2 penalty's gradient on the weights (not the
    biases), then the optimizer's update. `begin()` before each batch. Shared by `fit_iter` and
    `lr_sweep`, so that the sweep steps as training will."""

    def __init__(self, net: Network, opt: SGD | Momentum | Adam, l2: float):
        self.net, self.opt, self.l2 = net, opt, l2
        self._tmp = np.empty(net.n_weights, net.dtype) if l2 else None
        self._scalars: tuple[float, ...] = ()  # this step's optimizer scalars
        self.capture: np.ndarray | None = None  # (n_weights,): where set, receives the weights' data gradient

    def begin(self) -> None:
        self._scalars = self.opt.begin_step()

    def __call__(self, lo: int, hi: int) -> None:
        net = self.net
        if self.capture is not None and lo < net.n_weights:  # (the data's gradient, before L2's joins it)
            w = slice(lo, min(hi, net.n_weights))
            self.capture[w] = net.grads[w]
        if self.l2 and lo < net.n_weights:
            w = slice(lo, min(hi, net.n_weights))
            np.multiply(net.params[w], self.l2, out=self._tmp[w])  # type: ignore[index]
            net.grads[w] += self._tmp[w]  # type: ignore[index]
        self.opt.update_range(self._scalars, net.params, net.grads, lo, hi)  # (the next backward rewrites grads)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that shapes a training run (the model shape lives in Network). Its defaults are the bare
    loop's: no L2, no early stopping; `nncli fit`'s own (L2 1.5 / rows, patience 20) are the CLI's choice
    (`cli.DEFAULTS`, `default_l2`), and a test holds those the two share to agree."""

    epochs: int = 200
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    nesterov: bool = False
    l2: float = 0.0
    lr_schedule: str = "constant"
    lr_decay: float | None = None
    lr_step: int | None = None
    warmup: int | None = None
    patience: int | None = None  # None: never stop early

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class EpochStats:
    """What one epoch did. Losses are the data's alone, as `eval` would score them: the L2 term, part of
    what training minimizes, is given beside them (`penalty`, `val_penalty`); metrics are accuracy or R²."""

    epoch: int  # 1-based
    loss: float
    metric: float
    val_loss: float | None
    val_metric: float | None
    lr: float
    seconds: float  # this epoch
    samples: int  # rows seen this epoch
    best_epoch: int  # of the best monitored loss so far (validation loss, else training loss + penalty)
    stopped: str | None = None  # on the last epoch: "early", or what stopped it ("interrupted", ...); else None
    partial: bool = False  # cut short by a stop request: loss and metric cover its first batches only
    penalty: float = 0.0  # the L2 term beside `loss` (its mean over the epoch's batches, as the loss is)
    val_penalty: float | None = None  # the L2 term beside `val_loss` (the end-of-epoch weights')
    # Per layer, the root mean square of the data loss's gradient on its weights, on the epoch's first
    # batch: on round epochs only (see `round_epoch`), else None. (How the gradient shrinks towards the
    # first layers, as it does through many sigmoid layers: one vector copy an epoch at most.)
    gradient_rms: tuple[float, ...] | None = None
    # Per layer, the root mean square of its weights at the end of the epoch, on the same epochs: how
    # large the weights grow (L2 holds them back; large weights make confident outputs).
    weight_rms: tuple[float, ...] | None = None


def round_epoch(epoch: int) -> bool:
    """Each of the first ten epochs, then round numbers spaced a tenth of the next 1-2-5 bound (12, 14,
    … 20, 25, … 50, 60, … 100, 120, …): sixteen for each tenfold, whatever --epochs says. The epochs
    `--progress plain` prints, with the last (spaced by --epochs, a run that early stopping ended at
    epoch 27 of 500 printed epochs 1, 20 and 27: not its rise), and those whose gradients are measured."""
    if epoch <= 10:
        return True
    scale = 10
    while True:
        for bound in (2 * scale, 5 * scale, 10 * scale):
            if epoch <= bound:
                return epoch % (bound // 10) == 0
        scale *= 10


def layer_rms(net: Network, g: np.ndarray) -> tuple[float, ...] | None:
    """Per layer, the root mean square of its part of `g` (n_weights,: the weights, or their gradient);
    None if any is not finite."""
    rms, offset = [], 0
    for a, b in zip(net.sizes[:-1], net.sizes[1:]):
        part = g[offset:offset + a * b].astype(np.float64)
        offset += a * b
        rms.append(math.sqrt(float(part @ part) / part.size))
    return tuple(rms) if all(map(math.isfinite, rms)) else None


def keeps_best(config: TrainConfig, validated: bool) -> bool:
    """Whether training ends with the best epoch's weights (with validation data or early stopping),
    else with the last ones."""
    return validated or config.patience is not None


def _metric(net: Network, Z: np.ndarray, Y: np.ndarray) -> float:
    """Accuracy (classification) or R² (regression) of logits Z against Y."""
    if net.loss_name == "mse":
        return metrics.r2(Y, Z)
    return float(np.mean(net.classes(Z) == _labels(net, Y)))


def _labels(net: Network, Y: np.ndarray) -> np.ndarray:
    """A classifier's targets Y (0/1 or one-hot, as the loss wants them) as the classes `net.classes` gives."""
    return (Y[:, 0] > 0.5) if net.loss_name == "bce" else Y.argmax(axis=1)


# A standardized target's variance is 1, or 0 for a constant one; below this, its spread is rounding
# (under the least scale standardizing takes: see `preprocessing.no_spread`)
ROUNDING_VARIANCE = 1e-6


def evaluate(net: Network, X: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    """(loss, metric) of the network on a data set: the data loss, no L2 term, no dropout. The loss is taken in
    float64, as `eval` scores: in float32 the squared error of a validation row far outside the training data
    overflowed to inf, and `fit` stopped as "diverged", blaming the learning rate."""
    Z = net.logits(X)
    return net.loss.value(Z.astype(np.float64, copy=False), Y), _metric(net, Z, Y)


def l2_penalty(net: Network, l2: float) -> float:
    """(l2 / 2) * sum of squared weights (biases are not penalized)."""
    if not l2:
        return 0.0
    W = net.weights
    return 0.5 * l2 * float(np.vdot(W, W))


def fit_iter(
    net: Network,
    X: np.ndarray,
    Y: np.ndarray,
    config: TrainConfig,
    rng: np.random.Generator,
    *,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    sample_weight: np.ndarray | None = None,
    should_stop: Callable[[], bool | str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[EpochStats]:
    """Train `net` on (X, Y), yielding statistics after every epoch.

    Parameters
    ----------
    net : the network, already initialized; trained in place.
    X : (n, n_features) inputs, net.dtype.
    Y : (n, n_outputs) targets as the loss expects them (values, 0/1, one-hot).
    config : epochs, batch size, optimizer, learning rate and its schedule, L2, patience.
    rng : source of the shuffles and dropout masks.
    val : optional (X_val, Y_val), evaluated after every epoch.
    sample_weight : optional (n,) weight of each row's loss (class weights).
    should_stop : polled after every mini-batch; when it returns something true the epoch ends
        early and training stops. The last stats' `stopped` is what it returned if a string
        ("terminated"), else "interrupted".
    progress : called as progress(rows, n) every PROGRESS_BATCHES mini-batches, with the rows of
        this epoch trained on so far (a live screen shows an epoch under way).

    When the iteration ends, however it ends (finished, early stop, the
    caller breaking out, an interrupt), the network holds the weights of the
    best epoch if validation data or patience was given, else the last ones.
    Without validation data an interrupted epoch is never the best (its loss
    covers its first batches only); interrupted in the first, there is none.

    Raises
    ------
    DivergenceError : the loss or the weights became non-finite, or the loss
        grew to a million times the first epoch's or the initial weights', the smaller, taken as
        at least 1e-3 (exploding, on its way to inf).
    """
    n = X.shape[0]
    bs = max(1, min(config.batch_size, n))
    opt = make_optimizer(config.optimizer, net.n_params, net.dtype, config.lr,
                         momentum=config.momentum, nesterov=config.nesterov)
    schedule = Schedule(config.lr_schedule, config.lr, config.epochs, decay=config.lr_decay,
                        step=config.lr_step, warmup=config.warmup)
    restore_best = keeps_best(config, val is not None)
    best_params = net.params.copy() if restore_best else None
    best_loss, best_epoch, wait = math.inf, 0, 0
    first_loss: float | None = None
    start_loss: float | None = None
    l2 = float(config.l2)  # a NumPy float64 would make float32 updates compute in float64
    update = _Update(net, opt, l2)
    classify = net.loss_name != "mse"
    labels = _labels(net, Y) if classify else None
    # R² on the training rows is 1 - MSE / (the targets' mean variance): 1 - MSE, as the targets are
    # standardized, unless one is constant (variance 0). Several targets: scikit-learn's
    # "variance_weighted" R², which equals the mean of their R² (as eval gives) when none is constant.
    y_var = 0.0 if classify else float(Y.var(axis=0, dtype=np.float64).mean())
    # Rows are gathered in shuffled chunks of whole batches: one np.take per chunk,
    # and each batch is then a slice (a view) of the chunk buffers.
    chunk = _chunk_rows(n, bs, X.shape[1] * net.dtype.itemsize)
    X_chunk = np.empty((chunk, X.shape[1]), net.dtype)
    Y_chunk = np.empty((chunk, Y.shape[1]), Y.dtype)
    w_chunk = None if sample_weight is None else np.empty(chunk, net.dtype)  # float64 weights would upcast
    pred = np.empty(chunk, labels.dtype) if classify else None  # predicted classes, filled batch by batch
    captured = np.empty(net.n_weights, net.dtype)  # an epoch's first weight gradient (see EpochStats)
    try:
        for epoch in range(config.epochs):
            t0 = time.perf_counter()
            opt.lr = schedule.lr(epoch)
            perm = rng.permutation(n)
            total_loss, total_penalty, correct, seen, stopped = 0.0, 0.0, 0, 0, None
            grad_rms = None
            update.capture = captured if round_epoch(epoch + 1) else None
            for c in range(0, n, chunk):
                rows = perm[c:c + chunk]
                k = len(rows)
                # mode="clip": the rows of a permutation are always valid, and with the default
                # mode="raise" np.take fills `out` through a buffer, one more copy of the chunk
                # (gathering X for an epoch of *large*: 35 -> 22 ms).
                Xc = np.take(X, rows, axis=0, out=X_chunk[:k], mode="clip")
                Yc = np.take(Y, rows, axis=0, out=Y_chunk[:k], mode="clip")
                wc = None if w_chunk is None else np.take(sample_weight, rows, out=w_chunk[:k], mode="clip")
                done = 0
                for s in range(0, k, bs):
                    Xb = Xc[s:s + bs]
                    m = Xb.shape[0]
                    penalty = l2_penalty(net, l2)  # of the weights this batch's loss is taken with
                    update.begin()
                    batch_loss = net.train_step(Xb, Yc[s:s + m], None if wc is None else wc[s:s + m], rng,
                                                pred[s:s + m] if classify else None, update)
                    if update.capture is not None:
                        update.capture = None
                        grad_rms = layer_rms(net, captured)
                    if not math.isfinite(batch_loss):
                        raise _diverged(epoch + 1, opt.lr, l2, config)
                    if start_loss is None:  # the initial weights' loss, on the first batch
                        start_loss = batch_loss
                    total_loss += batch_loss * m
                    total_penalty += penalty * m
                    done += m
                    why = should_stop() if should_stop is not None else None
                    if why:
                        stopped = why if isinstance(why, str) else "interrupted"
                        break
                    if progress is not None and ((c + s) // bs) % PROGRESS_BATCHES == PROGRESS_BATCHES - 1:
                        progress(seen + done, n)
                seen += done
                if classify:
                    correct += int(np.count_nonzero(pred[:done] == labels[rows[:done]]))
                if stopped is not None:
                    break
            if not np.isfinite(net.params).all():
                raise _diverged(epoch + 1, opt.lr, l2, config)
            loss = total_loss / max(seen, 1)
            # Not inf yet, but no healthy run grows a millionfold: against the first epoch's loss, and
            # against the initial weights' (with Adam a far too large rate explodes within the first
            # epoch, 0.7 -> 3e12, and then only creeps down, its steps bounded by the rate). Both are
            # floored at 1e-3: a loss near 0 (a target fitted almost exactly) that rises to 1e-2 is noise
            # around a fit, not an explosion.
            if first_loss is None:
                first_loss = loss
            if not loss <= EXPLODED * max(min(first_loss, start_loss or 0.0), 1e-3):
                raise _diverged(epoch + 1, opt.lr, l2, config)
            if classify:
                metric = correct / max(seen, 1)
            else:  # (see y_var; a constant target's R² is 0, as in metrics.r2, unless predicted exactly; so is one
                # whose spread is rounding, which standardizing leaves a variance near 0, not 1: R² -1.6e262 or -inf)
                metric = 1.0 - loss / y_var if y_var > ROUNDING_VARIANCE else float(loss == 0)
            val_loss = val_metric = val_penalty = None
            if val is not None:
                val_loss, val_metric = evaluate(net, val[0], val[1])
                val_penalty = l2_penalty(net, l2)
                if not math.isfinite(val_loss):
                    raise _diverged(epoch + 1, opt.lr, l2, config)
            # An epoch cut short by a stop request has a training loss of its first batches only: it
            # cannot be compared with whole epochs' (a validation loss, of the weights as they are, can).
            # Without validation data, patience waits for the minimization to end: it watches what is
            # minimized, the penalty included (as scikit-learn's n_iter_no_change); a validation loss
            # is the data's, a measure of what the model learned.
            mean_penalty = total_penalty / max(seen, 1)
            monitored = val_loss if val_loss is not None else (loss + mean_penalty if seen == n else None)
            if monitored is not None:
                schedule.observe(monitored)
                if monitored < best_loss:
                    best_loss, best_epoch, wait = monitored, epoch + 1, 0
                    if best_params is not None:
                        np.copyto(best_params, net.params)
                else:
                    wait += 1
            if stopped is None and config.patience is not None and wait >= config.patience:
                stopped = "early"
            yield EpochStats(
                epoch=epoch + 1, loss=loss, metric=metric, val_loss=val_loss,
                val_metric=val_metric, lr=opt.lr, seconds=time.perf_counter() - t0, samples=seen,
                best_epoch=best_epoch, stopped=stopped, partial=seen < n,
                penalty=mean_penalty, val_penalty=val_penalty, gradient_rms=grad_rms,
                weight_rms=layer_rms(net, net.params[:net.n_weights]) if round_epoch(epoch + 1) else None,
            )
            if stopped is not None:
                return
    finally:
        if best_params is not None and best_epoch > 0:
            np.copyto(net.params, best_params)


def _chunk_rows(n: int, batch_size: int, row_bytes: int) -> int:
    """Rows per gathered chunk: whole batches, about GATHER_BYTES of input, at most n."""
    if n <= batch_size:
        return n
    batches = max(1, GATHER_BYTES // max(batch_size * row_bytes, 1))
    return min(batches * batch_size, n)


EXPLODED = 1e6  # a loss this many times the first epoch's or the initial weights' (at least 1e-3) is diverged


def l2_divergence_bound(config: TrainConfig) -> float | None:
    """The lr × λ from which the L2 penalty alone makes the weights grow without bound (the steps on the
    quadratic (λ/2)·w², whatever the data): 2 for SGD, 2(1 + μ) with momentum, 2(1 + μ)/(1 + 2μ) with
    Nesterov's; None for Adam, whose steps the rate bounds."""
    if config.optimizer == "sgd":
        return 2.0
    if config.optimizer == "momentum":
        mu = config.momentum
        return 2 * (1 + mu) / (1 + 2 * mu) if config.nesterov else 2 * (1 + mu)
    return None


def _diverged(epoch: int, lr: float, l2: float, config: TrainConfig) -> DivergenceError:
    hint = f"try a smaller learning rate, e.g. --lr {lr / 10:.3g}, or find one with `nncli lr-find`"
    bound = l2_divergence_bound(config)
    if bound is not None and lr * l2 >= bound:  # (a smaller --lr alone would diverge too, until lr·λ is under it)
        hint = (f"--l2 {l2:.3g} is too strong for a rate of {lr:.3g}: the penalty alone makes the weights grow once "
                f"lr × λ reaches {bound:.3g} (here {lr * l2:.3g}); keep λ well under {bound / lr:.3g}")
    return DivergenceError(
        f"training diverged at epoch {epoch}: the loss exploded or became infinite or NaN "
        f"(learning rate {lr:.3g})", hint=hint)


@dataclass(frozen=True)
class LrSweep:
    """Result of a learning-rate range test."""

    lrs: list[float]
    losses: list[float]  # smoothed mini-batch losses
    suggestion: float
    best_lr: float  # where the smoothed loss was lowest


def lr_sweep(net: Network, X: np.ndarray, Y: np.ndarray, rng: np.random.Generator, *, batch_size: int = 32,
             optimizer: str = "adam", momentum: float = 0.9, nesterov: bool = False, l2: float = 0.0,
             lr_min: float = 1e-7, lr_max: float = 10.0, steps: int = 100,
             smoothing: float = 0.9, blowup: float = 4.0, sample_weight: np.ndarray | None = None) -> LrSweep:
    """Learning-rate range test (Smith, 2017): raise the rate exponentially, batch by batch.

    Trains `net` (fresh weights) for up to `steps` mini-batches with the rate
    going from lr_min to lr_max geometrically, recording a smoothed loss, and
    stops once that loss exceeds `blowup` times its best. The suggestion is a
    tenth of the rate at the lowest smoothed loss: still on the steep, stable
    side of the curve. Each step is training's (`fit_iter`): the same optimizer
    settings and L2 penalty; the loss recorded is the data's, without the penalty.
    """
    n = X.shape[0]
    bs = max(1, min(batch_size, n))
    opt = make_optimizer(optimizer, net.n_params, net.dtype, lr_min, momentum=momentum, nesterov=nesterov)
    update = _Update(net, opt, float(l2))
    ratio = (lr_max / lr_min) ** (1.0 / max(steps - 1, 1))
    lrs: list[float] = []
    losses: list[float] = []
    avg, best = 0.0, math.inf
    perm, pos = rng.permutation(n), 0
    for i in range(steps):
        if pos >= n:
            perm, pos = rng.permutation(n), 0
        idx = perm[pos:pos + bs]
        pos += bs
        opt.lr = lr_min * ratio ** i
        update.begin()
        loss = net.train_step(X[idx], Y[idx], None if sample_weight is None else sample_weight[idx], rng,
                              update=update)  # (no step when the loss is not finite)
        if not math.isfinite(loss):
            break
        avg = smoothing * avg + (1 - smoothing) * loss
        smoothed = avg / (1 - smoothing ** (i + 1))
        lrs.append(opt.lr)
        losses.append(smoothed)
        if smoothed > blowup * best:
            break
        best = min(best, smoothed)
    if not losses:
        return LrSweep([], [], lr_min, lr_min)
    k = int(np.argmin(losses))
    best_lr = lrs[k]
    return LrSweep(lrs, losses, max(best_lr / 10.0, lr_min), best_lr)
