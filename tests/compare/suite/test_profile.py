"""Performance profiles and the AlgoPerf score against a case computed by hand."""

from __future__ import annotations

import itertools
import math

import pytest

from hpsearch.compare.suite.profile import distance, ratios, rho, steps_of
from hpsearch.compare.suite.score import integrated_score
from hpsearch.compare.suite.summary import profile

INF = math.inf

# Three workloads, two arms; training seconds to the target (∞: never reached):
#
#            w1    w2    w3
#   AdamW    10    30     ∞
#   M-FAC    20    15    50
#
# Ratios to the best arm of each workload:  AdamW 1, 2, ∞;  M-FAC 2, 1, 1.
# ρ_AdamW(τ) = 1/3 on [1, 2), 2/3 from 2 on (never 1: w3 is ∞).
# ρ_M-FAC(τ) = 2/3 on [1, 2), 1 from 2 on.
# Score, τ_max = 4: the area under ρ on [1, 4] over 3.
#   AdamW: 1/3 · 1 + 2/3 · 2 = 5/3  → 5/9 = 0.5556
#   M-FAC: 2/3 · 1 + 1 · 2  = 8/3  → 8/9 = 0.8889
#   (per workload: max(0, 4 − r) / 3, averaged: AdamW (3 + 2 + 0) / 9, M-FAC (2 + 3 + 3) / 9)
SECONDS = {"AdamW": [10.0, 30.0, INF], "M-FAC": [20.0, 15.0, 50.0]}
WORKLOADS = ["w1", "w2", "w3"]


def test_the_ratios_are_each_cost_over_the_best_of_its_workload():
    assert ratios([10.0, 20.0]) == [1.0, 2.0]
    assert ratios([30.0, 15.0]) == [2.0, 1.0]
    assert ratios([INF, 50.0]) == [INF, 1.0]
    assert ratios([INF, INF]) == [INF, INF]  # nobody got there: nobody within any τ
    assert ratios([0.0, 3.0]) == [1.0, INF]
    assert ratios([math.nan, 2.0]) == [INF, 1.0]


@pytest.mark.parametrize(
    ("tau", "adamw", "mfac"),
    [(1.0, 1 / 3, 2 / 3), (1.99, 1 / 3, 2 / 3), (2.0, 2 / 3, 1.0), (4.0, 2 / 3, 1.0)],
)
def test_rho_is_the_share_of_workloads_within_tau_of_the_best(tau, adamw, mfac):
    assert rho([1.0, 2.0, INF], tau) == pytest.approx(adamw)
    assert rho([2.0, 1.0, 1.0], tau) == pytest.approx(mfac)


def test_the_step_corners_of_rho_are_what_the_plot_draws():
    assert steps_of([1.0, 2.0, INF], 4.0) == [(1.0, 1 / 3), (2.0, 2 / 3), (4.0, 2 / 3)]
    # A ratio beyond τ_max is no corner inside the plot.
    assert steps_of([1.0, 5.0], 4.0) == [(1.0, 0.5), (4.0, 0.5)]


def test_the_score_is_the_area_under_rho_computed_by_hand():
    assert integrated_score([1.0, 2.0, INF]) == pytest.approx(5 / 9)
    assert integrated_score([2.0, 1.0, 1.0]) == pytest.approx(8 / 9)
    assert integrated_score([1.0, 1.0]) == 1.0  # best everywhere
    assert integrated_score([4.0, INF, 7.5]) == 0.0  # never within τ_max of the best
    # τ_max = 2: only the best arm of a workload and those up to twice its cost count.
    assert integrated_score([1.0, 1.5], tau_max=2.0) == pytest.approx((1 + 0.5) / 2)


def test_the_score_equals_the_integral_of_rho_sampled_finely():
    """AlgoPerf integrates ρ sampled on a grid (trapezoids); the exact area is its limit."""
    r = [1.0, 2.0, INF]
    n = 30_000
    taus = [1 + 3 * i / n for i in range(n + 1)]
    area = sum((rho(r, a) + rho(r, b)) / 2 * (b - a) for a, b in itertools.pairwise(taus))
    assert integrated_score(r) == pytest.approx(area / 3, abs=1e-4)


def test_a_profile_holds_costs_ratios_and_scores_with_infinity_as_none():
    made = profile("seconds", WORKLOADS, SECONDS, tau_max=4.0)
    adamw, mfac = made.arms
    assert (adamw.arm, adamw.costs, adamw.ratios) == ("AdamW", (10.0, 30.0, None), (1.0, 2.0, None))
    assert (mfac.costs, mfac.ratios) == ((20.0, 15.0, 50.0), (2.0, 1.0, 1.0))
    assert adamw.score == pytest.approx(5 / 9)
    assert mfac.score == pytest.approx(8 / 9)
    assert made.workloads == tuple(WORKLOADS) and made.tau_max == 4.0


def test_the_final_metrics_ratio_is_the_distance_to_perfect_over_the_best_arms():
    # Accuracy 0.90 against 0.80: 0.10 and 0.20 from perfect, so M-FAC's ratio is 2.
    # Pearson 0.60 against 0.80 (bounded by 1 too): 0.40 / 0.20, AdamW's ratio 2.
    costs = {
        "AdamW": [distance(0.90, 1.0, maximize=True), distance(0.60, 1.0, maximize=True)],
        "M-FAC": [distance(0.80, 1.0, maximize=True), distance(0.80, 1.0, maximize=True)],
    }
    made = profile("metric", ["sst", "sts"], costs, tau_max=4.0)
    assert made.arms[0].ratios == pytest.approx((1.0, 2.0))
    assert made.arms[1].ratios == pytest.approx((2.0, 1.0))
    # A minimized metric bounded below by 0 (a loss): the loss itself is the distance.
    assert distance(0.3, 0.0, maximize=False) == pytest.approx(0.3)
    assert distance(math.nan, 1.0, maximize=True) == INF
