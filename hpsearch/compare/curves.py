"""Tuning curves: the expected best validation metric after k trials (Dodge et al. 2019,
"Show Your Work"), a bootstrap band, and the observed best so far.

For N trial values sorted ascending, v(1) ≤ … ≤ v(N), the expected best of k trials drawn
with replacement (for a metric to maximize) is

    E[max of k] = Σ_{i=1..N} v(i) · ((i/N)^k − ((i−1)/N)^k)

the mean at k = 1, tending to the maximum as k grows; a metric to minimize takes the mirror
formula (the values negated). The band is the 5th to 95th percentile of the same estimate
over bootstrap resamples of the N values, seeded. Trials of a model-based sampler (TPE) are
not independent draws, so the curve is an estimate of what random draws from the arm's
trials would give; the observed best so far is shown beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hpsearch.compare.model import CurvePoint

BAND = (0.05, 0.95)  # the band's quantiles: a 90% band
CURVE_RESAMPLES = 1_000


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
