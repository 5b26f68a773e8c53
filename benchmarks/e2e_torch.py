"""The pandas + PyTorch equivalent of `nncli fit DATA --hidden 256,128 --epochs 10 --batch-size 256`.

    python benchmarks/e2e_torch.py DATA.csv MODEL.pt [--threads 1]

Reads the CSV with pandas (last column: integer class label), standardizes the
features, trains a ReLU MLP with Adam (lr 1e-3) in a plain eager float32 loop
over slices of a permutation, and saves the weights and the standardization.
"""

from e2e_args import parse_args

args = parse_args(__doc__)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(0)
df = pd.read_csv(args.data)
X = df.iloc[:, :-1].to_numpy(np.float32)
y = df.iloc[:, -1].to_numpy()
classes, y = np.unique(y, return_inverse=True)
mean, std = X.mean(axis=0), X.std(axis=0) + 1e-12
X = torch.from_numpy((X - mean) / std)
y = torch.from_numpy(y.astype(np.int64))
model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 256), torch.nn.ReLU(),
                            torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, len(classes)))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()
for epoch in range(args.epochs):
    perm = torch.randperm(len(y))
    for s in range(0, len(y), args.batch_size):
        idx = perm[s:s + args.batch_size]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(X[idx]), y[idx])
        loss.backward()
        opt.step()
torch.save({"state": model.state_dict(), "mean": mean, "std": std, "classes": classes}, args.model)
print(f"final batch loss {loss.item():.4f}")
