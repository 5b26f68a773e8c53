"""Dense feed-forward networks: forward pass, backpropagation, parameters.

All parameters live in one flat buffer, weights first then biases:
`params = [W1 | W2 | ... | WL | b1 | ... | bL]`, and `W[l]`, `b[l]` are views
into it (W shaped (fan_in, fan_out), so Z = A @ W + b). The gradients mirror
that layout in `grads`. An optimizer therefore updates every parameter with a
few whole-vector operations, L2 touches the weights as one contiguous slice,
and saving or restoring the best weights is one copy.

Training passes reuse preallocated per-batch-size buffers, so a training
step allocates (almost) nothing.

Imports numpy and the core only.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from nncli.core.activations import ACTIVATIONS, BOUNDED
from nncli.core.losses import LOSSES
from nncli.core.optimizers import PASS_FLOPS, Adam
from nncli.core.team import Team, team

PREDICT_CHUNK = 8192
TILED_BIAS_CELLS = 1 << 18  # `Network.logits` adds a bias as a block of copies up to this size, else broadcast
# `Network.logits(X, whole_blocks=True, first_row=r)` (predict's and eval's) multiplies every block of
# rows at the one shape, a block the file's rows only partly fill padded with rows of zeros, and puts
# each row where its number in the file puts it: row r at place r % step of a block of `step` rows,
# however the file was cut into chunks. A row's logits are then the same bits whatever rows share its
# block. A BLAS can round a row differently by its place in the block: OpenBLAS's Haswell kernel (on
# an AMD EPYC, here) computes rows in groups of 12, each place of the 12 rounding its own way, and
# the rows past the last whole group (1,024 = 85 x 12 + 4) another; its SkylakeX kernel computed any
# whole group of rows alike but the rows left over, and products of other shapes (300 rows of a 64-1
# layer each computed in a block of 1 to 299 rows, against inside one of 1,024, differed in 281). So
# a prediction's last digits depended on where its row fell in the file's chunks, and so on what else
# the file held (an unread column, a quoted field elsewhere, CRLF line ends): on the Haswell kernel, 8
# of 3,000 rows of a 20-8-5 network changed between chunks of 7, 100 or 3,000 rows, and eval's log loss
# in its 11th digit. (The same row at another place in another file can still round differently.)


def forward_block_rows(sizes: Sequence[int]) -> int:
    """Rows per block in `Network.logits`: the widest layer's block about 1 MB of float32 (a core's
    L2 cache here), 128 to 1,024 rows, a multiple of 64 (see the note above). On 8,192 rows, one
    thread, against whole chunks with broadcast biases: 10-64-64-1 1.37 -> 1.18 ms, 50-256-128-10
    10.4 -> 9.2 ms, 784-512-256-10 95.5 -> 93.7 ms, 20-1024-1 17-21 -> 9.7 ms (benchmarks/RESULTS.md,
    section AB)."""
    return max(128, min(1024, (1 << 18) // max(sizes))) // 64 * 64


class Network:
    """A multilayer perceptron (or, with no hidden layer, a linear model).

    Parameters
    ----------
    sizes : layer widths, input first, output last, e.g. [2, 32, 32, 1].
    activation : hidden-layer activation, a key of ACTIVATIONS.
    loss : output/loss pair, a key of LOSSES ("mse", "bce", "ce").
    dtype : float32 (default, fast) or float64 (gradient checks).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", loss: str = "mse",
                 dtype: type = np.float32, dropout: float = 0.0):
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"bad layer sizes {list(sizes)}")
        self.sizes = [int(s) for s in sizes]
        self.activation = activation
        self.loss_name = loss
        self.loss = LOSSES[loss]
        self.act_forward, self.act_backward = ACTIVATIONS[activation]
        self.dtype = np.dtype(dtype)
        self.dropout = float(dropout)
        shapes = list(zip(self.sizes[:-1], self.sizes[1:]))
        self.n_weights = sum(a * b for a, b in shapes)
        self.n_params = self.n_weights + sum(self.sizes[1:])
        self.params = np.zeros(self.n_params, dtype=self.dtype)
        self.grads = np.zeros(self.n_params, dtype=self.dtype)
        self.W, self.b = self.layer_views(self.params)
        self.dW, self.db = self.layer_views(self.grads)
        self._buffers: dict[int, dict[str, list[np.ndarray]]] = {}
        self._row_views: dict[tuple[int, int, int], dict[str, list[np.ndarray]]] = {}  # see _rows
        self.team: Team | None = None  # see use_threads
        self._grads: list[tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]] = []  # see _part_grads

    def use_threads(self, threads: int) -> None:
        """Split training steps and predictions over this many threads (see `train_step`).

        Each thread works on its own rows of the batch. Predictions are the same
        as on one thread; a training step's gradient is summed in a different
        order, so a run matches a one-thread run only up to rounding.
        """
        self.team = team(threads) if threads > 1 else None

    def layer_views(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The weight matrices and bias vectors of each layer as views of a flat buffer (see the
        module docstring)."""
        views, offset = [], 0
        for shape in [*zip(self.sizes[:-1], self.sizes[1:]), *((s,) for s in self.sizes[1:])]:
            size = math.prod(shape)
            views.append(flat[offset:offset + size].reshape(shape))
            offset += size
        layers = len(self.sizes) - 1
        return views[:layers], views[layers:]

    @property
    def n_layers(self) -> int:
        return len(self.W)

    @property
    def weights(self) -> np.ndarray:
        """All weights (no biases) as one contiguous view of `params`."""
        return self.params[: self.n_weights]

    def __repr__(self) -> str:
        return (f"Network({'-'.join(map(str, self.sizes))}, {self.activation}, "
                f"{self.loss.output_activation}+{self.loss_name}, {self.n_params:,} params, {self.dtype.name})")

    def initialize(self, rng: np.random.Generator) -> None:
        """Glorot-uniform weights, U(±√(6 / (fan_in + fan_out))); hidden layers' biases drawn from
        the same range, the output layer's 0 (the standardized targets' mean, or even odds).

        Random hidden biases put each unit's kink (ReLU's bend, tanh's middle) anywhere in the inputs'
        range, not all through the origin: with He-normal weights and zero biases, a 128-unit ReLU
        layer fitted sin(3·‖x‖) on 500 rows to R² 0.35 on fresh rows (scikit-learn's MLP, which draws
        its biases so, 0.54; this, 0.79), and other smooth regressions a little worse
        (benchmarks/init_compare.py, benchmarks/RESULTS.md "Initialization"); classification scored the same."""
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            fan_in, fan_out = W.shape
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            W[...] = rng.uniform(-limit, limit, size=W.shape)
            b[...] = rng.uniform(-limit, limit, size=b.shape) if l < self.n_layers - 1 else 0.0

    # -- training passes (buffered) ------------------------------------------------------
    def _buffers_for(self, n: int) -> dict[str, list[np.ndarray]]:
        bufs = self._buffers.get(n)
        if bufs is None:
            if len(self._buffers) > 4:  # batch size, last partial batch (lr-find's batch): a few at most
                self._buffers.clear()
                self._row_views.clear()
            hidden = self.sizes[1:-1]
            # Softmax logits are stored column by column (order "F"): the loss reduces each row
            # over its few classes, which NumPy does fast only along the first axis of memory
            # (cross-entropy on 256 x 10 logits: 29 -> 18 us). The matrix products don't mind.
            # Other losses work element-wise against row-major targets and want rows (C order).
            logits = np.empty((n, self.sizes[-1]), self.dtype, order="F" if self.loss_name == "ce" else "C")
            bufs = {
                "Z": [*(np.empty((n, s), self.dtype) for s in hidden), logits],  # activations H, logits
                "ones": [np.ones(n, self.dtype)],  # bias gradients as ones @ dZ
                "dA": [np.empty((n, s), self.dtype) for s in hidden],
                "mask": [np.empty((n, s), self.dtype) for s in hidden] if self.dropout > 0 else [],
                "D": [np.empty((n, s), self.dtype) for s in hidden] if self.dropout > 0 else [],
            }
            self._buffers[n] = bufs
        return bufs

    def forward_train(self, X: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Forward pass that keeps what backprop needs; returns the logits (a reused buffer).

        With dropout > 0 and an rng, hidden units are dropped with probability p
        and the survivors scaled by 1/(1-p) (inverted dropout).
        """
        self._start_batch(X, rng)
        return self._forward_rows(self._buffers_for(X.shape[0]), X)

    def backward(self, dZ: np.ndarray) -> None:
        """Backpropagate dLoss/dlogits (as left in the logits buffer) into `grads`."""
        self._backward_rows(self._buffers_for(dZ.shape[0]), self._input, dZ, self.dW, self.db)

    def train_step(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None,
                   rng: np.random.Generator | None = None, pred: np.ndarray | None = None,
                   update: Callable[[int, int], None] | None = None) -> float:
        """Forward pass, loss and backpropagation of one batch: fills `grads`, returns the mean loss.

        `pred`, if given, receives each row's predicted class (for the accuracy),
        taken from the logits before the loss overwrites them with its gradient.
        `update(lo, hi)`, if given, is called once the gradients of params[lo:hi]
        are complete (the optimizer's step on that range); the ranges cover
        all parameters once, unless the loss is not finite: then never.

        On a team of threads (`use_threads`) each thread runs the step on its
        own rows of the batch, with its own gradient buffer; the buffers are
        summed. Where the first layer's weights are big, that layer's weight
        gradient is left out of the first hand-off: in a second one, each
        thread computes its share of those weight rows from the whole batch
        (no sum needed for the largest matrix of most networks), sums its
        share of the other gradients, and updates both ranges while they are
        in its cache.
        """
        n = X.shape[0]
        self._start_batch(X, rng)
        team = self.team
        if team is None or n < 2 * team.size or not team.worth_splitting(6 * n * self.n_weights):
            loss = self._step_rows(self._buffers_for(n), X, Y, w, pred, n, self.dW, self.db)
            if update is not None and math.isfinite(loss):
                update(0, self.n_params)
            return loss
        grads = self._part_grads(team.size)
        parts = [team.bounds(n, i) for i in range(team.size)]
        views = [self._rows(n, lo, hi) for lo, hi in parts]  # made here: the parts only read the caches
        losses = [0.0] * team.size
        fan_in, fan_out = self.W[0].shape
        first, rest = fan_in * fan_out, self.n_params - fan_in * fan_out
        # The second hand-off pays where the first layer's weights and the update are big (*large*:
        # 7% faster an epoch); on smaller networks it costs more than it saves (*medium*: 9% slower).
        # (The update's work counted as Adam's, the default optimizer.)
        work = 2 * n * first + (PASS_FLOPS * Adam.passes * self.n_params if update is not None else 0)
        two_phase = fan_in >= team.size and team.worth_splitting(work)

        def rows(i: int) -> None:
            lo, hi = parts[i]
            losses[i] = (hi - lo) * self._step_rows(views[i], X[lo:hi], Y[lo:hi], None if w is None else w[lo:hi],
                                                    None if pred is None else pred[lo:hi], n, *grads[i][1:],
                                                    first_weights=not two_phase)

        team.run(rows)
        loss = sum(losses) / n
        if not math.isfinite(loss):
            update = None  # a diverged batch updates nothing (the caller stops)
        if not two_phase:
            for flat, _, _ in grads[1:]:
                self.grads += flat
            if update is not None:
                update(0, self.n_params)
            return loss
        bufs = self._buffers_for(n)
        dZ = bufs["dA"][0] if self.n_layers > 1 else bufs["Z"][-1]  # the first layer's output gradient

        def finish(f0: int, f1: int, r0: int, r1: int) -> None:  # weight rows f0:f1 of W[0], rest r0:r1
            np.matmul(X[:, f0:f1].T, dZ, out=self.dW[0][f0:f1])
            if update is not None:
                update(f0 * fan_out, f1 * fan_out)
            s = slice(first + r0, first + r1)
            for flat, _, _ in grads[1:]:
                self.grads[s] += flat[s]
            if update is not None:
                update(s.start, s.stop)

        team.run(lambda i: finish(*team.bounds(fan_in, i), *team.bounds(rest, i)))
        return loss

    def _start_batch(self, X: np.ndarray, rng: np.random.Generator | None) -> None:
        """Note the batch's input, and draw its dropout masks (all here, in layer order)."""
        self._input = X
        self._dropped = self.dropout > 0 and rng is not None
        if self._dropped:
            # A unit is kept when a 16-bit random number is at least p * 65536 (p rounded to a
            # multiple of 1/65536), and the survivors are scaled by 1 / P(kept). The numbers are cut
            # from the generator's raw 64-bit output, four per draw: the mask costs a third of
            # drawing a float per unit (256 x 256: 131 -> 59 us).
            drop = min(round(self.dropout * 65536), 65535)
            scale = 65536 / (65536 - drop)
            for M in self._buffers_for(X.shape[0])["mask"]:
                bits = rng.bit_generator.random_raw(-(-M.size // 4)).view(np.uint16)  # type: ignore[union-attr]
                np.greater_equal(bits[:M.size].reshape(M.shape), drop, out=M, casting="unsafe")
                M *= scale

    def _rows(self, n: int, lo: int, hi: int) -> dict[str, list[np.ndarray]]:
        """The buffers of a batch of n rows, as views of rows lo:hi (cached: a step makes no views)."""
        key = (n, lo, hi)
        views = self._row_views.get(key)
        if views is None:
            bufs = self._buffers_for(n)
            views = {k: [b[: hi - lo] if k == "ones" else b[lo:hi] for b in bs] for k, bs in bufs.items()}
            self._row_views[key] = views
        return views

    def _step_rows(self, V: dict[str, list[np.ndarray]], X: np.ndarray, Y: np.ndarray, w: np.ndarray | None,
                   pred: np.ndarray | None, n: int, dW: list[np.ndarray], db: list[np.ndarray],
                   first_weights: bool = True) -> float:
        """train_step on some rows of a batch of n (X, Y, w, pred and the buffer views V are those rows'),
        gradients into dW, db (without dW[0] if not first_weights); returns these rows' mean loss."""
        Z = self._forward_rows(V, X)
        if pred is not None:
            self.classes(Z, out=pred)
        loss = self.loss.value_and_delta(Z, Y, w, batch_rows=n)
        self._backward_rows(V, X, Z, dW, db, first_weights)
        return loss

    def _forward_rows(self, V: dict[str, list[np.ndarray]], A: np.ndarray) -> np.ndarray:
        """The forward pass of input rows A into the buffer views V; returns their logits."""
        last = self.n_layers - 1
        for l in range(self.n_layers):
            Z = V["Z"][l]
            np.matmul(A, self.W[l], out=Z)
            Z += self.b[l]
            if l < last:
                self.act_forward(Z)
                A = np.multiply(Z, V["mask"][l], out=V["D"][l]) if self._dropped else Z
        return Z

    def _backward_rows(self, V: dict[str, list[np.ndarray]], X: np.ndarray, dZ: np.ndarray,
                       dW: list[np.ndarray], db: list[np.ndarray], first_weights: bool = True) -> None:
        """Backpropagate dZ, the logits' gradient of input rows X (buffer views V), into dW and db
        (all but dW[0] if not first_weights: then the first layer's output gradient is left in V)."""
        for l in range(self.n_layers - 1, -1, -1):
            A_prev = (V["D"] if self._dropped else V["Z"])[l - 1] if l > 0 else X
            if l > 0 or first_weights:
                np.matmul(A_prev.T, dZ, out=dW[l])
            # The column sums of dZ as a matrix-vector product: 3x faster than np.add.reduce
            # over axis 0 (9 -> 4 us on 256 x 256).
            np.matmul(V["ones"][0], dZ, out=db[l])
            if l > 0:
                dA = np.matmul(dZ, self.W[l].T, out=V["dA"][l - 1])
                if self._dropped:
                    dA *= V["mask"][l - 1]
                dZ = self.act_backward(dA, V["Z"][l - 1])

    def _part_grads(self, parts: int) -> list[tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]]:
        """Gradient buffers (flat, dW views, db views) for each part of a split step; the first is `grads`."""
        if len(self._grads) != parts:
            self._grads = [(self.grads, self.dW, self.db)]
            for _ in range(parts - 1):
                flat = np.zeros(self.n_params, self.dtype)
                self._grads.append((flat, *self.layer_views(flat)))
        return self._grads

    def _split(self, n: int, flops: float, work: Callable[[int, int], None]) -> None:
        """work(lo, hi) over 0..n-1: in one call, or in parts on the team's threads if worth it."""
        team = self.team
        if team is not None and n >= team.size and team.worth_splitting(flops):
            team.run(lambda i: work(*team.bounds(n, i)))
        else:
            work(0, n)

    # -- inference (allocating, chunked) ---------------------------------------------------
    def logits(self, X: np.ndarray, whole_blocks: bool = False, first_row: int = 0) -> np.ndarray:
        """Output pre-activations for X (n, n_features) -> (n, n_outputs); no dropout.

        whole_blocks: every block of rows at one shape, and row i of X at place (first_row + i) % step
        of its block, so that a row's logits do not depend on the rows computed with it nor on where
        the file was cut into chunks (first_row: X's first row's number in the file; see the note
        above `forward_block_rows`); a few rows then cost a whole block (1 row of 50-256-128-10:
        17 us -> 1.2 ms).
        """
        n, last = X.shape[0], self.n_layers - 1
        out = np.empty((n, self.sizes[-1]), self.dtype)
        # Rows go through the layers a block at a time, each part of a chunk (see `_split`) reusing
        # its own two blocks of hidden activations (a layer reads one and writes the other), which so
        # stay in the cache; and each bias of a narrow layer is added as a block of copies of itself:
        # a bias row broadcast over thousands of rows runs NumPy's inner loop once per row. (See
        # `forward_block_rows`, and the note above it on whole blocks.) Memory stays a few blocks of
        # the widest layer, whatever the depth (a block and a bias block each layer: 3.3 GB for 2 rows).
        step = forward_block_rows(self.sizes) if whole_blocks else min(n, forward_block_rows(self.sizes))
        lead = first_row % step if whole_blocks else 0  # rows of zeros before X's first, in its block
        biases = [np.tile(b, (step, 1)) if step * len(b) <= TILED_BIAS_CELLS else b for b in self.b]
        squashes = self.activation in BOUNDED  # (later layers take bounded inputs: only the first can overflow)
        widest = max(self.sizes[1:-1], default=0)

        def blocks(b0: int, b1: int) -> None:  # blocks b0:b1; block k holds rows k*step - lead onwards of X
            hidden = [np.empty(step * widest, self.dtype) for _ in range(min(2, last))]
            for k in range(b0, b1):
                r0, r1 = max(k * step - lead, 0), min((k + 1) * step - lead, n)  # X's rows in block k
                at = r0 + lead - k * step  # the first one's place in it
                padded = whole_blocks and r1 - r0 < step
                A = np.asarray(X[r0:r1], dtype=self.dtype)
                if padded:
                    A = np.concatenate([np.zeros((at, A.shape[1]), self.dtype), A,
                                        np.zeros((step - at - (r1 - r0), A.shape[1]), self.dtype)])
                for l in range(self.n_layers):
                    if l < last:
                        Z = hidden[l % 2][:len(A) * self.sizes[l + 1]].reshape(len(A), self.sizes[l + 1])
                    else:
                        Z = np.empty((step, self.sizes[-1]), self.dtype) if padded else out[r0:r1]
                    np.matmul(A, self.W[l], out=Z)
                    bias = biases[l]
                    np.add(Z, bias[:len(Z)] if bias.ndim == 2 else bias, out=Z)
                    if l < last:
                        if l == 0 and squashes and not np.isfinite(Z).all():
                            # An input far outside the data overflowed the first layer: tanh and sigmoid
                            # would squash inf to +-1, and the output look sound. NaN goes through to it.
                            Z[np.isinf(Z)] = np.nan
                        self.act_forward(Z)
                    A = Z
                if padded:
                    out[r0:r1] = Z[at:at + r1 - r0]

        # Split in whole blocks, PREDICT_CHUNK rows or so at a time: any number of threads then computes
        # the same blocks, so the same bits (a product cut elsewhere can round a row differently).
        total = -(-(lead + n) // step) if n else 0
        per = max(1, PREDICT_CHUNK // step)
        for s in range(0, total, per):
            e = min(s + per, total)
            self._split(e - s, 2 * min(n, (e - s) * step) * self.n_weights,
                        lambda b0, b1, s=s: blocks(s + b0, s + b1))
        return out

    def classes(self, Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The predicted class of each row of logits Z (classifiers): logit > 0 for one output
        unit (bce), else the largest; into `out` if given, else as indices."""
        if self.loss_name == "bce":
            return np.greater(Z[:, 0], 0.0, out=out) if out is not None else (Z[:, 0] > 0).astype(np.intp)
        return Z.argmax(axis=1, out=out)

    def output(self, X: np.ndarray) -> np.ndarray:
        """Network outputs: values (mse), P(class 1) (bce) or class probabilities (ce)."""
        return self.loss.output(self.logits(X))

    def loss_value(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None) -> float:
        """Mean data loss on (X, Y), no regularization term, no dropout."""
        return self.loss.value(self.logits(X), Y, w)
