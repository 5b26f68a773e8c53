"""Evaluation metrics: pure functions of (y_true, y_pred). NumPy only (and the losses' log-softmax)."""

from __future__ import annotations

import numpy as np

from nncli.core.losses import log_softmax


def _columns(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (np.asarray(y_true, np.float64).reshape(len(y_true), -1),
            np.asarray(y_pred, np.float64).reshape(len(y_pred), -1))


def _scaled(yt: np.ndarray, yp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both over each output's largest magnitude, and those scales: errors of targets near 1e300 square
    (or near 1.7e308 sum) past float64's range, their metrics not. Used only where the plain
    arithmetic overflowed, so that ordinary results keep every bit."""
    with np.errstate(invalid="ignore"):
        scale = np.maximum(np.maximum(np.abs(yt).max(axis=0), np.abs(yp).max(axis=0)), np.finfo(np.float64).tiny)
    return yt / scale, yp / scale, scale


def _overflowed(value: object, yt: np.ndarray, yp: np.ndarray) -> bool:
    """Whether a metric of finite values came out non-finite: their squares or sums overflowed."""
    return not np.all(np.isfinite(value)) and bool(np.isfinite(yt).all() and np.isfinite(yp).all())


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    yt, yp = _columns(y_true, y_pred)
    with np.errstate(over="ignore"):
        value = float(np.mean((yt - yp) ** 2))
        if _overflowed(value, yt, yp):
            t, p, scale = _scaled(yt, yp)
            value = float(np.mean(((t - p) ** 2).mean(axis=0) * scale * scale))  # (inf where it is past float64)
    return value


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error; for several outputs the mean of each one's (as scikit-learn's default)."""
    yt, yp = _columns(y_true, y_pred)
    with np.errstate(over="ignore"):
        value = float(np.sqrt(((yt - yp) ** 2).mean(axis=0)).mean())
        # (or underflowed: errors under ~1e-154 square to subnormals or 0, an RMSE of 1e-200 read 0)
        if _overflowed(value, yt, yp) or (value < 1e-145 and bool((yt != yp).any()) and np.isfinite(yp).all()):
            t, p, scale = _scaled(yt, yp)
            value = float((np.sqrt(((t - p) ** 2).mean(axis=0)) * scale).mean())
    return value


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    yt, yp = _columns(y_true, y_pred)
    with np.errstate(over="ignore"):
        value = float(np.mean(np.abs(yt - yp)))
        if _overflowed(value, yt, yp):
            t, p, scale = _scaled(yt, yp)
            value = float(np.mean(np.abs(t - p).mean(axis=0) * scale))
    return value


def rmsle(y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    """Root mean squared error of log(1 + y), as scikit-learn's root_mean_squared_log_error (for several
    outputs the mean of each one's); None where a value is below 0, whose log(1 + y) may not exist."""
    yt, yp = _columns(y_true, y_pred)
    if (yt < 0).any() or (yp < 0).any():
        return None
    return rmse(np.log1p(yt), np.log1p(yp))


_UNDERFLOW = np.finfo(np.float64).tiny / np.finfo(np.float64).eps  # (~1e-292: sums of squares below lost digits)


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination, averaged over outputs (as scikit-learn's default).

    An output whose true values are constant scores 1.0 if predicted exactly, else 0.0.
    """
    yt, yp = _columns(y_true, y_pred)
    const = (yt == yt[:1]).all(axis=0)  # (their float mean may differ: 300 copies of 0.1 average 0.09999999999999999)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        ss_res = ((yt - yp) ** 2).sum(axis=0)
        ss_tot = np.where(const, 0.0, ((yt - yt.mean(axis=0)) ** 2).sum(axis=0))
        # Sums again, each over a scale of its own, where they overflowed (under one scale common to both, the
        # true values' spread beside a prediction near 1e300 underflowed to 0, and R² read 0, not far below it)
        # or their squares underflowed (a spread under ~1e-150 read as none: R² 1.0 or 0 whatever the predictions).
        redo = ~(np.isfinite(ss_res) & np.isfinite(ss_tot)) | (ss_tot < _UNDERFLOW) & ~const \
            | (ss_res < _UNDERFLOW) & (yt != yp).any(axis=0)
        if redo.any() and np.isfinite(yt).all() and np.isfinite(yp).all():
            t, p, scale = _scaled(yt[:, redo], yp[:, redo])
            res = ((t - p) ** 2).sum(axis=0)
            t_scale = np.maximum(np.abs(yt[:, redo]).max(axis=0), np.finfo(np.float64).tiny)
            d = yt[:, redo] / t_scale
            ss_tot[redo] = np.where(const[redo], 0.0, ((d - d.mean(axis=0)) ** 2).sum(axis=0))
            ss_res[redo] = np.where(res > 0, res * (scale / t_scale) ** 2, 0.0)  # (inf where past float64: R² -inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                          np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def log_loss(y_true: np.ndarray, logits: np.ndarray) -> float:
    """Mean negative log-probability of the true class (y_true: class indices), from the logits:
    one column for two classes (sigmoid), else one per class (softmax); see `log_losses`."""
    return float(np.mean(log_losses(y_true, logits))) + 0.0  # + 0.0: never "-0.0"


def log_losses(y_true: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Each row's negative log-probability of its true class, float64 (n,).

    Taken from the logits in float64, not from probabilities: a float32 probability of 1e-9
    may round to 0 (and would need clipping), while its logit keeps every digit.
    """
    Z = np.asarray(logits, np.float64)
    if Z.shape[1] == 1:  # -log sigmoid(z) = softplus(-z) for class 1, softplus(z) for class 0
        z = Z[:, 0]
        return np.logaddexp(0.0, np.where(np.asarray(y_true) == 1, -z, z))
    return -log_softmax(Z)[np.arange(len(y_true)), y_true]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts: rows are true classes, columns predicted ones."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def precision_recall_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1, support and times predicted (0 where undefined); counted
    per class, without the (n_classes, n_classes) confusion matrix."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    support = np.bincount(y_true, minlength=n_classes)
    predicted = np.bincount(y_pred, minlength=n_classes)
    tp = np.bincount(y_true[y_true == y_pred], minlength=n_classes).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return precision, recall, f1, support, predicted


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve: the chance that a positive row scores above a negative one, a tie
    counting half (scikit-learn's `roc_auc_score`, by the Mann-Whitney U of average ranks); None
    unless both kinds of row are there. Any score that orders the rows as the probability does will do
    (a logit: probabilities near 1 tie in float32)."""
    positive = np.asarray(positive, bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if not n_pos or not n_neg:
        return None
    _, index, counts = np.unique(np.asarray(score, np.float64), return_inverse=True, return_counts=True)
    ranks = np.cumsum(counts) - (counts - 1) / 2  # (1-based; the mean rank of each run of ties)
    rank_sum = float(ranks[index.reshape(-1)][positive].sum(dtype=np.float64))
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
