"""Learning-rate schedules as ``step -> multiplier`` of the peak lr.

The trainer multiplies every param group's own peak lr (layer-wise rates differ per group)
by the multiplier of the step about to be taken, ``step`` counting the steps done (0 first).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

SCHEDULES = ("linear", "constant", "cosine", "slanted_triangular")


def lr_multiplier(
    name: str,
    total_steps: int,
    warmup_steps: int,
    *,
    cut_frac: float = 0.1,
    ratio: float = 32.0,
) -> Callable[[int], float]:
    """The schedule ``name`` as ``step -> multiplier`` of the peak lr.

    ``linear``, ``constant`` and ``cosine`` start with a linear warmup over ``warmup_steps``
    (none when 0), then:

    - ``linear``: decay linearly to 0 at ``total_steps`` (the run_glue default, and the M-FAC
      model cards' schedule with no warmup);
    - ``constant``: stay at the peak lr;
    - ``cosine``: half a cosine from the peak to 0 at ``total_steps`` (Loshchilov & Hutter's
      SGDR without restarts, as ``transformers.get_cosine_schedule_with_warmup``).

    ``slanted_triangular`` is Howard & Ruder (2018), eq. 3, over T = ``total_steps``: a short
    linear rise from lr/ratio to the peak over the first ``cut = ⌊T·cut_frac⌋`` steps, then a
    long linear decay back to lr/ratio::

        p = t / cut                                  if t < cut
            1 - (t - cut) / (cut · (1/cut_frac - 1))  otherwise
        η_t = η_max · (1 + p · (ratio - 1)) / ratio

    It is its own warmup, so ``warmup_steps`` must be 0. Departures, for short runs only: cut
    is at least 1 step, and p is clamped at 0, because when T·cut_frac is not a whole number
    the formula's last steps fall below lr/ratio (below 0 when T·cut_frac < 2, say).

    Raises:
        ValueError: an unknown name, or bad ``cut_frac``, ``ratio`` or warmup for it.
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose from {list(SCHEDULES)}")
    if name == "slanted_triangular":
        return _slanted_triangular(total_steps, warmup_steps, cut_frac, ratio)
    decay_steps = max(total_steps - warmup_steps, 1)

    def multiplier(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if name == "constant":
            return 1.0
        if name == "cosine":
            progress = min((step - warmup_steps) / decay_steps, 1.0)
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        return max(0.0, (total_steps - step) / decay_steps)

    return multiplier


def _slanted_triangular(
    total_steps: int, warmup_steps: int, cut_frac: float, ratio: float
) -> Callable[[int], float]:
    if warmup_steps:
        raise ValueError(
            f"slanted_triangular has its own warmup (cut_frac); warmup_steps must be 0, "
            f"but got {warmup_steps=}"
        )
    if not 0 < cut_frac < 1 or ratio < 1:
        raise ValueError(
            f"`0 < cut_frac < 1` and `ratio >= 1` must hold, but got ({cut_frac=}, {ratio=})"
        )
    cut = max(1, math.floor(total_steps * cut_frac))
    decay = cut * (1 / cut_frac - 1)

    def multiplier(step: int) -> float:
        p = step / cut if step < cut else max(0.0, 1 - (step - cut) / decay)
        return (1 + p * (ratio - 1)) / ratio

    return multiplier


def set_lr(optimizer: torch.optim.Optimizer, multiplier: float) -> None:
    """Set every param group's lr to its ``peak_lr`` (its own, for layer-wise rates) times
    ``multiplier``. Unlike ``LambdaLR``, this also covers groups added after construction
    and optimizers rebuilt mid-run (gradual unfreezing)."""
    for group in optimizer.param_groups:
        group["lr"] = group["peak_lr"] * multiplier
