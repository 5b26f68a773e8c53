"""nncli: train, watch and use small neural networks from the command line.

This module holds the version only and imports nothing heavy, so that
`nncli --help` starts fast.
"""

__version__ = "1.4.0"
