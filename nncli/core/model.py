"""A trained model: the network plus everything needed to use it on new rows.

The network works in standardized units; the model maps raw columns in and
predictions out (class labels and probabilities, or values in the target's
units). Saving and loading is `nncli.model_file`'s job. NumPy, the stdlib and nncli.core only.
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field

import numpy as np

from nncli.core.losses import sigmoid_output
from nncli.core.network import Network
from nncli.core.preprocessing import EncodeReport, Preprocessor, Target

HISTORY_KEYS = ("loss", "metric", "val_loss", "val_metric", "lr", "seconds")


@dataclass
class Model:
    kind: str  # "linear" or "mlp"
    network: Network
    pre: Preprocessor
    target: Target
    na_values: list[str]
    config: dict = field(default_factory=dict)  # how it was trained (CLI options)
    info: dict = field(default_factory=dict)  # rows, data checksum, best epoch, final metrics, ...
    history: dict[str, np.ndarray] = field(default_factory=dict)  # per-epoch, keys in HISTORY_KEYS
    written_by: str | None = None  # the version of nncli that wrote the model's file, if it was loaded from one

    @property
    def task(self) -> str:
        return self.target.task

    def inputs(self, columns: dict[str, np.ndarray], report: EncodeReport | None = None) -> np.ndarray:
        """Raw feature columns -> standardized network inputs."""
        return self.pre.transform(columns, frozenset(self.na_values), self.network.dtype, report)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) for standardized inputs X."""
        return self.probabilities(self.network.logits(X))

    def predict_values(self, X: np.ndarray) -> np.ndarray:
        """Regression predictions (n, n_targets) in the target's units."""
        return self.target.decode_values(self.network.logits(X))

    def predict_classes(self, Z: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Class indices from logits Z: the most probable class, without computing probabilities; of
        two classes with a `threshold`, the second where its probability is above it (its logit above
        the threshold's log-odds)."""
        if threshold is None:
            return self.network.classes(Z)
        return (Z[:, 0] > math.log(threshold / (1 - threshold))).astype(np.intp)

    def probabilities(self, Z: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) from logits Z."""
        if self.target.loss == "bce":  # each class from its own logit: 1 - P would lose a small P(class 0)
            return np.column_stack([sigmoid_output(-Z[:, 0]), sigmoid_output(Z[:, 0])])
        return self.network.loss.output(Z)

    def centered_input_network(self) -> tuple[Network, np.ndarray] | None:
        """For numeric features only: (net, center) with net.logits(raw - center) = the logits of
        the standardized rows; None if a feature is categorical.

        Standardizing is (x - mean) / scale; the division is folded into the first layer,
        (x - mean) / scale @ W = (x - mean) @ (W / scale) (in float64), so raw rows need only
        the subtraction, which is done as training did it: in the network's dtype, with the mean
        rounded to it. The mean is not folded into the bias as well: that would save the
        subtraction (under 1% of a forward pass) and lose the digits of a feature far from zero
        for its spread, whose raw products cancel in float32 (mean 1e6, std 1: probabilities
        off by up to 0.06, 35 classes of 3,000 flipped). The network has no thread team:
        `predict` runs it on the reader's converting threads, several chunks at once.
        """
        if any(f.kind != "numeric" for f in self.pre.features):
            return None
        net = self.network
        raw = Network(net.sizes, net.activation, net.loss_name, net.dtype.type)
        raw.params[...] = net.params
        raw.W[0][...] = net.W[0].astype(np.float64) / self.pre.scale[:, None]
        return raw, self.pre.mean.astype(net.dtype)

    def grid_outputs(self, axes: list[np.ndarray]) -> np.ndarray:
        """What a model of one or two numeric features gives over the grid of their raw values `axes` (one
        array a feature, in the features' order), the first feature's values varying fastest: a
        classifier's class probabilities (n, n_classes), a regression's values in the targets' units
        (n, n_targets), n the product of the axes' lengths. As `predict` would give for those rows."""
        mesh = np.meshgrid(*axes)
        X = self.inputs({f.name: m.ravel().astype(np.float64) for f, m in zip(self.pre.features, mesh)})
        return self.predict_proba(X) if self.task == "classification" else self.predict_values(X)

    def linear_coefficients(self, params: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For a linear model: (W, b) in the data's own units, z = x @ W + b.

        Undoes the feature (and, for regression, the target) standardization, so a
        user can compare them with the formula that generated the data. z is the
        prediction (regression), the log-odds of the second class (two classes),
        or each class's score, whose softmax gives the probabilities. Of the
        network's parameters, or of `params` laid out as they are (n_params,).
        """
        Ws, bs = self.network.layer_views(self.network.params if params is None else np.asarray(params))
        W, b = Ws[0].astype(np.float64), bs[0].astype(np.float64)
        regression = self.task == "regression"
        scale, mean = (self.target.scale, self.target.mean) if regression else (1.0, 0.0)
        W_raw = W / self.pre.scale[:, None] * scale
        b_raw = (b - (self.pre.mean / self.pre.scale) @ W) * scale + mean
        return W_raw, b_raw

    def equations(self) -> list[tuple[str, str | None]]:
        """What each column of `linear_coefficients` gives, as `show` names it, and the class it is
        for (None for a regression target)."""
        t = self.target
        if self.task == "regression":
            return [(t.term(name), None) for name in t.names]
        if len(t.classes) == 2:
            return [(f"log-odds({t.names[0]}={t.classes[1]})", t.classes[1])]
        return [(f"score({t.names[0]}={c})", c) for c in t.classes]
