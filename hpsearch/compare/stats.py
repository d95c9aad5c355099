"""Numbers of a comparison over seeds: mean ± std and best-of-N, paired and unpaired tests,
the CI of a mean difference, the effect size and Holm's correction.

Plain functions over lists of floats that return the report's
:class:`~hpsearch.compare.model.Summary` and :class:`~hpsearch.compare.model.StatTest`; they know
nothing of Optuna or of how the numbers will be shown. Formulas: ``../shared/COMPARISON.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from hpsearch.compare.model import StatTest, Summary

# The CI of a mean paired difference: its level, and how it is made (see paired_ci).
CI_LEVEL = 0.95
CI_METHOD = "paired t"
# Resamples of bootstrap_ci, which is not the comparison's CI: it under-covers at the seed
# counts people run (see paired_ci).
RESAMPLES = 10_000


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


def wilcoxon_pairs(differences: Sequence[float]) -> int:
    """The pairs the signed-rank test ranks: those whose difference is not zero. scipy's
    default (``zero_method="wilcox"``) drops the others before it ranks, so 5 seeds of which
    2 tie are a test of 3 pairs.

    >>> wilcoxon_pairs([0.01, 0.0, -0.02])
    2
    """
    return sum(1 for d in differences if d != 0)


def wilcoxon_floor(n: int) -> float:
    """The smallest two-sided p-value of the exact Wilcoxon signed-rank test with ``n``
    ranked pairs (:func:`wilcoxon_pairs`: zero differences do not count): every difference
    of one sign, ``2 / 2**n``. 0.0625 for 5 pairs, so the test cannot reach p < 0.05 below
    6 pairs, whatever the data.

    >>> wilcoxon_floor(5)
    0.0625
    """
    return min(1.0, 2.0 / 2.0**n)


def t_interval(differences: ArrayLike, *, level: float = CI_LEVEL) -> tuple[Any, Any]:
    """The t-interval of the mean of ``differences`` along their last axis:
    ``mean ± t((1 + level) / 2, n − 1) · sd / √n``, ``sd`` the sample std (ddof=1).

    A 2-D array gives one interval per row (a coverage simulation draws thousands of
    samples at once); :func:`paired_ci` is the comparison's use of it, with its edge cases.
    """
    from scipy import stats

    arr = np.asarray(differences, dtype=float)
    n = arr.shape[-1]
    mean = arr.mean(axis=-1)
    half = stats.t.ppf((1 + level) / 2, n - 1) * arr.std(axis=-1, ddof=1) / math.sqrt(n)
    return mean - half, mean + half


def paired_ci(
    differences: Sequence[float], *, level: float = CI_LEVEL
) -> tuple[float, float] | None:
    """The CI of the mean paired difference: the paired t-interval (:func:`t_interval`), as
    ``scipy.stats.ttest_rel(a, b).confidence_interval(level)`` gives it.

    Why not a bootstrap: at the seed counts people run it covers the true mean far less
    often than its level says. With 3 pairs a percentile bootstrap is about [min, max] of
    the differences, and a "95%" one covers 75% of the time with normal differences (85%
    at 5 pairs, 92% at 20); the t-interval covers 95% at every count, and 93 to 94% with
    differences as skewed as a gamma of shape 4 (``tests/compare/test_intervals.py``
    measures it; the figures are in ``docs/report.md``). It is also the interval of the
    paired t-test shown beside it: it excludes 0 exactly when that test's p is below
    ``1 − level``.

    None with fewer than two differences or a non-finite one (a run without the metric).
    ``(mean, mean)`` when every difference is the same up to float rounding (where
    :func:`paired_t` is undefined), rather than a width made of rounding noise.

    >>> [round(x, 3) for x in paired_ci([1.0, 2.0, 3.0])]  # 2 ± t(0.975, 2) · 1 / √3
    [-0.484, 4.484]
    """
    arr = np.asarray(differences, dtype=float)
    if len(arr) < 2 or not np.all(np.isfinite(arr)):
        return None
    if no_spread(arr):
        mean = float(arr.mean())
        return mean, mean
    low, high = t_interval(arr, level=level)
    return float(low), float(high)


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

    Not the comparison's CI (:func:`paired_ci` says why): kept as the reference that
    ``tests/compare/test_intervals.py`` measures the t-interval against.
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
