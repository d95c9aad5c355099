"""Optimizers: one module per optimizer that hpsearch implements, plus the registry.

:mod:`hpsearch.optim.state` (what an optimizer keeps between steps, in bytes) imports torch,
so it is not imported here: the registry must load without it.
"""

from hpsearch.optim.registry import OPTIMIZERS, OptimizerEntry, get_optimizer, list_optimizers

__all__ = ["OPTIMIZERS", "OptimizerEntry", "get_optimizer", "list_optimizers"]
