"""The largest network nncli makes: what `fit --hidden` accepts and what a model file may declare.

Standard library only: the command line checks its options with these before NumPy is imported.
"""

# A network has at most this many hidden layers (a model file declaring 100,000 layers of width 1,
# 80 KB, took predict 17.7 s and 1.85 GB for 20,000 rows; deep plain MLPs do not train anyway),
MAX_HIDDEN_LAYERS = 100
# each at most this wide (a model file of 42 MB declaring three layers of 2^20 units between layers
# of one took predict 3.3 GB and 6 s for two rows: its buffers are rows x the widest layer).
MAX_HIDDEN_WIDTH = 100_000
