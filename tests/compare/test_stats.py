"""The statistics against scipy and against hand-computed values: summaries, Welch's test,
the paired tests and the Wilcoxon floor, differences with no spread, the bootstrap CI and
Holm's adjustment."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats as scipy_stats

from hpsearch.compare.stats import (
    bootstrap_ci,
    effect_size,
    holm,
    paired_t,
    summarize,
    welch,
    wilcoxon,
    wilcoxon_floor,
)


def test_summarize_mean_sample_std_and_best_of_n():
    s = summarize([0.7, 0.8, 0.9])
    assert (s.n, s.mean, s.best, s.worst) == (3, pytest.approx(0.8), 0.9, 0.7)
    assert s.std == pytest.approx(0.1)  # sample std (ddof=1)
    loss = summarize([0.5, 0.3], maximize=False)
    assert (loss.best, loss.worst) == (0.3, 0.5)
    one = summarize([0.42])
    assert one.std is None and one.best == 0.42
    with pytest.raises(ValueError, match="must not be empty"):
        summarize([])


def test_welch_matches_scipy_and_is_none_when_undefined():
    a, b = [0.80, 0.82, 0.81, 0.79], [0.75, 0.77, 0.74]
    expected = scipy_stats.ttest_ind(a, b, equal_var=False)
    result = welch(a, b)
    assert result.statistic == pytest.approx(expected.statistic) and result.statistic > 0
    assert result.p == pytest.approx(expected.pvalue) and result.p < 0.01
    assert welch([0.5, 0.5], [0.5, 0.5]).p is None  # no variance anywhere
    assert welch([0.5], [0.4, 0.6]) == welch([0.4, 0.6], [0.5])
    assert welch([0.5], [0.4, 0.6]).p is None  # a single run on one side


def test_paired_tests_match_scipy():
    a = [0.81, 0.83, 0.80, 0.84, 0.82, 0.85]
    b = [0.79, 0.80, 0.80, 0.81, 0.78, 0.82]
    t = paired_t(a, b)
    expected = scipy_stats.ttest_rel(a, b)
    assert (t.statistic, t.p) == pytest.approx((expected.statistic, expected.pvalue))
    w = wilcoxon(a, b)
    expected = scipy_stats.wilcoxon(a, b)
    assert (w.statistic, w.p) == pytest.approx((expected.statistic, expected.pvalue))
    assert welch(a, b).p == pytest.approx(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    # Five pairs all one way: the exact test's smallest p, 2 / 2**5, above 0.05.
    assert wilcoxon_floor(5) == 0.0625 and wilcoxon_floor(6) == 0.03125
    assert wilcoxon([1, 2, 3, 4, 5], [0, 0, 0, 0, 0]).p == pytest.approx(0.0625)
    with warnings.catch_warnings():  # scipy divides by a zero spread here
        warnings.simplefilter("ignore", RuntimeWarning)
        no_difference = scipy_stats.wilcoxon([0.5] * 3, [0.5] * 3).pvalue
    assert wilcoxon([0.5] * 3, [0.5] * 3).p == no_difference  # as scipy has it
    assert paired_t([0.5], [0.4]).p is None  # one pair


def test_differences_equal_up_to_rounding_have_no_spread():
    """Two accuracies on one validation set that differ by the same 15 examples on every
    seed: the differences are equal but for float rounding (the SST-2 case study's SGD row
    against BERT's recipe got p = 4.6e-30 from that noise). No test is defined there."""
    recipe = [720 / 872, 706 / 872, 707 / 872]  # the case study's accuracies, seeds 0, 1, 2
    sgd = [705 / 872, 691 / 872, 692 / 872]
    diffs = [x - y for x, y in zip(sgd, recipe, strict=True)]
    assert len(set(diffs)) > 1  # not equal as floats
    assert paired_t(sgd, recipe).p is None
    assert effect_size(diffs) is None
    assert welch([0.3 + 0.1] * 3, [0.4] * 3).p is None
    assert paired_t([0.81, 0.83, 0.80], [0.79, 0.80, 0.80]).p is not None  # a real spread


def test_bootstrap_ci_is_reproducible_with_its_seed():
    d = [0.02, -0.01, 0.03, 0.015, 0.0]
    ci = bootstrap_ci(d, seed=7)
    assert ci == bootstrap_ci(d, seed=7)
    assert ci != bootstrap_ci(d, seed=8)
    assert ci is not None and ci[0] < np.mean(d) < ci[1]
    rng = np.random.default_rng(7)  # the percentile bootstrap, written out
    means = np.asarray(d)[rng.integers(0, 5, size=(10_000, 5))].mean(axis=1)
    assert ci == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])))
    assert bootstrap_ci([0.1]) is None


def test_holm_adjusts_sorted_p_values_and_keeps_them_monotone():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, None, 0.9]) == [1.0, None, 1.0]  # None is left out of m
