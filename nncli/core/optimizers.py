"""Optimizers: each updates a flat parameter vector in place from its gradient.

Training updates a step a range at a time as its gradients complete
(`begin_step()`, then `update_range(...)` over the ranges, each thread of a team
its own); `step(params, grads)` is the same step whole. `lr` is an attribute the
training loop sets from the learning-rate schedule. All state is preallocated flat
vectors, so one step is a handful of whole-vector NumPy operations.

`update_range` (and `step(..., overwrite_grads=True)`) compute the update in
the gradient buffer itself, which is then left holding garbage: backpropagation
rewrites every gradient before the next step, and it is one vector less to
stream through the caches each step. On the 535,818 parameters of the *large*
benchmark the vectors no longer fit in the cache next to the matrix products,
and Adam's step takes ~0.85 instead of ~1.0 ms.
"""

from __future__ import annotations

import math

import numpy as np


# Element-wise work counted in multiply-adds per element and vector pass, for Team.worth_splitting:
# a float32 pass runs at ~2-5 G elements/s against ~100 GFLOP/s for a matrix product.
PASS_FLOPS = 20


class _Optimizer:
    """The shared step: scalars once, then the vector update on the whole vector or in pieces.

    Every operation is element-wise, so a step updated in pieces (`update_range`, as training does on
    a team of threads, each its own piece) is the same as in one.
    """

    passes = 2  # whole-vector operations per step, to judge whether splitting is worth it (`Network`)

    def __init__(self, n: int, dtype: type):
        self.n, self.dtype = n, dtype
        self._tmp: np.ndarray | None = None  # `step`'s scratch vector, allocated on first use

    def step(self, params: np.ndarray, grads: np.ndarray, overwrite_grads: bool = False) -> None:
        """One whole step (`overwrite_grads`: computed in the gradient buffer, left holding garbage)."""
        if not overwrite_grads and self._tmp is None:
            self._tmp = np.empty(self.n, self.dtype)
        self._update_slice(self._coefficients(), params, grads, grads if overwrite_grads else self._tmp, slice(None))

    def begin_step(self) -> tuple[float, ...]:
        """Start a step updated piece by piece (`update_range`): its scalars; advances the step count."""
        return self._coefficients()

    def update_range(self, c: tuple[float, ...], params: np.ndarray, grads: np.ndarray, lo: int, hi: int) -> None:
        """Update params[lo:hi] from grads[lo:hi] (left holding garbage), with `begin_step`'s scalars."""
        self._update_slice(c, params, grads, grads, slice(lo, hi))

    def _update_slice(self, c: tuple[float, ...], params: np.ndarray, grads: np.ndarray, tmp: np.ndarray,
                      s: slice) -> None:
        self._update(c, params[s], grads[s], tmp[s], *(x[s] for x in self._state()))

    def _coefficients(self) -> tuple[float, ...]:
        return (float(self.lr),)  # type: ignore[attr-defined]

    def _state(self) -> tuple[np.ndarray, ...]:
        return ()  # the optimizer's per-parameter vectors, cut like the parameters

    def _update(self, c: tuple[float, ...], p: np.ndarray, g: np.ndarray, t: np.ndarray, *state: np.ndarray) -> None:
        """Update parameters p from gradients g (t: scratch, may be g), with scalars c and state vectors."""
        raise NotImplementedError


class SGD(_Optimizer):
    """Plain gradient descent: p <- p - lr * g."""

    def __init__(self, n: int, dtype: type = np.float32, lr: float = 0.01):
        super().__init__(n, dtype)
        self.lr = lr

    def _update(self, c: tuple[float, ...], p: np.ndarray, g: np.ndarray, t: np.ndarray, *state: np.ndarray) -> None:
        np.multiply(g, c[0], out=t)
        p -= t

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr:g})"


class Momentum(_Optimizer):
    """Heavy-ball momentum: v <- mu v - lr g; p <- p + v (Nesterov: p <- p + mu v - lr g)."""

    passes = 5

    def __init__(self, n: int, dtype: type = np.float32, lr: float = 0.01, momentum: float = 0.9,
                 nesterov: bool = False):
        super().__init__(n, dtype)
        self.lr, self.momentum, self.nesterov = lr, float(momentum), nesterov  # (see Adam._coefficients)
        self.velocity = np.zeros(n, dtype)

    def _state(self) -> tuple[np.ndarray, ...]:
        return (self.velocity,)

    def _update(self, c: tuple[float, ...], p: np.ndarray, g: np.ndarray, t: np.ndarray, *state: np.ndarray) -> None:
        (v,) = state
        np.multiply(g, c[0], out=t)
        v *= self.momentum
        v -= t
        if self.nesterov:
            p -= t
            np.multiply(v, self.momentum, out=t)
        else:
            t = v
        p += t

    def __repr__(self) -> str:
        return f"Momentum(lr={self.lr:g}, momentum={self.momentum:g}, nesterov={self.nesterov})"


class Adam(_Optimizer):
    """Adam (Kingma & Ba, 2015), its constant factors folded into the step size.

    `m` and `v` are kept as m / (1 - beta1) and v / (1 - beta2), i.e. the
    textbook moments without their (1 - beta) factors: m <- beta1 m + g,
    v <- beta2 v + g^2. Those factors and the bias corrections then all move
    into two scalars, so a step is ten whole-vector operations.
    """

    passes = 10

    def __init__(self, n: int, dtype: type = np.float32, lr: float = 0.001, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(n, dtype)
        self.lr, self.beta1, self.beta2, self.eps = lr, float(beta1), float(beta2), float(eps)  # (see _coefficients)
        self.m = np.zeros(n, dtype)
        self.v = np.zeros(n, dtype)
        self.t = 0

    def _coefficients(self) -> tuple[float, ...]:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # Textbook: p -= lr * m_hat / (sqrt(v_hat) + eps), with m_hat = (1 - b1) m / (1 - b1^t)
        # and v_hat = (1 - b2) v / (1 - b2^t) in terms of the scaled m, v kept here.
        # Python floats, never NumPy float64 scalars: those would make float32 vector
        # operations compute in float64 (NEP 50), ten times slower here.
        c1 = (1.0 - b1) / (1.0 - b1 ** self.t)
        c2 = math.sqrt((1.0 - b2) / (1.0 - b2 ** self.t))
        return float(self.eps / c2), float(self.lr * c1 / c2)

    def _state(self) -> tuple[np.ndarray, ...]:
        return self.m, self.v

    def _update(self, c: tuple[float, ...], p: np.ndarray, g: np.ndarray, t: np.ndarray, *state: np.ndarray) -> None:
        eps, rate = c
        m, v = state
        m *= self.beta1
        m += g
        v *= self.beta2
        np.multiply(g, g, out=t)  # g is not read after this (it may be t)
        v += t
        np.sqrt(v, out=t)
        t += eps
        np.divide(m, t, out=t)
        t *= rate
        p -= t

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr:g}, beta1={self.beta1:g}, beta2={self.beta2:g}, eps={self.eps:g})"


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name: str, n: int, dtype: type, lr: float, *, momentum: float = 0.9,
                   nesterov: bool = False) -> SGD | Momentum | Adam:
    """Build an optimizer by its CLI name for a parameter vector of length n."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}")
    return Momentum(n, dtype, lr, momentum=momentum, nesterov=nesterov) if name == "momentum" else \
        OPTIMIZERS[name](n, dtype, lr)
