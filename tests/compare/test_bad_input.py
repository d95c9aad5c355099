"""``hpsearch compare`` on bad input: a one-line error, exit code 1, and nothing written."""

from __future__ import annotations

import pytest

from tests.commands import one_line
from tests.trials import assert_nothing_written


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
