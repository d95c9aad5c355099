"""Applying a learning-rate schedule to an optimizer.

The schedules themselves (``step -> multiplier`` of the peak lr) are the registry
:data:`hpsearch.schedules.SCHEDULES`; this sets the rates the trainer steps with.
"""

from __future__ import annotations

import torch


def set_lr(optimizer: torch.optim.Optimizer, multiplier: float) -> None:
    """Set every param group's lr to its ``peak_lr`` (its own, for layer-wise rates) times
    ``multiplier``. Unlike ``LambdaLR``, this also covers groups added after construction
    and optimizers rebuilt mid-run (gradual unfreezing)."""
    for group in optimizer.param_groups:
        group["lr"] = group["peak_lr"] * multiplier
