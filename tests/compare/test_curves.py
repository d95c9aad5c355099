"""Tuning curves: the value a pruned trial counts with, and the expected best of k trials
against a hand-computed example."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from hpsearch.compare.curves import expected_best, table_ks, tuning_curve
from hpsearch.compare.tuning import trial_value
from hpsearch.search.leaderboard import leaderboard_rows


def test_a_pruned_trial_counts_with_its_best_evaluated_metric_not_what_the_pruner_saw():
    """With ``study.pruner.signal = "loss"`` the intermediate values are negated losses; the
    tuning curve takes a pruned trial's best F1 from its evals."""
    evals = [{"index": i, "metrics": {"f1": f1, "loss": 0.7}} for i, f1 in enumerate([0.3, 0.4])]
    pruned = create_trial(
        state=TrialState.PRUNED, intermediate_values={0: -0.7, 1: -0.6}, user_attrs={"evals": evals}
    )
    assert trial_value(pruned, "f1", maximize=True) == 0.4
    assert trial_value(pruned, "loss", maximize=False) == 0.7
    assert trial_value(create_trial(state=TrialState.PRUNED), "f1", True) is None


def test_a_pruned_trial_counts_with_an_evaluation_that_learned_when_it_has_one():
    """The trainer's rule: answering "duplicate" everywhere (MCC 0, F1 0.63) is the best of a
    trial only if every evaluation was so, in the tuning curve and the leaderboard alike."""
    evals = [
        {"index": 0, "metrics": {"f1": 0.63, "mcc": 0.0}},
        {"index": 1, "metrics": {"f1": 0.55, "mcc": 0.2}},
    ]
    pruned = create_trial(
        state=TrialState.PRUNED, intermediate_values={0: 0.63, 1: 0.55}, user_attrs={"evals": evals}
    )
    assert trial_value(pruned, "f1", maximize=True) == 0.55
    study = optuna.create_study(direction="maximize")
    study.add_trial(pruned)
    (row,) = leaderboard_rows(study, "f1")
    assert (row.value, row.one_class) == (0.55, False)
    flat = create_trial(
        state=TrialState.PRUNED, intermediate_values={0: 0.63}, user_attrs={"evals": evals[:1]}
    )
    assert trial_value(flat, "f1", maximize=True) == 0.63  # recorded before


def test_a_pruned_trial_that_answered_one_class_counts_at_chance():
    """Its evaluation records what Optuna was given for it: the curve and the leaderboard
    rank it there (F1 0.46), under a pruned trial that learned to 0.5; the leaderboard
    still shows the F1 measured."""
    flat = {"index": 0, "metrics": {"f1": 0.63, "mcc": 0.0}, "value_at_chance": 0.46}
    learned = {"index": 0, "metrics": {"f1": 0.5, "mcc": 0.2}}
    study = optuna.create_study(direction="maximize")
    for e in (flat, learned):
        value = e.get("value_at_chance", e["metrics"]["f1"])
        study.add_trial(
            create_trial(
                state=TrialState.PRUNED, intermediate_values={0: value}, user_attrs={"evals": [e]}
            )
        )
    assert trial_value(study.trials[0], "f1", maximize=True) == 0.46
    rows = leaderboard_rows(study, "f1")
    assert [(r.trial, r.value, r.at_chance) for r in rows] == [(1, 0.5, None), (0, 0.63, 0.46)]


def test_expected_best_against_a_hand_computed_example():
    values = [0.5, 0.2, 0.9]  # sorted: 0.2, 0.5, 0.9; weights at k = 2: 1/9, 3/9, 5/9
    assert expected_best(values, [1, 2, 3]) == pytest.approx(
        [1.6 / 3, (0.2 + 1.5 + 4.5) / 9, (0.2 * 1 + 0.5 * 7 + 0.9 * 19) / 27]
    )
    # minimized: the mirror formula, values sorted descending (0.9, 0.5, 0.2)
    assert expected_best(values, [2], maximize=False) == pytest.approx([(0.9 + 1.5 + 1.0) / 9])
    assert expected_best(values, [200])[0] == pytest.approx(0.9)  # tends to the maximum

    points = tuning_curve(values, resamples=500, seed=3)
    assert [p.k for p in points] == [1, 2, 3]
    assert [p.observed for p in points] == [0.5, 0.5, 0.9]  # best of the first k, in order
    assert [p.expected for p in points] == pytest.approx(expected_best(values, [1, 2, 3]))
    assert all(p.low <= p.expected <= p.high for p in points)
    assert tuning_curve(values, resamples=500, seed=3) == points  # seeded
    assert table_ks(9) == [1, 2, 4, 8, 9] and table_ks(1) == [1]
