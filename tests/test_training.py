"""Training behaviour: it learns what it should, deterministically, and the knobs do what they say."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from nncli.core import datagen
from nncli.core.network import Network
from nncli.core.optimizers import Adam
from nncli.core.schedules import Schedule
from nncli.core.training import TrainConfig, default_l2, evaluate, fit_iter
from nncli.errors import DivergenceError


def standardize(X):
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32)


def two_class(kind, n, seed, **kw):
    cols, target = datagen.GENERATORS[kind](np.random.default_rng(seed), n, **kw)
    X = np.column_stack([v for k, v in cols.items() if k != target]).astype(np.float64)
    y = cols[target]
    return X, y


def train(net, X, Y, seed=0, **config):
    stats = list(fit_iter(net, X, Y, TrainConfig(**config), np.random.default_rng(seed)))
    return stats


def test_linear_regression_learns_the_generating_line_and_matches_least_squares():
    cols, _ = datagen.linear(np.random.default_rng(0), 400)
    x, y = cols["x"], cols["y"]
    net = Network([1, 1], "identity", "mse", dtype=np.float64)
    net.initialize(np.random.default_rng(0))
    # Plain full-batch gradient descent on the mean squared error, in raw units.
    train(net, x[:, None], y[:, None], epochs=3000, batch_size=400, lr=0.5, optimizer="sgd")
    W, b = float(net.W[0][0, 0]), float(net.b[0][0])
    assert W == pytest.approx(2.0, abs=0.2) and b == pytest.approx(1.5, abs=0.1)
    A = np.column_stack([x, np.ones_like(x)])
    (w_ls, b_ls), *_ = np.linalg.lstsq(A, y, rcond=None)
    assert W == pytest.approx(w_ls, abs=1e-6) and b == pytest.approx(b_ls, abs=1e-6)


def test_mlp_solves_xor():
    X, y = two_class("xor", 400, 0)
    net = Network([2, 16, 16, 1], "tanh", "bce")
    net.initialize(np.random.default_rng(0))
    train(net, standardize(X), y[:, None].astype(np.float32), epochs=150, batch_size=16, lr=0.01)
    acc = np.mean((net.logits(standardize(X))[:, 0] > 0) == y)
    assert acc >= 0.97


def test_mlp_reaches_95_percent_on_held_out_moons():
    X, y = two_class("moons", 1200, 0, noise=0.2)
    mean, std = X[:800].mean(0), X[:800].std(0)
    Xs = ((X - mean) / std).astype(np.float32)
    net = Network([2, 32, 32, 1], "relu", "bce")
    net.initialize(np.random.default_rng(0))
    train(net, Xs[:800], y[:800, None].astype(np.float32), epochs=150, batch_size=32, lr=0.005)
    acc = np.mean((net.logits(Xs[800:])[:, 0] > 0) == y[800:])
    assert acc >= 0.95


def test_same_seed_same_weights_and_different_seed_different_weights():
    X, y = two_class("moons", 200, 0)
    runs = []
    for seed in (3, 3, 4):
        net = Network([2, 8, 1], "relu", "bce")
        net.initialize(np.random.default_rng(seed))
        train(net, standardize(X), y[:, None].astype(np.float32), seed=seed, epochs=5)
        runs.append(net.params.copy())
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def _fitting_noise() -> tuple[Network, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 5-64-1 network and training and validation rows of pure noise: the validation loss soon rises."""
    rng = np.random.default_rng(0)
    X, Y, Xv, Yv = (rng.normal(size=(60, k)).astype(np.float32) for k in (5, 1, 5, 1))
    net = Network([5, 64, 1], "relu", "mse")
    net.initialize(np.random.default_rng(0))
    return net, X, Y, Xv, Yv


def test_early_stopping_stops_and_keeps_the_best_epochs_weights():
    net, X, Y, Xv, Yv = _fitting_noise()
    snapshots = {}
    stats = []
    for s in fit_iter(net, X, Y, TrainConfig(epochs=500, batch_size=8, lr=0.01, patience=5),
                      np.random.default_rng(0), val=(Xv, Yv)):
        snapshots[s.epoch] = net.params.copy()
        stats.append(s)
    last = stats[-1]
    assert last.stopped == "early" and last.epoch < 500 and not last.partial
    assert last.epoch - last.best_epoch == 5
    best = min(stats, key=lambda s: s.val_loss)
    assert best.epoch == last.best_epoch
    assert np.array_equal(net.params, snapshots[best.epoch])
    assert evaluate(net, Xv, Yv)[0] == pytest.approx(best.val_loss, rel=1e-5)


def test_l2_shrinks_the_weights():
    X, y = two_class("moons", 300, 0)
    norms = []
    for l2 in (0.0, 0.01):
        net = Network([2, 32, 1], "relu", "bce")
        net.initialize(np.random.default_rng(0))
        train(net, standardize(X), y[:, None].astype(np.float32), epochs=40, lr=0.01, l2=l2)
        norms.append(float(np.linalg.norm(net.weights)))
    assert norms[1] < 0.8 * norms[0]


def test_dropout_changes_training_but_not_prediction():
    X, y = two_class("moons", 300, 0)
    Xs = standardize(X)
    params = []
    for p in (0.0, 0.5):
        net = Network([2, 32, 32, 1], "relu", "bce", dropout=p)
        net.initialize(np.random.default_rng(0))
        train(net, Xs, y[:, None].astype(np.float32), epochs=5)
        params.append(net.params.copy())
        out1, out2 = net.output(Xs), net.output(Xs)
        assert np.array_equal(out1, out2)
    assert not np.array_equal(params[0], params[1])


SCHEDULE_CASES = {
    "constant": (dict(), [0.1] * 6),
    "step": (dict(decay=0.5, step=2), [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]),
    "exponential": (dict(decay=0.9), [0.1 * 0.9**e for e in range(6)]),
    "cosine": (dict(), [0.1 * (1 + math.cos(math.pi * e / 6)) / 2 for e in range(6)]),
}


@pytest.mark.parametrize("name", sorted(SCHEDULE_CASES))
def test_schedules_follow_their_formulas(name):
    kw, expected = SCHEDULE_CASES[name]
    s = Schedule(name, 0.1, 6, **kw)
    assert [s.lr(e) for e in range(6)] == pytest.approx(expected)


def test_warmup_ramps_linearly():
    # W epochs under the rate, then the rate, as onecycle's warmup (a warmup of 1 ran at the rate: none)
    s = Schedule("constant", 0.1, 10, warmup=4)
    assert [s.lr(e) for e in range(6)] == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.1, 0.1])
    assert [Schedule("constant", 0.1, 3, warmup=1).lr(e) for e in range(3)] == pytest.approx([0.05, 0.1, 0.1])


@pytest.mark.parametrize("name", ["step", "exponential", "cosine"])
def test_a_decaying_schedule_after_a_warmup_starts_from_the_given_rate(name):
    # The warmup ramps up to --lr, and the decay then runs over the epochs left from it as it would over
    # a run of that length (it used to be multiplied by the ramp from epoch 0: exponential with 5 of 20
    # epochs of warmup peaked at 39% of lr, cosine with 3 of 10 at 91%).
    warm, plain = Schedule(name, 0.01, 20, warmup=5), Schedule(name, 0.01, 15)
    lrs = [warm.lr(e) for e in range(20)]
    assert lrs[:5] == pytest.approx([0.01 * k / 6 for k in range(1, 6)])
    assert max(lrs) == pytest.approx(0.01)
    assert lrs[5:] == pytest.approx([plain.lr(e) for e in range(15)])
    if name == "exponential":
        assert lrs[-1] == pytest.approx(0.01 / 100)


def test_exponential_default_ends_at_a_hundredth():
    s = Schedule("exponential", 0.1, 11)
    assert s.lr(0) == 0.1 and s.lr(10) == pytest.approx(0.1 / 100)  # epochs 0..10: the last is the 11th
    assert Schedule("exponential", 0.1, 1).lr(0) == 0.1


def test_onecycle_rises_then_falls():
    s = Schedule("onecycle", 1.0, 10, warmup=3)
    lrs = [s.lr(e) for e in range(10)]
    assert lrs[0] == pytest.approx(1 / 25)
    assert lrs[3] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(1e-4)
    assert all(a < b for a, b in zip(lrs[:3], lrs[1:4])) and all(a > b for a, b in zip(lrs[3:], lrs[4:]))
    assert Schedule("onecycle", 1.0, 10).warmup == 3  # 30% by default
    no_warmup = [Schedule("onecycle", 1.0, 10, warmup=0).lr(e) for e in range(10)]  # `--warmup 0`: none
    assert no_warmup[0] == 1.0 and no_warmup[-1] == pytest.approx(1e-4)
    assert all(a > b for a, b in zip(no_warmup, no_warmup[1:]))
    # The default warmup leaves an epoch to come down in: over 2 epochs it was 1, and the last epoch
    # ran at the peak rate.
    assert [Schedule("onecycle", 1.0, 2).lr(e) for e in range(2)] == [1.0, pytest.approx(1e-4)]
    assert Schedule("onecycle", 1.0, 3).lr(2) == pytest.approx(1e-4) and Schedule("onecycle", 1.0, 1).lr(0) == 1.0
    with pytest.raises(ValueError, match="at most 8"):
        Schedule("onecycle", 1.0, 10, warmup=9)


def test_plateau_halves_after_patience_epochs_without_improvement():
    s = Schedule("plateau", 0.1, 100, step=2)
    lrs = []
    for loss in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8]:
        lrs.append(s.lr(len(lrs)))
        s.observe(loss)
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025])


def test_epoch_stats_carry_the_scheduled_learning_rate():
    X, y = two_class("moons", 100, 0)
    net = Network([2, 4, 1], "relu", "bce")
    net.initialize(np.random.default_rng(0))
    stats = train(net, standardize(X), y[:, None].astype(np.float32), epochs=4, lr=0.1,
                  lr_schedule="step", lr_step=1, lr_decay=0.5)
    assert [s.lr for s in stats] == pytest.approx([0.1, 0.05, 0.025, 0.0125])


def test_divergence_raises_and_names_the_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)).astype(np.float32) * 100
    Y = rng.normal(size=(50, 1)).astype(np.float32) * 100
    net = Network([3, 16, 1], "relu", "mse")
    net.initialize(rng)
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+"):
        train(net, X, Y, epochs=50, lr=1e6, optimizer="sgd")


def test_should_stop_ends_training_after_the_current_batch():
    X, y = two_class("moons", 320, 0)
    net = Network([2, 4, 1], "relu", "bce")
    net.initialize(np.random.default_rng(0))
    calls = []

    def stop():
        calls.append(1)
        return len(calls) >= 3

    stats = list(fit_iter(net, standardize(X), y[:, None].astype(np.float32), TrainConfig(epochs=10, batch_size=32),
                          np.random.default_rng(0), should_stop=stop))
    assert len(stats) == 1 and stats[0].stopped == "interrupted" and stats[0].samples == 96
    assert stats[0].partial  # 96 of 320 rows: the display must not show it as an epoch


@pytest.mark.parametrize("gather", [4 << 20, 3 * 32 * 2 * 4])
def test_progress_reports_each_epochs_rows_as_they_are_trained_on(monkeypatch, gather):
    # A live screen showed nothing move during a long epoch (6.5 s on 4 million rows): the clock stopped.
    # Every 64 batches, however the rows are gathered (one chunk of the whole epoch, or chunks of 3 batches)
    import nncli.core.training as training

    monkeypatch.setattr(training, "GATHER_BYTES", gather)
    X, y = two_class("moons", 4500, 0)
    net = Network([2, 4, 1], "relu", "bce")
    net.initialize(np.random.default_rng(0))
    calls = []
    stats = list(fit_iter(net, standardize(X), y[:, None].astype(np.float32), TrainConfig(epochs=2, batch_size=32),
                          np.random.default_rng(0), progress=lambda rows, n: calls.append((rows, n))))
    assert len(stats) == 2 and calls == [(64 * 32, 4500), (128 * 32, 4500)] * 2


@pytest.mark.parametrize("stop_in", [1, 3])
def test_an_epoch_cut_short_is_never_the_best_without_validation(stop_in):
    # Its loss covers its first batch only (here a low one would often win): the weights kept are
    # the end of a whole epoch's; stopped in the first epoch, there is no best epoch at all.
    X, y = two_class("moons", 320, 0)
    net = Network([2, 8, 1], "relu", "bce")
    net.initialize(np.random.default_rng(0))
    start, calls, ends = net.params.copy(), [], {}

    def stop():
        calls.append(1)
        return len(calls) == (stop_in - 1) * 10 + 1  # the first batch of epoch `stop_in` (10 a epoch)

    for s in fit_iter(net, standardize(X), y[:, None].astype(np.float32), TrainConfig(epochs=10, batch_size=32,
                      patience=5), np.random.default_rng(0), should_stop=stop):
        ends[s.epoch] = (s, net.params.copy())
    last, last_params = ends[stop_in]
    assert last.stopped == "interrupted" and last.samples == 32 and last.partial
    assert not any(s.partial for e, (s, _) in ends.items() if e < stop_in)
    assert last.best_epoch == stop_in - 1
    if stop_in > 1:
        np.testing.assert_array_equal(net.params, ends[stop_in - 1][1])
    else:  # no best epoch: the weights as the stop left them, not the initial ones
        np.testing.assert_array_equal(net.params, last_params)
        assert not np.array_equal(net.params, start)


def test_an_exploding_loss_counts_as_divergence_before_it_reaches_inf():
    # Full-batch gradient descent on standardized data diverges for lr > 1; the
    # loss grows ~4x per epoch and patience alone would quietly keep epoch 1.
    rng = np.random.default_rng(0)
    x = rng.standard_normal(200)
    X = ((x - x.mean()) / x.std())[:, None].astype(np.float32)
    Y = (2 * X + 0.1 * rng.standard_normal((200, 1))).astype(np.float32)
    net = Network([1, 1], "identity", "mse")
    net.initialize(rng)
    with pytest.raises(DivergenceError, match="exploded"):
        train(net, X, Y, epochs=300, batch_size=200, lr=1.5, optimizer="sgd", patience=20)


def test_a_healthy_run_whose_loss_is_large_in_the_datas_units_is_not_called_diverged():
    # Raw targets near 1e4: the first epoch's loss is ~1e8 and falls every epoch. Divergence is a loss
    # a million times the first epoch's, not one a million over its size.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 2))
    Y = 1e4 + X @ [[3.0], [1.0]]
    net = Network([2, 1], "identity", "mse", dtype=np.float64)  # (all-zero weights)
    stats = train(net, X, Y, epochs=5, batch_size=32, lr=0.1, optimizer="sgd")
    assert stats[0].loss > 1e7 and all(a.loss > b.loss for a, b in zip(stats, stats[1:]))


def test_adam_exploding_within_the_first_epoch_counts_as_divergence():
    # Adam's steps are bounded by the rate: at lr 1e6 the first epoch's mean loss is ~1e12 and then
    # creeps down, never inf; measured against the first epoch alone, that passed as training.
    X, y = two_class("moons", 320, 0)
    net = Network([2, 32, 1], "relu", "bce")
    net.initialize(np.random.default_rng(0))
    with pytest.raises(DivergenceError, match="diverged at epoch 1"):
        train(net, standardize(X), y[:, None].astype(np.float32), epochs=30, lr=1e6, optimizer="adam")


def test_a_forward_pass_without_a_generator_drops_nothing_even_after_one_with():
    """Dropout needs the training run's generator: forward_train without one is the plain forward
    pass. (Had dropout been on whenever p > 0, this pass failed with an AttributeError, drawing
    masks from no generator.)"""
    net = Network([3, 50, 20, 2], "relu", "ce", dropout=0.5)
    net.initialize(np.random.default_rng(0))
    X = np.random.default_rng(1).normal(size=(64, 3)).astype(np.float32)
    dropped = net.forward_train(X, np.random.default_rng(5)).copy()
    plain = net.forward_train(X).copy()
    np.testing.assert_allclose(plain, net.logits(X), rtol=1e-5, atol=1e-6)
    assert not np.allclose(dropped, plain)  # (the first pass did drop units)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.9999999])
def test_dropout_masks_drop_a_share_p_and_keep_the_expectation(p):
    net = Network([3, 200, 100, 2], "relu", "ce", dropout=p)
    net.initialize(np.random.default_rng(0))
    X = np.ones((301, 3), np.float32)  # an odd number of units per mask
    net.forward_train(X, np.random.default_rng(5))
    q = min(round(p * 65536), 65535) / 65536  # p as the masks use it: a multiple of 1/65536
    for M in net._buffers_for(301)["mask"]:
        dropped = float(np.mean(M == 0))
        sigma = np.sqrt(q * (1 - q) / M.size)
        assert abs(q - p) <= 1 / 65536 and abs(dropped - q) < 5 * sigma + 1e-9
        assert len(np.unique(M[M > 0])) <= 1  # every survivor scaled alike
        if p < 0.99:
            assert abs(float(M.mean()) - 1.0) < 5 * sigma / (1 - q) + 1e-6
    net.forward_train(X, np.random.default_rng(5))
    again = [M.copy() for M in net._buffers_for(301)["mask"]]
    net.forward_train(X, np.random.default_rng(5))
    assert all((a == M).all() for a, M in zip(again, net._buffers_for(301)["mask"]))  # seeded


def test_training_r2_is_one_minus_mse_over_the_targets_variance():
    # Standardized targets: R² = 1 - MSE. A constant target (standardized to all zeros, variance
    # 0) scores 0 as in metrics.r2, not 1 - MSE (it read 0.91 on y = 5, 5, 5).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    y = X @ [[1.0], [2.0], [0.5]]
    for Y in [np.zeros((64, 1)), (y - y.mean()) / y.std()]:
        net = Network([3, 1], loss="mse", dtype=np.float64)
        net.initialize(rng)
        stats = list(fit_iter(net, X, Y, TrainConfig(epochs=1, batch_size=64, optimizer="sgd", lr=0.0),
                              np.random.default_rng(1)))
        mse = float(((net.logits(X) - Y) ** 2).mean())  # lr 0: the weights the loss was taken at
        assert stats[0].metric == pytest.approx(1.0 - mse if Y.any() else 0.0, abs=1e-12)


def test_with_l2_the_training_loss_is_the_data_loss_and_the_penalty_is_given_beside_it():
    # One batch an epoch: epoch 2's loss is the data loss of the weights epoch 1 left, and its penalty
    # those weights' L2 term (it used to be taken after the epoch's last update: a mix of two sets of
    # weights). The loss once included the penalty, which on a wide network can be most of it.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    y = X @ [[1.0], [2.0], [0.5]]
    Y = (y - y.mean()) / y.std()
    net = Network([3, 1], loss="mse", dtype=np.float64)
    net.initialize(rng)
    config = TrainConfig(epochs=2, batch_size=64, optimizer="sgd", lr=0.5, l2=0.5)
    epochs = fit_iter(net, X, Y, config, np.random.default_rng(1))
    next(epochs)
    mse = float(((net.logits(X) - Y) ** 2).mean())
    penalty = 0.25 * float(np.vdot(net.weights, net.weights))
    assert penalty > 0.01 * mse
    second = next(epochs)
    assert second.loss == pytest.approx(mse, rel=1e-12) and evaluate(net, X, Y)[0] != second.loss  # (updated)
    assert second.penalty == pytest.approx(penalty, rel=1e-12)
    assert second.metric == pytest.approx(1.0 - mse, rel=1e-12)


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "sgd"])
def test_numpy_scalars_in_the_config_train_as_python_floats_do(optimizer):
    # NumPy float64 scalars meeting float32 vectors compute in float64 (NEP 50): slower, and not bit
    # for bit what the float32 arithmetic of a Python float gives. Both must train alike.
    X, y = two_class("moons", 200, 0)
    runs = []
    for number in (float, np.float64):
        net = Network([2, 8, 1], "relu", "bce")
        net.initialize(np.random.default_rng(0))
        train(net, standardize(X), y[:, None].astype(np.float32), epochs=3, batch_size=32, optimizer=optimizer,
              lr=number(0.01), momentum=number(0.9), l2=number(0.3))  # (0.01 rounds away, 0.5 is exact)
        runs.append(net.params.copy())
    assert runs[0].dtype == np.float32 and np.array_equal(runs[0], runs[1])


def test_numpy_scalars_as_adam_s_constants_step_as_python_floats_do():
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(5, 1000)).astype(np.float32)
    params = []
    for number in (float, np.float64):
        opt = Adam(1000, np.float32, lr=number(0.01), beta1=number(0.9), beta2=number(0.99), eps=number(1e-7))
        p = np.ones(1000, np.float32)
        for g in grads:
            opt.step(p, g.copy(), overwrite_grads=True)
        params.append(p)
    assert params[0].dtype == np.float32 and np.array_equal(params[0], params[1])


def test_without_validation_data_patience_watches_the_loss_with_its_l2_penalty():
    # The losses reported are the data's; without validation data, early stopping waits for the
    # minimization to end, so it watches what is minimized: here the data loss is lowest at an epoch
    # in the thirties, while loss + penalty falls to the end (a data-only watch stopped there).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    y = X @ [[1.0], [2.0], [0.5]]
    net = Network([3, 16, 1], loss="mse", dtype=np.float64)
    net.initialize(np.random.default_rng(2))
    net.params[:net.n_weights] *= 2  # big weights to start from, as a wide network has: the penalty shrinks them
    stats = list(fit_iter(net, X, (y - y.mean()) / y.std(),
                          TrainConfig(epochs=60, batch_size=64, optimizer="sgd", lr=0.05, l2=0.3, patience=5),
                          np.random.default_rng(1)))
    data_loss = [s.loss for s in stats]
    assert len(stats) == 60 and stats[-1].stopped is None
    assert int(np.argmin(data_loss)) + 1 < 50
    assert stats[-1].best_epoch == int(np.argmin([s.loss + s.penalty for s in stats])) + 1 == 60


def test_an_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="unknown schedule 'cyclic'"):
        Schedule("cyclic", 0.1, 10)


def test_the_schedules_documented_defaults():
    # README and --help: step x 0.5 every 10 epochs; plateau x 0.5 after 5 epochs without a better loss.
    step = Schedule("step", 1.0, 30)
    assert [step.lr(e) for e in (0, 9, 10, 19, 20)] == pytest.approx([1, 1, 0.5, 0.5, 0.25])
    plateau, lrs = Schedule("plateau", 1.0, 30), []
    for loss in [1.0] + [2.0] * 6:
        lrs.append(plateau.lr(len(lrs)))
        plateau.observe(loss)
    assert lrs == pytest.approx([1, 1, 1, 1, 1, 1, 0.5])
    tied, lrs = Schedule("plateau", 1.0, 30), []  # a loss that only equals the best is no new best
    for _ in range(7):
        lrs.append(tied.lr(len(lrs)))
        tied.observe(1.0)
    assert lrs == pytest.approx([1, 1, 1, 1, 1, 1, 0.5])


def test_a_new_best_loss_starts_the_plateaus_patience_again():
    """Epochs without a new best count from the latest best: a count kept across a new best cut the rate
    after fewer than --lr-step epochs without improvement."""
    s, lrs = Schedule("plateau", 1.0, 30, step=3), []
    for loss in [1.0, 2.0, 2.0, 0.5, 2.0, 2.0, 2.0, 2.0]:  # two epochs without a new best, a new best, three
        lrs.append(s.lr(len(lrs)))
        s.observe(loss)
    assert lrs == pytest.approx([1] * 7 + [0.5])


def test_plateau_cuts_the_rate_by_the_decay_given():
    """`--lr-schedule plateau --lr-decay 0.1` cut the rate by the default 0.5 instead."""
    s, lrs = Schedule("plateau", 1.0, 30, step=2, decay=0.1), []
    for loss in [1.0, 2.0, 2.0, 2.0, 2.0]:
        lrs.append(s.lr(len(lrs)))
        s.observe(loss)
    assert lrs == pytest.approx([1, 1, 1, 0.1, 0.1])


def test_onecycles_default_warmup_is_the_nearest_whole_number_of_epochs_to_30_percent():
    """30% of 6 epochs is 1.8: a warmup of 2, where truncating it gave 1."""
    assert [Schedule("onecycle", 1.0, epochs).warmup for epochs in (6, 10, 20)] == [2, 3, 6]


def test_plateau_watches_the_validation_loss_when_there_is_one():
    # Training on 8 rows whose validation rows are their opposites: the training loss falls every
    # epoch while the validation loss rises, so the rate halves after 5 epochs.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 2))
    Y = X @ [[1.0], [-1.0]]
    net = Network([2, 1], loss="mse", dtype=np.float64)  # (from all-zero weights: validation loss mean(Y²), rising)
    stats = list(fit_iter(net, X, Y, TrainConfig(epochs=8, batch_size=8, optimizer="sgd", lr=0.1,
                                                 lr_schedule="plateau"), np.random.default_rng(1), val=(X, -Y)))
    assert all(a.loss > b.loss for a, b in zip(stats, stats[1:]))
    assert all(a.val_loss < b.val_loss for a, b in zip(stats, stats[1:]))
    assert [s.lr for s in stats] == pytest.approx([0.1] * 6 + [0.05] * 2)


def test_every_epoch_draws_a_new_order_of_the_rows():
    # Batches in file order (a file sorted by label) or in one order reused every epoch train worse,
    # and no test noticed either.
    X = np.arange(64, dtype=np.float64)[:, None]
    net = Network([1, 1], loss="mse", dtype=np.float64)
    net.initialize(np.random.default_rng(0))
    seen = []
    step = net.train_step
    net.train_step = lambda Xb, *a, **k: (seen.append(Xb[:, 0].astype(int).tolist()), step(Xb, *a, **k))[1]
    list(fit_iter(net, X, np.zeros((64, 1)), TrainConfig(epochs=3, batch_size=16, optimizer="sgd", lr=0.0),
                  np.random.default_rng(1)))
    epochs = [sum(seen[i:i + 4], []) for i in range(0, 12, 4)]
    assert all(sorted(e) == list(range(64)) for e in epochs)
    assert epochs[0] != list(range(64)) and epochs[0] != epochs[1] and epochs[1] != epochs[2]


def test_an_sgd_step_with_l2_moves_the_weights_by_lr_times_gradient_plus_l2_times_weights():
    # A penalty (l2 / 2)·Σw² has the gradient l2·w: twice that trained with --l2 0.01 as --l2 0.02
    # would, while the penalty reported stayed as it was.
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    net = Network([3, 4, 2], "tanh", "mse", dtype=np.float64)
    net.initialize(rng)
    before = net.params.copy()
    net.train_step(X, Y)
    expected = before - 0.1 * (net.grads + 0.3 * np.r_[before[:net.n_weights], np.zeros(net.n_params - net.n_weights)])
    list(fit_iter(net, X, Y, TrainConfig(epochs=1, batch_size=16, optimizer="sgd", lr=0.1, l2=0.3),
                  np.random.default_rng(1)))
    np.testing.assert_allclose(net.params, expected, rtol=1e-12)


def test_the_default_l2_is_1_5_over_the_training_rows_and_at_most_0_02():
    # README: `--l2` defaults to 1.5 / training rows (at most 0.02)
    assert default_l2(300) == pytest.approx(0.005) and default_l2(1500) == pytest.approx(0.001)
    assert default_l2(75) == pytest.approx(0.02) and default_l2(10) == 0.02 and default_l2(0) == 0.02


@pytest.mark.parametrize("loss, classes", [("bce", 2), ("ce", 3)])
def test_the_training_accuracy_is_the_share_of_the_epochs_rows_classified_right(loss, classes):
    # At lr 0 the weights never move: the epoch's accuracy is theirs on every row, counted once
    # (11 rows in batches of 4: the short last batch counts its 3 rows).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((11, 2))
    labels = rng.integers(0, classes, 11)
    Y = labels[:, None].astype(np.float64) if loss == "bce" else np.eye(classes)[labels]
    net = Network([2, 5, 1 if loss == "bce" else classes], "tanh", loss, dtype=np.float64)
    net.initialize(rng)
    Z = net.logits(X)
    right = int(np.sum(((Z[:, 0] > 0) if loss == "bce" else Z.argmax(axis=1)) == labels))
    assert 0 < right < 11
    [stats] = fit_iter(net, X, Y, TrainConfig(epochs=1, batch_size=4, optimizer="sgd", lr=0.0), np.random.default_rng(1))
    assert stats.samples == 11 and not stats.partial
    assert stats.metric == pytest.approx(right / 11, rel=1e-12)


def test_the_epochs_loss_weighs_a_short_last_batch_by_its_rows():
    # 10 rows in batches of 8: the epoch's loss is the mean over its 10 rows (at lr 0, the weights'
    # own), not a mean that counts the last 2 rows as 8.
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((10, 2)), rng.standard_normal((10, 3))
    net = Network([2, 3], loss="mse", dtype=np.float64)
    net.initialize(rng)
    [stats] = fit_iter(net, X, Y, TrainConfig(epochs=1, batch_size=8, optimizer="sgd", lr=0.0), np.random.default_rng(1))
    assert stats.loss == pytest.approx(float(((net.logits(X) - Y) ** 2).mean()), rel=1e-12)
    # (R² of several targets: 1 - MSE over their mean variance, scikit-learn's "variance_weighted")
    assert stats.metric == pytest.approx(1 - stats.loss / Y.var(axis=0).mean(), rel=1e-12)


def test_lr_sweep_raises_the_rate_geometrically_and_stops_once_the_loss_passes_4_times_its_best():
    from nncli.core.training import lr_sweep

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2))
    Y = X @ [[1.0], [-2.0]]
    net = Network([2, 1], "identity", "mse", dtype=np.float64)
    net.initialize(rng)
    sweep = lr_sweep(net, X, Y, np.random.default_rng(1), batch_size=16, optimizer="adam", lr_min=1e-4,
                     lr_max=100.0, steps=201)
    L = sweep.losses
    assert 2 < len(L) < 201 and all(map(math.isfinite, L))
    assert sweep.lrs == pytest.approx([1e-4 * 10 ** (6 * i / 200) for i in range(len(L))])
    assert L[-1] > 4 * min(L[:-1]) and all(L[i] <= 4 * min(L[:i]) for i in range(1, len(L) - 1))
    k = int(np.argmin(L))
    assert sweep.best_lr == sweep.lrs[k] and sweep.suggestion == pytest.approx(max(sweep.lrs[k] / 10, 1e-4))


def test_an_epochs_seconds_are_its_own_time():
    X = np.random.default_rng(0).standard_normal((16, 2))
    net = Network([2, 1], "identity", "mse", dtype=np.float64)
    start = time.perf_counter()
    stats = train(net, X, X[:, :1], epochs=3, batch_size=8, optimizer="sgd")
    assert all(s.seconds >= 0 for s in stats) and sum(s.seconds for s in stats) <= time.perf_counter() - start


def test_lr_sweep_weighs_the_rows_as_fit_does():
    # `lr-find --class-weight balanced` ran an unweighted sweep, and no test noticed.
    from nncli.core.training import lr_sweep

    X, y = two_class("moons", 200, 0)
    w = np.where(y == 1, 3.0, 0.5).astype(np.float32)
    sweeps = []
    for weights in (None, w):
        net = Network([2, 8, 1], "relu", "bce")
        net.initialize(np.random.default_rng(0))
        sweeps.append(lr_sweep(net, standardize(X), y[:, None].astype(np.float32), np.random.default_rng(1), steps=20,
                               sample_weight=weights))
    assert sweeps[0].lrs == sweeps[1].lrs and sweeps[0].losses != sweeps[1].losses


@pytest.mark.parametrize("optimizer, momentum, nesterov, l2, dropout", [
    ("sgd", 0.9, False, 0.0, 0.0), ("adam", 0.9, False, 0.01, 0.0), ("momentum", 0.5, True, 0.01, 0.0),
    ("momentum", 0.7, False, 0.0, 0.3)])
def test_each_step_of_the_lr_sweep_is_a_step_of_fit(optimizer, momentum, nesterov, l2, dropout):
    # lr-find swept with momentum 0.9 whatever --momentum said, and without fit's (default) L2. Over two
    # epochs' worth of steps: a sweep that went through the rows again in the first pass's order passed, and so
    # did a fit whose momentum or Adam state started again every epoch.
    from nncli.core.training import lr_sweep

    X, y = two_class("moons", 160, 0)
    X, Y = standardize(X), y[:, None].astype(np.float32)
    nets = []
    for _ in range(2):
        net = Network([2, 8, 1], "relu", "bce", dropout=dropout)
        net.initialize(np.random.default_rng(0))
        nets.append(net)
    config = TrainConfig(epochs=2, batch_size=16, optimizer=optimizer, lr=0.05, momentum=momentum, nesterov=nesterov,
                         l2=l2)
    list(fit_iter(nets[0], X, Y, config, np.random.default_rng(1)))
    sweep = lr_sweep(nets[1], X, Y, np.random.default_rng(1), batch_size=16, optimizer=optimizer, momentum=momentum,
                     nesterov=nesterov, l2=l2, lr_min=0.05, lr_max=0.05, steps=20)  # (a constant rate: 2 epochs)
    assert len(sweep.losses) == 20
    np.testing.assert_array_equal(nets[1].params, nets[0].params)


def test_a_long_run_keeps_a_few_numbers_an_epoch(tmp_path):
    # The history was kept as Python floats in lists: ~370 bytes an epoch (3.7 GB over --epochs' 10 million)
    import tracemalloc

    from nncli.workflow import DataOptions, ModelOptions, Training, load_training_data

    (tmp_path / "t.csv").write_text("x,y\n1,2\n2,4\n3,6\n4,8.5\n")
    data = load_training_data(str(tmp_path / "t.csv"), DataOptions(), "regression")
    run = Training(data, ModelOptions(kind="linear"), TrainConfig(epochs=6000, batch_size=4, patience=None, l2=0.0),
                   seed=0, dtype="float32")
    it = iter(run)
    for _ in range(1000):  # (the first epochs allocate what every epoch then reuses)
        next(it)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in it:
            pass
        kept = (tracemalloc.get_traced_memory()[0] - before) / 5000
    finally:
        tracemalloc.stop()
    assert len(run.model().history["loss"]) == 6000
    assert kept < 100, kept  # bytes an epoch: 8 numbers of 8 bytes, and the arrays' growth


def test_the_weights_of_an_epoch_cut_short_have_no_training_loss_and_no_training_l2_penalty(tmp_path):
    """Without validation or early stopping the last epoch's weights are kept, and a stop cut that epoch
    short: its loss (of its first batches) is not kept, and its L2 penalty, of those batches too, was saved
    beside that loss of None (`fit --json` gave a penalty for a loss not measured)."""
    from nncli.workflow import DataOptions, ModelOptions, Training, load_training_data

    (tmp_path / "t.csv").write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(64)))
    data = load_training_data(str(tmp_path / "t.csv"), DataOptions(), "auto")
    calls = []

    def stop():
        calls.append(1)
        return len(calls) == 3  # the first batch of the second epoch (2 batches of 32 an epoch)

    run = Training(data, ModelOptions(hidden=(4,)), TrainConfig(epochs=5, batch_size=32, l2=0.01), seed=0,
                   dtype="float32", should_stop=stop)
    stats = list(run)
    assert [s.partial for s in stats] == [False, True] and stats[-1].stopped == "interrupted"
    info = run.model().info
    assert info["weights_from_epoch"] == 2 and info["final_loss"] is None and info["final_metric"] is None
    assert info["final_l2_penalty"] is None
    assert math.isfinite(run.model().history["loss"][0])  # (the whole first epoch keeps its figures)


def test_gradient_sizes_are_the_data_loss_gradient_of_each_round_epoch_s_first_batch():
    """EpochStats.gradient_rms: per layer, the RMS of d(data loss)/dW on the epoch's first batch (here the
    whole data set, at the initial weights), by central differences; the L2 term's gradient left out."""
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(40, 1))
    net = Network([2, 3, 1], "tanh", "mse", dtype=np.float64)
    net.initialize(np.random.default_rng(0))
    start = net.params.copy()

    def data_loss(params):
        net.params[:] = params
        return net.loss.value(net.logits(X), Y)

    h, numeric = 1e-6, np.zeros(net.n_weights)
    for j in range(net.n_weights):
        up, down = start.copy(), start.copy()
        up[j] += h
        down[j] -= h
        numeric[j] = (data_loss(up) - data_loss(down)) / (2 * h)
    expected = [math.sqrt(np.mean(numeric[:6] ** 2)), math.sqrt(np.mean(numeric[6:] ** 2))]  # (2x3, then 3x1)
    net.params[:] = start
    stats = train(net, X, Y, epochs=25, batch_size=40, lr=0.01, optimizer="sgd", l2=0.3)
    assert stats[0].gradient_rms == pytest.approx(expected, rel=1e-6)
    assert [s.epoch for s in stats if s.gradient_rms is not None] == [*range(1, 11), 12, 14, 16, 18, 20, 25]
    # (the later ones are the weights' gradients as they moved: not the first's again)
    assert all(s.gradient_rms != stats[0].gradient_rms for s in stats[1:] if s.gradient_rms is not None)


def test_weight_sizes_are_each_layer_s_at_the_end_of_round_epochs():
    """EpochStats.weight_rms: per layer, the RMS of its weights (not biases) as the epoch leaves them."""
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(30, 1))
    net = Network([2, 3, 1], "tanh", "mse", dtype=np.float64)
    net.initialize(np.random.default_rng(0))
    config = TrainConfig(epochs=12, batch_size=10, lr=0.05, optimizer="sgd", l2=0.1)
    for s in fit_iter(net, X, Y, config, np.random.default_rng(1)):  # (between epochs: the weights it left)
        if s.epoch == 11:  # not a round epoch
            assert s.weight_rms is None
        else:
            assert s.weight_rms == pytest.approx([math.sqrt(np.mean(W ** 2)) for W in net.W], rel=1e-12)
        if s.epoch == 1:
            first = s.weight_rms
    assert s.weight_rms != pytest.approx(first)


def test_patience_counts_the_epochs_since_the_latest_best_and_a_tie_is_no_new_best(monkeypatch):
    """Validation losses scripted as 1, 2, 2, 0.5, 0.5, 2, ...: with patience 3, training stops 3 epochs after the
    latest best (epoch 4) and keeps epoch 4's weights. A count of epochs without a new best kept across the new
    best stopped at epoch 5; a loss that only equals the best, taken as a new best, kept epoch 5's weights."""
    import nncli.core.training as training

    scripted = iter([1.0, 2.0, 2.0, 0.5, 0.5] + [2.0] * 5)
    monkeypatch.setattr(training, "evaluate", lambda net, X, Y: (next(scripted), 0.5))
    X, y = two_class("moons", 64, 0)
    X, Y = standardize(X), y[:, None].astype(np.float32)
    net = Network([2, 4, 1], "relu", "bce")
    net.initialize(np.random.default_rng(0))
    snapshots = {}
    for s in fit_iter(net, X, Y, TrainConfig(epochs=10, batch_size=32, lr=0.01, patience=3), np.random.default_rng(0),
                      val=(X, Y)):
        snapshots[s.epoch] = net.params.copy()
    assert (s.epoch, s.best_epoch, s.stopped) == (7, 4, "early")
    np.testing.assert_array_equal(net.params, snapshots[4])
    assert not np.array_equal(snapshots[4], snapshots[5])


def test_a_stop_request_in_the_epoch_that_runs_out_of_patience_is_reported_as_what_stopped_it(monkeypatch):
    """Patience 1, validation data, and SIGTERM during epoch 2, whose validation loss is no better: training
    was stopped by the signal. Reporting it as "early" (or as "interrupted") hid that in the model file's
    `stopped` and in what `fit` said."""
    import nncli.core.training as training

    scripted = iter([1.0, 2.0])
    monkeypatch.setattr(training, "evaluate", lambda net, X, Y: (next(scripted), 0.5))
    X, y = two_class("moons", 64, 0)
    X, Y = standardize(X), y[:, None].astype(np.float32)
    net = Network([2, 4, 1], "relu", "bce")
    net.initialize(np.random.default_rng(0))
    calls = []

    def stop():
        calls.append(1)
        return "terminated" if len(calls) == 3 else False  # the first batch of epoch 2 (2 batches an epoch)

    stats = list(fit_iter(net, X, Y, TrainConfig(epochs=10, batch_size=32, lr=0.01, patience=1),
                          np.random.default_rng(0), val=(X, Y), should_stop=stop))
    assert [s.stopped for s in stats] == [None, "terminated"] and stats[-1].partial and stats[-1].best_epoch == 1


def test_validation_data_without_patience_keeps_the_best_validation_epochs_weights():
    """`--patience 0` with validation data: no early stopping, but the weights kept are the best validation
    epoch's, as they were at the end of it (README), not the last epoch's nor the initial ones."""
    net, X, Y, Xv, Yv = _fitting_noise()
    snapshots, stats = {}, []
    for s in fit_iter(net, X, Y, TrainConfig(epochs=30, batch_size=8, lr=0.01), np.random.default_rng(0), val=(Xv, Yv)):
        snapshots[s.epoch] = net.params.copy()
        stats.append(s)
    best = min(stats, key=lambda s: s.val_loss)
    assert len(stats) == 30 and stats[-1].stopped is None and 1 < best.epoch == stats[-1].best_epoch < 30
    np.testing.assert_array_equal(net.params, snapshots[best.epoch])
    assert evaluate(net, Xv, Yv)[0] == pytest.approx(best.val_loss, rel=1e-5)


def test_the_scheduled_rate_is_the_rate_the_optimizer_steps_with():
    """Full-batch SGD with `--lr-schedule step --lr-step 1`: three epochs step as three one-epoch runs at 0.1,
    0.05 and 0.025 do. A schedule reported in the epoch's `lr` but never given to the optimizer passed every test."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((32, 3)), rng.standard_normal((32, 2))
    scheduled = Network([3, 4, 2], "tanh", "mse", dtype=np.float64)
    scheduled.initialize(np.random.default_rng(1))
    by_hand = Network([3, 4, 2], "tanh", "mse", dtype=np.float64)
    by_hand.params[...] = scheduled.params
    stats = train(scheduled, X, Y, epochs=3, batch_size=32, lr=0.1, optimizer="sgd", lr_schedule="step", lr_step=1,
                  lr_decay=0.5)
    assert [s.lr for s in stats] == pytest.approx([0.1, 0.05, 0.025])
    for lr in (0.1, 0.05, 0.025):
        train(by_hand, X, Y, epochs=1, batch_size=32, lr=lr, optimizer="sgd")
    np.testing.assert_allclose(scheduled.params, by_hand.params, rtol=1e-12)


def test_a_validation_loss_that_is_not_finite_is_a_divergence():
    """A validation loss of inf (here the squared error of a validation row far out) while the training loss is
    finite: training stops with the divergence error, at that epoch. Without the check, no epoch was ever best:
    early stopping ended the run after --patience epochs and `fit` said the starting weights were too large."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((32, 2)), rng.standard_normal((32, 1))
    Xv = X.copy()
    Xv[3] = 1e200
    net = Network([2, 1], "identity", "mse", dtype=np.float64)
    net.initialize(np.random.default_rng(1))
    with np.errstate(over="ignore"), pytest.raises(DivergenceError, match="diverged at epoch 1:"):
        list(fit_iter(net, X, Y, TrainConfig(epochs=5, batch_size=8, lr=0.01, patience=3), np.random.default_rng(0),
                      val=(Xv, Y)))


def test_weights_an_epochs_last_step_made_infinite_are_a_divergence_of_that_epoch():
    """The loss of the epoch's only batch is finite (2.5e37, in float32) and its step overflows the weight: training
    stops with the divergence error at that epoch, not a run that ends (its last epoch) holding an infinite weight."""
    net = Network([1, 1], "identity", "mse", dtype=np.float32)
    net.params[...] = [1.0, 0.0]
    X, Y = np.full((4, 1), 5e18, np.float32), np.zeros((4, 1), np.float32)
    with np.errstate(over="ignore"), pytest.raises(DivergenceError, match="diverged at epoch 1:"):
        train(net, X, Y, epochs=1, batch_size=4, lr=10.0, optimizer="sgd")


def test_a_validation_row_far_out_does_not_overflow_a_float32_networks_validation_loss():
    """A validation row far outside the training data (1e30 in standardized units, a typo in a --val file): its
    squared error overflowed float32 to inf, and `fit` stopped at epoch 1 as "diverged", with a hint to lower the
    learning rate. The validation loss is taken in float64, as `eval` scores those rows (a finite MSE, if huge)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 1)).astype(np.float32)
    Y = 2 * X
    Xv = X.copy()
    Xv[3] = 1e30
    net = Network([1, 1], "identity", "mse", dtype=np.float32)
    net.initialize(np.random.default_rng(1))
    stats = list(fit_iter(net, X, Y, TrainConfig(epochs=3, batch_size=8, lr=0.01), np.random.default_rng(0),
                          val=(Xv, Y)))
    assert len(stats) == 3 and all(1e50 < s.val_loss < math.inf for s in stats)


def _zero_linear(n_in=2):
    return Network([n_in, 1], "identity", "mse", dtype=np.float64)  # (all-zero weights: predicts 0)


def test_a_first_batch_predicted_exactly_does_not_make_the_rest_of_the_epoch_a_divergence():
    # The initial weights' loss is 0 on the first batch (its targets are 0, the prediction), 1/8 on the
    # epoch: measured against 0 with no floor, any loss at all would be "a million times" it.
    n, bs = 64, 8
    X = np.random.default_rng(0).standard_normal((n, 2))
    first = np.random.default_rng(5).permutation(n)[:bs]  # fit_iter's first draw from the same seed
    Y = np.ones((n, 1))
    Y[first] = 0.0
    stats = train(_zero_linear(), X, Y, seed=5, epochs=1, batch_size=bs, optimizer="sgd", lr=0.0)
    assert stats[0].loss == pytest.approx(7 / 8) and stats[0].stopped is None


def test_a_loss_near_zero_that_rises_to_a_hundredth_is_not_called_diverged(monkeypatch):
    # Scripted batch losses: the first epoch's (and the initial weights') 1e-9, the next 1e-2. A fit that
    # close to exact wobbles by more than a millionfold without exploding; 1e6 times 1e-3 it would be.
    losses = iter([1e-9] * 4 + [1e-2] * 4 + [2e3] * 4)
    net = _zero_linear()
    monkeypatch.setattr(net, "train_step", lambda *a, **k: next(losses))
    X, Y = np.zeros((8, 2)), np.zeros((8, 1))
    epochs = fit_iter(net, X, Y, TrainConfig(epochs=3, batch_size=2, optimizer="sgd"), np.random.default_rng(0))
    assert [next(epochs).loss, next(epochs).loss] == [1e-9, 1e-2]
    with pytest.raises(DivergenceError, match="diverged at epoch 3"):
        next(epochs)


def test_a_constant_target_fitted_exactly_has_r2_one_and_one_whose_spread_is_rounding_has_r2_zero():
    # As metrics.r2: 1 - MSE / variance is 0/0 for a constant target, and for one whose spread is rounding
    # (variance 1e-18 here) it is -1e10, a number that says nothing about the fit.
    X = np.random.default_rng(0).standard_normal((32, 2))
    exact = train(_zero_linear(), X, np.zeros((32, 1)), epochs=1, batch_size=32, optimizer="sgd", lr=0.0)
    Y = 1e-4 + 1e-9 * np.random.default_rng(1).standard_normal((32, 1))
    rounding = train(_zero_linear(), X, Y, epochs=1, batch_size=32, optimizer="sgd", lr=0.0)
    assert exact[0].loss == 0.0 and exact[0].metric == 1.0
    assert rounding[0].loss > 0.0 and rounding[0].metric == 0.0


def test_the_validation_penalty_is_the_l2_term_of_the_weights_at_the_end_of_the_epoch():
    # The training penalty is the mean over the epoch's batches (each batch's loss was taken with its own
    # weights); the validation loss is taken with the weights the epoch ended with, and so is its penalty.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    Y = X @ [[1.0], [2.0], [0.5]]
    net = Network([3, 8, 1], loss="mse", dtype=np.float64)
    net.initialize(rng)
    l2 = 0.2
    for s in fit_iter(net, X, Y, TrainConfig(epochs=3, batch_size=8, optimizer="sgd", lr=0.05, l2=l2),
                      np.random.default_rng(1), val=(X, Y)):
        end = 0.5 * l2 * float(np.vdot(net.weights, net.weights))
        assert s.val_penalty == pytest.approx(end, rel=1e-12) and s.val_penalty != pytest.approx(s.penalty)


@pytest.mark.parametrize("validated", [False, True])
def test_a_stop_request_after_an_epochs_last_batch_leaves_a_whole_epoch_that_can_be_the_best(validated):
    # Patience given: the best epoch's weights are kept. Stopped after the last batch of epoch 1, that epoch
    # is whole (not `partial`: it is shown and saved as an epoch) and is the best; its trained weights are
    # kept, not the initial ones.
    X, y = two_class("moons", 64, 0)
    X, Y = standardize(X), y[:, None].astype(np.float32)
    net = Network([2, 4, 1], "relu", "bce")
    net.initialize(np.random.default_rng(0))
    start = net.params.copy()
    calls = []

    def stop():
        calls.append(1)
        return len(calls) == 2  # the last of epoch 1's 2 batches

    stats = list(fit_iter(net, X, Y, TrainConfig(epochs=10, batch_size=32, lr=0.05, patience=3),
                          np.random.default_rng(0), val=(X, Y) if validated else None, should_stop=stop))
    assert len(stats) == 1 and stats[0].stopped == "interrupted" and stats[0].samples == 64
    assert not stats[0].partial and stats[0].best_epoch == 1
    assert not np.array_equal(net.params, start)
