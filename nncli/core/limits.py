"""The largest network nncli makes: what `fit --hidden` accepts and what a model file may declare.

Standard library only: the command line checks its options with these before NumPy is imported.
"""

# A network has at most this many hidden layers (a model file declaring 100,000 layers of width 1,
# 80 KB, took predict 17.7 s and 1.85 GB for 20,000 rows; deep plain MLPs do not train anyway),
MAX_HIDDEN_LAYERS = 100
# and a model file at most this many: `fit` took any number before 2026-11-29, and its files still load.
MAX_MODEL_HIDDEN_LAYERS = 1_000
# each at most this wide (a model file of 42 MB declaring three layers of 2^20 units between layers
# of one took predict 3.3 GB and 6 s for two rows: its buffers are rows x the widest layer).
MAX_HIDDEN_WIDTH = 100_000
# A model file has at most this many classes. `fit` trains at most 1,000 (`preprocessing.MAX_CLASSES`),
# but before 2026-11-30 it took any number, and its files still load; one of 65,536 classes would have
# trained on one-hot targets of 65,536 rows at least, 17 GB. (A model of 2^20 classes took predict 2.6 GB
# for 300 rows: a block of outputs is 128 rows at least.)
MAX_MODEL_CLASSES = 1 << 16
# A run trains at most this many epochs (`fit --epochs`; --patience, --lr-step and --warmup count no more),
# so a model file's history is never longer.
MAX_EPOCHS = 10_000_000
