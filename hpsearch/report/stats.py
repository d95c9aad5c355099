"""Numbers of a report: mean ± std and best-of-N over seeds, and Welch's t-test.

Plain functions over lists of floats that return the report's
:class:`~hpsearch.report.model.Summary` and :class:`~hpsearch.report.model.Welch`; they know
nothing of Optuna or of how the numbers will be shown.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from hpsearch.report.model import Summary, Welch


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


def welch(a: Sequence[float], b: Sequence[float]) -> Welch:
    """Welch's t-test, ``scipy.stats.ttest_ind(a, b, equal_var=False)``, two-sided.

    Undefined cases give ``Welch(None, None)`` rather than NaN: fewer than two values on
    either side, or no variance on both sides (identical runs, e.g. a model that predicts
    one class for every seed).

    >>> welch([1.0, 1.1, 0.9], [2.0, 2.1, 1.9]).p < 0.01
    True
    """
    from scipy import stats  # scipy is slow to import; only reports need it

    if len(a) < 2 or len(b) < 2:
        return Welch(None, None)
    with warnings.catch_warnings():  # scipy warns on zero variance; we return None instead
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(list(a), list(b), equal_var=False)
    t, p = float(result.statistic), float(result.pvalue)
    if not (math.isfinite(t) and math.isfinite(p)):
        return Welch(None, None)
    return Welch(t, p)
