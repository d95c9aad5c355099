"""Equal budgets: every arm is judged on the smallest arm's first finished trials; a study
that searches optimizer.kind gives an arm per kind; kinds and study files that cannot be
judged; trials that answered one class; arms named by their studies.

The studies are small Quora study files whose trials are added directly (the ``arms``
fixture, ``tests/trials.py``); nothing trains.
"""

from __future__ import annotations

from types import SimpleNamespace

import optuna
import pytest
from optuna.trial import create_trial

from hpsearch.compare.arms import CompareError
from hpsearch.compare.model import SeedRun
from hpsearch.spec.load import load_spec
from tests.trials import LR, add_trials, plan_of


def test_every_arm_is_judged_on_the_smallest_arms_first_trials(arms):
    adam = arms("adam", "adamw", [0.6, 0.7, 0.5, 0.9, 0.8], pruned=(2,))
    mfac = arms("mfac", "mfac", [0.65, 0.75, 0.6])
    add_trials(adam, [("failed", 0.0, {"train.lr": 1e-3})])  # failed: not finished

    plan = plan_of(adam, mfac)
    assert [a.name for a in plan.arms] == ["AdamW", "M-FAC"] and plan.budget == 3
    adam_arm, mfac_arm = plan.arms
    assert [t.number for t in adam_arm.judged] == [0, 1, 2]  # the first 3 by number
    assert [t.number for t in adam_arm.cut] == [3, 4] and mfac_arm.cut == ()
    assert "AdamW: judged on its first 3 of 5 finished trials; the budget cut 2 trials (3, 4)" in (
        plan.notes
    )

    fewer = plan_of(adam, mfac, budget=2)
    assert fewer.budget == 2 and [len(a.cut) for a in fewer.arms] == [3, 1]
    more = plan_of(adam, mfac, budget=10)
    assert more.budget == 3 and any("--budget 10 is more than" in n for n in more.notes)
    assert plan_of(adam, mfac, baseline="M-FAC").baseline.name == "M-FAC"


def test_a_study_that_searches_optimizer_kind_gives_an_arm_per_kind(quora_study):
    path = quora_study("mixed", set=["space.optimizer.kind={ choices = ['adamw', 'mfac'] }"])
    trials = [
        ("complete", 0.5 + i / 100, {"optimizer.kind": "adamw", "train.lr": 1e-4}) for i in range(5)
    ]
    trials[1] = ("complete", 0.7, {"optimizer.kind": "mfac", "train.lr": 1e-3})
    trials += [("pruned", 0.4, {"optimizer.kind": "mfac", "train.lr": 2e-3})]
    trials += [("complete", 0.6, {"optimizer.kind": "mfac", "train.lr": 3e-3})]
    add_trials(path, trials)  # AdamW: trials 0, 2, 3, 4; M-FAC: 1, 5 (pruned), 6

    plan = plan_of(path)
    assert [(a.name, a.kind) for a in plan.arms] == [("AdamW", "adamw"), ("M-FAC", "mfac")]
    assert plan.budget == 3
    assert [t.number for t in plan.arms[0].judged] == [0, 2, 3]
    assert [t.number for t in plan.arms[1].judged] == [1, 5, 6]
    assert "AdamW: judged on its first 3 of 4 finished trials; the budget cut 1 trial (4)" in (
        plan.notes
    )
    assert any("'mixed' searches optimizer.kind" in n for n in plan.notes)


@pytest.mark.parametrize(
    ("mfac", "why"),
    [
        ([("pruned", 0.4), ("pruned", 0.3)], "trials of study 'mixed' have no complete trial"),
        ([("complete", 0.7)], "have 1 finished trial"),
        ([("pruned", 0.4), ("pruned", 0.3), ("complete", 0.7)], "M-FAC: its first 2 finished"),
    ],
)
def test_a_kind_of_a_study_that_cannot_be_judged_is_left_out_with_a_note(quora_study, mfac, why):
    """The sampler decides how often a kind is tried: a kind without a config to re-run is
    left out, said in the notes, and the other kinds are judged (the multitask case study's
    M-FAC trials were all pruned, and its report refused to run)."""
    path = quora_study("mixed", set=["space.optimizer.kind={ choices = ['adamw', 'mfac'] }"])
    adam = [
        ("complete", 0.5 + i / 100, {"optimizer.kind": "adamw", "train.lr": 1e-4}) for i in (0, 1)
    ]
    add_trials(path, adam + [(s, v, {"optimizer.kind": "mfac", "train.lr": 1e-3}) for s, v in mfac])
    plan = plan_of(path)
    assert [a.name for a in plan.arms] == ["AdamW"] and plan.budget == 2
    (note,) = [n for n in plan.notes if n.startswith("left out")]
    assert why in note
    with pytest.raises(CompareError, match="--baseline 'M-FAC' cannot be judged"):
        plan_of(path, baseline="M-FAC")


def test_a_study_file_of_its_own_that_cannot_be_judged_is_an_error(arms):
    adam = arms("adam", "adamw", [0.5, 0.6])
    mfac = arms("mfac", "mfac", [0.5, 0.4], pruned=(0, 1))
    with pytest.raises(CompareError, match="study 'mfac' has no complete trial"):
        plan_of(adam, mfac)


def test_trials_and_re_runs_that_answered_one_class_are_noted(arms):
    from hpsearch.compare.comparison import one_class_notes

    adam = arms("adam", "adamw", [0.5, 0.6])
    study = optuna.load_study(study_name="adam", storage=load_spec(adam).study.storage)
    flat = "one class: the classifier predicted the same class for every validation example"
    study.add_trial(
        create_trial(
            params={"train.lr": 3e-4},
            distributions={"train.lr": LR},
            value=0.61,
            user_attrs={"one_class": flat},
        )
    )
    plan = plan_of(adam)
    runs = (
        SeedRun(0, 0, 0.5, {"f1": 0.5}),
        SeedRun(1, 1, 0.0, {"f1": 0.0}, one_class=flat),
    )
    config = SimpleNamespace(arm="AdamW", trial=2, runs=runs)
    assert one_class_notes(plan.arms, [config]) == [
        "AdamW: 1 of 3 judged trials predicted one class for every validation example "
        "(trials 2): see each trial's one_class attr",
        f"AdamW trial 2: 1 of 2 seed re-runs: {flat}",
    ]


def test_two_arms_of_one_optimizer_are_named_by_their_studies(arms):
    a = arms("adam-short", "adamw", [0.5, 0.6])
    b = arms("adam-long", "adamw", [0.55, 0.65])
    assert [arm.name for arm in plan_of(a, b).arms] == ["adam-short", "adam-long"]
