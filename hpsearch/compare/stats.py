"""Numbers of a comparison over seeds: mean ± std and best-of-N, paired and unpaired tests,
a bootstrap CI, the effect size and Holm's correction.

Plain functions over lists of floats that return the report's
:class:`~hpsearch.compare.model.Summary` and :class:`~hpsearch.compare.model.StatTest`; they know
nothing of Optuna or of how the numbers will be shown. Formulas: ``../shared/COMPARISON.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from hpsearch.compare.model import StatTest, Summary

# Bootstrap resamples of a mean difference's CI, and the CI's level.
RESAMPLES = 10_000
CI_LEVEL = 0.95


def summarize(values: Sequence[float], *, maximize: bool = True) -> Summary:
    """Mean, sample std, best and worst of ``values``.

    Args:
        values: one value per run; must not be empty. NaN values are kept (and make the mean
            NaN), so a diverged run is visible rather than silently dropped.
        maximize: whether larger is better, which decides ``best`` and ``worst``.

    >>> summarize([0.8, 0.9]).best
    0.9
    """
    if not values:
        raise ValueError("`values` must not be empty, but got []")
    arr = np.asarray(values, dtype=float)
    std = float(arr.std(ddof=1)) if len(arr) > 1 else None
    hi, lo = float(arr.max()), float(arr.min())
    return Summary(
        n=len(arr),
        mean=float(arr.mean()),
        std=std,
        best=hi if maximize else lo,
        worst=lo if maximize else hi,
    )


def _test(run: Callable[[], object]) -> StatTest:
    """Statistic and p of a scipy test; None for both where scipy cannot give finite ones
    (too few values, no variance: identical runs, e.g. a model predicting one class)."""
    with warnings.catch_warnings():  # scipy warns on zero variance; we return None instead
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # wilcoxon: "exact" not possible, ...
        try:
            result = run()
        except ValueError:  # e.g. wilcoxon without a non-zero difference in older scipy
            return StatTest(None, None)
    t, p = float(result.statistic), float(result.pvalue)  # type: ignore[attr-defined]
    if not (math.isfinite(t) and math.isfinite(p)):
        return StatTest(None, None)
    return StatTest(t, p)


def welch(a: Sequence[float], b: Sequence[float]) -> StatTest:
    """Welch's t-test, ``scipy.stats.ttest_ind(a, b, equal_var=False)``, two-sided.

    Undefined (None) with fewer than two values on either side, or no variance on both.

    >>> welch([1.0, 1.1, 0.9], [2.0, 2.1, 1.9]).p < 0.01
    True
    """
    from scipy import stats  # scipy is slow to import; only reports need it

    if len(a) < 2 or len(b) < 2 or (no_spread(a) and no_spread(b)):
        return StatTest(None, None)
    return _test(lambda: stats.ttest_ind(list(a), list(b), equal_var=False))


def paired_t(a: Sequence[float], b: Sequence[float]) -> StatTest:
    """The paired t-test of ``a`` against ``b`` (``scipy.stats.ttest_rel``), two-sided.

    ``a[i]`` and ``b[i]`` ran with the same seed. Undefined (None) with fewer than two pairs
    or when every difference is the same, also up to float rounding: two accuracies on the
    same validation set often differ by the same count of examples on every seed, and
    rounding noise of 1e-17 in the differences would otherwise give p = 1e-30.
    """
    from scipy import stats

    _check_pairs(a, b)
    if len(a) < 2 or no_spread([x - y for x, y in zip(a, b, strict=True)]):
        return StatTest(None, None)
    return _test(lambda: stats.ttest_rel(list(a), list(b)))


def no_spread(values: Sequence[float]) -> bool:
    """Whether ``values`` are all the same up to float rounding (relative 1e-9)."""
    arr = np.asarray(values, dtype=float)
    if len(arr) == 0 or not np.all(np.isfinite(arr)):
        return False
    return float(np.ptp(arr)) <= 1e-9 * max(1e-12, float(np.abs(arr).max()))


def wilcoxon(a: Sequence[float], b: Sequence[float]) -> StatTest:
    """The Wilcoxon signed-rank test of ``a`` against ``b`` (``scipy.stats.wilcoxon``),
    two-sided; exact for small samples without ties. None where scipy cannot compute it
    (no pairs). See :func:`wilcoxon_floor` for how small its p can be with few pairs.
    """
    from scipy import stats

    _check_pairs(a, b)
    if len(a) < 1:
        return StatTest(None, None)
    return _test(lambda: stats.wilcoxon(list(a), list(b)))


def wilcoxon_floor(n: int) -> float:
    """The smallest two-sided p-value of the exact Wilcoxon signed-rank test with ``n``
    pairs: every difference of one sign, ``2 / 2**n``. 0.0625 for 5 pairs, so the test
    cannot reach p < 0.05 below 6 pairs, whatever the data.

    >>> wilcoxon_floor(5)
    0.0625
    """
    return min(1.0, 2.0 / 2.0**n)


def bootstrap_ci(
    values: Sequence[float],
    *,
    level: float = CI_LEVEL,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap CI of the mean of ``values``: resample them with replacement
    ``resamples`` times (seeded: the same call gives the same interval), take the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled means.
    None with fewer than two values.
    """
    arr = np.asarray(values, dtype=float)
    if len(arr) < 2:
        return None
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, len(arr), size=(resamples, len(arr)))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def effect_size(differences: Sequence[float]) -> float | None:
    """Mean over sample std of paired differences (Cohen's d of the differences); None with
    fewer than two or no spread."""
    arr = np.asarray(differences, dtype=float)
    if len(arr) < 2:
        return None
    std = float(arr.std(ddof=1))
    return float(arr.mean()) / std if std > 0 and not no_spread(arr) else None  # NaN: None


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of m p-values (None stays None and is not counted):
    sort ascending, multiply the i-th smallest (from 0) by m − i, make the result
    non-decreasing in that order, cap at 1.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(present)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def _check_pairs(a: Sequence[float], b: Sequence[float]) -> None:
    if len(a) != len(b):
        raise ValueError(f"paired samples must have the same length, but got {len(a)=}, {len(b)=}")
