"""Optimizers: one module per optimizer that hpsearch implements, plus the registry."""

from hpsearch.optim.registry import OPTIMIZERS, OptimizerEntry, get_optimizer, list_optimizers

__all__ = ["OPTIMIZERS", "OptimizerEntry", "get_optimizer", "list_optimizers"]
