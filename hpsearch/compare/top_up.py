"""Equal compute, with every arm judged on its whole search: on a seconds or steps axis, the
arms whose trials cost less run more of them.

Compare's equal budgets judge each arm within the smallest arm's compute
(:mod:`hpsearch.compare.budget`). With the same ``study.n_trials`` for every arm, the
cheaper arm sets that budget, and the costlier arm is judged on its first few trials only:
on the suite's Quora workload at 2 layers, AdamW's 12 trials (most of them pruned) trained
for a quarter of the time of M-FAC's 12, so M-FAC was judged on 3 trials of its search,
random ones before TPE started. A suite that tops up (``[suite] top_up``, on by default on
a compute axis; :func:`hpsearch.compare.suite.run.top_up`) instead treats each arm's
``n_trials`` as its minimum, and ``compare`` of study files, which runs no trials, says in
its notes how many trials the cheaper arm would need:

- the **goal** is the most compute any arm spent on its first ``n_trials`` finished trials
  (by trial number: trials a second worker ran past the budget do not raise it, so the goal
  is fixed once the budgets are reached, and arms never take turns to outspend each other);
- an arm that spent less than the goal over all its finished trials runs more, an estimate
  at a time (:func:`more_trials`: its shortfall over its mean trial's cost), until it has
  spent the goal.

The equal budget is then the costliest arm's own total: it is judged on every trial it ran,
and each cheaper arm on its first trials within the same compute, which is nearly all of
them. A pruned trial counts what it spent up to its pruning, as in the budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hpsearch.compare.budget import spent


@dataclass(frozen=True)
class ArmSpend:
    """What an arm's study has spent: each finished trial's compute, in trial order."""

    name: str  # the study's name, for messages
    n_trials: int  # its study.n_trials: the trials every arm runs at least
    costs: tuple[float, ...]

    @property
    def total(self) -> float:
        return spent(self.costs)

    @property
    def at_budget(self) -> float:
        """What its first ``n_trials`` finished trials spent."""
        return spent(self.costs[: self.n_trials])


def goal(arms: Sequence[ArmSpend]) -> float:
    """The compute every arm spends at least: the most that any arm's first ``n_trials``
    finished trials spent."""
    return max(a.at_budget for a in arms)


def more_trials(arm: ArmSpend, target: float) -> int:
    """How many more trials ``arm`` runs now to reach ``target``: 0 where it has; else its
    shortfall over its mean finished trial's cost, rounded up (at least 1). An estimate: a
    pruned trial costs less than the mean, so the caller asks again after they finish.

    >>> arm = ArmSpend("adam", 2, (10.0, 30.0))
    >>> more_trials(arm, 100.0), more_trials(arm, 40.0)
    (3, 0)

    Raises:
        ValueError: the arm has no finished trial to estimate a trial's cost from.
    """
    short = target - arm.total
    if short <= 0:
        return 0
    if not arm.costs:
        raise ValueError(f"study {arm.name!r} has no finished trial: run it to its budget first")
    mean = arm.total / len(arm.costs)
    return max(1, math.ceil(short / mean))
