"""The best of trials drawn at random until a budget is spent: the one simulation behind the
tuning curves on a compute axis (:func:`hpsearch.compare.curves.compute_curve`) and the
probability that each arm is best (:mod:`hpsearch.compare.best_odds`).

A draw sequence takes an arm's trials at random, with replacement, each with its value and
what it spent (its compute on the budget's axis, 1 per trial on the trials axis), one after
the other, as a search that ran those trials in a random order would; at budget b it has
the trials whose cumulative compute is at most b, and its best is theirs. Drawing a trial
with its own cost keeps what pruning ties together: a pruned trial is cheap and seldom good.
With every cost 1 and b = k, a sequence holds k trials: the draws of Dodge et al. (2019).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def best_within(
    values: Sequence[float],
    costs: Sequence[float],
    budgets: Sequence[float],
    *,
    draws: int,
    rng: np.random.Generator,
    maximize: bool = True,
) -> np.ndarray:
    """The best value of each of ``draws`` draw sequences at each of ``budgets``.

    Args:
        values: each trial's value (NaN: a trial that measured none: it spends and never
            counts as best).
        costs: each trial's compute, positive, in the budgets' unit.
        budgets: ascending.
        draws: how many sequences.
        rng: where the draws come from (seeded by the caller: the same draws each time).
        maximize: whether the best is the largest value.

    Returns:
        An array (draws, budgets): the best value of the trials of a sequence that finished
        within each budget; NaN where none did.

    >>> rng = np.random.default_rng(0)
    >>> best_within([0.5, 0.7], [1.0, 1.0], [2.0], draws=4, rng=rng).ravel().tolist()
    [0.7, 0.5, 0.7, 0.7]
    """
    cost = np.asarray(costs, dtype=float)
    signed = np.asarray(values, dtype=float) * (1.0 if maximize else -1.0)
    signed = np.where(np.isnan(signed), -np.inf, signed)
    limits = np.asarray(budgets, dtype=float)
    picks = _sequences(cost, float(limits[-1]), draws, rng)  # (draws, length)
    spent = np.cumsum(cost[picks], axis=1)
    best = np.maximum.accumulate(signed[picks], axis=1)
    # The first budget each drawn trial finishes within (len(budgets): none): spent rises
    # along a sequence, so the trials within budget j are those with place <= j, a prefix.
    place = np.searchsorted(limits, spent, side="left")
    width = len(limits) + 1
    rows = np.arange(draws)[:, None] * width
    counts = np.bincount((rows + place).ravel(), minlength=draws * width).reshape(draws, width)
    within = np.cumsum(counts, axis=1)[:, :-1]  # (draws, budgets): how many trials fit
    padded = np.concatenate([np.full((draws, 1), -np.inf), best], axis=1)
    out = np.take_along_axis(padded, within, axis=1)
    out = np.where(np.isinf(out) & (out < 0), np.nan, out)
    return out if maximize else -out


def _sequences(costs: np.ndarray, limit: float, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Trial indices (draws, length), each row long enough to spend more than ``limit``."""
    n = len(costs)
    width = int(np.ceil(limit / costs.mean() * 1.25)) + 2  # the expected length, and some
    picks = rng.integers(0, n, size=(draws, width))
    while costs[picks].sum(axis=1).min() <= limit:  # a row of cheap draws: longer rows
        more = rng.integers(0, n, size=(draws, width // 4 + 1))
        picks = np.concatenate([picks, more], axis=1)
    return picks
