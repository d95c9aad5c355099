"""Budgets in compute (``--budget-by seconds|steps``): what each trial spent, a pruned one up
to its pruning; every arm judged on its first trials that fit within the smallest arm's
total; the tuning curve after a budget of seconds against a direct computation.

The studies are small Quora study files whose trials are added directly, with the seconds
and steps they trained (the ``arms`` fixture, ``tests/trials.py``); nothing trains.
"""

from __future__ import annotations

import json
import math
from functools import cache

import pytest

from hpsearch.compare.arms import CompareError
from hpsearch.compare.curves import compute_curve, expected_best
from hpsearch.compare.model import CompareReport
from hpsearch.compare.tuning import tuning_curves
from hpsearch.errors import HpsearchError
from tests.trials import plan_of


def test_each_arm_is_judged_within_the_smallest_arms_seconds(arms):
    # AdamW's trial 1 was pruned after 2 s: it counts the 2 s it trained, not a full trial
    budget = ["study.n_trials=4"]
    adam = arms("adam", "adamw", [0.6, 0.5, 0.7], pruned=(1,), seconds=[6.0, 2.0, 6.0], set=budget)
    mfac = arms("mfac", "mfac", [0.65, 0.75, 0.6, 0.8], seconds=[5.0] * 4, set=budget)

    plan = plan_of(adam, mfac, axis="seconds")
    assert plan.axis == "seconds" and plan.budget == 14.0  # AdamW's 6 + 2 + 6
    adam_arm, mfac_arm = plan.arms
    assert adam_arm.compute == (6.0, 2.0, 6.0) and len(adam_arm.judged) == 3
    assert [t.number for t in mfac_arm.judged] == [0, 1]  # 5 + 5 fit, a third makes 15
    assert "M-FAC: judged on its first 2 of 4 finished trials (10.0 s of 20.0 s); the budget " in (
        " ".join(plan.notes)
    )
    # AdamW set the budget, 6 s short of M-FAC's first 4 trials' 20 s (its study.n_trials;
    # AdamW's is 4 too, with 3 run): at 4.67 s a trial, 2 more, to 5
    hint = next(n for n in plan.notes if n.startswith("AdamW set the budget"))
    assert hint.startswith(
        "AdamW set the budget (14.0 s): to judge every arm on all its trials at equal "
        "compute, run its study to about 5 trials (`hpsearch run "
    )
    assert hint.endswith(" --n-trials 5`, then compare again); a suite file tops up so itself")

    # Their curves draw each trial with what it spent: the pruned one's 2 s
    adam_curve, mfac_curve = tuning_curves(plan)
    assert adam_curve.costs == (6.0, 2.0, 6.0) and mfac_curve.costs == (5.0, 5.0)
    assert [p.budget for p in adam_curve.points][-1] == 14.0
    assert adam_curve.points[-1].k == 3 and mfac_curve.points[-1].k == 2


def test_an_arm_topped_up_past_the_other_is_not_sent_back_to_catch_up(arms):
    """AdamW ran more trials until it spent what M-FAC's first 2 did, a trial past it: M-FAC
    is cut by nothing and AdamW by its last trial, and no arm is told to run more."""
    adam = arms(
        "adam", "adamw", [0.6, 0.5, 0.7, 0.6, 0.5], seconds=[3.0] * 5, set=["study.n_trials=2"]
    )
    mfac = arms("mfac", "mfac", [0.65, 0.75], seconds=[7.0, 7.0], set=["study.n_trials=2"])
    plan = plan_of(adam, mfac, axis="seconds")
    assert plan.budget == 14.0 and [len(a.judged) for a in plan.arms] == [4, 2]
    assert not [n for n in plan.notes if "set the budget" in n]


def test_steps_and_a_budget_given_in_steps(arms):
    adam = arms("adam", "adamw", [0.6, 0.5, 0.7], pruned=(1,), steps=[30, 10, 30])
    mfac = arms("mfac", "mfac", [0.65, 0.75, 0.6, 0.8], steps=[20] * 4)
    plan = plan_of(adam, mfac, axis="steps")
    assert plan.budget == 70 and [len(a.judged) for a in plan.arms] == [3, 3]

    fewer = plan_of(adam, mfac, axis="steps", budget=40)
    assert fewer.budget == 40 and [len(a.judged) for a in fewer.arms] == [2, 2]
    more = plan_of(adam, mfac, axis="steps", budget=1000)
    assert more.budget == 70
    assert (
        "--budget 1000 is more than the smallest arm's 70 steps: every arm is judged within "
        "70 steps"
    ) in more.notes


def test_an_arm_whose_first_trial_spent_more_than_the_budget(arms):
    adam = arms("adam", "adamw", [0.6, 0.7], seconds=[1.0, 1.0])
    mfac = arms("mfac", "mfac", [0.65, 0.75], seconds=[5.0, 5.0])
    with pytest.raises(CompareError) as error:
        plan_of(adam, mfac, axis="seconds")
    assert str(error.value).startswith(
        "M-FAC: its first finished trial (0) spent 5.0 s, more than the budget of 2.0 s "
        "(--budget-by seconds), so there is no trial to judge"
    )


def test_a_trial_that_recorded_no_seconds_names_itself(arms):
    adam = arms("adam", "adamw", [0.6, 0.7])  # trials as an older hpsearch recorded them
    mfac = arms("mfac", "mfac", [0.65, 0.75], seconds=[5.0, 5.0])
    with pytest.raises(HpsearchError) as error:
        plan_of(adam, mfac, axis="seconds")
    assert str(error.value) == (
        "--budget-by seconds needs each finished trial's training seconds, but trial 0 of "
        "study 'adam' recorded none (run by an older hpsearch): judge by --budget-by trials"
    )
    assert plan_of(adam, mfac).budget == 2  # the trials axis needs none


def exact_best(values: list[float], costs: list[float], budget: float) -> float:
    """E[best of trials drawn with replacement until ``budget`` is spent], by enumerating
    every draw sequence: each draw is one of the trials, 1/N each; a draw that no longer
    fits ends the sequence."""
    n = len(values)

    @cache
    def expected(left: float, best: float) -> float:
        total = 0.0
        for v, c in zip(values, costs, strict=True):
            total += expected(left - c, max(best, v)) if c <= left else best
        return total / n

    return expected(budget, -math.inf)


def test_the_seconds_curve_against_a_direct_computation():
    values, seconds = [0.6, 0.9, 0.3], [2.0, 3.0, 1.0]  # in trial order
    points = compute_curve(values, seconds, 6.0, points=6, resamples=50)
    assert [p.budget for p in points] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    # Below the costliest trial (3 s) a sequence may hold no trial yet: no estimate
    assert all(math.isnan(p.expected) for p in points[:2])
    for p in points[2:]:
        assert p.expected == pytest.approx(exact_best(values, seconds, p.budget), abs=0.01)
        assert p.low <= p.expected <= p.high
    # The observed best: of the first trials, by number, that fit within the budget
    assert [p.k for p in points] == [0, 1, 1, 1, 2, 3]
    assert [p.observed for p in points[1:]] == [0.6, 0.6, 0.6, 0.9, 0.9]
    assert math.isnan(points[0].observed)
    again = compute_curve(values, seconds, 6.0, points=6, resamples=50)
    assert again[2:] == points[2:]  # seeded (NaN, below, equals nothing)


def test_trials_that_cost_alike_give_the_curve_after_k_trials():
    values = [0.5, 0.2, 0.9, 0.4]
    points = compute_curve(values, [3.0] * 4, 12.0, points=4, resamples=20)
    assert [p.expected for p in points] == pytest.approx(
        expected_best(values, [1, 2, 3, 4]), abs=0.01
    )
    minimized = compute_curve(values, [3.0] * 4, 12.0, points=4, resamples=20, maximize=False)
    assert [p.expected for p in minimized] == pytest.approx(
        expected_best(values, [1, 2, 3, 4], maximize=False), abs=0.01
    )


def test_compare_by_seconds_with_p_best(arms, tmp_path, fake_objective, cli):
    adam = arms("adam", "adamw", [0.6, 0.7, 0.5, 0.65], pruned=(2,), seconds=[4.0, 4.0, 1.0, 4.0])
    mfac = arms("mfac", "mfac", [0.62, 0.71, 0.66], seconds=[6.0, 6.0, 6.0])
    args = ("compare", str(adam), str(mfac), "--seeds", "2", "--budget-by", "seconds")
    code, out, err = cli(*args, "--p-best")
    assert code == 0, err
    assert "budget: every arm is judged on its first finished trials that fit within 13.0 s" in out
    assert "P(best)" in out
    folder = tmp_path / "results" / "adam-vs-mfac"
    assert (folder / "p_best.png").stat().st_size > 0
    data = json.loads((folder / "compare.json").read_text())
    assert data["version"] == 2  # its curves are at budgets: a reader of version 1 refuses it
    comp = CompareReport.from_dict(data).comparison
    assert (comp.budget_by, comp.axis_budget, comp.budget) == ("seconds", 13.0, 2)
    assert [len(a.judged) for a in comp.arms] == [4, 2]  # AdamW's 4 + 4 + 1 + 4, M-FAC's 6 + 6
    assert [a.judged_compute for a in comp.arms] == [13.0, 12.0]
    assert comp.curves[0].costs == (4.0, 4.0, 1.0, 4.0)
    assert [p.budget for p in comp.curves[0].points][-1] == 13.0
    assert [o.budget for o in comp.best_odds] == [6.5, 13.0]  # from M-FAC's 6 s on
    text = (folder / "compare.md").read_text()
    assert "## P(best): each arm's probability" in text
    assert "| training seconds | AdamW | M-FAC |" in text
    assert "whose training seconds add up to at most 13.0 s" in text
    # The default is the trials axis, written as before: none of the added keys
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err
    data = json.loads((folder / "compare.json").read_text())
    assert data["version"] == 1 and data["comparison"]["budget"] == 3
    assert not {"budget_by", "axis_budget", "best_odds"} & set(data["comparison"])
    assert "budget" not in data["comparison"]["curves"][0]["points"][0]
    assert not (folder / "p_best.png").exists()  # not left from the run with --p-best
