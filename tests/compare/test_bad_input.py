"""``hpsearch compare`` on bad input: a one-line error, exit code 1, and nothing written."""

from __future__ import annotations

import pytest

from tests.commands import one_line
from tests.trials import add_trials, assert_nothing_written


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        ("task.max_eval_samples=100", "task.max_eval_samples (200 against 100)"),
        ("study.metric=accuracy", "study.metric ('f1' against 'accuracy')"),
        ("study.direction=minimize", "study.direction ('maximize' against 'minimize')"),
    ],
)
def test_arms_of_different_tasks_metrics_or_directions(arms, tmp_path, cli, change, differs):
    adam = arms("adam", "adamw", [0.5, 0.6])
    mfac = arms("mfac", "mfac", [0.5, 0.6], set=[change])
    code, _, err = cli("compare", str(adam), str(mfac))
    assert code == 1
    line = one_line(err, wrapped=True)
    assert f"{adam} and {mfac} cannot be compared: they differ in {differs}" in line
    assert_nothing_written(tmp_path)


def test_an_arm_never_run_or_with_one_finished_trial(arms, quora_study, tmp_path, cli):
    adam = arms("adam", "adamw", [0.5, 0.6])
    never = quora_study("never", set=["optimizer.kind=mfac"])
    code, _, err = cli("compare", str(adam), str(never), "--set", "train.epochs=1")
    assert code == 1
    line = one_line(err, wrapped=True)
    assert "study 'never'" in line and "no study 'never' in" in line
    assert f"run it first: `hpsearch run {never} --set train.epochs=1`" in line

    one = arms("one", "mfac", [0.5])
    code, _, err = cli("compare", str(adam), str(one))
    assert code == 1
    assert "study 'one' has 1 finished trial; comparing needs at least 2 per arm: run more: " in (
        one_line(err, wrapped=True)
    )
    assert f"`hpsearch run {one} --n-trials 3`" in one_line(err, wrapped=True)
    assert_nothing_written(tmp_path)


def test_an_arm_whose_judged_trials_were_all_pruned(arms, tmp_path, cli):
    adam = arms("adam", "adamw", [0.5, 0.6])
    mfac = arms("mfac", "mfac", [0.5, 0.6, 0.7], pruned=(0, 1))
    code, _, err = cli("compare", str(adam), str(mfac))
    assert code == 1 and "M-FAC: its first 2 finished trials (0, 1) were all pruned" in one_line(
        err, wrapped=True
    )
    assert_nothing_written(tmp_path)


def test_one_arm_is_not_a_comparison(arms, tmp_path, cli):
    adam = arms("adam", "adamw", [0.5, 0.6])
    code, _, err = cli("compare", str(adam))
    assert code == 1 and "compare needs two" in one_line(err, wrapped=True)
    assert_nothing_written(tmp_path)


def test_a_study_whose_other_kinds_were_left_out_says_why(quora_study, tmp_path, cli):
    """The quickstart after its 8 trials (AdamW tried once): not "one arm" alone, but why
    the AdamW arm was left out and how to give it trials."""
    path = quora_study("mixed", set=["space.optimizer.kind={ choices = ['adamw', 'mfac'] }"])
    trials = [("complete", 0.5, {"optimizer.kind": "adamw", "train.lr": 1e-4})]
    trials += [
        ("complete", 0.6 + i / 100, {"optimizer.kind": "mfac", "train.lr": 1e-3}) for i in (0, 1)
    ]
    add_trials(path, trials)
    code, _, err = cli("compare", str(path))
    line = one_line(err, wrapped=True)
    assert code == 1 and "is one arm (M-FAC) (left out of the comparison: the AdamW trials" in line
    assert "have 1 finished trial" in line and "compare needs two" in line
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("given", "line"),
    [
        (
            ("--budget-by", "hours"),
            "--budget-by must be one of trials, seconds, steps, but got 'hours'",
        ),
        (
            ("--budget", "2.5"),
            "--budget with --budget-by trials must be a whole number of trials, at least 1, "
            "but got 2.5",
        ),
        (
            ("--budget-by", "seconds", "--budget", "-3"),
            "--budget with --budget-by seconds must be a positive number of training seconds, "
            "but got -3",
        ),
    ],
)
def test_a_bad_budget_axis_or_budget(arms, tmp_path, cli, given, line):
    adam = arms("adam", "adamw", [0.5, 0.6])
    mfac = arms("mfac", "mfac", [0.5, 0.6])
    code, _, err = cli("compare", str(adam), str(mfac), *given)
    assert code == 1 and one_line(err) == f"error: {line}"
    assert_nothing_written(tmp_path)
