"""fANOVA importances by field: a learning rate searched in a range per optimizer kind
(named differently in each arm) is one field, with the union of the arms' ranges."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import create_trial

from hpsearch.report.importance import by_field, param_importances

KIND = CategoricalDistribution(["adamw", "mfac"])
ADAM_LR = FloatDistribution(1e-5, 1e-3, log=True)
MFAC_LR = FloatDistribution(1e-3, 3e-2, log=True)
DROPOUT = FloatDistribution(0.0, 0.3)


def study_with_lr_per_kind() -> optuna.Study:
    """12 trials: AdamW and M-FAC alternate, each with its own lr entry; the value follows
    the lr within each arm, and not the dropout."""
    study = optuna.create_study(direction="maximize")
    for i in range(12):
        kind = ("adamw", "mfac")[i % 2]
        dist = ADAM_LR if kind == "adamw" else MFAC_LR
        lr = dist.low * (dist.high / dist.low) ** ((i // 2) / 5)
        study.add_trial(
            create_trial(
                value=0.5 + 0.05 * (i // 2),
                params={
                    "optimizer.kind": kind,
                    f"train.lr|optimizer.kind={kind}": lr,
                    "model.hidden_dropout": 0.1 + 0.01 * ((i * 7) % 5),
                },
                distributions={
                    "optimizer.kind": KIND,
                    f"train.lr|optimizer.kind={kind}": dist,
                    "model.hidden_dropout": DROPOUT,
                },
            )
        )
    return study


def test_a_per_kind_lr_is_one_field_with_the_union_of_the_ranges():
    trials = by_field(study_with_lr_per_kind().trials)
    assert {frozenset(t.params) for t in trials} == {
        frozenset({"optimizer.kind", "train.lr", "model.hidden_dropout"})
    }
    lr = trials[0].distributions["train.lr"]
    assert (lr.low, lr.high, lr.log) == (1e-5, 3e-2, True)
    assert trials[0].distributions["model.hidden_dropout"] == DROPOUT
    assert [t.value for t in trials] == pytest.approx([0.5 + 0.05 * (i // 2) for i in range(12)])


def test_the_lr_searched_per_kind_gets_an_importance_and_leads():
    importance, note = param_importances(study_with_lr_per_kind())
    assert note is None and importance is not None
    assert set(importance) == {"optimizer.kind", "train.lr", "model.hidden_dropout"}
    assert max(importance, key=importance.__getitem__) == "train.lr"
