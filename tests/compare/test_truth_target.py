"""Time-to-target never counts an evaluation that answered one class; ``--target`` takes a
value the metric can take, never the one-class score; diverged runs reach compare.md
(issue 29)."""

from __future__ import annotations

import math

import pytest

from hpsearch.compare.arms import CompareError, plan_comparison, source
from hpsearch.compare.comparison import build_comparison
from hpsearch.compare.cost import time_to_target
from hpsearch.compare.model import EvalPoint, SeedRun
from hpsearch.compare.target import check_target, default_target
from hpsearch.spec.load import load_spec
from tests.commands import one_line
from tests.trials import ONE_CLASS_F1, tuned

# ---- 3. time-to-target never counts an evaluation that answered one class -------------------


def test_an_evaluation_that_answered_one_class_never_reaches_the_target():
    evals = (
        EvalPoint(step=4, train_seconds=0.4, value=ONE_CLASS_F1, one_class=True),
        EvalPoint(step=8, train_seconds=0.8, value=0.6),
        EvalPoint(step=12, train_seconds=1.2, value=0.7),
    )
    reached = time_to_target(0, evals, 0.6)
    assert (reached.steps, reached.seconds) == (8, 0.8)  # not 4: that one learned nothing
    assert time_to_target(0, evals[:1], 0.5).steps is None


def test_an_arm_that_learned_nothing_first_does_not_look_faster(pair, stand_in):
    """M-FAC's first evaluation answers "duplicate" everywhere (F1 0.63, above the target):
    it reaches the target at its second evaluation, like AdamW, not at step 4."""
    adam, mfac = pair()
    stand_in.one_class_first = {"mfac"}
    plan = plan_comparison([source(load_spec(p)) for p in (adam, mfac)])
    comp = build_comparison(plan, seeds=3)
    assert comp.target == pytest.approx(0.53)  # AdamW's median best: 0.52, 0.53, 0.54
    adam_cost, mfac_cost = comp.costs
    assert [t.steps for t in mfac_cost.to_target] == [8, 8, 8]  # not 4, 4, 4
    assert [t.steps for t in adam_cost.to_target] == [None, 8, 4]
    assert (mfac_cost.target_steps, adam_cost.target_steps) == (8, 8)
    first = comp.configs[-1].runs[0].evals[0]
    assert first.one_class and not comp.configs[-1].runs[0].evals[1].one_class


def test_a_target_equal_to_the_one_class_score_is_refused(pair, stand_in, cli):
    adam, mfac = pair()
    stand_in.one_class_first = {"mfac"}
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2", "--target", "0.63")
    assert code == 1
    line = err.strip().splitlines()[-1]  # after the re-runs' progress: the one-class score
    assert line.startswith("error: ") and "Traceback" not in err
    assert "--target 0.63 is the f1 of answering one class for every validation example" in line
    assert (
        "(M-FAC trial 1, seed 0 scored it so, MCC 0)" in line and "give a target above it" in line
    )
    # Seen in a judged trial: refused before anything re-runs.
    stand_in.calls = []
    flat = adam.with_name("flat.toml")
    flat.write_text(adam.read_text().replace('name = "adam"', 'name = "flat"'))
    tuned(flat, [0.6, 0.7, 0.5], one_class=(2,))
    code, _, err = cli("compare", str(flat), str(mfac), "--target", "0.63")
    assert code == 1 and "(AdamW trial 2 scored it so" in one_line(err)
    assert stand_in.calls == []


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("nan", "--target must be a finite number, but got nan"),
        ("inf", "--target must be a finite number, but got inf"),
        ("-inf", "--target must be a finite number, but got -inf"),
        ("1.5", "--target must lie within the values f1 can take, [0, 1], but got 1.5"),
        ("-0.01", "--target must lie within the values f1 can take, [0, 1], but got -0.01"),
    ],
)
def test_target_is_a_value_the_metric_takes(pair, stand_in, cli, tmp_path, target, why):
    adam, mfac = pair()
    code, _, err = cli("compare", str(adam), str(mfac), "--target", target)
    assert code == 1 and one_line(err) == f"error: {why}"
    assert stand_in.calls == [] and not (tmp_path / "results").exists()


def test_target_edges():
    for ok in (0.0, 1.0):
        check_target(ok, "f1")
    check_target(-1.0, "sst/mcc")
    check_target(123.0, "loss")
    with pytest.raises(CompareError, match=r"\[-1, 1\]"):
        check_target(-1.01, "mean")
    with pytest.raises(CompareError, match=r"\[0, inf\]"):
        check_target(-0.5, "mse")


def test_the_default_target_leaves_out_seeds_that_answered_one_class():
    flat = "one class: the classifier predicted the same class"
    runs = [
        SeedRun(0, 0, ONE_CLASS_F1, {"f1": ONE_CLASS_F1}, one_class=flat),
        SeedRun(1, 1, 0.5, {"f1": 0.5}),
        SeedRun(2, 2, 0.55, {"f1": 0.55}),
    ]
    target, where = default_target("AdamW", runs)
    # of two, the worse: the mean of them (0.525) only one seed reaches
    assert target == pytest.approx(0.5)
    assert where.endswith("(2 seeds that learned; 1 seed that answered one class left out)")
    assert default_target("AdamW", runs, maximize=False)[0] == pytest.approx(0.55)
    target, where = default_target("AdamW", runs[:1])
    assert math.isnan(target) and where.startswith("none: every re-run of the baseline arm")


def test_the_default_target_of_an_odd_count_is_the_median_and_most_seeds_reach_it():
    for n in (3, 4, 5, 10):
        runs = [SeedRun(i, i, 0.5 + i / 100, {"f1": 0.5 + i / 100}) for i in range(n)]
        target, _ = default_target("AdamW", runs)
        assert sum(r.value >= target for r in runs) == n // 2 + 1


def test_diverged_reaches_compare_md(pair, stand_in, cli, tmp_path):
    adam, mfac = pair(mfac={"attrs": {"diverged": "diverged: validation loss 90.2"}})
    stand_in.diverged = {1}
    code, out, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err
    text = (tmp_path / "results" / "adam-vs-mfac" / "compare.md").read_text()
    assert "- M-FAC: 3 of 3 judged trials diverged (trials 0, 1, 2): diverged: validation" in text
    assert (
        "- AdamW trial 1: 1 of 2 seed re-runs diverged (seed 1): diverged: validation loss 70"
        in (text)
    )
    assert "seed re-runs diverged" in out
