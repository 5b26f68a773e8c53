"""The pandas + scikit-learn equivalent of `nncli fit DATA --hidden 256,128 --epochs 10 --batch-size 256`.

    python benchmarks/e2e_sklearn.py DATA.csv MODEL.pkl [--threads 1]

Reads the CSV with pandas (last column: class label), standardizes the features,
trains MLPClassifier (adam, lr 1e-3, alpha 0, float32) for exactly --epochs
epochs (no early stopping, no tolerance stop) and pickles the fitted pipeline.
"""

from e2e_args import parse_args

args = parse_args(__doc__)

import pickle  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

df = pd.read_csv(args.data)
X = df.iloc[:, :-1].to_numpy(np.float32)
y = df.iloc[:, -1].to_numpy()
clf = MLPClassifier(hidden_layer_sizes=(256, 128), solver="adam", learning_rate_init=1e-3, alpha=0.0,
                    batch_size=args.batch_size, max_iter=args.epochs, tol=0.0, n_iter_no_change=10**9,
                    early_stopping=False, random_state=0)
pipe = make_pipeline(StandardScaler(), clf)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    pipe.fit(X, y)
with open(args.model, "wb") as f:
    pickle.dump(pipe, f)
print(f"final training loss {clf.loss_:.4f} after {clf.n_iter_} epochs")
