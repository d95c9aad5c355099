"""Learning-rate schedules as peak-lr multipliers for ``torch.optim.lr_scheduler.LambdaLR``."""

from __future__ import annotations

from collections.abc import Callable

SCHEDULES = ("linear", "constant")


def lr_multiplier(name: str, total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """The schedule ``name`` as ``step -> multiplier`` of the peak lr.

    Both start with a linear warmup over ``warmup_steps`` (none when 0), then:

    - ``linear``: decay linearly to 0 at ``total_steps`` (the run_glue default, and the M-FAC
      model cards' schedule with no warmup);
    - ``constant``: stay at the peak lr.
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose from {list(SCHEDULES)}")
    decay_steps = max(total_steps - warmup_steps, 1)

    def multiplier(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if name == "constant":
            return 1.0
        return max(0.0, (total_steps - step) / decay_steps)

    return multiplier
