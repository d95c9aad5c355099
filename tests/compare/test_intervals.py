"""The paired CI's coverage at the seed counts people run: how often a "95%" interval holds
the true mean difference, measured by simulation (seeded and vectorised: about a second).

The comparison's CI is the paired t-interval (:func:`~hpsearch.compare.stats.paired_ci`):
it covers 95% with normal differences from 3 pairs on, and stays close with skewed ones.
The percentile bootstrap (:func:`~hpsearch.compare.stats.bootstrap_ci`), the CI before it,
covers about 75% at 3 pairs. ``python -m tests.compare.test_intervals`` prints the table
that ``docs/report.md`` quotes, with scipy's BCa bootstrap beside them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats as scipy_stats

from hpsearch.compare.stats import CI_LEVEL, bootstrap_ci, paired_ci, paired_t, t_interval

PAIRS = (3, 4, 5, 6, 8, 10, 15, 20)  # the seed counts people run, and a few more
SAMPLES = 20_000  # per count: a coverage near 0.95 is measured to ±0.003 (2 std errors)
BOOTSTRAP_SAMPLES = 4_000  # the bootstrap's coverage, near 0.75, to ±0.014
BOOTSTRAP_RESAMPLES = 1_000  # per interval; the comparison drew 10,000 (same coverage)

Draw = Callable[[np.random.Generator, tuple[int, int]], np.ndarray]

# Differences of the two arms' runs seed by seed, and their true mean. Skewed: a gamma of
# shape 4 (skewness 1: now and then a seed far out on one side); very skewed: an
# exponential (skewness 2), where no interval of 3 to 6 pairs is close to its level.
DISTRIBUTIONS: dict[str, tuple[Draw, float]] = {
    "normal": (lambda rng, shape: rng.normal(0.0, 1.0, shape), 0.0),
    "skewed": (lambda rng, shape: rng.gamma(4.0, 1.0, shape), 4.0),
    "very skewed": (lambda rng, shape: rng.exponential(1.0, shape), 1.0),
}
# How far from 95% the t-interval may cover at any count from 3 to 20 pairs.
TOLERANCE = {"normal": 0.01, "skewed": 0.025}


def differences(distribution: str, n: int, samples: int) -> tuple[np.ndarray, float]:
    """``samples`` rows of ``n`` differences (seeded by the count), and their true mean."""
    draw, mean = DISTRIBUTIONS[distribution]
    return draw(np.random.default_rng(n), (samples, n)), mean


def t_coverage(distribution: str, n: int) -> float:
    """How often the t-interval of ``n`` pairs holds the true mean."""
    d, mean = differences(distribution, n, SAMPLES)
    low, high = t_interval(d, level=CI_LEVEL)
    return float(np.mean((low <= mean) & (mean <= high)))


def bootstrap_intervals(d: np.ndarray, resamples: int, seed: int) -> tuple[np.ndarray, ...]:
    """``bootstrap_ci(row, resamples=resamples, seed=seed)`` of every row at once: it draws
    the same resample indices for every row, so one draw, as weights, serves them all."""
    n = d.shape[1]
    picks = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    weights = np.zeros((resamples, n))
    np.add.at(weights, (np.arange(resamples)[:, None], picks), 1.0 / n)
    means = d @ weights.T  # (samples, resamples): each row's resampled means
    low, high = np.quantile(means, [(1 - CI_LEVEL) / 2, (1 + CI_LEVEL) / 2], axis=1)
    return low, high


def bootstrap_coverage(distribution: str, n: int) -> float:
    """How often the percentile bootstrap of ``n`` pairs holds the true mean."""
    d, mean = differences(distribution, n, BOOTSTRAP_SAMPLES)
    low, high = bootstrap_intervals(d, BOOTSTRAP_RESAMPLES, seed=0)
    return float(np.mean((low <= mean) & (mean <= high)))


def test_the_paired_ci_is_scipy_s_paired_t_interval():
    a = [0.81, 0.83, 0.80, 0.84, 0.82]
    b = [0.79, 0.80, 0.80, 0.81, 0.78]
    d = [x - y for x, y in zip(a, b, strict=True)]
    expected = scipy_stats.ttest_rel(a, b).confidence_interval(CI_LEVEL)
    assert paired_ci(d) == pytest.approx((expected.low, expected.high))
    rows = np.array([d, [2 * x for x in d]])
    low, high = t_interval(rows)  # row by row, as the simulation uses it
    assert (low[1], high[1]) == pytest.approx(tuple(2 * x for x in paired_ci(d)))


def test_the_paired_ci_of_too_few_or_unusable_differences():
    assert paired_ci([0.1]) is None  # one pair: no spread to go by
    assert paired_ci([0.1, float("nan"), 0.2]) is None  # a run without the metric
    # Every difference the same (here up to float rounding): the interval is that
    # difference, not a width made of rounding noise; the t-test is undefined there.
    same = [705 / 872 - 720 / 872, 691 / 872 - 706 / 872, 692 / 872 - 707 / 872]
    low, high = paired_ci(same)
    assert low == high == pytest.approx(-15 / 872)


@pytest.mark.parametrize("distribution", sorted(TOLERANCE))
def test_the_t_interval_covers_95_percent_from_3_to_20_pairs(distribution):
    coverage = {n: t_coverage(distribution, n) for n in PAIRS}
    off = {n: c for n, c in coverage.items() if abs(c - CI_LEVEL) > TOLERANCE[distribution]}
    assert not off, f"{distribution}: coverage {coverage}"


def test_the_t_interval_under_very_skewed_differences_still_beats_the_bootstrap():
    """Exponential differences: nothing of 3 pairs covers 95%, but the t-interval is
    closer (about 88%) than the percentile bootstrap (about 69%)."""
    t, boot = t_coverage("very skewed", 3), bootstrap_coverage("very skewed", 3)
    assert 0.85 < t < CI_LEVEL and boot < t - 0.15


@pytest.mark.parametrize("distribution", ["normal", "skewed"])
def test_the_percentile_bootstrap_under_covers_at_3_and_5_pairs(distribution):
    """With 3 pairs the percentile bootstrap is about [min, max] of the differences: a "95%"
    interval that covers about 75% of the time (normal differences), 85% at 5 pairs."""
    at_3, at_5 = bootstrap_coverage(distribution, 3), bootstrap_coverage(distribution, 5)
    assert at_3 < 0.80 and at_5 < 0.88
    assert at_3 < t_coverage(distribution, 3) - 0.15


def test_the_simulated_bootstrap_is_the_comparison_s_old_ci_row_by_row():
    d, _ = differences("normal", 3, 5)
    low, high = bootstrap_intervals(d, BOOTSTRAP_RESAMPLES, seed=4)
    for i, row in enumerate(d):
        expected = bootstrap_ci(list(row), resamples=BOOTSTRAP_RESAMPLES, seed=4)
        assert (low[i], high[i]) == pytest.approx(expected)


def test_the_ci_excludes_zero_exactly_where_the_paired_t_test_rejects():
    """The CI and the p beside it never disagree (the bootstrap's [-70.13, -4.64] beside a
    paired-t p of .458 did)."""
    rng = np.random.default_rng(11)
    for n in (2, 3, 5, 8):
        for _ in range(50):
            b = rng.normal(0.5, 0.05, n)
            a = b + rng.normal(0.01, 0.02, n)
            low, high = paired_ci(list(a - b))
            p = paired_t(list(a), list(b)).p
            assert (low > 0 or high < 0) == (p < 1 - CI_LEVEL)


def test_three_pairs_of_one_sign_are_no_longer_a_ci_that_excludes_zero():
    d = [-70.13, -4.64, -10.0]
    low, high = bootstrap_ci(d)  # the old CI: [min, max], all below 0
    assert (low, high) == pytest.approx((-70.13, -4.64))
    low, high = paired_ci(d)
    assert low < 0 < high
    assert paired_t(d, [0.0] * 3).p > 0.05


def coverage_table() -> str:
    """Coverage of the t-interval, the percentile bootstrap and scipy's BCa, per count and
    distribution, as docs/report.md quotes it."""
    import warnings

    lines = ["| differences | method | " + " | ".join(f"{n} pairs" for n in PAIRS) + " |"]
    lines.append("| --- | --- | " + " | ".join("---:" for _ in PAIRS) + " |")
    for name in DISTRIBUTIONS:
        bca = []
        for n in PAIRS:
            d, mean = differences(name, n, BOOTSTRAP_SAMPLES)
            with warnings.catch_warnings():  # BCa of a sample with no spread: NaN
                warnings.simplefilter("ignore")
                ci = scipy_stats.bootstrap(
                    (d,),
                    np.mean,
                    axis=-1,
                    vectorized=True,
                    method="BCa",
                    n_resamples=BOOTSTRAP_RESAMPLES,
                    rng=np.random.default_rng(0),
                ).confidence_interval
            bca.append(float(np.mean((ci.low <= mean) & (mean <= ci.high))))
        rows = {
            "paired t": [t_coverage(name, n) for n in PAIRS],
            "percentile bootstrap": [bootstrap_coverage(name, n) for n in PAIRS],
            "BCa bootstrap": bca,
        }
        for method, values in rows.items():
            lines.append(f"| {name} | {method} | " + " | ".join(f"{v:.1%}" for v in values) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(coverage_table())
