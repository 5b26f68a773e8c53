"""The NumPy core: layers, losses, optimizers, training, preprocessing, metrics, data generators.

Imports numpy, the standard library and `nncli.errors` only: never typer or rich
(a test enforces it), so the core can be used and tested on its own.
"""
