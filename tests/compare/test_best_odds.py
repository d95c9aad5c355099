"""P(best): each arm's probability of being the best arm at a budget, bootstrapped from its
judged trials, on the trials axis and on a compute axis: cases whose answer is known."""

from __future__ import annotations

import pytest

from hpsearch.compare.best_odds import best_odds
from hpsearch.compare.tuning import odds_budgets, plan_best_odds
from tests.trials import plan_of


def test_an_arm_that_dominates_is_best_at_every_budget():
    arms = {"A": ([0.8, 0.9, 0.85], [1, 1, 1]), "B": ([0.5, 0.7, 0.6], [1, 1, 1])}
    odds = best_odds(arms, [1, 2, 4], draws=2_000)
    assert [o.budget for o in odds] == [1, 2, 4]
    assert [o.p_best for o in odds] == [{"A": 1.0, "B": 0.0}] * 3
    # minimized, the other arm's lower values win
    assert best_odds(arms, [2], maximize=False, draws=500)[0].p_best == {"A": 0.0, "B": 1.0}


def test_arms_of_the_same_trials_share_the_odds():
    trials = ([0.5, 0.6, 0.7, 0.8], [1, 1, 1, 1])
    odds = best_odds({"A": trials, "B": trials, "C": trials}, [1, 3], draws=6_000)
    for o in odds:
        assert sum(o.p_best.values()) == pytest.approx(1.0)
        assert list(o.p_best.values()) == pytest.approx([1 / 3] * 3, abs=0.02)
    assert best_odds({"A": trials, "B": trials, "C": trials}, [1, 3], draws=6_000) == odds


def test_on_a_compute_axis_an_arm_of_costlier_trials_gets_fewer_of_them():
    """A's trials take 1 s and score 0.7; B's take 4 s and score 0.6 or 0.8. Within 4 s B
    has one trial: best with probability 1/2; within 8 s two: 1 − 1/4."""
    arms = {"A": ([0.7, 0.7], [1.0, 1.0]), "B": ([0.6, 0.8], [4.0, 4.0])}
    at_4, at_8 = best_odds(arms, [4.0, 8.0], draws=8_000)
    assert at_4.p_best["B"] == pytest.approx(0.5, abs=0.02)
    assert at_8.p_best["B"] == pytest.approx(0.75, abs=0.02)
    assert at_8.p_best["A"] == pytest.approx(1 - at_8.p_best["B"])


def test_a_plan_tells_the_odds_at_the_curves_table_budgets(arms):
    adam = arms("adam", "adamw", [0.6, 0.62, 0.61, 0.6], seconds=[4.0, 4.0, 4.0, 4.0])
    mfac = arms("mfac", "mfac", [0.8, 0.82, 0.81], seconds=[6.0, 6.0, 6.0])
    trials = plan_of(adam, mfac)
    assert odds_budgets(trials) == [1, 2, 3]
    assert [o.p_best["M-FAC"] for o in plan_best_odds(trials, draws=500)] == [1.0, 1.0, 1.0]
    # On seconds: 1/32, 1/16, … of the 16 s every arm is judged within, from M-FAC's 6 s on
    seconds = plan_of(adam, mfac, axis="seconds")
    assert seconds.budget == 16.0 and odds_budgets(seconds) == [8.0, 16.0]
    assert [o.p_best for o in plan_best_odds(seconds, draws=500)] == [
        {"AdamW": 0.0, "M-FAC": 1.0}
    ] * 2
