"""Backpropagation against finite differences, and optimizer steps against hand arithmetic."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nncli.core.activations import ACTIVATIONS
from nncli.core.losses import LOSSES
from nncli.core.network import PREDICT_CHUNK, Network, forward_block_rows
from nncli.core.optimizers import SGD, Adam, Momentum


def make_problem(loss: str, activation: str, seed: int = 0, hidden=(5, 4)):
    rng = np.random.default_rng(seed)
    n, d = 7, 3
    k = {"mse": 2, "bce": 1, "ce": 3}[loss]
    net = Network([d, *hidden, k], activation, loss, dtype=np.float64)
    net.initialize(rng)
    net.b[0][...] = rng.normal(0, 0.3, net.b[0].shape)
    X = rng.normal(size=(n, d))
    if loss == "mse":
        Y = rng.normal(size=(n, k))
    elif loss == "bce":
        Y = (rng.random((n, 1)) < 0.5).astype(float)
    else:
        Y = np.eye(k)[rng.integers(0, k, n)]
    return net, X, Y


def analytic_grads(net: Network, X, Y, w=None) -> np.ndarray:
    Z = net.forward_train(X.copy())
    net.loss.value_and_delta(Z, Y, w)
    net.backward(Z)
    return net.grads.copy()


def numeric_grads(net: Network, X, Y, w=None, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(net.params)
    for i in range(net.n_params):
        old = net.params[i]
        net.params[i] = old + h
        up = net.loss_value(X, Y, w)
        net.params[i] = old - h
        down = net.loss_value(X, Y, w)
        net.params[i] = old
        g[i] = (up - down) / (2 * h)
    return g


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backprop_matches_finite_differences(loss, activation):
    net, X, Y = make_problem(loss, activation)
    if activation in ("relu", "leaky_relu"):
        # Keep pre-activations away from the kink, where finite differences lie.
        for _ in range(20):
            Z = X @ net.W[0] + net.b[0]
            if np.abs(Z).min() > 1e-3:
                break
            net.b[0][...] += 0.01
    ga, gn = analytic_grads(net, X, Y), numeric_grads(net, X, Y)
    np.testing.assert_allclose(ga, gn, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_backprop_with_sample_weights(loss):
    net, X, Y = make_problem(loss, "tanh", seed=3)
    w = np.random.default_rng(1).uniform(0.2, 3.0, X.shape[0])
    np.testing.assert_allclose(analytic_grads(net, X, Y, w), numeric_grads(net, X, Y, w), rtol=1e-5, atol=1e-8)


def test_linear_model_gradients():
    net, X, Y = make_problem("mse", "identity", hidden=())
    np.testing.assert_allclose(analytic_grads(net, X, Y), numeric_grads(net, X, Y), rtol=1e-6, atol=1e-9)


def test_dropout_backward_uses_the_same_mask():
    net, X, Y = make_problem("mse", "tanh", seed=5)
    net.dropout = 0.5
    net._buffers.clear()
    rng = np.random.default_rng(0)
    Z = net.forward_train(X.copy(), np.random.default_rng(7))
    M = [m.copy() for m in net._buffers[X.shape[0]]["mask"]]
    net.loss.value_and_delta(Z, Y)
    net.backward(Z)
    ga = net.grads.copy()
    assert any((m == 0).any() for m in M) and any((m > 1.5).any() for m in M)

    def masked_loss():  # the same network with the masks fixed
        A = X
        for l in range(net.n_layers):
            A = A @ net.W[l] + net.b[l]
            if l < net.n_layers - 1:
                A = np.tanh(A) * M[l]
        return net.loss.value(A, Y)

    h, gn = 1e-6, np.zeros_like(ga)
    for i in range(net.n_params):
        old = net.params[i]
        net.params[i] = old + h
        up = masked_loss()
        net.params[i] = old - h
        gn[i] = (up - masked_loss()) / (2 * h)
        net.params[i] = old
    del rng
    np.testing.assert_allclose(ga, gn, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("hidden", [(), (6,), (6, 5, 4)])
@pytest.mark.parametrize("rows", [50, PREDICT_CHUNK + 1500])
def test_logits_are_the_textbook_forward_pass(activation, hidden, rows):
    # The inference pass (`logits`, in chunks and blocks of rows) and the training pass (buffered)
    # are separate code: both must equal act(A @ W + b), layer by layer, with biases far from zero.
    # (The second size: a whole chunk of whole blocks, then a chunk whose last block is short.)
    rng = np.random.default_rng(3)
    net = Network([3, *hidden, 2], activation, "mse", dtype=np.float64)
    assert (PREDICT_CHUNK + 1500) % forward_block_rows(net.sizes) != 0
    net.initialize(rng)
    net.params[net.n_weights:] = rng.normal(0, 1.0, net.n_params - net.n_weights)
    X = rng.normal(size=(rows, 3))
    ref = X
    for l in range(net.n_layers):
        ref = ref @ net.W[l] + net.b[l]
        if l < net.n_layers - 1:
            ref = ACTIVATIONS[activation][0](ref.copy())
    assert np.ptp(ref) > 1.0
    np.testing.assert_allclose(net.logits(X), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.forward_train(X.copy()), ref, rtol=1e-12, atol=1e-12)


def test_inference_memory_is_a_few_blocks_of_the_widest_layer_whatever_the_depth():
    # Each layer had a block of activations and a block of bias copies of its own: a model file of
    # layers of 2^20 units between layers of one took predict 3.3 GB for two rows.
    import tracemalloc

    sizes = [2] + [50_000, 1] * 5
    net = Network(sizes, "relu", "mse")
    net.initialize(np.random.default_rng(0))
    X = np.ones((2, 2), np.float32)
    block = forward_block_rows(sizes) * 50_000 * 4  # bytes of one block of the widest layer
    tracemalloc.start()
    try:
        Z = net.logits(X, whole_blocks=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert Z.shape == (2, 1) and np.isfinite(Z).all()
    assert peak < 2.5 * block, (peak, block)  # two blocks (a layer reads one, writes the other); it was ten


@pytest.mark.parametrize("sizes", [[10, 64, 64, 1], [50, 256, 128, 10], [784, 64, 3], [889, 7]])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_rows_logits_do_not_depend_on_the_rows_computed_with_it(sizes, threads):
    """Predicted alone, in a short block, or in a chunk of thousands, each row at its place in the file:
    the same bits (float32; see the note above forward_block_rows).
    Without the padding, 300 rows of 10-64-64-1 predicted one at a time differed in 103 (OpenBLAS's
    SkylakeX kernel); without the places, on its Haswell kernel, rows 12 apart in a block round alike
    and others not: every one of these cases failed."""
    rng = np.random.default_rng(4)
    net = Network(sizes, "relu", "mse")
    net.initialize(rng)
    net.params[net.n_weights:] = rng.normal(0, 1.0, net.n_params - net.n_weights)
    net.use_threads(threads)
    X = rng.normal(size=(PREDICT_CHUNK + 700, sizes[0])).astype(np.float32)
    whole = net.logits(X, whole_blocks=True)
    assert_array_equal = np.testing.assert_array_equal
    # (single rows every 10th: each is padded to a whole block, and 200 of them took 2 s a case)
    for lo, hi in [(i, i + 1) for i in range(0, 200, 10)] + [(i, i + 37) for i in range(0, 4000, 37)] + [(5, 8000)]:
        assert_array_equal(net.logits(X[lo:hi], whole_blocks=True, first_row=lo), whole[lo:hi],
                           err_msg=f"rows {lo}:{hi}")
    # the file's row numbers past the first chunk: the same places in the blocks
    step = forward_block_rows(sizes)
    assert_array_equal(net.logits(X[3:40], whole_blocks=True, first_row=3 + 7 * step), whole[3:40])
    np.testing.assert_allclose(net.logits(X[:37]), whole[:37], rtol=1e-5, atol=1e-5)  # (without: as close, not the same bits)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_losses_are_stable_on_huge_logits(loss):
    k = {"mse": 1, "bce": 1, "ce": 3}[loss]
    Z = np.array([[1000.0] * k, [-1000.0] * k, [1000.0] + [-1000.0] * (k - 1)], dtype=np.float32)
    Y = np.zeros_like(Z)
    Y[:, 0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = LOSSES[loss].value(Z, Y)
        d = Z.copy()
        v2 = LOSSES[loss].value_and_delta(d, Y)
        out = LOSSES[loss].output(Z.copy())
    assert np.isfinite(v) and np.isfinite(v2) and np.isfinite(d).all() and np.isfinite(out).all()
    assert v == pytest.approx(v2, rel=1e-6)
    if loss == "bce":
        assert v == pytest.approx(1000.0 / 3, rel=1e-6)  # only the -1000 row is wrong, by 1000 nats
    if loss == "ce":
        assert v == pytest.approx(2 * np.log(3) / 3, rel=1e-5)  # two rows of equal logits, one certain and right


def test_sgd_step_by_hand():
    p = np.array([1.0, -2.0, 0.5])
    g = np.array([0.5, -1.0, 2.0])
    SGD(3, np.float64, lr=0.1).step(p, g)
    np.testing.assert_allclose(p, [0.95, -1.9, 0.3])


def test_momentum_steps_by_hand():
    p, g = np.array([1.0]), np.array([2.0])
    opt = Momentum(1, np.float64, lr=0.1, momentum=0.9)
    opt.step(p, g)  # v = -0.2, p = 0.8
    opt.step(p, g)  # v = 0.9 * -0.2 - 0.2 = -0.38, p = 0.42
    np.testing.assert_allclose(p, [0.42])
    p = np.array([1.0])
    nest = Momentum(1, np.float64, lr=0.1, momentum=0.9, nesterov=True)
    nest.step(p, g)  # v = -0.2; p += 0.9 * -0.2 - 0.2 = -0.38 -> 0.62
    np.testing.assert_allclose(p, [0.62])


def test_adam_steps_by_hand():
    p = np.array([1.0, 1.0])
    g1, g2 = np.array([0.1, -3.0]), np.array([0.2, 1.0])
    opt = Adam(2, np.float64, lr=0.01)
    opt.step(p, g1)
    # Step 1: m_hat = g, v_hat = g^2, so each parameter moves by lr * sign(g) (eps aside).
    np.testing.assert_allclose(p, [0.99, 1.01], rtol=1e-7)
    p1 = p.copy()
    opt.step(p, g2)
    m = 0.9 * 0.1 * g1 + 0.1 * g2
    v = 0.999 * 0.001 * g1**2 + 0.001 * g2**2
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = p1 - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(p, expected, rtol=1e-9)


@pytest.mark.parametrize("make", [lambda n: SGD(n, np.float32, lr=0.1),
                                  lambda n: Momentum(n, np.float32, lr=0.1, momentum=0.9),
                                  lambda n: Momentum(n, np.float32, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda n: Adam(n, np.float32, lr=0.01)],
                         ids=["sgd", "momentum", "nesterov", "adam"])
def test_overwrite_grads_changes_nothing_but_the_gradients(make):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=50).astype(np.float32) for _ in range(3)]
    p_keep, p_overwrite = np.ones(50, np.float32), np.ones(50, np.float32)
    keep, overwrite = make(50), make(50)
    for g in grads:
        g_before = g.copy()
        keep.step(p_keep, g)
        np.testing.assert_array_equal(g, g_before)  # the default leaves the gradients alone
        overwrite.step(p_overwrite, g.copy(), overwrite_grads=True)
    np.testing.assert_array_equal(p_overwrite, p_keep)  # bit for bit


def test_adams_epsilon_is_added_to_the_root_of_v():
    # sqrt(v_hat) + eps, not sqrt(v_hat + eps): with a gradient of 1e-7 the first step is lr * g / (|g| + eps),
    # about half of lr; with eps under the root it was about 100 times smaller.
    p = np.array([0.0])
    Adam(1, np.float64, lr=0.01).step(p, np.array([1e-7]))
    np.testing.assert_allclose(p, [-0.01 * 1e-7 / (1e-7 + 1e-8)], rtol=1e-9)


def test_adam_steps_a_constant_gradient_by_lr_times_g_over_g_plus_eps_at_every_step():
    """With a constant gradient the bias-corrected moments are exactly g and g², so every step, not only the
    first, is lr * g / (|g| + eps). Epsilon left unscaled in the folded step (eps where eps / c2 belongs) grew
    these steps as the count went on (0.91 lr at first, 0.99 lr by step 50): the first step alone did not show it."""
    g = 1e-7
    p = np.array([0.0])
    opt = Adam(1, np.float64, lr=0.01)
    for t in range(1, 51):
        before = p[0]
        opt.step(p, np.array([g]))
        assert before - p[0] == pytest.approx(0.01 * g / (g + 1e-8), rel=1e-9), t


def test_make_optimizer_passes_momentum_and_nesterov_on():
    # `--momentum 0.5 --nesterov` reached the optimizer as 0.9 without Nesterov, and no test noticed.
    from nncli.core.optimizers import make_optimizer

    g = np.array([2.0])
    for momentum, nesterov in ((0.5, True), (0.5, False), (0.9, True)):
        made, p = make_optimizer("momentum", 1, np.float64, 0.1, momentum=momentum, nesterov=nesterov), np.array([1.0])
        by_hand, q = Momentum(1, np.float64, lr=0.1, momentum=momentum, nesterov=nesterov), np.array([1.0])
        for _ in range(2):
            made.step(p, g)
            by_hand.step(q, g)
        np.testing.assert_array_equal(p, q)
    assert make_optimizer("momentum", 1, np.float64, 0.1, momentum=0.5).momentum == 0.5
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        make_optimizer("rmsprop", 1, np.float64, 0.1)


def test_leaky_relus_slope_is_the_documented_one():
    # The slope is not stored in model files: a change would make every saved leaky_relu model
    # predict differently, without an error.
    forward, backward = ACTIVATIONS["leaky_relu"]
    Z = np.array([[-2.0, 3.0]])
    A = forward(Z.copy())
    np.testing.assert_allclose(A, [[-0.02, 3.0]])
    np.testing.assert_allclose(backward(np.ones((1, 2)), A), [[0.01, 1.0]])


@pytest.mark.parametrize("loss", ["mse", "bce", "ce"])
def test_a_weighted_loss_value_is_the_weighted_mean_of_the_rows_losses(loss):
    # The gradients with sample weights were checked, the loss values reported were not (an unweighted
    # value passed: early stopping without validation picks epochs by it).
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(6, 3 if loss != "bce" else 1))
    if loss == "mse":
        Y = rng.normal(size=Z.shape)
        rows = ((Z - Y) ** 2).mean(axis=1)
    elif loss == "bce":
        Y = (rng.random(Z.shape) > 0.5).astype(float)
        p = 1 / (1 + np.exp(-Z[:, 0]))
        rows = -(Y[:, 0] * np.log(p) + (1 - Y[:, 0]) * np.log(1 - p))
    else:
        Y = np.eye(3)[rng.integers(0, 3, 6)]
        logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
        rows = -(Y * logp).sum(axis=1)
    w = rng.uniform(0.2, 3.0, 6)
    expected = float((w * rows).sum() / 6)
    assert LOSSES[loss].value(Z, Y, w) == pytest.approx(expected, rel=1e-12)
    assert LOSSES[loss].value_and_delta(Z.copy(), Y, w) == pytest.approx(expected, rel=1e-12)
    assert LOSSES[loss].value(Z, Y) == pytest.approx(float(rows.mean()), rel=1e-12)
    assert LOSSES[loss].value_and_delta(Z.copy(), Y) == pytest.approx(float(rows.mean()), rel=1e-12)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_initial_weights_are_glorot_uniform_with_random_hidden_biases_and_zero_output_biases(activation):
    net = Network([400, 300, 200, 100], activation, "ce")
    net.initialize(np.random.default_rng(0))
    for W, b, (fan_in, fan_out), hidden in zip(net.W, net.b, [(400, 300), (300, 200), (200, 100)], [True, True, False]):
        limit = np.sqrt(6 / (fan_in + fan_out))  # U(±limit): std limit / √3
        assert np.abs(W).max() <= limit and W.std() == pytest.approx(limit / np.sqrt(3), rel=0.02) and abs(W.mean()) < 0.002
        if hidden:  # each unit's kink anywhere in the inputs' range, not all through the origin
            assert np.abs(b).max() <= limit and b.std() == pytest.approx(limit / np.sqrt(3), rel=0.15)
            assert np.abs(b).max() > 0.9 * limit
        else:  # the output starts at the (standardized) targets' mean, or even odds
            assert not b.any()


# -- what the audit's sweep found uncovered: linear classifiers, deep and narrow layouts, one row, L2, float32
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("weighted", [False, True])
def test_linear_model_gradients_for_every_loss(loss, weighted):
    net, X, Y = make_problem(loss, "identity", seed=5, hidden=())
    w = np.random.default_rng(2).uniform(0.2, 3.0, X.shape[0]) if weighted else None
    np.testing.assert_allclose(analytic_grads(net, X, Y, w), numeric_grads(net, X, Y, w), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("hidden", [(4, 4, 4, 4), (1,), (3, 1, 3)])
@pytest.mark.parametrize("loss", ["bce", "ce"])
@pytest.mark.parametrize("rows", [1, 7])
def test_deep_narrow_and_one_row_gradients(hidden, loss, rows):
    net, X, Y = make_problem(loss, "tanh", seed=7, hidden=hidden)
    X, Y = X[:rows], Y[:rows]
    np.testing.assert_allclose(analytic_grads(net, X, Y), numeric_grads(net, X, Y, h=1e-5), rtol=1e-4, atol=1e-9)


def test_the_l2_penalty_training_adds_is_the_gradient_of_half_lambda_times_the_squared_weights():
    """Training's update hook adds l2 * W to the weights' gradients, not to the biases': against finite
    differences of loss + (l2 / 2) sum W^2, the objective training minimizes (`l2_penalty`)."""
    from nncli.core.training import _Update, l2_penalty

    class Capture:  # an optimizer that keeps the gradient it is handed
        def begin_step(self):
            return ()

        def update_range(self, c, params, grads, lo, hi):
            self.grads[lo:hi] = grads[lo:hi]

    net, X, Y = make_problem("ce", "tanh", seed=9)
    l2, opt = 0.3, Capture()
    opt.grads = np.zeros(net.n_params)
    update = _Update(net, opt, l2)
    update.begin()
    net.train_step(X, Y, update=update)

    def objective():
        return net.loss_value(X, Y) + l2_penalty(net, l2)

    g = np.zeros(net.n_params)
    for i in range(net.n_params):
        old = net.params[i]
        net.params[i] = old + 1e-6
        up = objective()
        net.params[i] = old - 1e-6
        g[i] = (up - objective()) / 2e-6
        net.params[i] = old
    np.testing.assert_allclose(opt.grads, g, rtol=1e-5, atol=1e-8)
    data_only = analytic_grads(net, X, Y)
    np.testing.assert_array_equal(opt.grads[net.n_weights:], data_only[net.n_weights:])  # (biases: no penalty)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_float32_gradients_agree_with_float64_even_on_rows_the_model_is_sure_of(loss):
    # bce's float32 training loss and gradient rounded a sure label-1 row (z = 16) to 0, where its mirror,
    # a label-0 row at z = -16, kept 1.1e-7
    net, X, Y = make_problem(loss, "tanh", seed=11, hidden=(6,))
    net.W[1][...] *= 12.0  # logits of about ±15: most rows sure of their class
    f32 = Network(net.sizes, "tanh", loss, np.float32)
    f32.params[...] = net.params
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    for rows in (slice(None), slice(0, 1), slice(3, 4)):
        g64, g32 = analytic_grads(net, X[rows], Y[rows]), analytic_grads(f32, X32[rows], Y32[rows])
        np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-4 * np.abs(g64).max())


def test_bce_loses_no_sure_row_to_rounding_whichever_its_label():
    bce = LOSSES["bce"]
    for z, y in ((16.0, 1.0), (-16.0, 0.0)):
        Z, Y = np.array([[z]], np.float32), np.array([[y]], np.float32)
        loss = bce.value_and_delta(Z, Y)
        assert loss == pytest.approx(1.1253517e-07, rel=1e-5)
        assert Z[0, 0] == pytest.approx(1.1253517e-07 * (1 if y == 0 else -1), rel=1e-5)
        assert loss == pytest.approx(bce.value(np.array([[z]], np.float32), Y), rel=1e-5)  # (as eval scores it)
