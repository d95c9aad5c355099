"""Tuning curves: the expected best validation metric after k trials (Dodge et al. 2019,
"Show Your Work"), or after a budget of training seconds or optimizer steps; a bootstrap
band, and the observed best so far.

For N trial values sorted ascending, v(1) ≤ … ≤ v(N), the expected best of k trials drawn
with replacement (for a metric to maximize) is

    E[max of k] = Σ_{i=1..N} v(i) · ((i/N)^k − ((i−1)/N)^k)

the mean at k = 1, tending to the maximum as k grows; a metric to minimize takes the mirror
formula (the values negated). The band is the 5th to 95th percentile of the same estimate
over bootstrap resamples of the N values, seeded. Trials of a model-based sampler (TPE) are
not independent draws, so the curve is an estimate of what random draws from the arm's
trials would give; the observed best so far is shown beside it.

On a compute axis (:func:`compute_curve`) the trials are drawn the same way, each with what
it spent, until the budget b is spent (:mod:`hpsearch.compare.draws`): the curve is the
expected best of the drawn trials whose cumulative compute is at most b,

    E[best within b] = E[ max{ v(d_j) : c(d_1) + … + c(d_j) ≤ b } ],   d_1, d_2, … ~ U{1…N}

(c: a trial's seconds or steps), a mean over :data:`DRAWS` seeded draw sequences: no closed
form once trials cost unequal amounts, and a draw keeps its trial's value and cost together
(a pruned trial is cheap and seldom good). With every cost 1 it is Dodge's curve at k = b.
The band: the same estimate over bootstrap resamples of the N trials, :data:`BAND_DRAWS`
sequences each. The budgets are :data:`CURVE_POINTS` evenly spaced up to the comparison's
budget; below the arm's costliest trial a sequence may hold no finished trial yet, so there
the point is NaN (no estimate), shown as "–".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hpsearch.compare.budget import fitting
from hpsearch.compare.draws import best_within
from hpsearch.compare.model import CurvePoint

BAND = (0.05, 0.95)  # the band's quantiles: a 90% band
CURVE_RESAMPLES = 1_000
# On a compute axis: the budgets of a curve, evenly spaced up to the comparison's budget (a
# power of two, so that the table's rows, table_ks, fall on halvings of the budget)
CURVE_POINTS = 32
DRAWS = 20_000  # draw sequences behind each expected best: its noise, ~0.7% of the spread
BAND_DRAWS = 100  # per bootstrap resample, behind the band (its noise widens it a little)


def expected_best(
    values: Sequence[float], ks: Sequence[int], *, maximize: bool = True
) -> list[float]:
    """Expected best of k draws with replacement from ``values``, for each k in ``ks``.

    >>> expected_best([0.0, 1.0], [1, 2])  # the mean, then 1 − P(both draws are 0)
    [0.5, 0.75]
    """
    return [float(e) for e in _expected(np.asarray([values], dtype=float), ks, maximize)[0]]


def _expected(samples: np.ndarray, ks: Sequence[int], maximize: bool) -> np.ndarray:
    """The estimator for each row of ``samples`` (rows of N values): shape (rows, len(ks))."""
    n = samples.shape[1]
    ordered = np.sort(samples if maximize else -samples, axis=1)
    i = np.arange(1, n + 1, dtype=float)[:, None]  # (N, 1)
    k = np.asarray(ks, dtype=float)[None, :]  # (1, K)
    weights = (i / n) ** k - ((i - 1) / n) ** k  # (N, K): P(the best of k is v(i))
    out = ordered @ weights
    return out if maximize else -out


def tuning_curve(
    values: Sequence[float],
    *,
    maximize: bool = True,
    resamples: int = CURVE_RESAMPLES,
    seed: int = 0,
) -> tuple[CurvePoint, ...]:
    """The curve at k = 1 … N for ``values``, the trials' values in trial order.

    Each point holds the expected best, the band (:data:`BAND` quantiles over ``resamples``
    bootstrap resamples drawn with ``seed``) and the best of the first k trials.
    """
    arr = np.asarray(values, dtype=float)
    n = len(arr)
    if n == 0:
        return ()
    ks = list(range(1, n + 1))
    expected = _expected(arr[None, :], ks, maximize)[0]
    rng = np.random.default_rng(seed)
    resampled = arr[rng.integers(0, n, size=(resamples, n))]
    low, high = np.quantile(_expected(resampled, ks, maximize), BAND, axis=0)
    observed = np.maximum.accumulate(arr) if maximize else np.minimum.accumulate(arr)
    return tuple(
        CurvePoint(k=k, expected=float(e), low=float(lo), high=float(hi), observed=float(o))
        for k, e, lo, hi, o in zip(ks, expected, low, high, observed, strict=True)
    )


def budget_grid(budget: float, points: int = CURVE_POINTS) -> list[float]:
    """The budgets of a curve on a compute axis: ``points`` evenly spaced up to ``budget``.

    >>> budget_grid(8.0, 4)
    [2.0, 4.0, 6.0, 8.0]
    """
    return [budget * j / points for j in range(1, points + 1)]


def compute_curve(
    values: Sequence[float],
    costs: Sequence[float],
    budget: float,
    *,
    maximize: bool = True,
    resamples: int = CURVE_RESAMPLES,
    seed: int = 0,
    points: int = CURVE_POINTS,
) -> tuple[CurvePoint, ...]:
    """The curve at :func:`budget_grid` (``budget``, ``points``) for trials of ``values``
    (NaN: none measured) and ``costs`` (each one's compute), in trial order.

    Each point holds its budget, the expected best within it (NaN below the costliest
    trial), the band over ``resamples`` bootstrap resamples (seeded with ``seed``, as the
    draws are), ``k``, how many of the arm's first trials fit within it, and ``observed``,
    the best of those (NaN: none).
    """
    arr, cost = np.asarray(values, dtype=float), np.asarray(costs, dtype=float)
    n = len(arr)
    if n == 0:
        return ()
    grid = budget_grid(budget, points)
    rng = np.random.default_rng(seed)
    expected = _mean(best_within(arr, cost, grid, draws=DRAWS, rng=rng, maximize=maximize))
    estimates = np.empty((resamples, len(grid)))
    for r in range(resamples):
        pick = rng.integers(0, n, size=n)
        estimates[r] = _mean(
            best_within(arr[pick], cost[pick], grid, draws=BAND_DRAWS, rng=rng, maximize=maximize)
        )
    # Defined from the costliest trial's cost on: there every sequence holds a trial
    defined = np.asarray(grid) >= cost.max()
    low, high = np.full((2, len(grid)), np.nan)
    low[defined], high[defined] = np.nanquantile(estimates[:, defined], BAND, axis=0)
    expected[~defined] = np.nan
    curve = []
    for j, b in enumerate(grid):
        k = fitting(cost.tolist(), b)
        seen = arr[:k][~np.isnan(arr[:k])]
        best = (seen.max() if maximize else seen.min()) if len(seen) else np.nan
        curve.append(
            CurvePoint(
                k=k,
                expected=float(expected[j]),
                low=float(low[j]),
                high=float(high[j]),
                observed=float(best),
                budget=b,
            )
        )
    return tuple(curve)


def _mean(best: np.ndarray) -> np.ndarray:
    """The mean over draw sequences (rows) of :func:`best_within`'s array, NaN where every
    sequence is (no trial finished in any, or none measured a value)."""
    held = ~np.isnan(best)
    total = np.where(held, best, 0.0).sum(axis=0)
    count = held.sum(axis=0)
    return np.divide(total, count, out=np.full(best.shape[1], np.nan), where=count > 0)


def table_ks(n: int) -> list[int]:
    """The budgets a curve's table shows: 1, 2, 4, 8, … and ``n`` itself.

    >>> table_ks(6)
    [1, 2, 4, 6]
    """
    ks = []
    k = 1
    while k < n:
        ks.append(k)
        k *= 2
    return [*ks, n] if n >= 1 else []
