"""Output activation + loss pairs, each chosen so the output error is simply `P - Y`.

LOSSES maps a name to a `Loss`:
- "mse": identity output, mean squared error (regression, one or more targets);
- "bce": sigmoid output, binary cross-entropy (two classes, one output unit);
- "ce":  softmax output, categorical cross-entropy (three or more classes).

Every function takes the output layer's pre-activation Z (logits), never the
probabilities, so losses are computed stably (log-sum-exp, softplus): logits
of +-1000 give finite losses and no overflow warnings.

Y is float and shaped like Z: targets for mse, 0/1 for bce, one-hot for ce.
An optional sample weight w (n,) scales each row's loss (class weights).

`value_and_delta(Z, Y, w, batch_rows=N)` works on some rows of a batch of N
(a thread's share, see `Network.train_step`): it returns the mean loss of its
own rows and scales the gradient for the mean over all N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


def _mean(rowloss: np.ndarray, w: np.ndarray | None) -> float:
    return float(rowloss.mean() if w is None else (rowloss * w).mean())


def _scale_delta(D: np.ndarray, w: np.ndarray | None, factor: float) -> np.ndarray:
    D *= factor
    if w is not None:
        D *= w[:, None]
    return D


# -- mean squared error ---------------------------------------------------------
def mse_value(Z: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None) -> float:
    """Mean over rows of the mean squared error over outputs."""
    E = Z - Y
    return _mean((E * E).mean(axis=1), w)


def mse_value_and_delta(Z: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None,
                        batch_rows: int | None = None) -> float:
    """Loss value; Z is overwritten with dLoss/dZ."""
    np.subtract(Z, Y, out=Z)
    n, k = Z.shape
    if w is None:
        loss = float(np.vdot(Z, Z)) / (n * k)
    else:
        loss = _mean((Z * Z).mean(axis=1), w)
    _scale_delta(Z, w, 2.0 / ((batch_rows or n) * k))
    return loss


def identity_output(Z: np.ndarray) -> np.ndarray:
    return Z


# -- binary cross-entropy ---------------------------------------------------------
def bce_value(Z: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None) -> float:
    """-[y log p + (1-y) log(1-p)], p = sigmoid(z), as max(z,0) - z*y + log1p(exp(-|z|))."""
    rowloss = np.maximum(Z, 0.0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
    return _mean(rowloss[:, 0], w)


def sigmoid_output(Z: np.ndarray) -> np.ndarray:
    """P(class 1) = 1 / (1 + e^-z), as exp(-softplus(-z)): accurate to the last digits in
    both tails (a tiny probability keeps its own significant digits; (1 + tanh(z/2)) / 2
    in float32 had an absolute error of ~6e-8, so p = 4.1e-8 came out as 6.0e-8, and 2e-9 as 0)."""
    P = np.logaddexp(0.0, -Z)
    np.negative(P, out=P)
    return np.exp(P, out=P)


def bce_value_and_delta(Z: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None,
                        batch_rows: int | None = None) -> float:
    # Labels are 0/1: with M = 1 - 2y (+1 or -1) and s = M z, a row's loss is softplus(s) and its
    # gradient M sigmoid(s) = M exp(s - softplus(s)), one stable logaddexp for both. (As softplus(z) - z y
    # and sigmoid(z) - y, a label-1 row the model was sure of, z = 16, lost its loss and gradient to
    # rounding in float32, 1.1e-7 -> 0, where a label-0 row at z = -16 kept them: ~1 µs more a batch.)
    M = np.multiply(Y, -2.0)
    M += 1.0
    S = np.multiply(Z, M)
    T = np.logaddexp(0.0, S)
    n = Z.shape[0]
    loss = float(T.sum()) / n if w is None else _mean(T[:, 0], w)
    np.subtract(S, T, out=S)
    np.exp(S, out=S)
    np.multiply(S, M, out=Z)
    _scale_delta(Z, w, 1.0 / (batch_rows or n))
    return loss


# -- categorical cross-entropy -------------------------------------------------------
def log_softmax(Z: np.ndarray) -> np.ndarray:
    S = Z - Z.max(axis=1, keepdims=True)
    S -= np.log(np.exp(S).sum(axis=1, keepdims=True))
    return S


def ce_value(Z: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None) -> float:
    return _mean(-(Y * log_softmax(Z)).sum(axis=1), w)


def softmax_output(Z: np.ndarray) -> np.ndarray:
    P = Z - Z.max(axis=1, keepdims=True)
    np.exp(P, out=P)
    P /= P.sum(axis=1, keepdims=True)
    return P


def ce_value_and_delta(Z: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None,
                       batch_rows: int | None = None) -> float:
    # log_softmax once; softmax = exp(log_softmax), so both come from one pass.
    L = log_softmax(Z)
    loss = -float(np.vdot(Y, L)) / Z.shape[0] if w is None else _mean(-(Y * L).sum(axis=1), w)
    np.exp(L, out=Z)
    Z -= Y
    _scale_delta(Z, w, 1.0 / (batch_rows or Z.shape[0]))
    return loss


@dataclass(frozen=True)
class Loss:
    """An output activation paired with its loss."""

    name: str
    output_activation: str
    value: Callable[..., float]
    value_and_delta: Callable[..., float]
    output: Callable[[np.ndarray], np.ndarray]


LOSSES: dict[str, Loss] = {
    "mse": Loss("mse", "identity", mse_value, mse_value_and_delta, identity_output),
    "bce": Loss("bce", "sigmoid", bce_value, bce_value_and_delta, sigmoid_output),
    "ce": Loss("ce", "softmax", ce_value, ce_value_and_delta, softmax_output),
}
