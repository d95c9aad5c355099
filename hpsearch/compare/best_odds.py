"""P(best): the probability that each arm is the best arm at a budget (Sivaprasad et al.
2020, "Optimizer Benchmarking Needs to Account for Hyperparameter Tuning").

For budget b, each of :data:`ODDS_DRAWS` rounds draws every arm's trials at random with
replacement until b is spent (b trials on the trials axis, else b seconds or steps, each
trial counting what it spent: :mod:`hpsearch.compare.draws`) and takes each arm's best
among them; the arm with the best of all wins the round, a tie shares it. P(best) is an
arm's share of the wins: the arms' odds add up to 1 at each budget. The draws are seeded,
so the same trials give the same odds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hpsearch.compare.draws import best_within
from hpsearch.compare.model import BestOdds

ODDS_DRAWS = 10_000  # rounds per budget: a probability's noise is at most 0.5%


def best_odds(
    arms: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    budgets: Sequence[float],
    *,
    maximize: bool = True,
    draws: int = ODDS_DRAWS,
    seed: int = 0,
) -> tuple[BestOdds, ...]:
    """Each arm's P(best) at each of ``budgets`` (ascending).

    Args:
        arms: arm name → (its trials' values, NaN where one measured none; what each
            spent on the budgets' axis), in trial order.
        budgets: where every arm's every draw holds a finished trial (at least each arm's
            costliest trial's cost): an arm with nothing yet would lose rounds for it.
        maximize: whether the best value is the largest.
        draws: rounds per budget.
        seed: of the draws.

    >>> odds = best_odds({"A": ([0.9], [1]), "B": ([0.1], [1])}, [1, 2], draws=10)
    >>> [o.p_best for o in odds]
    [{'A': 1.0, 'B': 0.0}, {'A': 1.0, 'B': 0.0}]
    """
    rng = np.random.default_rng(seed)
    best = np.stack(
        [
            best_within(values, costs, budgets, draws=draws, rng=rng, maximize=maximize)
            for values, costs in arms.values()
        ]
    )  # (arms, draws, budgets)
    signed = np.where(np.isnan(best), -np.inf, best if maximize else -best)
    top = signed == signed.max(axis=0)
    wins = top / top.sum(axis=0)  # a tie shares the round
    odds = wins.mean(axis=1)  # (arms, budgets)
    return tuple(
        BestOdds(
            budget=b,
            p_best={name: float(p) for name, p in zip(arms, odds[:, j], strict=True)},
        )
        for j, b in enumerate(budgets)
    )
