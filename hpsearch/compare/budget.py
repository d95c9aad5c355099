"""What each finished trial spent on a budget axis, and the trials that fit within a budget.

On the trials axis every finished trial costs 1. On the seconds and steps axes a trial
counts what it used, read from its record (:mod:`hpsearch.search.record`): a complete
trial's cost attrs (``train_seconds``, ``steps``: its whole training, evaluations excluded),
else its last recorded evaluation's (``train_seconds``, ``step``): a pruned trial stopped
there, so it counts its compute up to its pruning. A failed trial is not finished and
counts nothing, as in the trial budget (its retry does).

An arm is judged on its first finished trials, by trial number, whose cumulative compute
fits within the budget (:func:`fitting`): never more than the budget, so no arm is judged on
more compute than the smallest arm spent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import accumulate

from optuna.trial import FrozenTrial

from hpsearch.compare.axes import AXES, BudgetAxis
from hpsearch.errors import HpsearchError
from hpsearch.search.record import read_record


def trial_compute(trial: FrozenTrial, axis: BudgetAxis, study: str) -> float:
    """What finished ``trial`` (of ``study``, for messages) spent on ``axis``: 1 on the
    trials axis, else its recorded seconds or steps (this module).

    Raises:
        HpsearchError: the trial recorded none, or a value that is not positive: one line
            naming the trial and what to use instead.
    """
    entry = AXES[axis]
    if not entry.compute:
        return 1
    assert entry.attr is not None and entry.total is not None
    record = read_record(trial)
    spent = None if record.cost is None else getattr(record.cost, entry.total)
    if spent is None:
        spent = next(
            (s for e in reversed(record.evals or ()) if (s := entry.spent(e)) is not None), None
        )
    if spent is None:
        raise HpsearchError(
            f"--budget-by {axis} needs each finished trial's {entry.label}, but trial "
            f"{trial.number} of study {study!r} recorded none (run by an older hpsearch): "
            "judge by --budget-by trials"
        )
    if not (math.isfinite(spent) and spent > 0):
        raise HpsearchError(
            f"--budget-by {axis} needs each finished trial's {entry.label} to be positive, but "
            f"trial {trial.number} of study {study!r} recorded {spent!r}"
        )
    return spent


def spent(costs: Sequence[float]) -> float:
    """What trials of ``costs`` spent together, summed in their order (as :func:`fitting`
    sums them, so that an arm's own total fits within itself); 0 for none. An int where every
    cost is (the trials axis)."""
    return next(reversed(list(accumulate(costs))), 0)


def fitting(costs: Sequence[float], budget: float) -> int:
    """How many of the first trials of ``costs`` (each trial's compute, in trial order) fit
    within ``budget``: the most whose cumulative compute is at most ``budget``.

    >>> fitting([1, 1, 1], 2), fitting([30.0, 10.0, 50.0], 45.0), fitting([5.0], 4.0)
    (2, 2, 0)
    """
    return sum(1 for total in accumulate(costs) if total <= budget)
